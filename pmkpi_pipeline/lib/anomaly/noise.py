"""Noise: each value's own sampling noise (binomial, signed, unbounded ratios; Poisson counts) and the process noise
beyond it that makes standardised differences or errors have a robust sd of 1."""

from __future__ import annotations

import numpy as np

from .robust import nanmedian, robust_sd

_BISECTIONS = 12  # steps solving for the process variance (precision 2⁻¹² of its ceiling)


def sampling_variance(
    expected: np.ndarray, denominator: np.ndarray, ratio_kind: str | None, unit: float, is_count: np.ndarray
) -> np.ndarray:
    """Variance of a value from sampling alone, on the linear scale (0 when not applicable).

    A ratio over denominator d: a proportion's 0/1 units have variance p(1−p), a signed
    ratio's (NPS) units (1−m)(1+m), summed to at least one count's worth before dividing by
    d²; an unbounded ratio's units get a coefficient of variation of 1 (m²/d). Counts (no
    denominator) get Poisson variance, at least 1.
    """
    variance = np.zeros(np.broadcast_shapes(expected.shape, denominator.shape))
    if ratio_kind is not None:
        m = expected / unit
        if ratio_kind == "proportion":
            units = np.clip(m, 0, 1) * (1 - np.clip(m, 0, 1)) * denominator
        elif ratio_kind == "signed":
            units = (1 - np.clip(m, -1, 1) ** 2) * denominator
        else:
            units = m**2 * denominator
        if ratio_kind != "unbounded":
            units = np.maximum(units, 1.0)
        variance = np.where(denominator > 0, unit**2 * units / denominator**2, 0.0)
    return np.where(is_count, np.maximum(expected, 1.0), variance)


def process_variance(diffs: np.ndarray, pair_sampling: np.ndarray, ceiling: np.ndarray, copies: int,
                      weight: np.ndarray | float = 1.0) -> np.ndarray:
    """Per row, the process variance σ² that, added ``copies`` times (× each column's ``weight``) to
    each difference's own sampling variance, gives the differences a robust standard deviation of 1
    once standardised (bisection between 0 and ``ceiling``). Without sampling variance and weights
    this is ``ceiling`` itself."""
    weight = np.broadcast_to(weight, diffs.shape)
    process = ceiling / np.clip(np.nan_to_num(nanmedian(np.where(np.isnan(diffs), np.nan, weight)), nan=1.0), 0.05, 1)
    rows = np.flatnonzero(np.nan_to_num(pair_sampling).any(axis=1) | (weight != 1).any(axis=1))
    if rows.size:
        diffs, pair_sampling, weight = diffs[rows], np.nan_to_num(pair_sampling[rows]), weight[rows]
        low, high = np.zeros(rows.size), process[rows].copy()
        for _ in range(_BISECTIONS):
            middle = (low + high) / 2
            too_small = robust_sd(diffs / np.sqrt(pair_sampling + copies * middle[:, None] * weight)) > 1
            low, high = np.where(too_small, middle, low), np.where(too_small, high, middle)
        process[rows] = (low + high) / 2
    return process
