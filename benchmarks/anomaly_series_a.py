"""Generator A of the anomaly benchmark: log-normal traffic, binomial rates, Poisson counts.

The generator the detector was tuned on (generator B, :mod:`anomaly_series_b`, is written
differently and is the one to report). Every series starts on a Monday; the first 28 days are
the warm-up. Anomaly sizes are uniform in 2.5–6 standard deviations of that day's true noise.

* ``traffic``     — sessions: level 300–5000, weekday pattern (±4 %) with a weekend at 45–80 %,
  log-normal noise of 4–8 %; 3–6 one-day spikes or drops per 180 days (log value ± size × sd).
* ``conversion``  — sign-ups / users in percent: 150–2000 users on weekdays, 30–60 % at weekends;
  a base rate of 2–35 % with 0–5 % relative day-to-day noise on top of the binomial; an anomaly
  moves the day's rate by its size × that day's binomial-plus-process sd.
* ``small_count`` — refunds, survey responses: Poisson counts with a mean of 1–20 on weekdays and
  30–100 % of that at weekends; a spike adds size × √mean, a drop (only where the mean allows it)
  takes it away.
* ``level_shift`` — ``traffic`` with one or two permanent steps of ± 2.5–6 sd, and point anomalies.
  The onset is the anomaly; its next 6 days are not scored (the detector adapting).
* ``holiday``     — ``traffic`` with one or two holiday blocks of 3–7 days, every day of a block
  down by the block's size; every block day is an anomaly; plus point anomalies.
* ``smooth``      — revenue: a slow wave (period 40–120 days, ±5–20 %) and trend, no weekday
  pattern, log-normal noise of 0.5–3 %; point anomalies.
"""

from __future__ import annotations

from datetime import date

import numpy as np
from anomaly_cases import ANOMALY, CLEAN, IGNORED, KINDS, MAX_SIZE, MIN_SIZE, WARMUP, Case, frame_of, spaced_days

START = date(2024, 1, 1)  # a Monday
GRACE = 7  # a level shift's onset and the 6 days after it are not clean days
KPI = {"traffic": "content_usage", "conversion": "conversion_rate", "small_count": "onboarding_guide_views",
       "level_shift": "content_usage", "holiday": "content_usage", "smooth": "mrr"}


def _labels(days: int) -> tuple[np.ndarray, np.ndarray]:
    labels = np.full(days, CLEAN)
    labels[:WARMUP] = IGNORED
    return labels, np.full(days, np.nan)


def _size(rng: np.random.Generator) -> float:
    return float(rng.uniform(MIN_SIZE, MAX_SIZE))


def _points(rng: np.random.Generator, days: int, blocked: set[int]) -> list[int]:
    """3–6 one-day anomalies per 180 days."""
    return spaced_days(rng, WARMUP + 7, days, max(1, round(rng.integers(3, 7) * days / 180)), 3, blocked)


def _traffic(rng: np.random.Generator, days: int, kind: str) -> Case:
    t = np.arange(days)
    labels, size = _labels(days)
    pattern = 1 + rng.normal(0, 0.04, 7)
    pattern[5:] = rng.uniform(0.45, 0.8, 2)
    sd = rng.uniform(0.04, 0.08)
    normal = np.log(rng.uniform(300, 5000)) + np.log(pattern[t % 7])  # the normal log value
    reference = normal.copy()  # what the oracle compares with
    shift = np.zeros(days)
    blocked: set[int] = set()
    if kind == "level_shift":
        onsets = [int(rng.integers(WARMUP + 14, days // 2))]
        if rng.random() < 0.5:
            onsets.append(int(rng.integers(onsets[0] + 35, days - 21)))
        for onset in onsets:
            step = rng.choice([-1, 1]) * _size(rng) * sd
            normal[onset:] += step
            reference[onset + GRACE:] += step
            labels[onset], size[onset] = ANOMALY, abs(step) / sd
            labels[onset + 1: onset + GRACE] = IGNORED
            blocked |= set(range(onset - 3, onset + GRACE + 1))
    if kind == "holiday":
        for first in spaced_days(rng, WARMUP + 7, days - 8, int(rng.integers(1, 3)), 30):
            length, depth = int(rng.integers(3, 8)), _size(rng)
            shift[first: first + length] -= depth * sd
            labels[first: first + length], size[first: first + length] = ANOMALY, depth
            blocked |= set(range(first - 3, first + length + 3))
    for day in _points(rng, days, blocked):
        depth = _size(rng)
        shift[day] += rng.choice([-1, 1]) * depth * sd
        labels[day], size[day] = ANOMALY, depth
    value = np.round(np.exp(normal + rng.normal(0, sd, days) + shift))
    oracle = (np.log(np.maximum(value, 0.5)) - reference) / sd
    return Case(kind, KPI[kind], frame_of(START, value), labels, size, oracle)


def _conversion(rng: np.random.Generator, days: int) -> Case:
    t = np.arange(days)
    labels, size = _labels(days)
    weekly = np.ones(7)
    weekly[5:] = rng.uniform(0.3, 0.6, 2)
    users = rng.poisson(rng.uniform(150, 2000) * weekly[t % 7]).astype(float)
    base, process = rng.uniform(0.02, 0.35), rng.uniform(0.0, 0.05)
    rate = np.clip(base * np.exp(rng.normal(0, process, days)), 0, 1)
    sd = np.sqrt(base * (1 - base) / np.maximum(users, 1) + (base * process) ** 2)
    for day in _points(rng, days, set()):
        depth = _size(rng)
        rate[day] = np.clip(base + rng.choice([-1, 1]) * depth * sd[day], 0, 1)
        labels[day], size[day] = ANOMALY, depth
    converted = rng.binomial(users.astype(int), rate).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(users > 0, converted / users, np.nan)
    return Case("conversion", KPI["conversion"], frame_of(START, 100 * share, converted, users), labels, size,
                (share - base) / sd)


def _small_count(rng: np.random.Generator, days: int) -> Case:
    t = np.arange(days)
    labels, size = _labels(days)
    weekly = np.ones(7)
    weekly[5:] = rng.uniform(0.3, 1.0, 2)
    mean = rng.uniform(1, 20) * weekly[t % 7]
    counts = rng.poisson(mean).astype(float)
    for day in _points(rng, days, set()):
        depth = _size(rng)
        jump = max(1.0, np.round(depth * np.sqrt(mean[day])))
        if rng.random() < 0.3 and mean[day] >= jump:
            counts[day] = max(0.0, counts[day] - jump)
        else:
            counts[day] += jump
        labels[day], size[day] = ANOMALY, depth
    return Case("small_count", KPI["small_count"], frame_of(START, counts), labels, size,
                (counts - mean) / np.sqrt(mean))


def _smooth(rng: np.random.Generator, days: int) -> Case:
    t = np.arange(days)
    labels, size = _labels(days)
    wave = rng.uniform(0.05, 0.2) * np.sin(2 * np.pi * t / rng.uniform(40, 120) + rng.uniform(0, 2 * np.pi))
    normal = np.log(rng.uniform(1000, 50000)) + np.log1p(wave) + rng.uniform(-0.002, 0.002) * t
    sd = rng.uniform(0.005, 0.03)
    shift = np.zeros(days)
    for day in _points(rng, days, set()):
        depth = _size(rng)
        shift[day] = rng.choice([-1, 1]) * depth * sd
        labels[day], size[day] = ANOMALY, depth
    value = np.round(np.exp(normal + rng.normal(0, sd, days) + shift), 2)
    return Case("smooth", KPI["smooth"], frame_of(START, value), labels, size, (np.log(value) - normal) / sd)


def generate(seed: int, per_kind: int, days: int) -> list[Case]:
    """``per_kind`` labelled series of ``days`` days for every kind, deterministic for ``seed``."""
    cases = []
    for k, kind in enumerate(KINDS):
        for i in range(per_kind):
            rng = np.random.default_rng([seed, k, i])
            if kind == "conversion":
                cases.append(_conversion(rng, days))
            elif kind == "small_count":
                cases.append(_small_count(rng, days))
            elif kind == "smooth":
                cases.append(_smooth(rng, days))
            else:
                cases.append(_traffic(rng, days, kind))
    return cases
