"""Generator C of the anomaly benchmark: a third, held-out family of series, written from the issue's
one-line description of the external evaluation ("traffic with weekend dips, conversion ratios, small
counts, level shifts, holiday dips and smooth series, with anomalies of 2.5 to 5 robust standard
deviations") and deliberately unlike A and B.

Each series has its own length (90–365 days) and start date, no missing values, and every anomaly
size is measured in **robust** standard deviations of that series' own noise: the noise is drawn
first, standardised by its day's theoretical scale, and 1.4826 × its median absolute deviation is
the series' unit (so with discrete or skewed noise, 1 unit is not exactly one true sd). Sizes are
uniform in 2.5–6 units; the oracle scores a day by its deviation from the true mean in those units.

* ``traffic``     — multiplicative weekly profile (weekend at 35–85 %, sometimes a Friday dip too), a
  gentle multiplicative trend, gamma-distributed multiplicative noise (CV 3–12 %) then Poisson
  sampling; one-day spikes and drops, a few of them two days long.
* ``conversion``  — cart abandonment: carts are Poisson (40–1500 on weekdays, fewer at weekends),
  the rate has logit-normal day-to-day noise (0–0.12 on the logit) around a base of 40–80 %.
* ``small_count`` — refunds or survey responses: Poisson, or negative binomial (dispersion 3–30),
  with a mean of 0.8–15 and a mild weekday profile; spikes, and drops only where the mean allows.
* ``level_shift`` — traffic with one step of 2.5–6 units (multiplicative, instant); its onset is the
  anomaly and the next 6 days are not scored.
* ``holiday``     — traffic with one to three holiday dips of 1–10 days, each flat at its own depth.
* ``smooth``      — an engagement score: additive sinusoid (period 30–180 days) plus a linear or
  logistic drift, Gaussian noise of 0.3–2 % of the level, no weekday pattern.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from anomaly_cases import ANOMALY, CLEAN, IGNORED, KINDS, MAX_SIZE, MIN_SIZE, WARMUP, Case, frame_of, spaced_days

KPI = {"traffic": "content_usage", "conversion": "cart_abandonment_rate", "small_count": "onboarding_guide_views",
       "level_shift": "content_usage", "holiday": "content_usage", "smooth": "customer_engagement_score"}
GRACE = 7  # a level shift's onset and the 6 days after it are not clean days
_MAD_TO_SD = 1.4826


def _robust_unit(standardised: np.ndarray) -> float:
    """1.4826 × the median absolute deviation of the standardised clean noise (at least 0.5)."""
    return max(_MAD_TO_SD * float(np.median(np.abs(standardised - np.median(standardised)))), 0.5)


def _setup(rng: np.random.Generator) -> tuple[int, date, np.ndarray, np.ndarray, np.ndarray]:
    days = int(rng.integers(90, 366))
    start = date(2022, 1, 3) + timedelta(days=int(rng.integers(0, 1100)))
    labels = np.where(np.arange(days) < WARMUP, IGNORED, CLEAN)
    return days, start, (np.arange(days) + start.weekday()) % 7, labels, np.full(days, np.nan)


def _point_days(rng: np.random.Generator, days: int, blocked: set[int]) -> list[int]:
    """2–6 anomaly days per 180 days, at least 5 apart."""
    count = max(1, round(int(rng.integers(2, 7)) * days / 180))
    return spaced_days(rng, WARMUP + 3, days - 2, count, 5, blocked)


def _traffic(rng: np.random.Generator, kind: str) -> Case:
    days, start, weekday, labels, size = _setup(rng)
    profile = rng.uniform(0.93, 1.07, 7)
    profile[5:] = rng.uniform(0.35, 0.85, 2)
    if rng.random() < 0.3:
        profile[4] *= rng.uniform(0.8, 0.95)
    t = np.arange(days)
    normal = rng.uniform(150, 30000) * profile[weekday] * np.exp(rng.uniform(-0.002, 0.003) * t)
    cv = rng.uniform(0.03, 0.12)
    multiplier = rng.gamma(1 / cv**2, cv**2, days)
    clean = rng.poisson(normal * multiplier).astype(float)
    scale = np.sqrt((normal * cv) ** 2 + normal)  # the day's theoretical sd
    unit = _robust_unit((clean - normal) / scale) * scale
    factor = np.ones(days)  # multiplicative events: a level shift's step, holiday dips
    reference, units = normal.copy(), unit.copy()  # the oracle's normal value and unit
    blocked: set[int] = set()
    if kind == "level_shift":
        onset = int(rng.integers(WARMUP + 14, days - 21))
        k = rng.uniform(MIN_SIZE, MAX_SIZE)
        step = 1 + rng.choice([-1, 1]) * k * unit[onset] / normal[onset]
        factor[onset:] *= max(step, 0.05)
        reference[onset + GRACE:] *= max(step, 0.05)
        units[onset + GRACE:] *= max(step, 0.05)
        labels[onset], size[onset] = ANOMALY, k
        labels[onset + 1: onset + GRACE] = IGNORED
        blocked |= set(range(onset - 4, onset + GRACE + 2))
    if kind == "holiday":
        for first in spaced_days(rng, WARMUP + 5, days - 11, int(rng.integers(1, 4)), 25):
            length, k = int(rng.integers(1, 11)), rng.uniform(MIN_SIZE, MAX_SIZE)
            block = slice(first, first + length)
            factor[block] *= np.maximum(1 - k * unit[block] / normal[block], 0.02)
            labels[block], size[block] = ANOMALY, k
            blocked |= set(range(first - 4, first + length + 4))
    value = clean * factor
    for day in _point_days(rng, days, blocked):
        k, sign = rng.uniform(MIN_SIZE, MAX_SIZE), rng.choice([-1, 1])
        for d in range(day, day + (2 if rng.random() < 0.2 else 1)):
            value[d] += sign * k * unit[d] * factor[d]
            labels[d], size[d] = ANOMALY, k
    value = np.maximum(np.round(value), 0)
    return Case(kind, KPI[kind], frame_of(start, value), labels, size, (value - reference) / units)


def _conversion(rng: np.random.Generator) -> Case:
    days, start, weekday, labels, size = _setup(rng)
    carts = rng.poisson(rng.uniform(40, 1500) * np.where(weekday >= 5, rng.uniform(0.3, 0.9), 1.0)).astype(float)
    base, wobble = rng.uniform(0.4, 0.8), rng.uniform(0.0, 0.12)
    logit = np.log(base / (1 - base)) + rng.normal(0, wobble, days)
    rate = 1 / (1 + np.exp(-logit))
    abandoned = rng.binomial(carts.astype(int), rate).astype(float)
    n = np.maximum(carts, 1)
    scale = np.sqrt(base * (1 - base) / n + (base * (1 - base) * wobble) ** 2)
    unit = _robust_unit((abandoned / n - base) / scale) * scale
    for day in _point_days(rng, days, set()):
        k = rng.uniform(MIN_SIZE, MAX_SIZE)
        moved = np.clip(base + rng.choice([-1, 1]) * k * unit[day], 0, 1)
        abandoned[day] = rng.binomial(int(carts[day]), moved)
        labels[day], size[day] = ANOMALY, k
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(carts > 0, abandoned / carts, np.nan)
    return Case("conversion", KPI["conversion"], frame_of(start, 100 * share, abandoned, carts), labels, size,
                (share - base) / unit)


def _small_count(rng: np.random.Generator) -> Case:
    days, start, weekday, labels, size = _setup(rng)
    profile = rng.uniform(0.6, 1.2, 7)
    mean = rng.uniform(0.8, 15) * profile[weekday] / profile.mean()
    if rng.random() < 0.5:
        counts = rng.poisson(mean).astype(float)
        scale = np.sqrt(mean)
    else:
        k = rng.uniform(3, 30)
        counts = rng.negative_binomial(k, k / (k + mean)).astype(float)
        scale = np.sqrt(mean + mean**2 / k)
    unit = _robust_unit((counts - mean) / scale) * scale
    for day in _point_days(rng, days, set()):
        k = rng.uniform(MIN_SIZE, MAX_SIZE)
        jump = max(1.0, float(np.round(k * unit[day])))
        if rng.random() < 0.35 and mean[day] >= jump:
            counts[day] = max(0.0, np.round(mean[day]) - jump)
        else:
            counts[day] += jump
        labels[day], size[day] = ANOMALY, k
    return Case("small_count", KPI["small_count"], frame_of(start, counts), labels, size, (counts - mean) / unit)


def _smooth(rng: np.random.Generator) -> Case:
    days, start, _, labels, size = _setup(rng)
    t = np.arange(days)
    level = rng.uniform(20, 80)
    wave = rng.uniform(0.03, 0.15) * level * np.sin(2 * np.pi * t / rng.uniform(30, 180) + rng.uniform(0, 2 * np.pi))
    if rng.random() < 0.5:
        drift = rng.uniform(-0.001, 0.001) * level * t
    else:
        drift = rng.uniform(-0.25, 0.25) * level / (1 + np.exp(-(t - rng.uniform(0, days)) / rng.uniform(5, 30)))
    normal = level + wave + drift
    sd = rng.uniform(0.003, 0.02) * level
    clean = normal + rng.normal(0, sd, days)
    unit = _robust_unit((clean - normal) / sd) * sd
    value = clean.copy()
    for day in _point_days(rng, days, set()):
        k = rng.uniform(MIN_SIZE, MAX_SIZE)
        value[day] += rng.choice([-1, 1]) * k * unit
        labels[day], size[day] = ANOMALY, k
    value = np.round(value, 2)
    return Case("smooth", KPI["smooth"], frame_of(start, value), labels, size, (value - normal) / unit)


MAKERS = {"traffic": lambda rng: _traffic(rng, "traffic"), "conversion": _conversion, "small_count": _small_count,
          "level_shift": lambda rng: _traffic(rng, "level_shift"), "holiday": lambda rng: _traffic(rng, "holiday"),
          "smooth": _smooth}


def generate(seed: int, per_kind: int, days: int | None = None) -> list[Case]:
    """``per_kind`` labelled series for every kind, deterministic for ``seed`` (each picks its own length:
    ``days`` is not used)."""
    return [MAKERS[kind](np.random.default_rng([seed, 3, k, i]))
            for k, kind in enumerate(KINDS) for i in range(per_kind)]
