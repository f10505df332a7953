"""What an anomaly verdict says to a product marketer: the value, what was expected, and why it matters.

The detector's own rule (scores, thresholds, model) follows it, after "Rule:", for the data team.
"""

from __future__ import annotations

from ...lib.anomaly import Verdict
from .catalog import Kpi

_FORMATS = {
    "%": "{:.3g}%", "score": "{:.3g}", "views": "{:,.0f} views", "seconds": "{:.0f} s", "pages": "{:.2f} pages",
    "days": "{:.1f} days",
}


def format_value(kpi: Kpi, value: float, currency: str = "") -> str:
    """A KPI value in its unit, e.g. ``63.2%``, ``1,204 views``, ``148.20 USD``."""
    if kpi.unit == "currency":
        return f"{value:,.2f}" + (f" {currency}" if currency else "")
    return _FORMATS.get(kpi.unit, "{:.4g}").format(value)


def format_range(kpi: Kpi, low: float, high: float, currency: str = "") -> str:
    """A range in the KPI's unit, the unit said once: ``5 to 127 views``, ``27.8% to 51.2%``."""
    first, last = format_value(kpi, low, currency), format_value(kpi, high, currency)
    unit = last.lstrip("-+0123456789.,")
    if unit and first.endswith(unit) and unit != "%":
        first = first[: -len(unit)].rstrip()
    return f"{first} to {last}"


def describe_anomaly(kpi: Kpi, verdict: Verdict, currency: str = "") -> str:
    """One readable sentence for a ``<kpi>_anomaly`` verdict, then the detector's rule."""
    title = kpi.title
    if verdict.status == "not_judged":
        shown = "no value" if verdict.value is None else format_value(kpi, verdict.value, currency)
        return f"{title} {shown}: {verdict.rule}"
    value = format_value(kpi, verdict.value, currency)
    expected = (f"{format_range(kpi, verdict.lower, verdict.upper, currency)} expected "
                f"(about {format_value(kpi, verdict.expected, currency)})")
    if verdict.status == "pass" and verdict.lower <= verdict.value <= verdict.upper:
        return f"{title} {value}, within the {expected}. Rule: {verdict.rule}"
    if verdict.status == "pass":  # outside the range, but explained by a day already flagged or the level before
        return f"{title} {value}, outside the {expected} but no new anomaly. Rule: {verdict.rule}"
    above = verdict.value > verdict.expected
    better = above == kpi.higher_is_better
    meaning = ("good news if it is real (a tracking or data change can look like this)" if better
               else "worse than its history says")
    what = {"spike": "a one-day jump", "drop": "a one-day fall", "level shift": "a new level",
            "sustained dip": "a dip that has lasted"}.get(verdict.kind or "", "a move")
    return (f"{title} {value}, {'above' if above else 'below'} the {expected}: {what}, {meaning}. "
            f"Rule: {verdict.rule}")
