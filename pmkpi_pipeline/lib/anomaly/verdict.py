"""A day's :class:`Verdict`, its JSON-safe metadata, and the readable rule it was judged by."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from .params import AnomalyParams


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


def verdict_of(i: int, day: date, fit: dict, params: AnomalyParams) -> Verdict:
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
