"""The stock model: a point-in-time KPI (MRR at the end of the day) judged on the day's change.

A stock is yesterday's value plus what changed today (new, expansion, contraction, churned MRR), so its level
wanders and its days are not noise around a level. What can be judged is the day's change:

* **expected value** — yesterday's value moved by the usual change (the median day-to-day change of the reference
  span), on the log scale for a positive stock (growth is relative);
* **range** — the usual change ± ``sensitivity`` standard deviations of the day-to-day changes, where the standard
  deviation is the root mean square of the changes winsorised at ``_WINSOR`` robust sd: the large customers and
  deals that come now and then count, one pricing change does not take over; and at least the largest change of
  the reference span (a stock whose big days are routine is not flagged for the next one; a change larger than any
  in the reference span and beyond the noise is);
* **score** — the deviation in the range's half-widths, times ``sensitivity`` (±``sensitivity`` at its edges);
* **after a flagged day** — a day back at the level before it passes ("back to the level before yesterday's jump"),
  and so does one that keeps the new level (its own change is usual).
"""

from __future__ import annotations

import numpy as np

from .params import AnomalyParams
from .robust import lag_correlation, nanmedian, normal_as_t, robust_sd
from .scale import Scale, on_scale

_WINSOR = 5.0  # changes are winsorised at this many robust sd before their root mean square is taken
_CORRELATION_DAYS = 84  # the days whose changes' lag-1 correlation tells a stock from noise around a level
_STOCK_CORRELATION = 0.2  # below −0.2 (white noise: −½), a series is noise around a level


def moves_like_stock(history: np.ndarray, heavy_tailed: np.ndarray) -> np.ndarray:
    """Per row, whether a point-in-time KPI's day is judged on its change (else by the daily model): its day-to-day
    changes are not the alternating ones of noise around a level (their lag-1 correlation is above
    ``−_STOCK_CORRELATION``: about 0 for a stock, −½ for white noise), or the daily model errs heavy-tailed on it.
    A series handed to ``pmkpi detect`` as MRR that is noise around a curve stays with the daily model."""
    correlation, _ = lag_correlation(np.diff(history[:, -(_CORRELATION_DAYS + 1):], axis=1), 1)
    return heavy_tailed | (correlation > -_STOCK_CORRELATION)


def fit_stock(windows: dict, today: dict, params: AnomalyParams, ratio_kind: str | None, unit: float) -> dict:
    """Expected value, range and score of every judged day (one row each) of a point-in-time KPI."""
    history = windows["value"]
    n, h = history.shape
    usable = ~np.isnan(history)
    positive = np.where(usable, history > 0, True).all(axis=1) & ~(today["value"] <= 0)
    scale = Scale(params.log_scale & positive & usable.any(axis=1))
    work = on_scale(scale, history)
    changes = work[:, 1:] - work[:, :-1]
    reference = changes[:, -(params.reference_days + 1):-1]  # the reference span before yesterday's change
    seen = (~np.isnan(reference)).sum(axis=1)
    drift = np.nan_to_num(nanmedian(reference))
    centred = reference - drift[:, None]
    spread = robust_sd(centred)
    limit = _WINSOR * spread[:, None]
    sd = np.sqrt(np.nanmean(np.clip(centred, -limit, limit) ** 2, axis=1))
    floor = params.min_relative_scale * np.where(scale.log, 1.0, np.abs(work[:, -1]))
    sd = np.maximum(np.nan_to_num(sd), np.maximum(np.nan_to_num(floor), 1e-12))
    largest = np.nan_to_num(np.nanmax(np.where(np.isnan(centred), -np.inf, np.abs(centred)), axis=1), neginf=0.0)
    reach = np.maximum(normal_as_t(params.sensitivity, np.maximum(seen, 1.0)) * sd, largest)

    now = scale.forward(today["value"])
    expected = work[:, -1] + drift
    yesterday_flagged = np.abs(changes[:, -1] - drift) > reach
    before = work[:, -2] + 2 * drift  # the level before yesterday's change
    back = yesterday_flagged & (np.abs(now - before) < np.abs(now - expected))
    center = np.where(back, before, expected)
    deviation = now - center
    score = params.sensitivity * deviation / reach
    low, high = (0.0, unit) if ratio_kind == "proportion" else (-np.inf, np.inf)
    judged = (seen >= params.min_history) & ~np.isnan(work[:, -1])
    return {
        "model": "stock",
        "value": today["value"],
        "size": seen,
        "judged": judged,
        "log": scale.log,
        "expected": scale.backward(center),
        "lower": np.clip(scale.backward(center - reach), low, high),
        "upper": np.clip(scale.backward(center + reach), low, high),
        "score": score,
        "run": np.zeros(n, dtype=int),
        "held": np.zeros(n, dtype=bool),
        "shifted": np.zeros(n, dtype=int),
        "back": back,
        "drift": drift,
        "change_sd": sd,
        "largest": largest,
    }
