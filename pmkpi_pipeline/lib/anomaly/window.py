"""The window model: a KPI over a trailing window of ``W`` days judged on what changes in its window.

Consecutive days of a 7-day e-mail rate or a 30-day churn share ``W − 1`` of their ``W`` days, so most of their
day-to-day changes are 0 and the series jumps when a campaign, an annual invoice or a refund enters or leaves the
window. Noise estimated from one-day changes collapses there, and every campaign would be "significant". So a day
of such a series is judged against the windows before it that share none of its days:

* **noise** — the changes over ``W`` days (each between two windows that share no day), standardised by each
  value's sampling noise: their spread is the dispersion ``φ`` (quasi-likelihood: an e-mail rate varies by campaign
  far more than binomial noise at thousands of recipients says, ROMI with a few large deals). ``φ`` is at least 1:
  sampling noise is the floor. A value that is not a ratio has a sampling variance of 1, so ``φ`` is then its own
  variance. A change repeated while nothing enters or leaves counts once; with few distinct changes (campaigns
  weeks apart), the distinct window values give the spread instead (:func:`_dispersion`).
* **expected value** — the robust (Huber) mean of the values ``W``, ``2W``, … days before (up to
  ``MAX_WINDOWS`` of them), each moved by the trend over its distance where every day adds to the window and the
  trend (the median change over ``W`` days) is clearly not 0.
* **score** — today's deviation in the standard deviation of today's value (``φ`` × its sampling variance at
  today's denominator, so a window holding one small campaign is wider) and of the expected value's error,
  studentised with the degrees of freedom of the independent changes the dispersion rests on.
* **echo** — while a flagged day is still inside the window, a value between the normal range and that day's
  deviation (the window still holds what was flagged) is not flagged again; a move beyond it, or the other way, is.

Too few earlier windows (``MIN_WINDOWS``) or comparisons for the noise leave the day not judged, with the reason.
"""

from __future__ import annotations

import math

import numpy as np

from .noise import sampling_variance
from .params import AnomalyParams
from .robust import HUBER_VAR, huber, lag_correlation, nanmedian, normal_as_t, robust_sd, t_as_normal

MIN_WINDOWS = 2  # earlier windows sharing no day with today's that the expected value needs
MAX_WINDOWS = 12  # the most earlier windows the expected value is a mean of
MIN_CHANGE_WINDOWS = 2  # windows' worth of W-day changes the dispersion needs
_TREND_SIGNIFICANCE = 2.0  # the W-day trend's median over its standard error needed to carry it
_TREND_WINDOWS = 3  # windows' worth of W-day changes a trend needs
_WINDOW_TAILS = 0.05  # share of the daily model's replay errors beyond 4 robust sd from which a day is a window's
_MIN_ERRORS = 28  # replay errors needed to tell
_MIN_RUNS = 8  # distinct W-day changes a window that mostly stands still needs for its dispersion
_MIN_DISTINCT = 6  # else distinct values (sets of campaigns)
_FEW = 20  # comparisons from which their spread is estimated robustly
# Neighbouring runs share a campaign (their changes correlate by about −½): a variance estimated from n of them has
# about n / (1 + 2 × ½²) = n / 1.5 degrees of freedom.
_RUNS_PER_DOF = 1.5
_MEAN_ABS_TO_SD = math.sqrt(math.pi / 2)  # mean absolute deviation → standard deviation (normal data)
_MIN_PAIRS = 30  # pairs of changes needed to tell
_OWN_DAYS_CHANGES = 0.25  # midway between white noise (−½) and a window (0)
_OWN_DAYS_BENDS = 0.6  # between white noise (−⅔) and a window (−½), nearer white noise
_ECHO_CORRELATION = 0.25  # midway between a window (−½) and a series of its own days (0); 3 sd of either at 140 pairs


def moves_like_window(history: np.ndarray, daily_fit: dict, window_days: int) -> np.ndarray:
    """Per row, whether the day of a KPI with a window of several days is judged as its window (else by the daily
    model, whose fit is given): the catalog's word holds unless the row's own history moves day by day, as white
    noise around a curve does, and the daily model does not err heavy-tailed on it. Day by day means either

    * its one-day changes alternate (lag-1 correlation below ``−_OWN_DAYS_CHANGES``: −½ for white noise, about 0
      for a window, whose one-day change is what entered less what left), or
    * its second differences do, strongly (below ``−_OWN_DAYS_BENDS``: −⅔ for white noise, whatever the curve
      under it; −½ for a window), for a curve whose own bends dominate its one-day changes.

    Heavy-tailed replay errors (:func:`errs_heavy_tailed`) or second differences ``W`` days apart that echo each
    other (what enters leaves ``W`` days later: below ``−_ECHO_CORRELATION``) always mean the window model. So a
    series handed to ``pmkpi detect`` as a window KPI that moves day by day stays with the daily model."""
    if window_days < 2:
        return np.zeros(len(history), dtype=bool)
    bends = np.diff(history, n=2, axis=1)
    changes_lag1, pairs = lag_correlation(np.diff(history, axis=1), 1)
    bends_lag1, _ = lag_correlation(bends, 1)
    own_days = (pairs >= _MIN_PAIRS) & ((changes_lag1 < -_OWN_DAYS_CHANGES) | (bends_lag1 < -_OWN_DAYS_BENDS))
    echo, echo_pairs = lag_correlation(bends, window_days)
    echoing = (echo_pairs >= _MIN_PAIRS) & (echo < -_ECHO_CORRELATION)
    return ~own_days | errs_heavy_tailed(daily_fit) | echoing


def errs_heavy_tailed(daily_fit: dict) -> np.ndarray:
    """Per row, whether the daily model's replay errors on the row's own history are heavy-tailed (more than
    ``_WINDOW_TAILS`` beyond 4 robust sd), or too few to tell."""
    return (daily_fit["errors_seen"] < _MIN_ERRORS) | (daily_fit["tails"] > _WINDOW_TAILS)


def fit_window(windows: dict, today: dict, params: AnomalyParams, ratio_kind: str | None, unit: float) -> dict:
    """Expected value, range and score of every judged day (one row each) of a trailing-window KPI."""
    w = params.window_days
    history, denominators = windows["value"], windows["denominator"]
    n, h = history.shape
    typical = nanmedian(history)
    sampling = _sampling(np.broadcast_to(typical[:, None], history.shape), denominators, ratio_kind, unit)
    changes = history[:, w:] - history[:, :-w]
    noise = _dispersion(history, changes, sampling, w)
    # The typical change over W days of a window every day adds to, where it is clearly not 0 and rests on at least
    # _TREND_WINDOWS independent changes: it is carried over the distance. A window of a few campaigns has none
    # (a handful of campaigns alike and unlike is no trend).
    trend = np.nan_to_num(nanmedian(changes))
    trend_se = _spread(changes) / np.sqrt(np.maximum(noise["dof"], 1.0))
    trend = np.where(~noise["still"] & (noise["dof"] >= _TREND_WINDOWS)
                     & (np.abs(trend) > _TREND_SIGNIFICANCE * trend_se), trend, 0.0)
    dispersion = noise["dispersion"]

    distance = np.arange(1, min(MAX_WINDOWS, h // w) + 1) * w  # days back to each earlier window
    earlier = history[:, h - distance] + trend[:, None] * distance / w
    earlier_sampling = np.where(np.isnan(earlier), np.nan, sampling[:, h - distance])
    windows_seen = (~np.isnan(earlier)).sum(axis=1)
    spread = np.sqrt(dispersion * nanmedian(sampling))
    expected = huber(earlier, spread[:, None])
    expected_var = HUBER_VAR * dispersion * np.nanmean(earlier_sampling, axis=1) / np.maximum(windows_seen, 1)

    now = _sampling(expected, today["denominator"], ratio_kind, unit)
    floor = np.maximum(params.min_relative_scale * np.abs(expected), 1e-12)
    total = np.maximum(np.sqrt(dispersion * now + expected_var), floor)
    dof = np.clip(noise["dof"], 2.0, 1e6)
    deviation = today["value"] - expected
    score = t_as_normal(deviation / total, dof)
    reach = normal_as_t(params.sensitivity, dof) * total
    judged = (windows_seen >= MIN_WINDOWS) & (noise["seen"] >= noise["needed"])
    low, high = _bounds(ratio_kind, unit)
    return {
        "model": "window",
        "value": today["value"],
        "size": windows_seen,
        "judged": judged,
        "noise_seen": noise["seen"],
        "noise_needed": noise["needed"],
        "log": np.zeros(n, dtype=bool),
        "expected": expected,
        "lower": np.clip(expected - reach, low, high),
        "upper": np.clip(expected + reach, low, high),
        "score": score,
        "deviation": deviation,
        "reach": reach,
        "run": np.zeros(n, dtype=int),
        "held": np.zeros(n, dtype=bool),
        "shifted": np.zeros(n, dtype=int),
        "dispersion": dispersion,
        "window": np.full(n, w),
    }


def _dispersion(history: np.ndarray, changes: np.ndarray, sampling: np.ndarray, w: int) -> dict:
    """Per row, the dispersion ``φ`` of the window's value beyond sampling noise, its degrees of freedom, and how many
    comparisons it rests on against how many it needs.

    Where most days add something to the window (daily invoices), from the W-day changes (``changes``; the spread
    is blind to their median, the trend): consecutive ones share all but one of their days, so one independent
    change per ``W``, and ``MIN_CHANGE_WINDOWS × W`` of them are needed. Where most days change nothing (a few
    campaigns a window), a change repeats until a campaign enters or leaves: each run of one value is one
    comparison, counted once, and neighbouring runs share a campaign, so half of them count; with fewer than
    ``_MIN_RUNS`` runs (campaigns weeks apart, a young series), from the distinct values themselves around their
    median (each one set of campaigns), ``_MIN_DISTINCT`` of them needed.
    """
    steps = history[:, 1:] - history[:, :-1]
    still = (steps == 0).sum(axis=1) > (~np.isnan(steps)).sum(axis=1) / 2
    standardised = changes / np.sqrt(sampling[:, w:] + sampling[:, :-w])
    runs = _first_of_runs(standardised)
    run_count = (~np.isnan(runs)).sum(axis=1)
    seen = (~np.isnan(standardised)).sum(axis=1)
    distinct = _first_of_runs((history - nanmedian(history)[:, None]) / np.sqrt(sampling))
    distinct_count = (~np.isnan(distinct)).sum(axis=1)
    use_values = still & (run_count < _MIN_RUNS)
    # A change over its two values' sampling noise and a value over its own: both have the variance φ.
    dispersion = np.where(use_values, _spread(distinct), _spread(runs))
    return {
        "dispersion": np.maximum(np.nan_to_num(dispersion) ** 2, 1.0),
        "dof": np.where(use_values, distinct_count - 1, np.where(still, run_count / _RUNS_PER_DOF, seen / w)),
        "seen": np.where(use_values, distinct_count, np.where(still, run_count, seen)),
        "needed": np.where(use_values, _MIN_DISTINCT, np.where(still, _MIN_RUNS, MIN_CHANGE_WINDOWS * w)),
        "still": still,
    }


def _spread(x: np.ndarray) -> np.ndarray:
    """Per row, the standard deviation of the non-NaN ``x``: robust (:func:`.robust.robust_sd`) from ``_FEW``
    values on; below, the mean absolute deviation from the median with the largest left out. A few changes
    between campaigns alike and campaigns unlike (half near 0, half large) fool a median, which then takes the
    near ones for the noise and the rest for outliers; one anomaly among them still counts for nothing."""
    deviation = np.abs(x - nanmedian(x)[:, None])
    count = (~np.isnan(x)).sum(axis=1)
    largest = np.nanmax(np.where(np.isnan(deviation), -np.inf, deviation), axis=1)
    few = _MEAN_ABS_TO_SD * (np.nansum(deviation, axis=1) - np.maximum(largest, 0)) / np.maximum(count - 1, 1)
    return np.where(count >= _FEW, robust_sd(x), few)


def _first_of_runs(x: np.ndarray) -> np.ndarray:
    """``x`` with each value that repeats the one before it (a day on which nothing changed) set to NaN."""
    repeated = np.concatenate([np.zeros((len(x), 1), dtype=bool), x[:, 1:] == x[:, :-1]], axis=1)
    return np.where(repeated, np.nan, x)


def echoes(days: np.ndarray, fit: dict, params: AnomalyParams) -> np.ndarray:
    """Per judged row (days in order), the day of a flagged deviation still inside the window that explains today's
    (-1 where none): today's value lies between the normal range and that day's deviation. Flagged rows found here
    pass, and a flagged row is the start of an echo only when it is itself no echo."""
    w = params.window_days
    found = np.full(len(days), -1)
    source_day, source_deviation = None, 0.0
    for i, day in enumerate(days):
        if source_day is not None and day - source_day >= w:
            source_day = None
        deviation, reach, score = fit["deviation"][i], fit["reach"][i], fit["score"][i]
        flagged = bool(fit["judged"][i]) and np.isfinite(score) and abs(score) > params.sensitivity
        if not flagged:
            continue
        within = (source_day is not None and np.sign(deviation) == np.sign(source_deviation)
                  and abs(deviation) <= abs(source_deviation) + reach)
        if within:
            found[i] = source_day
        else:
            source_day, source_deviation = day, deviation
    return found


def _sampling(expected: np.ndarray, denominator: np.ndarray, ratio_kind: str | None, unit: float) -> np.ndarray:
    """Each value's sampling variance at ``expected`` (1 for a value that is not a ratio, or has no denominator)."""
    if ratio_kind is None:
        return np.where(np.isnan(expected), np.nan, 1.0)
    variance = sampling_variance(expected, denominator, ratio_kind, unit, np.zeros(expected.shape, dtype=bool))
    return np.where(np.isfinite(variance) & (variance > 0), variance, np.where(np.isnan(denominator), 1.0, np.nan))


def _bounds(ratio_kind: str | None, unit: float) -> tuple[float, float]:
    """The values a KPI of this ratio shape can take."""
    if ratio_kind == "proportion":
        return 0.0, unit
    if ratio_kind == "signed":
        return -unit, unit
    return -np.inf, np.inf
