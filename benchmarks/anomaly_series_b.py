"""Generator B of the anomaly benchmark, written apart from A to check that the detector was not
fitted to A: other noise families, weekly profiles, trends and anomaly shapes. Report this one.

Series are 150 days long, start on a random weekday, and have their noise on the linear scale
(σ = the day's true noise standard deviation; anomaly sizes 2.5–6 σ, uniform):

* ``traffic``     — one of three weekly profiles (business: Friday lower, weekend at 20–50 %;
  consumer: weekend at 110–140 %; retail: rising through the week), a linear trend of −0.3 to
  +0.4 % a day, AR(1) noise (ρ 0–0.5) with a relative sd of 3–10 %, Gaussian or Student t with
  5 degrees of freedom; anomalies last one day or two (both days labelled).
* ``conversion``  — bounce rate over negative-binomial session counts (80–3000 a day), with a
  weekday pattern in the rate itself, a slow random walk of its logit and beta-binomial
  over-dispersion; an anomaly moves the day's rate by its size × the day's sd.
* ``small_count`` — negative-binomial counts (mean 0.5–12, dispersion 2–15) with a random
  weekday profile; spikes add size × sd, drops (where the mean allows) take it away.
* ``level_shift`` — additive Gaussian noise around an additive weekly pattern, a step reached
  over a ramp of 1–3 days; the first ramp day at least 2.5 σ away is the anomaly, it and the next
  6 days are not clean.
* ``holiday``     — business traffic with one or two closures of 2–9 days, deepest in the middle
  (a U shape); each day at least 2.5 σ down is an anomaly.
* ``smooth``      — time to value: an integrated random walk (a smoothly bending curve), white
  noise of 0.5–2 % of its start, no weekly pattern; one-day anomalies.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from anomaly_cases import ANOMALY, CLEAN, IGNORED, KINDS, MAX_SIZE, MIN_SIZE, WARMUP, Case, frame_of, spaced_days

MONDAY = date(2023, 5, 1)
KPI = {"traffic": "content_usage", "conversion": "bounce_rate", "small_count": "content_usage",
       "level_shift": "content_usage", "holiday": "content_usage", "smooth": "time_to_value"}


class Series:
    """A series under construction: normal mean and sd per day, then labelled deviations."""

    def __init__(self, rng: np.random.Generator, days: int):
        self.rng, self.days = rng, days
        self.labels = np.where(np.arange(days) < WARMUP, IGNORED, CLEAN)
        self.size = np.full(days, np.nan)
        self.offset = np.zeros(days)  # deviation from normal, in value units
        first = int(rng.integers(0, 7))
        self.start = MONDAY + timedelta(days=first)
        self.weekday = (np.arange(days) + first) % 7  # 0 = Monday
        self.taken: set[int] = set()

    def mark(self, day: int, sigmas: float, label: int = ANOMALY) -> None:
        if 0 <= day < self.days and self.labels[day] != IGNORED:
            self.labels[day] = label
            self.size[day] = sigmas if label == ANOMALY else np.nan
        self.taken |= set(range(day - 3, day + 4))

    def blips(self, sd: np.ndarray, two_day_share: float = 0.0, drops_if=None) -> None:
        """3–5 one-day (or two-day) spikes and drops of 2.5–6 sd, away from other events."""
        for day in spaced_days(self.rng, WARMUP + 5, self.days - 2, int(self.rng.integers(3, 6)), 4, self.taken):
            sigmas = self.rng.uniform(MIN_SIZE, MAX_SIZE)
            sign = -1 if self.rng.random() < 0.45 else 1
            length = 2 if self.rng.random() < two_day_share else 1
            for d in range(day, day + length):
                if sign < 0 and drops_if is not None and not drops_if(d, sigmas):
                    sign = 1
                self.offset[d] += sign * sigmas * sd[d]
                self.mark(d, sigmas)


def _profile(rng: np.random.Generator, shape: str) -> np.ndarray:
    if shape == "business":
        return np.array([1.05, 1.1, 1.08, 1.02, 0.9, *rng.uniform(0.2, 0.5, 2)])
    if shape == "consumer":
        return np.array([1.0, 0.97, 0.98, 1.0, 1.05, *rng.uniform(1.1, 1.4, 2)])
    return np.linspace(0.8, 1.2, 7) * rng.uniform(0.95, 1.05, 7)


def _ar_noise(rng: np.random.Generator, days: int, rho: float, heavy: bool) -> np.ndarray:
    """Unit-variance AR(1) noise with Gaussian or Student-t(5) innovations."""
    shocks = rng.standard_t(5, days) / np.sqrt(5 / 3) if heavy else rng.standard_normal(days)
    out = np.empty(days)
    out[0] = shocks[0]
    for i in range(1, days):
        out[i] = rho * out[i - 1] + np.sqrt(1 - rho**2) * shocks[i]
    return out


def traffic(rng: np.random.Generator, days: int, closures: bool = False) -> Case:
    s = Series(rng, days)
    shape = "business" if closures else ["business", "consumer", "retail"][int(rng.integers(0, 3))]
    t = np.arange(days)
    mean = rng.uniform(100, 20000) * _profile(rng, shape)[s.weekday] * np.maximum(1 + rng.uniform(-0.003, 0.004) * t,
                                                                               0.3)
    sd = rng.uniform(0.03, 0.10) * mean
    noise = _ar_noise(rng, days, rng.uniform(0, 0.5), rng.random() < 0.5) * sd
    if closures:
        for first in spaced_days(rng, WARMUP + 5, days - 10, int(rng.integers(1, 3)), 35):
            length, deepest = int(rng.integers(2, 10)), rng.uniform(MIN_SIZE, MAX_SIZE)
            depth = deepest * (0.55 + 0.45 * np.sin(np.pi * (np.arange(length) + 0.5) / length))
            for j, sigmas in enumerate(depth):
                s.offset[first + j] -= sigmas * sd[first + j]
                s.mark(first + j, sigmas, ANOMALY if sigmas >= MIN_SIZE else IGNORED)
    s.blips(sd, two_day_share=0.25)
    value = np.maximum(np.round(mean + noise + s.offset), 0)
    return Case("holiday" if closures else "traffic", KPI["traffic"], frame_of(s.start, value), s.labels, s.size,
                (value - mean) / sd)


def level_shift(rng: np.random.Generator, days: int) -> Case:
    s = Series(rng, days)
    level = rng.uniform(500, 5000)
    mean = level - rng.uniform(0.1, 0.4) * level * (s.weekday >= 5)
    sd = np.full(days, rng.uniform(0.02, 0.06) * level)
    reference = mean.copy()
    onsets = [int(rng.integers(WARMUP + 10, days // 2))]
    if rng.random() < 0.6:
        onsets.append(int(rng.integers(onsets[0] + 30, days - 20)))
    for onset in onsets:
        step, ramp = rng.choice([-1, 1]) * rng.uniform(MIN_SIZE, MAX_SIZE), int(rng.integers(1, 4))
        reached = np.minimum((np.arange(days) - onset + 1) / ramp, 1) * (np.arange(days) >= onset)
        mean = mean + step * sd * reached
        first = onset + int(np.argmax(np.abs(step) * reached[onset:] >= MIN_SIZE))
        s.mark(first, abs(step) * reached[first])
        for d in range(onset, first + 7):
            if d != first:
                s.mark(d, 0, IGNORED)
        reference[first + 7:] = mean[first + 7:]
    s.blips(sd)
    value = np.round(mean + rng.normal(0, 1, days) * sd + s.offset)
    return Case("level_shift", KPI["level_shift"], frame_of(s.start, value), s.labels, s.size,
                (value - reference) / sd)


def conversion(rng: np.random.Generator, days: int) -> Case:
    s = Series(rng, days)
    sessions_mean = rng.uniform(80, 3000) * np.where(s.weekday >= 5, rng.uniform(0.4, 0.9), 1.0)
    sessions = rng.negative_binomial(20, 20 / (20 + sessions_mean)).astype(float)
    logit = np.log(rng.uniform(0.2, 0.7) / 0.8) + np.cumsum(rng.normal(0, 0.01, days))
    p = 1 / (1 + np.exp(-logit)) * np.where(s.weekday >= 5, rng.uniform(0.85, 1.15), 1.0)
    icc = rng.uniform(0, 0.005)
    sd = np.sqrt(p * (1 - p) / np.maximum(sessions, 1) * (1 + (sessions - 1) * icc))
    s.blips(sd)
    target = np.clip(p + s.offset, 1e-4, 1 - 1e-4)
    concentration = (1 - icc) / max(icc, 1e-9)
    day_p = rng.beta(target * concentration, (1 - target) * concentration) if icc > 0 else target
    bounced = rng.binomial(sessions.astype(int), day_p).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(sessions > 0, bounced / sessions, np.nan)
    return Case("conversion", KPI["conversion"], frame_of(s.start, 100 * share, bounced, sessions), s.labels,
                s.size, (share - p) / sd)


def small_count(rng: np.random.Generator, days: int) -> Case:
    s = Series(rng, days)
    profile = rng.dirichlet(np.full(7, 4.0)) * 7
    mean = rng.uniform(0.5, 12) * profile[s.weekday]
    k = rng.uniform(2, 15)
    sd = np.sqrt(mean + mean**2 / k)
    s.blips(sd, drops_if=lambda d, sigmas: mean[d] >= sigmas * sd[d])
    counts = rng.negative_binomial(k, k / (k + mean)).astype(float)
    value = np.maximum(counts + np.where(s.offset != 0, np.sign(s.offset) * np.maximum(np.round(np.abs(s.offset)), 1),
                                         0), 0)
    return Case("small_count", KPI["small_count"], frame_of(s.start, value), s.labels, s.size,
                (value - mean) / sd)


def smooth(rng: np.random.Generator, days: int) -> Case:
    s = Series(rng, days)
    start = rng.uniform(5, 60)
    sd = np.full(days, rng.uniform(0.005, 0.02) * start)
    slope = np.cumsum(rng.normal(0, rng.uniform(0.01, 0.05) * sd[0], days))
    mean = np.maximum(start + np.cumsum(slope), start * 0.2)
    s.blips(sd)
    value = np.round(mean + rng.normal(0, 1, days) * sd + s.offset, 2)
    return Case("smooth", KPI["smooth"], frame_of(s.start, value), s.labels, s.size, (value - mean) / sd)


MAKERS = {"traffic": traffic, "conversion": conversion, "small_count": small_count, "level_shift": level_shift,
          "holiday": lambda rng, days: traffic(rng, days, closures=True), "smooth": smooth}


def generate(seed: int, per_kind: int, days: int) -> list[Case]:
    """``per_kind`` labelled series of ``days`` days for every kind, deterministic for ``seed``."""
    return [MAKERS[kind](np.random.default_rng([seed, 977, k, i]), days)
            for k, kind in enumerate(KINDS) for i in range(per_kind)]
