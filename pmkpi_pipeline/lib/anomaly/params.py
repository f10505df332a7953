"""The detector's tunable parameters (:class:`AnomalyParams`), validated; ``PMKPI_ANOMALY_*`` settings map onto them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

_SEASONALITIES = ("weekly", "none")
_RATIO_KINDS = ("auto", "proportion", "signed", "unbounded", "none")


@dataclass(frozen=True)
class AnomalyParams:
    """Tunable parameters of the detector; :meth:`replace` gives per-KPI variants."""

    history_days: int = 28  # previous calendar days the level comes from (spec default: 28)
    min_history: int = 14  # fewer usable points among them → not judged, with the reason
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
    # The KPI's trailing window in days (the catalog's): above 1, a series that moves like a window is judged on
    # what changes in its window (the window model), not day by day.
    window_days: int = 1
    # A point-in-time KPI (a stock such as MRR): a series whose daily model errs heavy-tailed is judged on the day's
    # change (the stock model).
    point_in_time: bool = False

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
        if not 1 <= self.window_days <= 366:
            raise ValueError(f"window_days={self.window_days} must be between 1 and 366")
        if not self.min_relative_scale >= 0:
            raise ValueError(f"min_relative_scale={self.min_relative_scale} must be >= 0")

    @property
    def lookback_days(self) -> int:
        """Days before a judged day that its verdict reads: the history, the reference and the seasonal span (for a
        window KPI its earlier windows, at least two), and before them the days whose flags it depends on (a run
        or a return within ``history_days``, a flagged day still in the window)."""
        return max(self.history_days, self.reference_days, self.seasonal_days, 3 * self.window_days) \
            + max(self.window_days - 1, self.history_days)

    def replace(self, **overrides) -> AnomalyParams:
        """A copy with some parameters changed (validated; unknown names are an error)."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown anomaly parameter(s) {unknown}; known: {sorted(known)}")
        return dataclasses.replace(self, **overrides)
