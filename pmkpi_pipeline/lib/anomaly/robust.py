"""Robust statistics along the last axis of 2-D arrays (one row per judged day), NaN-aware: medians, spreads,
Huber means, rolling and lagged views, Theil–Sen slopes, and Student-t ↔ normal deviates."""

from __future__ import annotations

import math

import numpy as np

_MAD_TO_SD = 1.4826  # median absolute deviation of normal data → standard deviation
_MEAN_ABS_TO_SD = math.sqrt(math.pi / 2)  # mean absolute deviation → standard deviation
_HUBER_C = 1.5  # robust means clip residuals at 1.5 spreads from the median
HUBER_VAR = 1.04  # variance of that robust mean relative to the plain mean (normal data)
_TRIM_C = 3.0  # the spread's refinement drops deviations beyond 3 rough spreads
_TRIM_CONSISTENCY = 0.97334  # E[X² | |X| < 3] for a standard normal X
_TRIM_STEPS = 4  # re-trimmings, so that a too small first guess cannot shrink the spread
THEIL_SEN_VAR = 1.1  # variance of the Theil–Sen slope relative to least squares' (normal data)


def nanmedian(x: np.ndarray) -> np.ndarray:
    """Median of the non-NaN values along the last axis (NaN if none); a fast np.nanmedian."""
    if x.shape[-1] == 0:
        return np.full(x.shape[:-1], np.nan)
    ordered = np.sort(x, axis=-1)  # NaNs sort last
    count = (~np.isnan(x)).sum(axis=-1, keepdims=True)
    low = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0), axis=-1)
    high = np.take_along_axis(ordered, np.minimum(count // 2, x.shape[-1] - 1), axis=-1)
    return np.where(count > 0, (low + high) / 2, np.nan)[..., 0]


def robust_sd(x: np.ndarray) -> np.ndarray:
    """Per row, a robust standard deviation of the non-NaN ``x``.

    Median absolute deviation (mean absolute deviation when that is 0, as in zero-inflated
    series), refined by the root mean square of the deviations within 3 such deviations
    (efficient, and blind to outliers) with Bessel's correction, re-trimmed a few times.
    """
    deviation = np.abs(x - nanmedian(x)[:, None])
    rough = _MAD_TO_SD * nanmedian(deviation)
    rough = np.where(rough > 0, rough, _MEAN_ABS_TO_SD * np.nanmean(deviation, axis=1))
    count = np.maximum((~np.isnan(x)).sum(axis=1), 2)
    refined = rough
    for _ in range(_TRIM_STEPS):
        kept = deviation <= _TRIM_C * refined[:, None]  # False for NaN
        mean_square = np.where(kept, deviation**2, 0).sum(axis=1) / np.maximum(kept.sum(axis=1), 1)
        refined = np.sqrt(mean_square / _TRIM_CONSISTENCY * count / (count - 1))
    return np.nan_to_num(np.where(rough > 0, refined, rough))


def one_value_sd(diffs: np.ndarray) -> np.ndarray:
    """Per row, the sd of one value implied by the robust sd of differences between two values (``lagged``)."""
    return robust_sd(diffs) / math.sqrt(2)


def huber(x: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Robust mean of the non-NaN ``x`` along the last axis: the median moved by the mean of
    the residuals clipped at ``_HUBER_C`` × ``sd``."""
    middle = nanmedian(x)
    limit = _HUBER_C * sd
    residual = np.clip(x - middle[..., None], -limit, limit)
    return middle + np.nan_to_num(np.nanmean(residual, axis=-1))


def theil_sen(y: np.ndarray) -> np.ndarray:
    """Per row, the median of the slopes between every two non-NaN columns of ``y`` (0 with fewer than two):
    a slope an outlier cannot move."""
    h = y.shape[1]
    gap = np.arange(h)[None, :] - np.arange(h)[:, None]
    slopes = (y[:, None, :] - y[:, :, None]) / np.where(gap > 0, gap, np.nan)
    return np.nan_to_num(nanmedian(slopes.reshape(len(y), -1)))


def rolling(x: np.ndarray, k: int, centred: bool, sd: np.ndarray) -> np.ndarray:
    """Per row and column, the robust mean of ``k`` columns: the ``k`` before it, or centred on it."""
    n, h = x.shape
    if centred:
        before, after = k // 2, k - 1 - k // 2
        padded = np.concatenate([np.full((n, before), np.nan), x, np.full((n, after), np.nan)], axis=1)
        view = np.lib.stride_tricks.sliding_window_view(padded, k, axis=1)
    else:
        padded = np.concatenate([np.full((n, k), np.nan), x], axis=1)
        view = np.lib.stride_tricks.sliding_window_view(padded, k, axis=1)[:, :h]
    enough = (~np.isnan(view)).sum(axis=-1) >= (k + 1) // 2
    return np.where(enough, huber(view, sd[:, None, None]), np.nan)


def lagged(x: np.ndarray, lags: tuple[int, ...], centre: bool, add: bool = False) -> np.ndarray:
    """Per row, the differences (or with ``add`` the sums) of columns ``lag`` apart, for each
    lag side by side; ``centre`` subtracts each lag's median difference (the trend's part)."""
    parts = []
    for lag in lags:
        part = x[:, lag:] + x[:, :-lag] if add else x[:, lag:] - x[:, :-lag]
        parts.append(part - nanmedian(part)[:, None] if centre else part)
    return np.concatenate(parts, axis=1)


def t_as_normal(t: np.ndarray, dof: np.ndarray) -> np.ndarray:
    """The standard normal deviate with the tail probability of Student's ``t`` at ``dof`` degrees of freedom
    (Wallace's approximation, within 0.02 for dof >= 10 and |t| <= 8)."""
    return np.sign(t) * np.sqrt(dof * np.log1p(t**2 / dof)) * (8 * dof + 1) / (8 * dof + 3)


def normal_as_t(z: float, dof: np.ndarray) -> np.ndarray:
    """The inverse of :func:`t_as_normal`: the Student ``t`` (``dof`` degrees of freedom) with ``z``'s tail."""
    return np.sqrt(dof * np.expm1((z * (8 * dof + 3) / (8 * dof + 1)) ** 2 / dof))


def nearer(deviation: np.ndarray, by: np.ndarray) -> np.ndarray:
    """A rise ``deviation`` moved ``by`` towards 0, not past it."""
    return np.where(deviation > 0, np.maximum(deviation - by, 0), deviation)


def lag_correlation(x: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the correlation of ``x`` with itself ``lag`` columns earlier, after centring on the median and
    clipping at 3 robust sd (a few large values cannot decide), and the number of pairs it rests on."""
    x = x - nanmedian(x)[:, None]
    limit = 3 * robust_sd(x)[:, None]
    x = np.clip(x, -limit, limit)
    later, earlier = x[:, lag:], x[:, :-lag]
    paired = ~np.isnan(later) & ~np.isnan(earlier)
    later, earlier = np.where(paired, later, 0.0), np.where(paired, earlier, 0.0)
    scale = np.sqrt((later**2).sum(axis=1) * (earlier**2).sum(axis=1))
    correlation = np.where(scale > 0, (later * earlier).sum(axis=1) / np.where(scale > 0, scale, 1.0), 0.0)
    return correlation, paired.sum(axis=1)
