"""What the anomaly benchmark's generators produce: a labelled daily series with its truth.

A :class:`Case` holds the detector's input frame (``date, value, numerator, denominator``), the
catalog KPI whose shape it has, a label per day, each anomaly day's size in standard deviations
of that day's true noise, and the oracle's score: the deviation from the true normal value in
true noise standard deviations (what a detector that knew the mean and the noise would score).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

ANOMALY, CLEAN, IGNORED = 1, 0, -1
KINDS = ("traffic", "conversion", "small_count", "level_shift", "holiday", "smooth")
MIN_SIZE, MAX_SIZE = 2.5, 6.0  # anomaly sizes, in standard deviations of the day's true noise
WARMUP = 28  # days never scored: the detector's default history


@dataclass
class Case:
    """One labelled series (see the module docstring)."""

    kind: str
    kpi: str
    frame: pd.DataFrame
    labels: np.ndarray
    size: np.ndarray  # NaN on days that are not anomalies
    oracle: np.ndarray  # NaN where the oracle has no score


def frame_of(start: date, value, numerator=None, denominator=None) -> pd.DataFrame:
    """The detector's input frame for a series starting on ``start``."""
    nan = np.full(len(value), np.nan)
    return pd.DataFrame({
        "date": [start + timedelta(days=i) for i in range(len(value))],
        "value": np.asarray(value, dtype=float),
        "numerator": nan if numerator is None else np.asarray(numerator, dtype=float),
        "denominator": nan if denominator is None else np.asarray(denominator, dtype=float),
    })


def spaced_days(rng: np.random.Generator, first: int, last: int, count: int, gap: int,
                blocked: set[int] = frozenset()) -> list[int]:
    """Up to ``count`` random days in ``first..last-1``, at least ``gap`` apart and not in ``blocked``."""
    chosen: list[int] = []
    for day in rng.permutation(np.arange(first, last)):
        if len(chosen) == count:
            break
        if int(day) not in blocked and all(abs(int(day) - c) >= gap for c in chosen):
            chosen.append(int(day))
    return sorted(chosen)
