"""Sustained deviations: where a run away from the level began, whether it is a change, a dip still under way, and
the level adopted once a change has lasted ``shift_days``."""

from __future__ import annotations

import numpy as np

from .level import MIN_BACKTEST, Level
from .params import AnomalyParams
from .robust import THEIL_SEN_VAR, huber, nanmedian, robust_sd, t_as_normal, theil_sen

_DRIFT_SIGNIFICANCE = 2.0  # t-statistic of the slope within an adopted change needed to carry it to today
# From this day of a run on, a run already flagged is not flagged again: a lasting level shift or a holiday week
# is one alert at its onset, and its later days say that the run goes on.
_REPEAT_FROM = 3


def sustained(steady: np.ndarray, model: Level, process: np.ndarray, sampling: np.ndarray,
               params: AnomalyParams) -> tuple[np.ndarray, np.ndarray, dict]:
    """Today's level and its error variance, with a recent change taken into account, and the run (signed days).

    For each c up to ``history_days``: the mean of the last c values less the level predicted
    before the first of them. The c where that shift is largest in standard errors is where a
    change would have begun; it is a change when the shift stands out (beyond ``sensitivity``)
    against the same statistic at every earlier day. A change younger than ``shift_days`` is a
    run (``run`` = +c or −c, else 0); a flat level over a week or more keeps judging a dip
    against the level before it, and keeps that level once the last days are back near it. An
    older change is adopted: the robust level of the days since (for a trended level only a
    clear step, which it would otherwise carry on as a slope), moved to today by the slope within it when
    that slope is clear.
    """
    n, h = steady.shape
    rows = np.arange(n)
    one = np.nan_to_num(process + np.nanmedian(sampling, axis=1))  # the noise of one value
    present = ~np.isnan(steady)
    sums = np.concatenate([np.zeros((n, 1)), np.cumsum(np.where(present, steady, 0), axis=1)], axis=1)
    counts = np.concatenate([np.zeros((n, 1)), np.cumsum(present, axis=1)], axis=1)
    forecast_var = model.error_var / (model.window + 1)
    best_z, best_t, best_c = np.zeros(n), np.zeros(n), np.ones(n, dtype=int)
    for c in range(1, params.history_days + 1):
        seen = counts[:, c:] - counts[:, :-c]  # column s: the values s … s+c−1
        mean = np.where(seen >= (c + 1) // 2, (sums[:, c:] - sums[:, :-c]) / np.maximum(seen, 1), np.nan)
        shift = mean - model.predicted[:, : h - c + 1]
        # Where the change began: the c whose shift is largest in standard errors of white noise.
        z = shift[:, -1] / np.sqrt(one / c + forecast_var + 1e-300)
        # Whether it is a change: that shift against the same statistic at every earlier column.
        usual = shift[:, :-1]
        spread = robust_sd(usual)
        enough = ((~np.isnan(usual)).sum(axis=1) >= MIN_BACKTEST) & (spread > 0)
        t = np.where(enough, (shift[:, -1] - nanmedian(usual)) / np.where(spread > 0, spread, 1.0), 0.0)
        stronger = np.isfinite(z) & np.isfinite(t) & (np.abs(z) > np.abs(best_z))
        best_z, best_t = np.where(stronger, z, best_z), np.where(stronger, t, best_t)
        best_c = np.where(stronger, c, best_c)
    slope = model.slope[rows, h - best_c]  # the trend before the change
    before = model.predicted[rows, h - best_c] + slope * best_c
    tail = np.where(np.arange(h) >= h - best_c[:, None], steady - slope[:, None] * (np.arange(h) - h), np.nan)
    since = huber(tail, np.sqrt(one)[:, None])
    latest = np.nanmean(np.where(np.arange(h) >= h - np.minimum(best_c, 2)[:, None], tail, np.nan), axis=1)
    over = np.abs(latest - before) < np.abs(latest - since)
    flat = ~model.trended & (model.window >= 7)
    changed = np.abs(best_t) > params.sensitivity
    adopted = changed & ~over & (best_c >= params.shift_days) & (flat | (np.abs(best_t) > 2 * params.sensitivity))
    young = changed & ~over & (best_c < params.shift_days)
    # A dip holds on to the level before it (a rise does not), and so does the end of a change.
    kept = flat & ((young & (best_t < 0)) | (changed & over))
    # A change adopted while the series keeps moving (a bending curve) is carried to today by its own clear slope.
    columns = np.where(np.isnan(tail), np.nan, np.arange(h) - h)
    centred = columns - np.nanmean(columns, axis=1)[:, None]
    drift = np.zeros(n)  # only an adopted change carries its slope (the O(h²) slopes only where needed)
    if adopted.any():
        drift[adopted] = theil_sen(tail[adopted])
    reach = -np.nanmean(columns, axis=1)
    drift_var = THEIL_SEN_VAR * one / np.maximum(np.nansum(centred**2, axis=1), 1e-300)
    moving = adopted & (drift**2 > _DRIFT_SIGNIFICANCE**2 * drift_var)
    since = np.where(moving, since + drift * reach, since)
    level = np.where(kept, before, np.where(adopted, since, model.predicted[:, h]))
    error_var = np.where(adopted, model.error_var + one / best_c + np.where(moving, drift_var * reach**2, 0),
                         model.error_var)
    run = np.where(young, np.sign(best_t) * best_c, 0).astype(int)
    # During and after a dip (a closure), the level before it stays a normal place to be: a reopening is no spike.
    earlier = np.where((adopted | young) & (best_t < 0), before, np.nan)
    return level, error_var, {"run": run, "held": kept & young, "shifted": np.where(adopted, best_c, 0),
                              "earlier": earlier}


def repeats(days: np.ndarray, fit: dict, params: AnomalyParams) -> tuple[np.ndarray, np.ndarray]:
    """Per row of the daily model's fit (days in order), the day that flagged the run a flagged row only continues or
    returns from (-1 where none), and whether it is a return.

    * From a run's third day on, a day out the same way as a run flagged on an earlier day of it, and no further out
      than twice the run's largest score so far plus ``sensitivity``, is not flagged again (a lasting level shift is
      one alert, not a week of them; a new spike within it still is).
    * Within ``history_days`` of a flagged run that lasted two days or more, a day flagged the other way whose value
      is back within the range around the level the run's first flag was judged against is a return (after a
      holiday fortnight the level followed the dip; the day back is no spike).
    """
    found, returns = np.full(len(days), -1), np.zeros(len(days), dtype=bool)
    out: dict[int, tuple[int, int, float]] = {}  # day → (direction, the day that flagged its run, its largest |score|)
    levels: dict[int, float] = {}  # day that flagged a run → the level it was judged against
    lasting: list[tuple[int, int, float]] = []  # runs out for two days or more: (day flagged, direction, level)
    for i, day in enumerate(days):
        day, score, run = int(day), fit["score"][i], int(fit["run"][i])
        if not (np.isfinite(score) and abs(score) > params.sensitivity):
            continue
        direction = 1 if score > 0 else -1
        back = next((r for r in reversed(lasting) if day - r[0] <= params.history_days and r[1] == -direction
                     and abs(_score_against(fit, i, r[2])) <= params.sensitivity), None)
        if back is not None:
            found[i], returns[i] = back[0], True
            continue
        # The latest day out the same way within this run, if any.
        before = next((out[d] for d in range(day - 1, day - abs(run) - 1, -1)
                       if d in out and out[d][0] == direction and out[d][1] >= day - abs(run)), None)
        same_run = run != 0 and np.sign(run) == direction and before is not None
        if same_run and abs(run) >= _REPEAT_FROM - 1 and abs(score) <= 2 * before[2] + params.sensitivity:
            found[i] = before[1]
        out[day] = (direction, before[1], max(before[2], abs(score))) if same_run else (direction, day, abs(score))
        if not same_run:
            levels[day] = float(fit["base"][i])
        elif not any(r[0] == before[1] for r in lasting):
            lasting.append((before[1], direction, levels[before[1]]))
    return found, returns


def _score_against(fit: dict, i: int, base: float) -> float:
    """Row ``i``'s score had it been judged against the de-seasonalised level ``base``."""
    deviation = fit["work_value"][i] - base - fit["profile_today"][i]
    if deviation > 0:
        deviation = max(deviation - fit["half"][i], 0.0)
    return float(t_as_normal(np.asarray(deviation / fit["total"][i]), np.asarray(fit["dof"][i])))
