"""Random draws the sources share: noisy counts, multiplicative noise and ids, and exact splits of totals.

The count helpers draw a fixed number of variates per value, so an anomaly's factor on one value
leaves every other value unchanged.
"""

from __future__ import annotations

import numpy as np


def _lognoise(rng: np.random.Generator, shape, sigma: float) -> np.ndarray:
    """Multiplicative noise with mean 1."""
    return np.exp(sigma * rng.standard_normal(shape) - sigma**2 / 2)


def _count(expected, rng: np.random.Generator, factor=1.0) -> np.ndarray:
    """Poisson-like counts around ``expected × factor``.

    The noise is drawn around ``expected`` from a fixed number of variates per value and the
    factor applied afterwards, so a factor on one value leaves every other value unchanged.
    """
    expected = np.asarray(expected, dtype=float)
    noisy = np.maximum(expected + np.sqrt(expected) * rng.standard_normal(expected.shape), 0.0)
    return np.floor(noisy * factor + rng.random(expected.shape)).astype(np.int64)


def _scale(counts: np.ndarray, factor: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``counts × factor``, stochastically rounded (a factor of 1 changes nothing)."""
    return np.floor(counts * factor + rng.random(counts.shape)).astype(np.int64)


def _thin(trials, rate, rng: np.random.Generator) -> np.ndarray:
    """Binomial-like successes out of ``trials`` (never more than ``trials``)."""
    trials = np.asarray(trials, dtype=float)
    rate = np.broadcast_to(np.clip(rate, 0.0, 1.0), trials.shape)
    mean = trials * rate
    noisy = mean + np.sqrt(mean * (1.0 - rate)) * rng.standard_normal(trials.shape)
    return np.clip(np.floor(noisy + rng.random(trials.shape)), 0, trials).astype(np.int64)


def _allocate(totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split each row's integer total over the columns in proportion to ``weights``, exactly."""
    weights = weights + 1e-12
    raw = totals[:, None] * (weights / weights.sum(axis=1, keepdims=True))
    parts = np.floor(raw).astype(np.int64)
    missing = totals - parts.sum(axis=1)
    order = np.argsort(parts - raw, axis=1)  # largest remainder first
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(order.shape[1]), order.shape), axis=1)
    return parts + (rank < missing[:, None])


def _hex_ids(rng: np.random.Generator, count: int) -> list[str]:
    return [f"{value:010x}" for value in rng.choice(16**10, size=count, replace=False)]
