"""A day's :class:`Verdict`, its JSON-safe metadata, and the readable rule it was judged by."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from .params import AnomalyParams
from .window import MIN_WINDOWS

NOT_JUDGED = "not_judged"


@dataclass(frozen=True)
class Verdict:
    """The judgement of one day, with what it was judged against.

    ``kind`` names what an anomaly looks like: "spike" or "drop" (one day), "sustained dip"
    or "level shift" (a run of days away from the earlier level); "normal" for a pass; None when not judged.
    """

    date: date
    value: float | None
    status: str  # "pass" | "anomaly" | "not_judged" (the rule says why)
    expected: float | None
    lower: float | None
    upper: float | None
    score: float | None
    history_size: int
    rule: str
    kind: str | None = None

    @property
    def judged(self) -> bool:
        """Whether the day was judged at all (a pass or an anomaly)."""
        return self.status != NOT_JUDGED

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
    """The verdict for row ``i`` of a fit (the daily, window or stock model's), with its readable rule and kind.

    A day the model cannot judge (no value, too little history, a score it could not compute) is
    ``not_judged`` with the reason as its rule: it never reads as a pass.
    """
    size = int(fit["size"][i])
    raw = float(fit["value"][i])
    value = None if math.isnan(raw) else raw
    window = int(fit["window"][i]) if fit["model"] == "window" else 0
    reason = _not_judged_reason(i, fit, params, window)
    judged = reason is None
    expected, lower, upper = (float(fit[key][i]) if judged else None for key in ("expected", "lower", "upper"))
    if value is None:  # the range the day would have been judged against, where there is one
        return Verdict(day, None, NOT_JUDGED, expected, lower, upper, None, size,
                       "not judged: no value (KPI not computable)")
    if not judged:
        return Verdict(day, value, NOT_JUDGED, None, None, None, None, size, f"not judged: {reason}")
    score = float(fit["score"][i])
    if not all(map(math.isfinite, (score, expected, lower, upper))):
        return Verdict(day, value, NOT_JUDGED, None, None, None, None, size,
                       "not judged: the history gives no expected value or noise to judge it against")
    threshold = params.sensitivity
    if score > threshold:
        status, test = "anomaly", f"{score:.1f} > {threshold:g}"
    elif score < -threshold:
        status, test = "anomaly", f"{score:.1f} < -{threshold:g}"
    else:
        status, test = "pass", f"{score:.1f} within ±{threshold:g}"
    notes = ["log scale"] if fit["log"][i] else []
    if fit["model"] == "stock":
        notes.append(_stock_note(i, fit, params))
    elif window:
        notes.append(f"against the {size} earlier {window}-day windows sharing none of its days, "
                     f"dispersion {fit['dispersion'][i]:.3g} × sampling noise")
        echo = int(fit["echo"][i])
        if status == "anomaly" and echo >= 0:
            status, test = "pass", f"{score:.1f} (flagged {date.fromordinal(echo).isoformat()} still in the window)"
            notes.append("between the normal range and that day's deviation")
    elif fit["sampling"][i] == "ratio":
        notes.append(f"range set by sampling noise at denominator {fit['denominator'][i]:g}")
    elif fit["sampling"][i] == "counts":
        notes.append("range set by Poisson noise of counts")
    run, shifted = int(fit["run"][i]), int(fit["shifted"][i])
    since = (day - timedelta(days=abs(run) or shifted)).isoformat()
    if fit["model"] == "daily" and status == "anomaly" and fit["echo"][i] >= 0:
        flagged_on = date.fromordinal(int(fit["echo"][i])).isoformat()
        if fit["returns"][i]:
            status, test = "pass", f"{score:.1f} (back to the level before the run flagged {flagged_on})"
        else:
            status, test = "pass", f"{score:.1f} (the run since {since} was flagged {flagged_on})"
            notes.append(f"day {abs(run) + 1} of that run: one alert per run")
    kind = "normal"
    if status == "anomaly" and run and (run > 0) == (score > 0):
        kind = "level shift" if run > 0 else "sustained dip"
        notes.append(f"day {abs(run) + 1} away from the level before {since}; taken as the new level after "
                     f"{params.shift_days} days")
    elif status == "anomaly":
        kind = "spike" if score > 0 else "drop"
    elif fit["held"][i]:
        notes.append(f"judged against the level before {since}")
    if shifted:
        notes.append(f"level shift on {since} taken as the new level")
    model = _model_name(params, fit["model"], window)
    suffix = f" ({'; '.join(notes)})" if notes else ""
    rule = f"{model} robust z {test}{suffix}" + (f": {kind}" if status == "anomaly" else "")
    return Verdict(day, value, status, expected, lower, upper, score, size, rule, kind)


def _not_judged_reason(i: int, fit: dict, params: AnomalyParams, window: int) -> str | None:
    """Why row ``i`` cannot be judged (None when it can)."""
    size = int(fit["size"][i])
    if fit["model"] == "stock":
        if fit["judged"][i]:
            return None
        return (f"insufficient history: a point-in-time KPI is judged on its day-to-day change; {size} changes "
                f"of the previous {params.reference_days} days known, {params.min_history} needed, and yesterday's "
                "value")
    if not window:
        if size >= params.min_history:
            return None
        return (f"insufficient history: {size} usable of the previous {params.history_days} days, "
                f"{params.min_history} needed")
    if fit["judged"][i]:
        return None
    lacking = []
    if size < MIN_WINDOWS:
        lacking.append(f"{size} of the {MIN_WINDOWS} earlier windows needed")
    seen, needed = int(fit["noise_seen"][i]), int(fit["noise_needed"][i])
    if seen < needed:
        lacking.append(f"{seen} of the {needed} comparisons its noise needs")
    return (f"insufficient history: judged against earlier {window}-day windows sharing none of its days, it has "
            f"{' and '.join(lacking)}")


def _stock_note(i: int, fit: dict, params: AnomalyParams) -> str:
    """What a stock's day was judged against."""
    relative = bool(fit["log"][i])
    def change(x: float) -> str:
        return f"{100 * x:+.2f}%" if relative else f"{x:+.4g}"
    note = (f"judged on the day's change: usually {change(fit['drift'][i])} ± {change(fit['change_sd'][i])[1:]}, "
            f"the largest of the previous {params.reference_days} days {change(fit['largest'][i])[1:]}")
    if fit["back"][i]:
        note += "; back to the level before yesterday's change"
    return note


def _model_name(params: AnomalyParams, model: str, window: int) -> str:
    """The model's name in a rule."""
    if model == "stock":
        return "day-to-day change"
    if window:
        return f"{window}-day window"
    return "weekly-seasonal" if params.seasonality == "weekly" else "non-seasonal"
