"""Anomaly detection for daily KPI series: seasonal, trend-aware, robust and count-aware.

Every day is judged only against the previous ``history_days`` calendar days (missing days
and NaN values skipped). The model is fitted for all days of a series at once, with small
vectorised numpy operations:

* **scale** — a strictly positive history is modelled on the log scale, so weekday dips,
  growth and noise are relative (a weekend with half the traffic has half the noise);
  otherwise, or when today's value is zero or negative, on the linear scale.
* **spread** — a robust standard deviation (MAD, refined by trimming beyond 3 of them) of
  the 7- and 14-day differences (1- and 2-day without seasonality), each lag centred on its
  median: weekday effects, trend and level cancel out, and an outlier touches only a few
  differences.
* **weekday seasonality** — the history's whole weeks are centred on their own medians and
  each weekday's effect is a robust (Huber) mean over weeks; the pattern is shrunk towards
  none when it is not clearly larger than its own estimation noise.
* **trend** — the median week-over-week difference / 7, shrunk the same way.
* **level** — a robust, precision-weighted mean of the last ``level_days`` de-seasonalised
  values, each projected to today along the trend. Older data does not anchor the level, so
  after a genuine step change the detector alarms for a few days and then adapts, instead
  of alarming for the whole history window. (The spread stays wider, i.e. the detector less
  sensitive, while the step is inside the differences: up to three weeks.)
* **small counts** — each day's noise is a process part plus its own sampling part: for a
  ratio with numerator and denominator, binomial over that day's denominator (proportions;
  at least one count's worth), (1−m)(1+m)/d for signed ratios such as NPS, a coefficient of
  variation of 1 per unit for other ratios; Poisson for series of whole non-negative numbers.
  The process part is solved from the history; today's sampling part comes from today's
  denominator, so a rate over five users cannot alarm while one over thousands stays sharp.

The score is the deviation of today's value from the expected one in standard deviations of
the prediction (process and sampling noise plus the estimation error of level, weekday
effect and trend; at least ``min_relative_scale`` of the expected value); a day is an
anomaly when ``|score| > sensitivity``. The expected range is ``expected ± sensitivity``
such deviations — asymmetric on the log scale — clipped to the values the KPI can take.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

_SEASONALITIES = ("weekly", "none")
_MAD_TO_SD = 1.4826  # median absolute deviation of normal data → standard deviation
_MEAN_ABS_TO_SD = math.sqrt(math.pi / 2)  # mean absolute deviation → standard deviation
_MEDIAN_VAR = math.pi / 2  # variance of the median of n normal values ≈ (π/2)·σ²/n
_RATIO_KINDS = ("auto", "proportion", "signed", "unbounded", "none")
_HUBER_C = 1.5  # robust means clip residuals at 1.5 spreads from the median
_HUBER_VAR = 1.04  # variance of that robust mean relative to the plain mean (normal data)
_TRIM_C = 3.0  # the spread's refinement drops deviations beyond 3 rough spreads
_TRIM_CONSISTENCY = 0.97334  # E[X² | |X| < 3] for a standard normal X
_TRIM_STEPS = 4  # re-trimmings, so that a too small first guess cannot shrink the spread
_WEEK_CENTRING_VAR = 1 + math.pi / 14  # var(value − its week's median) / var(value)
_BISECTIONS = 12  # steps solving for the process variance (precision 2⁻¹² of its ceiling)


@dataclass(frozen=True)
class AnomalyParams:
    """Tunable parameters of the detector; :meth:`replace` gives per-KPI variants."""

    history_days: int = 28  # previous calendar days used as history (spec default: 28)
    min_history: int = 14  # fewer usable points → pass with a note
    sensitivity: float = 3.25  # threshold on |score| (robust standard deviations of the prediction)
    seasonality: str = "weekly"  # "weekly" or "none"
    level_days: int = 7  # most recent points defining the current level (adaptation speed)
    log_scale: bool = True  # judge strictly positive histories on relative (log) changes
    min_relative_scale: float = 0.01  # floor of the prediction's sd, relative to the expected value
    # What the KPI's definition says about its ratio; "auto" infers it from the series given
    # (then a range run and a one-day run can see different evidence), "none" = not a ratio.
    ratio_kind: str = "auto"  # "auto" | "proportion" | "signed" | "unbounded" | "none"
    unit: float = 0.0  # value / (numerator / denominator): 100 for percentages; 0 = infer

    def __post_init__(self) -> None:
        if self.ratio_kind not in _RATIO_KINDS:
            raise ValueError(f"ratio_kind={self.ratio_kind!r} must be one of {_RATIO_KINDS}")
        if self.seasonality not in _SEASONALITIES:
            raise ValueError(f"seasonality={self.seasonality!r} must be one of {_SEASONALITIES}")
        if self.seasonality == "weekly" and self.history_days < 14:
            raise ValueError("weekly seasonality needs history_days >= 14 (two whole weeks)")
        if not 1 <= self.min_history <= self.history_days:
            raise ValueError(
                f"min_history={self.min_history} must be between 1 and history_days={self.history_days}"
            )
        if not 1 <= self.level_days <= self.history_days:
            raise ValueError(
                f"level_days={self.level_days} must be between 1 and history_days={self.history_days}"
            )
        if not self.sensitivity > 0:
            raise ValueError(f"sensitivity={self.sensitivity} must be positive")
        if not self.min_relative_scale >= 0:
            raise ValueError(f"min_relative_scale={self.min_relative_scale} must be >= 0")

    def replace(self, **overrides) -> AnomalyParams:
        """A copy with some parameters changed (validated; unknown names are an error)."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown anomaly parameter(s) {unknown}; known: {sorted(known)}")
        return dataclasses.replace(self, **overrides)


@dataclass(frozen=True)
class Verdict:
    """The judgement of one day, with what it was judged against."""

    date: date
    value: float | None
    status: str  # "pass" | "anomaly" | "insufficient_history" | "no_value"
    expected: float | None
    lower: float | None
    upper: float | None
    score: float | None
    history_size: int
    rule: str

    def metadata(self) -> dict:
        """JSON-safe fields: numbers to 6 significant digits, the score to 2 decimals."""
        return {
            "date": self.date.isoformat(),
            "status": self.status,
            "value": _significant(self.value),
            "expected": _significant(self.expected),
            "lower": _significant(self.lower),
            "upper": _significant(self.upper),
            "score": None if self.score is None else round(self.score, 2),
            "history_size": self.history_size,
            "rule": self.rule,
        }


def _significant(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(f"{x:.6g}")


def assess_series(
    series: pd.DataFrame, params: AnomalyParams, evaluate_from: date | None = None
) -> list[Verdict]:
    """Judge each day of a KPI series (on or after ``evaluate_from``) against its own history.

    ``series`` has columns ``date``, ``value`` (NaN = not computable) and optionally
    ``numerator`` and ``denominator`` (NaN when the KPI is not a ratio), one row per date in
    any order. Missing dates and NaN values in the history are skipped.
    """
    frame = _prepare(series)
    if evaluate_from is not None:
        evaluated = frame[frame["date"] >= evaluate_from]
    else:
        evaluated = frame
    if evaluated.empty:
        return []
    h = params.history_days
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
        fit = _fit(windows, today, params, kind, params.unit or _unit(frame))
    return [_verdict(i, day, fit, params) for i, day in enumerate(evaluated["date"].tolist())]


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


class _Scale:
    """The scale each evaluated day's history is modelled on: log for strictly positive
    histories, linear otherwise (``log`` holds one flag per day; arrays passed in hold one
    value, or one row, per day)."""

    def __init__(self, log: np.ndarray):
        self.log = log

    def _rows(self, like: np.ndarray) -> np.ndarray:
        return self.log if like.ndim == 1 else self.log[:, None]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Values → model scale."""
        return np.where(self._rows(x), np.log(x), x)

    def backward(self, w: np.ndarray) -> np.ndarray:
        """Model scale → values."""
        return np.where(self._rows(w), np.exp(w), w)

    def variance(self, linear: np.ndarray, at: np.ndarray) -> np.ndarray:
        """A variance of values near ``at`` → model scale (delta method)."""
        return np.where(self._rows(at), linear / at**2, linear)


def _fit(windows: dict, today: dict, params: AnomalyParams, ratio_kind: str | None, unit: float) -> dict:
    """Expected value, bounds and score for every evaluated day (one row per day)."""
    history = windows["value"]
    n, h = history.shape
    usable = ~np.isnan(history)
    size = usable.sum(axis=1)
    whole = np.where(usable, (history >= 0) & (history == np.round(history)), True).all(axis=1)
    counts = (ratio_kind is None) & whole & (size > 0)
    # Log scale needs a positive history and today's value not zero or negative.
    positive = np.where(usable, history > 0, True).all(axis=1) & ~(today["value"] <= 0)
    log = params.log_scale & (size > 0) & positive
    scale = _Scale(log)
    work = scale.forward(history)
    age = h - np.arange(h)  # days between each history column and today
    position = (-age) % 7  # each column's weekday, today's being 0
    weekly = params.seasonality == "weekly"

    week_diffs = work[:, 7:] - work[:, :-7]
    slope = np.nan_to_num(_nanmedian(week_diffs) / 7)
    lags = tuple(lag for lag in ((7, 14) if weekly else (1, 2)) if lag < h)
    diffs = _lagged(work, lags, centre=True)
    spread = _robust_sd(diffs) / math.sqrt(2)
    if weekly:
        effects, weeks_seen = _weekly_effects(work, spread)
    else:
        effects, weeks_seen = np.zeros((n, 7)), np.ones((n, 7))
    # The level comes from the last level_days usable points (all of them if there are none).
    recent = usable & (age <= params.level_days)
    recent = np.where(recent.any(axis=1)[:, None], recent, usable)

    # Noise of each history point: process noise plus its own sampling noise (ratios, counts),
    # the latter from a first fit that takes the noise to be the same every day.
    pattern = _shrink(effects, weeks_seen, np.broadcast_to(spread[:, None] ** 2, (n, h)), position)[0]
    first_projection = work - pattern[:, position] + slope[:, None] * age
    first = _huber(np.where(recent, first_projection, np.nan), spread[:, None])
    fitted = scale.backward(first[:, None] - slope[:, None] * age + pattern[:, position])
    sampling = _sampling_variance(fitted, windows["denominator"], ratio_kind, unit, counts[:, None])
    sampling = np.where(usable, scale.variance(sampling, fitted), np.nan)
    process = _process_variance(diffs, _lagged(sampling, lags, centre=False, add=True), spread**2)
    noise = np.maximum(process[:, None] + sampling, 1e-300)

    if weekly:
        profile, profile_var = _shrink(effects, weeks_seen, noise, position)
    else:
        profile, profile_var = effects, np.zeros(n)
    slope, slope_var = _shrink_slope(slope, noise[:, 7:] + noise[:, :-7])
    projected = np.where(recent, work - profile[:, position] + slope[:, None] * age, np.nan)
    level = _huber(projected, np.sqrt(noise), weights=np.where(recent, 1 / noise, 0))
    level_var = _HUBER_VAR / np.where(recent, 1 / noise, 0).sum(axis=1)
    level_age = np.nanmean(np.where(recent, age, np.nan), axis=1)
    center = level + profile[:, 0]

    expected = scale.backward(center)
    now = _sampling_variance(expected, today["denominator"], ratio_kind, unit, counts)
    now = scale.variance(now, expected)
    floor = np.maximum(params.min_relative_scale * np.where(log, 1.0, np.abs(center)), 1e-12)
    estimation = level_var + profile_var + slope_var * level_age**2
    total = np.maximum(np.sqrt(process + now + estimation), floor)

    score = (scale.forward(today["value"]) - center) / total
    reach = params.sensitivity * total
    # The range shown is clipped to the values the KPI can take (the verdict is unaffected).
    if ratio_kind in ("proportion", "signed"):
        low, high = (0.0 if ratio_kind == "proportion" else -unit), unit
    else:
        low, high = np.where(counts, 0.0, -np.inf), np.inf
    return {
        "value": today["value"],
        "size": size,
        "log": log,
        "expected": expected,
        "lower": np.clip(scale.backward(center - reach), low, high),
        "upper": np.clip(scale.backward(center + reach), low, high),
        "score": score,
        "sampling": np.where(now > process, np.where(counts, "counts", "ratio"), ""),
        "denominator": today["denominator"],
    }


def _lagged(x: np.ndarray, lags: tuple[int, ...], centre: bool, add: bool = False) -> np.ndarray:
    """Per row, the differences (or with ``add`` the sums) of columns ``lag`` apart, for each
    lag side by side; ``centre`` subtracts each lag's median difference (the trend's part)."""
    parts = []
    for lag in lags:
        part = x[:, lag:] + x[:, :-lag] if add else x[:, lag:] - x[:, :-lag]
        parts.append(part - _nanmedian(part)[:, None] if centre else part)
    return np.concatenate(parts, axis=1)


def _nanmedian(x: np.ndarray) -> np.ndarray:
    """Median of the non-NaN values along the last axis (NaN if none); a fast np.nanmedian."""
    if x.shape[-1] == 0:
        return np.full(x.shape[:-1], np.nan)
    ordered = np.sort(x, axis=-1)  # NaNs sort last
    count = (~np.isnan(x)).sum(axis=-1, keepdims=True)
    low = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0), axis=-1)
    high = np.take_along_axis(ordered, np.minimum(count // 2, x.shape[-1] - 1), axis=-1)
    return np.where(count > 0, (low + high) / 2, np.nan)[..., 0]


def _robust_sd(x: np.ndarray) -> np.ndarray:
    """Per row, a robust standard deviation of the non-NaN ``x``.

    Median absolute deviation (mean absolute deviation when that is 0, as in zero-inflated
    series), refined by the root mean square of the deviations within 3 such deviations
    (efficient, and blind to outliers) with Bessel's correction, re-trimmed a few times.
    """
    deviation = np.abs(x - _nanmedian(x)[:, None])
    rough = _MAD_TO_SD * _nanmedian(deviation)
    rough = np.where(rough > 0, rough, _MEAN_ABS_TO_SD * np.nanmean(deviation, axis=1))
    count = np.maximum((~np.isnan(x)).sum(axis=1), 2)
    refined = rough
    for _ in range(_TRIM_STEPS):
        kept = deviation <= _TRIM_C * refined[:, None]  # False for NaN
        mean_square = np.where(kept, deviation**2, 0).sum(axis=1) / np.maximum(kept.sum(axis=1), 1)
        refined = np.sqrt(mean_square / _TRIM_CONSISTENCY * count / (count - 1))
    return np.nan_to_num(np.where(rough > 0, refined, rough))


def _process_variance(diffs: np.ndarray, pair_sampling: np.ndarray, ceiling: np.ndarray) -> np.ndarray:
    """Per row, the process variance σ² that, added to each value's own sampling variance,
    gives the differences a robust standard deviation of 1 once standardised (bisection
    between 0 and ``ceiling``). Without sampling variance this is ``ceiling`` itself."""
    process = ceiling.copy()
    rows = np.flatnonzero(np.nan_to_num(pair_sampling).any(axis=1))
    if rows.size:
        diffs, pair_sampling = diffs[rows], pair_sampling[rows]
        low, high = np.zeros(rows.size), ceiling[rows].copy()
        for _ in range(_BISECTIONS):
            middle = (low + high) / 2
            too_small = _robust_sd(diffs / np.sqrt(pair_sampling + 2 * middle[:, None])) > 1
            low, high = np.where(too_small, middle, low), np.where(too_small, high, middle)
        process[rows] = (low + high) / 2
    return process


def _huber(x: np.ndarray, sd: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Per row, a robust mean of the non-NaN ``x``: the median moved by the (weighted) mean
    of the residuals clipped at ``_HUBER_C`` × ``sd``."""
    middle = _nanmedian(x)
    limit = _HUBER_C * sd
    residual = np.clip(x - middle[:, None], -limit, limit)
    if weights is None:
        return middle + np.nan_to_num(np.nanmean(residual, axis=1))
    shift = np.nansum(weights * residual, axis=1) / np.nansum(np.where(np.isnan(x), 0, weights), axis=1)
    return middle + np.nan_to_num(shift)


def _weekly_effects(work: np.ndarray, spread: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weekday effects (column 0 = today's weekday), centred, and the weeks each is seen in.

    Each whole week of the history is centred on its median; a weekday's effect is the
    robust mean over weeks.
    """
    n, h = work.shape
    weeks = h // 7
    block = work[:, h - 7 * weeks :].reshape(n, weeks, 7)
    centred = block - _nanmedian(block)[..., None]
    effects = np.stack([_huber(centred[:, :, p], spread[:, None]) for p in range(7)], axis=1)
    effects = np.nan_to_num(effects - np.nanmean(effects, axis=1, keepdims=True))
    return effects, np.maximum((~np.isnan(centred)).sum(axis=1), 1)


def _shrink(
    effects: np.ndarray, weeks_seen: np.ndarray, noise: np.ndarray, position: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weekday effects shrunk towards none, and the variance of today's effect.

    Each effect's estimation variance follows from its weekday's noise; the pattern keeps
    the share ``1 − expected noise energy / observed energy`` (0 when it is mostly noise).
    """
    per_weekday = np.stack([np.nanmean(noise[:, position == p], axis=1) for p in range(7)], axis=1)
    variance = _HUBER_VAR * _WEEK_CENTRING_VAR * np.nan_to_num(per_weekday) / weeks_seen
    energy = (effects**2).sum(axis=1)
    expected_energy = variance.sum(axis=1) * 6 / 7
    keep = np.clip(1 - expected_energy / np.maximum(energy, 1e-300), 0, 1)
    return effects * keep[:, None], keep * variance[:, 0]


def _shrink_slope(slope: np.ndarray, pair_noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The trend per day shrunk towards none like the weekday pattern, and its variance.

    The median of week-over-week differences / 7 has variance ≈ (π/2)·var(difference)/(49·pairs).
    """
    pairs = np.maximum((~np.isnan(pair_noise)).sum(axis=1), 1)
    variance = _MEDIAN_VAR * np.nan_to_num(_nanmedian(pair_noise)) / (49 * pairs)
    keep = np.clip(1 - variance / np.maximum(slope**2, 1e-300), 0, 1)
    return slope * keep, variance * keep


def _sampling_variance(
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


def _verdict(i: int, day: date, fit: dict, params: AnomalyParams) -> Verdict:
    """The verdict for row ``i`` of the fit, with its human-readable rule."""
    size = int(fit["size"][i])
    raw = float(fit["value"][i])
    value = None if math.isnan(raw) else raw
    judged = size >= params.min_history
    expected, lower, upper = (float(fit[key][i]) if judged else None for key in ("expected", "lower", "upper"))
    if value is None:
        rule = "no value: KPI not computable"
        return Verdict(day, None, "no_value", expected, lower, upper, None, size, rule)
    if not judged:
        rule = (
            f"insufficient history: {size} usable of the previous {params.history_days} days, "
            f"{params.min_history} needed"
        )
        return Verdict(day, value, "insufficient_history", None, None, None, None, size, rule)
    score = float(fit["score"][i])
    threshold = params.sensitivity
    if score > threshold:
        status, test = "anomaly", f"{score:.1f} > {threshold:g}"
    elif score < -threshold:
        status, test = "anomaly", f"{score:.1f} < -{threshold:g}"
    else:
        status, test = "pass", f"{score:.1f} within ±{threshold:g}"
    notes = ["log scale"] if fit["log"][i] else []
    if fit["sampling"][i] == "ratio":
        notes.append(f"range set by sampling noise at denominator {fit['denominator'][i]:g}")
    elif fit["sampling"][i] == "counts":
        notes.append("range set by Poisson noise of counts")
    model = "weekly-seasonal" if params.seasonality == "weekly" else "non-seasonal"
    suffix = f" ({'; '.join(notes)})" if notes else ""
    rule = f"{model} robust z {test}{suffix}"
    return Verdict(day, value, status, expected, lower, upper, score, size, rule)
