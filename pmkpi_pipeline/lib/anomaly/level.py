"""The level: candidate robust means (flat or trended) replayed over the reference span, the best one chosen, its
errors' carry to the next day, and the noise of its predictions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .noise import process_variance
from .params import AnomalyParams
from .robust import huber, robust_sd, rolling

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
    clean_today: np.ndarray | None = None  # today's prediction without the recent isolated outliers (NaN: none)


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
    best.clean_today = _without_recent_outliers(best, cleaned, chosen_errors, spread)
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


def _without_recent_outliers(best: Level, cleaned: np.ndarray, errors: np.ndarray, spread: np.ndarray
                             ) -> np.ndarray:
    """Today's prediction by the winning level with the days it reads that were isolated outliers of its own replay
    (beyond ``_OUTLIER`` robust sd, the next day not out the same way) replaced by what it predicted for them; NaN
    for rows whose last ``2 × window`` days hold none. After a spike, the return to normal can then be judged
    against the level as well as against the spike (the neighbourhood cleaning misses a spike at the series' edge,
    where it has only one side)."""
    n, h = cleaned.shape
    z = errors / np.maximum(robust_sd(errors), 1e-300)[:, None]
    outlier = np.abs(z) > _OUTLIER
    # Only an isolated one: the next day did not stay out the same way (a bend or a new level is no spike).
    following = np.concatenate([z[:, 1:], np.zeros((n, 1))], axis=1)
    outlier &= ~((np.abs(following) > _OUTLIER) & (np.sign(following) == np.sign(z)))
    read = np.arange(h)[None, :] >= h - 2 * best.window[:, None]
    affected = (outlier & read).any(axis=1)
    values = np.where(outlier, best.predicted[:, :h], cleaned)
    clean = np.full(n, np.nan)
    for k in np.unique(best.window[affected]):
        rows = np.flatnonzero(affected & (best.window == k))
        k = int(k)
        now = _robust_mean(values[rows, h - k:], spread[rows], k)
        then = _robust_mean(values[rows, h - 2 * k:h - k], spread[rows], k)
        slope = (now - then) / k
        trended = best.trended[rows]
        predicted = np.where(trended, now + slope * (k + 1) / 2, now)
        clean[rows] = predicted
    return clean


def _robust_mean(x: np.ndarray, sd: np.ndarray, k: int) -> np.ndarray:
    """Per row, the robust mean of ``k`` columns, as :func:`.robust.rolling` takes it (NaN with under half of
    them known)."""
    enough = (~np.isnan(x)).sum(axis=1) >= (k + 1) // 2
    return np.where(enough, huber(x, sd[:, None]), np.nan)


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
    standardised = errors / np.where(sd > 0, sd, 1.0)[:, None]
    # An outlier carries nothing: after a spike, the next day is judged against the level, not the spike.
    clipped = np.where(np.abs(standardised) > _OUTLIER, 0.0, np.clip(standardised, -_CARRY_CLIP, _CARRY_CLIP))
    carry = rho[:, None] * np.nan_to_num(clipped * sd[:, None])
    return (predicted + np.concatenate([np.zeros((n, 1)), carry], axis=1),
            errors - np.concatenate([np.zeros((n, 1)), carry[:, :-1]], axis=1))
