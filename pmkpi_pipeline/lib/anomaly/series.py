"""Judging a series: validating it, laying each judged day's history out as one row, the KPI's ratio shape, and the
model that judges it."""

from __future__ import annotations

import math
import warnings
from datetime import date, timedelta

import numpy as np
import pandas as pd

from .daily import fit_daily
from .params import AnomalyParams
from .shifts import repeats
from .stock import fit_stock, moves_like_stock
from .verdict import Verdict, verdict_of
from .window import echoes, errs_heavy_tailed, fit_window, moves_like_window


def assess_series(
    series: pd.DataFrame, params: AnomalyParams, evaluate_from: date | None = None
) -> list[Verdict]:
    """Judge each day of a KPI series (on or after ``evaluate_from``) against the days before it.

    ``series`` has columns ``date``, ``value`` (NaN = not computable) and optionally
    ``numerator`` and ``denominator`` (NaN when the KPI is not a ratio), one row per date in
    any order. Missing dates and NaN values in the history are skipped. A day of a trailing-window KPI whose history
    moves as its window does is judged by the window model (:mod:`.window`), a day of a point-in-time KPI that moves
    as a stock by the stock model (:mod:`.stock`), any other by the daily model (:mod:`.daily`).
    """
    frame = _prepare(series)
    # A verdict depends on the flags of the days before it: an echo of a flagged day still in a window, a run already
    # flagged or a return from one is not flagged again. Those days are judged too (and left out), so that a
    # one-day run says what a range run says.
    lead = max(params.window_days - 1, params.history_days)
    first = None if evaluate_from is None else evaluate_from - timedelta(days=lead)
    evaluated = frame if first is None else frame[frame["date"] >= first]
    if evaluated.empty:
        return []
    h = params.lookback_days
    origin = int(frame["day"].min()) - h
    slot = frame["day"].to_numpy() - origin
    position = evaluated["day"].to_numpy() - origin
    windows, today = {}, {}
    for column in ("value", "numerator", "denominator"):
        calendar = np.full(int(slot.max()) + 1, np.nan)
        calendar[slot] = frame[column].to_numpy()
        windows[column] = np.lib.stride_tricks.sliding_window_view(calendar, h)[position - h]
        today[column] = calendar[position]

    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are handled explicitly
        kind = _ratio_kind(frame) if params.ratio_kind == "auto" else (
            None if params.ratio_kind == "none" else params.ratio_kind)
        unit = params.unit or _unit(frame)
        daily = fit_daily(windows, today, params, kind, unit)
        if params.point_in_time:
            routed, model = moves_like_stock(windows["value"], errs_heavy_tailed(daily)), fit_stock
        else:
            routed, model = moves_like_window(windows["value"], daily, params.window_days), fit_window
        ordinals = evaluated["day"].to_numpy()
        daily = _rows(daily, ~routed)
        daily["echo"], daily["returns"] = repeats(ordinals[~routed], daily, params)
        fits = [(np.flatnonzero(~routed), daily)]
        if routed.any():
            rows = np.flatnonzero(routed)
            fit = model(_rows(windows, routed), _rows(today, routed), params, kind, unit)
            if model is fit_window:
                fit["echo"] = echoes(ordinals[rows], fit, params)
            fits.append((rows, fit))
    verdicts: list[Verdict | None] = [None] * len(evaluated)
    days = evaluated["date"].tolist()
    for rows, fit in fits:
        for i, row in enumerate(rows):
            verdicts[row] = verdict_of(i, days[row], fit, params)
    return [v for v in verdicts if v is not None and (evaluate_from is None or v.date >= evaluate_from)]


def _rows(arrays: dict, rows: np.ndarray) -> dict:
    """The chosen rows of every array (other values, such as a fit's model name, as they are)."""
    return {key: value[rows] if isinstance(value, np.ndarray) else value for key, value in arrays.items()}


def _prepare(series: pd.DataFrame) -> pd.DataFrame:
    """Validated copy: date as ``datetime.date``, float columns, sorted, ``day`` ordinal."""
    missing = {"date", "value"} - set(series.columns)
    if missing:
        raise ValueError(f"series is missing column(s) {sorted(missing)}")
    frame = pd.DataFrame({"date": pd.to_datetime(series["date"]).dt.date}, index=series.index)
    for column in ("value", "numerator", "denominator"):
        raw = series[column] if column in series.columns else np.nan
        frame[column] = pd.to_numeric(pd.Series(raw, index=series.index), errors="coerce").astype(float)
    duplicated = frame["date"].duplicated()
    if duplicated.any():
        raise ValueError(f"series has more than one row for {sorted(set(frame.loc[duplicated, 'date']))[:5]}")
    frame = frame.sort_values("date", ignore_index=True)
    frame["day"] = np.array([d.toordinal() for d in frame["date"]], dtype=np.int64)
    return frame


def _ratio_kind(frame: pd.DataFrame) -> str | None:
    """How a ratio's units are bounded — a property of the KPI's definition.

    ``"proportion"``: 0 <= numerator <= denominator (units are 0 or 1); ``"signed"``:
    |numerator| <= denominator (units in [-1, 1], like NPS); ``"unbounded"``: anything else
    (pages per session, cost per lead); ``None``: not a ratio.
    """
    rows = frame.dropna(subset=["numerator", "denominator"])
    rows = rows[rows["denominator"] > 0]
    if rows.empty:
        return None
    numerator, denominator = rows["numerator"], rows["denominator"]
    if ((numerator >= 0) & (numerator <= denominator)).all():
        return "proportion"
    if (numerator.abs() <= denominator).all():
        return "signed"
    return "unbounded"


def _unit(frame: pd.DataFrame) -> float:
    """The factor between value and numerator / denominator (100 for percentages, else 1)."""
    rows = frame.dropna(subset=["value", "numerator", "denominator"])
    rows = rows[(rows["numerator"] != 0) & (rows["denominator"] > 0)]
    if rows.empty:
        return 1.0
    factor = float(np.median(rows["value"] * rows["denominator"] / rows["numerator"]))
    return factor if math.isfinite(factor) and factor != 0 else 1.0
