"""Anomaly detection for daily KPI series: seasonal, trend-aware, robust and count-aware.

Every day is judged only against the days before it: the previous ``history_days`` calendar days
(28 by default; their usable points are the history size), with the ``reference_days`` before
today (84) sharpening what 28 days estimate poorly, and the ``seasonal_days`` (168) the weekday pattern.
Missing days and NaN values are skipped. The model is fitted for all days of a series at once, with
vectorised numpy operations:

* **scale** — series that are not proportions or small counts and whose history is strictly
  positive are modelled on the log scale (weekday dips, growth and noise are relative);
  proportions, signed ratios, counts below 30 and anything with zeros or negatives on the
  linear scale.
* **weekday seasonality** — the seasonal span's whole weeks, less their trend, are centred on
  their own robust means and each weekday's effect is a robust (Huber) mean over them, shrunk towards
  none when it is not clearly larger than its own estimation noise.
* **level, chosen by replay** — candidates are robust means of the last 1, 3, 7, 14 or 28
  de-seasonalised values, flat or carried forward by their own trend (the change from the same
  number of days before). Each is replayed over the reference span (every past day predicted from
  the days before it; past outliers replaced by their neighbourhood's level first) and the one
  with the smallest robust error, times ``1 + 1/window`` (``2/window`` when trended) so that a
  short or trended level must win clearly and not by the replay's luck, wins: a long mean for a
  steady series (close to knowing the true mean), a short or trended one for a smooth or wandering one.
  Where the winner's replay errors are clearly correlated from one day to the next (a level lagging a
  bending curve), their lag-1 share (errors clipped at ``_CARRY_CLIP`` sd) is added to the next prediction.
* **noise** — that winner's robust replay error, pooled across weekdays (a weekday whose errors run
  wider or narrower gets its share, shrunk towards the pool), beyond each day's own sampling noise:
  binomial over that day's denominator for a proportion, (1−m)(1+m)/d for signed ratios such as
  NPS, a coefficient of variation of 1 per unit for other ratios, Poisson for counts — so a rate
  over five users cannot alarm while one over thousands stays sharp. A short replay (a young
  series) is shrunk towards the noise the lagged differences imply.
* **sustained deviations** — the mean of the last c days against the level predicted before them,
  for every c up to ``history_days``, compared with that same statistic at every earlier day
  (so a trend or wandering does not count); beyond ``sensitivity`` it is a change. A dip keeps
  being judged against the level before it for ``shift_days`` days, and once it has lasted
  ``_DIP_DAYS`` days a day in it is flagged from ``_DIP_SHARE`` × ``sensitivity`` down, so every day of a
  holiday week or an outage is flagged ("sustained dip"; a run upwards is a "level shift", flagged at its
  onset), then the new
  level is adopted (extended to today by the slope within it when that slope is clear: a curve that
  keeps bending); once the last days are back near the old level, the change is over.

The score is the deviation of today's value from the expected one in standard deviations of
the prediction (process and sampling noise, the weekday effect's estimation error; at least
``min_relative_scale`` of the expected value; a rise in a count on the linear scale is measured half a count
nearer, from the lower edge of that count), studentised: as the noise is estimated from a
limited replay, the deviation is read as Student-t and reported as the normal deviate of the same
tail probability (a young series needs a larger deviation for the same score); a day is an anomaly when ``|score| >
sensitivity`` (below ``−_DIP_SHARE × sensitivity`` within a lasting dip), named "spike" or "drop" (one day),
"sustained dip" or "level shift" (a run). The expected range is the values whose score is within those
thresholds — asymmetric on the log scale — clipped to the values the KPI can take (a return to the level
before a dip passes though it is outside the range around the dip's level).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

_SEASONALITIES = ("weekly", "none")
_MAD_TO_SD = 1.4826  # median absolute deviation of normal data → standard deviation
_MEAN_ABS_TO_SD = math.sqrt(math.pi / 2)  # mean absolute deviation → standard deviation
_RATIO_KINDS = ("auto", "proportion", "signed", "unbounded", "none")
_HUBER_C = 1.5  # robust means clip residuals at 1.5 spreads from the median
_HUBER_VAR = 1.04  # variance of that robust mean relative to the plain mean (normal data)
_TRIM_C = 3.0  # the spread's refinement drops deviations beyond 3 rough spreads
_TRIM_CONSISTENCY = 0.97334  # E[X² | |X| < 3] for a standard normal X
_TRIM_STEPS = 4  # re-trimmings, so that a too small first guess cannot shrink the spread
_WEEK_CENTRING_VAR = 1 - (2 - _HUBER_VAR) / 7  # var(value − its week's robust mean) / var(value)
_BISECTIONS = 12  # steps solving for the process variance (precision 2⁻¹² of its ceiling)
_LEVEL_WINDOWS = (1, 3, 7, 14, 28)  # candidate level windows (days), up to history_days
_TREND_WINDOWS = (3, 7, 14, 28)  # level windows also tried with their own trend
_MIN_BACKTEST = 21  # backtest errors a candidate level needs to compete
_LOG_MIN_COUNT = 30  # counts are judged on the log scale only when every value is at least this
_FULL_REPLAY = 42  # backtest errors from which the replay alone sets the noise
_OUTLIER = 4.0  # history values this many sd from their neighbours are not learnt from
_CARRY_CLIP = 1.5  # replay errors are clipped at this many sd before they carry on to the next day
_CARRY_SIGNIFICANCE = 2.0  # errors' lag-1 correlation × √pairs needed before any of an error carries on
_CARRY_MAX = 0.9  # the largest share of an error that carries on
_THEIL_SEN_VAR = 1.1  # variance of the Theil–Sen slope relative to least squares' (normal data)
_DRIFT_SIGNIFICANCE = 2.0  # t-statistic of the slope within an adopted change needed to carry it to today
_WEEKDAY_PRIOR = 8  # errors of ratio 1 a weekday's own noise ratio is shrunk with
# Degrees of freedom the noise estimate gets per backtest error (prior counted in). Nominally at most 1; 2 is
# what the benchmark's generators bear (0.5 and 1 cost more recall than the false alarms they saved).
_DOF_PER_ERROR = 2.0
# A dip that has lasted this many days before today flags today from this share of ``sensitivity`` on: a person
# sees the whole holiday week, not only its deepest days (a run upwards, a level shift, is flagged at its onset only).
_DIP_DAYS = 2
_DIP_SHARE = 0.6


@dataclass(frozen=True)
class AnomalyParams:
    """Tunable parameters of the detector; :meth:`replace` gives per-KPI variants."""

    history_days: int = 28  # previous calendar days the level comes from (spec default: 28)
    min_history: int = 14  # fewer usable points among them → pass with a note
    sensitivity: float = 3.25  # threshold on |score| (robust standard deviations of the prediction)
    seasonality: str = "weekly"  # "weekly" or "none"
    reference_days: int = 84  # previous days the noise and level choice are estimated on
    seasonal_days: int = 168  # previous days the weekday pattern is estimated on (24 weeks: 12 left it noisy)
    shift_days: int = 7  # a deviation sustained this many days is taken as the new level
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
        if self.seasonality == "weekly" and min(self.history_days, self.seasonal_days) < 14:
            raise ValueError("weekly seasonality needs history_days and seasonal_days >= 14 (two whole weeks)")
        if not 1 <= self.min_history <= self.history_days:
            raise ValueError(
                f"min_history={self.min_history} must be between 1 and history_days={self.history_days}"
            )
        if not 1 <= self.shift_days <= self.history_days:
            raise ValueError(
                f"shift_days={self.shift_days} must be between 1 and history_days={self.history_days}"
            )
        if not self.sensitivity > 0:
            raise ValueError(f"sensitivity={self.sensitivity} must be positive")
        if not self.min_relative_scale >= 0:
            raise ValueError(f"min_relative_scale={self.min_relative_scale} must be >= 0")

    @property
    def lookback_days(self) -> int:
        """Days before a judged day that its verdict reads: the history, the reference and the seasonal span."""
        return max(self.history_days, self.reference_days, self.seasonal_days)

    def replace(self, **overrides) -> AnomalyParams:
        """A copy with some parameters changed (validated; unknown names are an error)."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown anomaly parameter(s) {unknown}; known: {sorted(known)}")
        return dataclasses.replace(self, **overrides)


@dataclass(frozen=True)
class Verdict:
    """The judgement of one day, with what it was judged against.

    ``kind`` names what an anomaly looks like: "spike" or "drop" (one day), "sustained dip"
    or "level shift" (a run of days away from the earlier level); "normal" for a pass.
    """

    date: date
    value: float | None
    status: str  # "pass" | "anomaly" | "insufficient_history" | "no_value"
    expected: float | None
    lower: float | None
    upper: float | None
    score: float | None
    history_size: int
    rule: str
    kind: str | None = None

    def metadata(self) -> dict:
        """JSON-safe fields: numbers to 6 significant digits, the score to 2 decimals."""
        return {
            "date": self.date.isoformat(),
            "status": self.status,
            "kind": self.kind,
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
    """Judge each day of a KPI series (on or after ``evaluate_from``) against the days before it.

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
    large = np.where(usable, history >= _LOG_MIN_COUNT, True).all(axis=1)
    log = (params.log_scale & usable.any(axis=1) & positive & (ratio_kind not in ("proportion", "signed"))
           & (~counts | large))
    scale = _Scale(log)
    work = scale.forward(history)
    position = (-age) % 7  # each column's weekday, today's being 0
    weekly = params.seasonality == "weekly"

    lags = (7, 14) if weekly else (1, 2)
    diffs = _lagged(work, lags, centre=True)
    spread = _one_value_sd(diffs)
    if weekly:
        effects, weeks_seen = _weekly_effects(_on_scale(scale, seasonal_span))
        pattern = _shrink(effects, weeks_seen, np.broadcast_to(spread[:, None] ** 2, (n, h)), position)[0]
    else:
        effects, weeks_seen, pattern = np.zeros((n, 7)), np.ones((n, 7)), np.zeros((n, 7))

    # Each value's own sampling noise (ratios, counts), at a local estimate of its expected value.
    local = _rolling(work - pattern[:, position], 7, centred=True, sd=spread)
    fitted = scale.backward(local + pattern[:, position])
    sampling = _sampling_variance(fitted, windows["denominator"], ratio_kind, unit, counts[:, None])
    sampling = np.where(usable, scale.variance(sampling, fitted), np.nan)
    process = _process_variance(diffs, _lagged(sampling, lags, centre=False, add=True), spread**2, copies=2)
    noise = np.maximum(process[:, None] + sampling, 1e-300)
    if weekly:
        profile, profile_var = _shrink(effects, weeks_seen, noise, position)
    else:
        profile, profile_var = effects, np.zeros(n)
    steady = work - profile[:, position]  # de-seasonalised

    # Counts vary beyond Poisson in proportion to their square (negative binomial): the process
    # variance of each column scales with its expected value squared, relative to the typical one.
    typical = np.nanmedian(np.where(usable, fitted, np.nan), axis=1)
    linear_counts = (counts & ~log)[:, None]
    weight = np.where(linear_counts, np.nan_to_num((fitted / typical[:, None]) ** 2, nan=1.0), 1.0)
    model = _chosen_level(steady, sampling, process, spread, params, weight)
    level, error_var, change = _sustained(steady, model, process, sampling, params)
    if weekly:
        error_var = error_var * _weekday_factor(model.errors / np.sqrt(model.error_var[:, None] * weight + sampling),
                                                position)
    center = level + profile[:, 0]
    error_var = np.where(linear_counts[:, 0], error_var * np.nan_to_num((center / typical) ** 2, nan=1.0), error_var)

    expected = scale.backward(center)
    now = _sampling_variance(expected, today["denominator"], ratio_kind, unit, counts)
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
    score = _t_as_normal(_nearer((scale.forward(today["value"]) - center), half) / total, dof)
    back = _t_as_normal(_nearer(scale.forward(today["value"]) - change.pop("earlier") - profile[:, 0], half) / total,
                        dof)
    score = np.where(np.abs(back) < np.abs(score), back, score)  # NaN (no adopted dip) keeps the score
    reach = _normal_as_t(params.sensitivity, dof) * total + half
    # Within a dip that has lasted _DIP_DAYS before today, a day is flagged from a share of the sensitivity down.
    below = np.where(change.pop("dip"), _DIP_SHARE * params.sensitivity, params.sensitivity)
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
        "lower": np.clip(scale.backward(center - _normal_as_t(below, dof) * total), low, high),
        "below": below,
        "upper": np.clip(scale.backward(center + reach), low, high),
        "score": score,
        **change,
        "sampling": np.where(now > error_var, np.where(counts, "counts", "ratio"), ""),
        "denominator": today["denominator"],
    }


@dataclass
class _Level:
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


def _chosen_level(steady: np.ndarray, sampling: np.ndarray, process: np.ndarray, spread: np.ndarray,
                  params: AnomalyParams, weight: np.ndarray) -> _Level:
    """The level model whose replay over the reference span predicts best.

    Candidates are robust means of the last 1 … 28 values, flat or extended by their own trend;
    each predicts every past column from the columns before it, and the one with the smallest
    robust error variance (beyond each column's sampling noise, with a penalty for few columns)
    wins. Without enough columns to replay, the 7-day mean with the lagged differences' noise.
    """
    n, h = steady.shape
    # Isolated outliers (past anomalies) are replaced by their neighbourhood's level before anything is
    # predicted from them; they still count as errors where they are predicted.
    local = _rolling(steady, 7, centred=True, sd=spread)
    one = np.sqrt(process[:, None] + np.nan_to_num(sampling))
    cleaned = np.where(np.abs(steady - local) > _OUTLIER * one, local, steady)
    extended = np.concatenate([cleaned, np.full((n, 1), np.nan)], axis=1)
    flat = {k: _rolling(extended, k, centred=False, sd=spread) for k in _LEVEL_WINDOWS if k <= params.history_days}
    short = min(7, max(flat))
    best = _Level(flat[short], np.zeros_like(flat[short]), np.full(n, short), np.zeros(n, dtype=bool), process * 1.5)
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
        penalised = _robust_sd(errors) ** 2 * (1 + 3 / np.maximum(seen, 1)) * complexity
        penalised = np.where(seen >= _MIN_BACKTEST, penalised, np.inf)
        better = penalised < lowest
        lowest = np.where(better, penalised, lowest)
        chosen_errors = np.where(better[:, None], errors, chosen_errors)
        best = _Level(np.where(better[:, None], predicted, best.predicted),
                      np.where(better[:, None], slope, best.slope),
                      np.where(better, k, best.window), np.where(better, trended, best.trended), best.error_var)
    replayed = np.isfinite(lowest)
    best.predicted, chosen_errors = _carried(best.predicted, chosen_errors)
    variance = _process_variance(chosen_errors, np.where(np.isnan(chosen_errors), np.nan, sampling),
                                 _robust_sd(chosen_errors) ** 2, copies=1, weight=weight)
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
    sd = _robust_sd(errors)
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


def _sustained(steady: np.ndarray, model: _Level, process: np.ndarray, sampling: np.ndarray,
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
        spread = _robust_sd(usual)
        enough = ((~np.isnan(usual)).sum(axis=1) >= _MIN_BACKTEST) & (spread > 0)
        t = np.where(enough, (shift[:, -1] - _nanmedian(usual)) / np.where(spread > 0, spread, 1.0), 0.0)
        stronger = np.isfinite(z) & np.isfinite(t) & (np.abs(z) > np.abs(best_z))
        best_z, best_t = np.where(stronger, z, best_z), np.where(stronger, t, best_t)
        best_c = np.where(stronger, c, best_c)
    slope = model.slope[rows, h - best_c]  # the trend before the change
    before = model.predicted[rows, h - best_c] + slope * best_c
    tail = np.where(np.arange(h) >= h - best_c[:, None], steady - slope[:, None] * (np.arange(h) - h), np.nan)
    since = _huber(tail, np.sqrt(one)[:, None])
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
    drift = _theil_sen(tail)
    reach = -np.nanmean(columns, axis=1)
    drift_var = _THEIL_SEN_VAR * one / np.maximum(np.nansum(centred**2, axis=1), 1e-300)
    moving = adopted & (drift**2 > _DRIFT_SIGNIFICANCE**2 * drift_var)
    since = np.where(moving, since + drift * reach, since)
    level = np.where(kept, before, np.where(adopted, since, model.predicted[:, h]))
    error_var = np.where(adopted, model.error_var + one / best_c + np.where(moving, drift_var * reach**2, 0),
                         model.error_var)
    run = np.where(young, np.sign(best_t) * best_c, 0).astype(int)
    # A dip still under way: it has lasted _DIP_DAYS, and yesterday was as deep as a day within it must be to be
    # flagged (a one-day drop and a normal day after it are no dip).
    deep = steady[:, -1] - before + slope < -_DIP_SHARE * params.sensitivity * np.sqrt(one)
    dip = young & (best_t < 0) & (best_c >= _DIP_DAYS) & deep
    # During and after a dip (a closure), the level before it stays a normal place to be: a reopening is no spike.
    earlier = np.where((adopted | young) & (best_t < 0), before, np.nan)
    return level, error_var, {"run": run, "held": kept & young, "shifted": np.where(adopted, best_c, 0),
                              "earlier": earlier, "dip": dip}


def _theil_sen(y: np.ndarray) -> np.ndarray:
    """Per row, the median of the slopes between every two non-NaN columns of ``y`` (0 with fewer than two):
    a slope an outlier cannot move."""
    h = y.shape[1]
    gap = np.arange(h)[None, :] - np.arange(h)[:, None]
    slopes = (y[:, None, :] - y[:, :, None]) / np.where(gap > 0, gap, np.nan)
    return np.nan_to_num(_nanmedian(slopes.reshape(len(y), -1)))


def _nearer(deviation: np.ndarray, by: np.ndarray) -> np.ndarray:
    """A rise ``deviation`` moved ``by`` towards 0, not past it."""
    return np.where(deviation > 0, np.maximum(deviation - by, 0), deviation)


def _t_as_normal(t: np.ndarray, dof: np.ndarray) -> np.ndarray:
    """The standard normal deviate with the tail probability of Student's ``t`` at ``dof`` degrees of freedom
    (Wallace's approximation, within 0.02 for dof >= 10 and |t| <= 8)."""
    return np.sign(t) * np.sqrt(dof * np.log1p(t**2 / dof)) * (8 * dof + 1) / (8 * dof + 3)


def _normal_as_t(z: float, dof: np.ndarray) -> np.ndarray:
    """The inverse of :func:`_t_as_normal`: the Student ``t`` (``dof`` degrees of freedom) with ``z``'s tail."""
    return np.sqrt(dof * np.expm1((z * (8 * dof + 3) / (8 * dof + 1)) ** 2 / dof))


def _weekday_factor(standardised: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Per row, how much wider the errors on today's weekday are than on all days (a variance ratio),
    shrunk towards 1 as if ``_WEEKDAY_PRIOR`` more errors of ratio 1 were seen: noise that is not
    proportional to the level (weekend noise on the log scale, say) widens or narrows that day's range."""
    mine = np.where(position == 0, np.clip(standardised, -3, 3), np.nan)
    squares = np.nanmean(np.clip(standardised, -3, 3) ** 2, axis=1)
    seen = (~np.isnan(mine)).sum(axis=1)
    ratio = np.nan_to_num(np.nanmean(mine**2, axis=1) / np.where(squares > 0, squares, 1.0), nan=1.0)
    return (seen * ratio + _WEEKDAY_PRIOR) / (seen + _WEEKDAY_PRIOR)


def _rolling(x: np.ndarray, k: int, centred: bool, sd: np.ndarray) -> np.ndarray:
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
    return np.where(enough, _huber(view, sd[:, None, None]), np.nan)


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


def _one_value_sd(diffs: np.ndarray) -> np.ndarray:
    """Per row, the sd of one value implied by the robust sd of differences between two values (``_lagged``)."""
    return _robust_sd(diffs) / math.sqrt(2)


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


def _process_variance(diffs: np.ndarray, pair_sampling: np.ndarray, ceiling: np.ndarray, copies: int,
                      weight: np.ndarray | float = 1.0) -> np.ndarray:
    """Per row, the process variance σ² that, added ``copies`` times (× each column's ``weight``) to
    each difference's own sampling variance, gives the differences a robust standard deviation of 1
    once standardised (bisection between 0 and ``ceiling``). Without sampling variance and weights
    this is ``ceiling`` itself."""
    weight = np.broadcast_to(weight, diffs.shape)
    process = ceiling / np.clip(np.nan_to_num(_nanmedian(np.where(np.isnan(diffs), np.nan, weight)), nan=1.0), 0.05, 1)
    rows = np.flatnonzero(np.nan_to_num(pair_sampling).any(axis=1) | (weight != 1).any(axis=1))
    if rows.size:
        diffs, pair_sampling, weight = diffs[rows], np.nan_to_num(pair_sampling[rows]), weight[rows]
        low, high = np.zeros(rows.size), process[rows].copy()
        for _ in range(_BISECTIONS):
            middle = (low + high) / 2
            too_small = _robust_sd(diffs / np.sqrt(pair_sampling + copies * middle[:, None] * weight)) > 1
            low, high = np.where(too_small, middle, low), np.where(too_small, high, middle)
        process[rows] = (low + high) / 2
    return process


def _huber(x: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Robust mean of the non-NaN ``x`` along the last axis: the median moved by the mean of
    the residuals clipped at ``_HUBER_C`` × ``sd``."""
    middle = _nanmedian(x)
    limit = _HUBER_C * sd
    residual = np.clip(x - middle[..., None], -limit, limit)
    return middle + np.nan_to_num(np.nanmean(residual, axis=-1))


def _on_scale(scale: _Scale, values: np.ndarray) -> np.ndarray:
    """``values`` on the model's scale, NaN where they cannot be (a zero, long ago, of a series judged on logs)."""
    work = scale.forward(values)
    return np.where(np.isfinite(work), work, np.nan)


def _weekly_effects(work: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weekday effects (column 0 = today's weekday), centred, and the weeks each is seen in.

    Each whole week of the seasonal span ``work``, less the span's rough trend, is centred on its
    robust mean; a weekday's effect is the robust mean over weeks.
    """
    n, h = work.shape
    slope = np.nan_to_num(_nanmedian(work[:, 7:] - work[:, :-7]) / 7)
    spread = _one_value_sd(_lagged(work, (7, 14), centre=True))
    weeks = h // 7
    block = (work[:, h - 7 * weeks :] - slope[:, None] * np.arange(h - 7 * weeks, h)).reshape(n, weeks, 7)
    centred = block - _huber(block, spread[:, None, None])[..., None]
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
    """The verdict for row ``i`` of the fit, with its human-readable rule and kind."""
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
    threshold, below = params.sensitivity, float(fit["below"][i])
    if score > threshold:
        status, test = "anomaly", f"{score:.1f} > {threshold:g}"
    elif score < -below:
        status, test = "anomaly", f"{score:.1f} < -{below:.3g}"
    else:
        status, test = "pass", f"{score:.1f} within " + (f"±{threshold:g}" if below == threshold
                                                       else f"-{below:.3g}…{threshold:g}")
    notes = ["log scale"] if fit["log"][i] else []
    if fit["sampling"][i] == "ratio":
        notes.append(f"range set by sampling noise at denominator {fit['denominator'][i]:g}")
    elif fit["sampling"][i] == "counts":
        notes.append("range set by Poisson noise of counts")
    run, shifted = int(fit["run"][i]), int(fit["shifted"][i])
    since = (day - timedelta(days=abs(run) or shifted)).isoformat()
    kind = "normal"
    if status == "anomaly" and run and (run > 0) == (score > 0):
        kind = "level shift" if run > 0 else "sustained dip"
        notes.append(f"day {abs(run) + 1} away from the level before {since}"
                     + ("" if below == threshold else f", a dip: flagged from -{below:.3g}")
                     + f"; taken as the new level after {params.shift_days} days")
    elif status == "anomaly":
        kind = "spike" if score > 0 else "drop"
    elif fit["held"][i]:
        notes.append(f"judged against the level before {since}")
    if shifted:
        notes.append(f"level shift on {since} taken as the new level")
    model = "weekly-seasonal" if params.seasonality == "weekly" else "non-seasonal"
    suffix = f" ({'; '.join(notes)})" if notes else ""
    rule = f"{model} robust z {test}{suffix}" + (f": {kind}" if status == "anomaly" else "")
    return Verdict(day, value, status, expected, lower, upper, score, size, rule, kind)
