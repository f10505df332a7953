"""The daily model: expected value, range and score of every judged day of a series whose days are its own (not a
trailing window): scale, weekday pattern, sampling and process noise, the replayed level and sustained changes."""

from __future__ import annotations

import numpy as np

from .level import chosen_level
from .noise import process_variance, sampling_variance
from .params import AnomalyParams
from .robust import lagged, nanmedian, nearer, normal_as_t, one_value_sd, robust_sd, rolling, t_as_normal
from .scale import LOG_MIN_COUNT, Scale, on_scale
from .seasonality import shrink, weekday_factor, weekly_effects
from .shifts import sustained

_TAIL = 4.0  # replay errors beyond this many robust sd are the tails


def fit_daily(windows: dict, today: dict, params: AnomalyParams, ratio_kind: str | None, unit: float) -> dict:
    """Expected value, bounds, score and the kind of deviation for every evaluated day (one row per day)."""
    seasonal_span = windows["value"][:, -params.seasonal_days:]
    span = max(params.history_days, params.reference_days)
    windows = {column: window[:, -span:] for column, window in windows.items()}
    history = windows["value"]
    n, h = history.shape
    usable = ~np.isnan(history)
    age = h - np.arange(h)  # days between each history column and today
    size = (usable & (age <= params.history_days)).sum(axis=1)
    whole = np.where(usable, (history >= 0) & (history == np.round(history)), True).all(axis=1)
    counts = (ratio_kind is None) & whole & usable.any(axis=1)
    positive = np.where(usable, history > 0, True).all(axis=1) & ~(today["value"] <= 0)
    large = np.where(usable, history >= LOG_MIN_COUNT, True).all(axis=1)
    log = (params.log_scale & usable.any(axis=1) & positive & (ratio_kind not in ("proportion", "signed"))
           & (~counts | large))
    scale = Scale(log)
    work = scale.forward(history)
    position = (-age) % 7  # each column's weekday, today's being 0
    weekly = params.seasonality == "weekly"

    lags = (7, 14) if weekly else (1, 2)
    diffs = lagged(work, lags, centre=True)
    spread = one_value_sd(diffs)
    if weekly:
        effects, weeks_seen = weekly_effects(on_scale(scale, seasonal_span))
        pattern = shrink(effects, weeks_seen, np.broadcast_to(spread[:, None] ** 2, (n, h)), position)[0]
    else:
        effects, weeks_seen, pattern = np.zeros((n, 7)), np.ones((n, 7)), np.zeros((n, 7))

    # Each value's own sampling noise (ratios, counts), at a local estimate of its expected value.
    local = rolling(work - pattern[:, position], 7, centred=True, sd=spread)
    fitted = scale.backward(local + pattern[:, position])
    sampling = sampling_variance(fitted, windows["denominator"], ratio_kind, unit, counts[:, None])
    sampling = np.where(usable, scale.variance(sampling, fitted), np.nan)
    process = process_variance(diffs, lagged(sampling, lags, centre=False, add=True), spread**2, copies=2)
    noise = np.maximum(process[:, None] + sampling, 1e-300)
    if weekly:
        profile, profile_var = shrink(effects, weeks_seen, noise, position)
    else:
        profile, profile_var = effects, np.zeros(n)
    steady = work - profile[:, position]  # de-seasonalised

    # Counts vary beyond Poisson in proportion to their square (negative binomial): the process
    # variance of each column scales with its expected value squared, relative to the typical one.
    typical = np.nanmedian(np.where(usable, fitted, np.nan), axis=1)
    linear_counts = (counts & ~log)[:, None]
    weight = np.where(linear_counts, np.nan_to_num((fitted / typical[:, None]) ** 2, nan=1.0), 1.0)
    model = chosen_level(steady, sampling, process, spread, params, weight)
    level, error_var, change = sustained(steady, model, process, sampling, params)
    if weekly:
        error_var = error_var * weekday_factor(model.errors / np.sqrt(model.error_var[:, None] * weight + sampling),
                                                position)
    center = level + profile[:, 0]
    error_var = np.where(linear_counts[:, 0], error_var * np.nan_to_num((center / typical) ** 2, nan=1.0), error_var)

    expected = scale.backward(center)
    now = sampling_variance(expected, today["denominator"], ratio_kind, unit, counts)
    now = scale.variance(now, expected)
    floor = np.maximum(params.min_relative_scale * np.where(log, 1.0, np.abs(center)), 1e-12)
    total = np.maximum(np.sqrt(error_var + now + profile_var), floor)

    # The noise is estimated, so a deviation is Student-t distributed; the score is the normal deviate of the
    # same tail probability, with the estimated share's degrees of freedom (Welch–Satterthwaite).
    dof = np.clip(total**4 / np.maximum(error_var**2 / model.dof, 1e-300), 1.0, 1e6)
    # Counts on the linear scale are whole numbers with a long upper side: a rise is counted from the lower edge
    # of its count (a continuity correction of half a count). A fall keeps its full size: a symmetric correction
    # cost the benchmarks' small-count drops recall and saved no false alarm (all were rises).
    half = np.where(linear_counts[:, 0], 0.5, 0.0)
    observed = scale.forward(today["value"])
    score = t_as_normal(nearer(observed - center, half) / total, dof)
    # After an isolated spike, the level without it is where today may be normal too: the return is no drop.
    plain = level == model.predicted[:, -1]  # no change kept or adopted
    clean_center = np.where(plain, model.clean_today, np.nan) + profile[:, 0]
    clean = t_as_normal(nearer(observed - clean_center, half) / total, dof)
    use_clean = np.abs(clean) < np.abs(score)  # NaN (no spike) keeps the score
    center, score = np.where(use_clean, clean_center, center), np.where(use_clean, clean, score)
    expected = scale.backward(center)
    back = t_as_normal(nearer(observed - change.pop("earlier") - profile[:, 0], half) / total, dof)
    score = np.where(np.abs(back) < np.abs(score), back, score)  # NaN (no adopted dip) keeps the score
    reach = normal_as_t(params.sensitivity, dof) * total + half
    # The range shown is clipped to the values the KPI can take (the verdict is unaffected).
    if ratio_kind in ("proportion", "signed"):
        low, high = (0.0 if ratio_kind == "proportion" else -unit), unit
    else:
        low, high = np.where(counts, 0.0, -np.inf), np.inf
    errors = model.errors - nanmedian(model.errors)[:, None]
    tails = np.nanmean(np.where(np.isnan(errors), np.nan, np.abs(errors) > _TAIL * robust_sd(errors)[:, None]), axis=1)
    return {
        "model": "daily",
        # What a return after a flagged run is judged with (shifts.repeats): today on the model's scale, today's
        # weekday effect, the de-seasonalised level today was judged against, and the score's scale.
        "work_value": observed, "profile_today": profile[:, 0], "base": center - profile[:, 0],
        "total": total, "dof": dof, "half": half,
        "tails": np.nan_to_num(tails),
        "errors_seen": (~np.isnan(errors)).sum(axis=1),
        "value": today["value"],
        "size": size,
        "log": log,
        "expected": expected,
        "lower": np.clip(scale.backward(center - reach + half), low, high),
        "upper": np.clip(scale.backward(center + reach), low, high),
        "score": score,
        **change,
        "sampling": np.where(now > error_var, np.where(counts, "counts", "ratio"), ""),
        "denominator": today["denominator"],
    }
