"""The level: candidate robust means (flat or trended) replayed over the reference span, the best one chosen, its
errors' carry to the next day, and the noise of its predictions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .noise import process_variance
from .params import AnomalyParams
from .robust import robust_sd, rolling

_LEVEL_WINDOWS = (1, 3, 7, 14, 28)  # candidate level windows (days), up to history_days
_TREND_WINDOWS = (3, 7, 14, 28)  # level windows also tried with their own trend
MIN_BACKTEST = 21  # backtest errors a candidate level needs to compete
_FULL_REPLAY = 42  # backtest errors from which the replay alone sets the noise
_OUTLIER = 4.0  # history values this many sd from their neighbours are not learnt from
_CARRY_CLIP = 1.5  # replay errors are clipped at this many sd before they carry on to the next day
_CARRY_SIGNIFICANCE = 2.0  # errors' lag-1 correlation × √pairs needed before any of an error carries on
_CARRY_MAX = 0.9  # the largest share of an error that carries on
# Degrees of freedom the noise estimate gets per backtest error (prior counted in). Nominally at most 1; 2 is
# what the benchmark's generators bear (0.5 and 1 cost more recall than the false alarms they saved).
_DOF_PER_ERROR = 2.0


@dataclass
class Level:
    """The winning level model of every evaluated day (one row each): its one-step prediction
    for every history column and for today (one more column), the trend it carries per day,
    its window, whether it is trended, and the variance of its backtest error."""

    predicted: np.ndarray
    slope: np.ndarray
    window: np.ndarray
    trended: np.ndarray
    error_var: np.ndarray
    errors: np.ndarray | None = None
    dof: np.ndarray | None = None  # degrees of freedom of error_var (errors seen, prior counted in)


def chosen_level(steady: np.ndarray, sampling: np.ndarray, process: np.ndarray, spread: np.ndarray,
                  params: AnomalyParams, weight: np.ndarray) -> Level:
    """The level model whose replay over the reference span predicts best.

    Candidates are robust means of the last 1 … 28 values, flat or extended by their own trend;
    each predicts every past column from the columns before it, and the one with the smallest
    robust error variance (beyond each column's sampling noise, with a penalty for few columns)
    wins. Without enough columns to replay, the 7-day mean with the lagged differences' noise.
    """
    n, h = steady.shape
    # Isolated outliers (past anomalies) are replaced by their neighbourhood's level before anything is
    # predicted from them; they still count as errors where they are predicted.
    local = rolling(steady, 7, centred=True, sd=spread)
    one = np.sqrt(process[:, None] + np.nan_to_num(sampling))
    cleaned = np.where(np.abs(steady - local) > _OUTLIER * one, local, steady)
    extended = np.concatenate([cleaned, np.full((n, 1), np.nan)], axis=1)
    flat = {k: rolling(extended, k, centred=False, sd=spread) for k in _LEVEL_WINDOWS if k <= params.history_days}
    short = min(7, max(flat))
    best = Level(flat[short], np.zeros_like(flat[short]), np.full(n, short), np.zeros(n, dtype=bool), process * 1.5)
    lowest = np.full(n, np.inf)
    candidates = [(k, False, level, np.zeros_like(level)) for k, level in flat.items()]
    for k in _TREND_WINDOWS:
        if k in flat:
            earlier = np.concatenate([np.full((n, k), np.nan), flat[k][:, :-k]], axis=1)
            slope = (flat[k] - earlier) / k
            candidates.append((k, True, flat[k] + slope * (k + 1) / 2, np.nan_to_num(slope)))
    chosen_errors = np.full((n, h), np.nan)
    for k, trended, predicted, slope in candidates:
        errors = steady - predicted[:, :h]
        seen = (~np.isnan(errors)).sum(axis=1)
        complexity = 1 + (1 + trended) / k  # a short or trended level must win clearly, not by the replay's luck
        penalised = robust_sd(errors) ** 2 * (1 + 3 / np.maximum(seen, 1)) * complexity
        penalised = np.where(seen >= MIN_BACKTEST, penalised, np.inf)
        better = penalised < lowest
        lowest = np.where(better, penalised, lowest)
        chosen_errors = np.where(better[:, None], errors, chosen_errors)
        best = Level(np.where(better[:, None], predicted, best.predicted),
                      np.where(better[:, None], slope, best.slope),
                      np.where(better, k, best.window), np.where(better, trended, best.trended), best.error_var)
    replayed = np.isfinite(lowest)
    best.predicted, chosen_errors = _carried(best.predicted, chosen_errors)
    variance = process_variance(chosen_errors, np.where(np.isnan(chosen_errors), np.nan, sampling),
                                 robust_sd(chosen_errors) ** 2, copies=1, weight=weight)
    # A short replay (a young series) is shrunk towards what the lagged differences' noise implies for this
    # window, as if half the missing errors up to _FULL_REPLAY had been seen too: it cannot claim a lucky small noise.
    seen = (~np.isnan(chosen_errors)).sum(axis=1)
    prior = np.maximum(_FULL_REPLAY - seen, 0) / 2
    variance = (seen * variance + prior * process * (1 + 1 / best.window)) / np.maximum(seen + prior, 1)
    best.error_var = np.where(replayed, variance, best.error_var)
    best.errors = chosen_errors
    best.dof = _DOF_PER_ERROR * (seen + prior)
    return best


def _carried(predicted: np.ndarray, errors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The level's predictions and replay errors, with the share of each error that carries on to the next day
    added to the next prediction (where the replay's errors are clearly autocorrelated: a level that lags a
    bending curve). Errors are clipped first, so an outlier carries little."""
    n, h = errors.shape
    sd = robust_sd(errors)
    z = errors / np.where(sd > 0, sd, 1.0)[:, None]
    z = np.where(np.abs(z) <= _CARRY_CLIP + 1, z, np.nan)  # pairs with an outlier say nothing of the carry
    pairs = z[:, 1:] * z[:, :-1]
    seen = (~np.isnan(pairs)).sum(axis=1)
    rho = np.nansum(pairs, axis=1) / np.maximum(np.nansum(np.where(np.isnan(pairs), np.nan, z[:, :-1] ** 2),
                                                          axis=1), 1e-300)
    rho = np.where(rho * np.sqrt(np.maximum(seen, 1)) > _CARRY_SIGNIFICANCE, np.clip(rho, 0, _CARRY_MAX), 0.0)
    clipped = np.clip(errors / np.where(sd > 0, sd, 1.0)[:, None], -_CARRY_CLIP, _CARRY_CLIP)
    carry = rho[:, None] * np.nan_to_num(clipped * sd[:, None])
    return (predicted + np.concatenate([np.zeros((n, 1)), carry], axis=1),
            errors - np.concatenate([np.zeros((n, 1)), carry[:, :-1]], axis=1))
