"""What the GA4 sandbox models: its dimensions and metrics, the facts that hold them, and how rows add up.

The company model has four GA4 *facts*, each a frame of one row per key with a non-zero count:
``ga4_totals`` (date: the property as a whole), ``ga4_traffic`` (date × sessionDefaultChannelGroup),
``ga4_pages`` (date × pagePath) and ``ga4_events`` (date × eventName). A request is answered from the
first fact, in that order, that holds every dimension it asks for or filters on and every metric it
needs; date parts (``year``, ``yearMonth``, ``dayOfWeek``, ...) are computed from ``date``. A
combination no fact holds (e.g. pagePath × sessionDefaultChannelGroup, or eventName × sessions) is
answered as Google answers an incompatible request, and ``checkCompatibility`` and ``getMetadata`` say
the same: the sandbox's property is narrower than Google's there, never inconsistent.

How rows add up when a request rolls a fact up (fewer dimensions than the fact's key, e.g. ``year``):

- counts (sessions, engagedSessions, newUsers, screenPageViews, eventCount, keyEvents,
  userEngagementDuration) are summed: each session, view or event belongs to one row;
- ``averageSessionDuration`` is the sessions-weighted mean;
- ``totalUsers`` is **not additive** (a person visits on several days, through several channels):
  the users of a group of rows are Σ new users + the largest count of returning users of any one row,
  i.e. returning visitors are taken to be the same people across the group (a lower bound that is
  exact for one row). Rows of facts without ``newUsers`` (pages, events) take the property's new-user
  share of their day. A date-only request is answered from ``ga4_totals``: the property's own count;
- ratios (``bounceRate``, ``engagementRate``, ``screenPageViewsPerSession``, ``sessionsPerUser``,
  ``eventCountPerUser``) are computed from the added-up parts, as GA4 computes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

SCHEMA_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
COMPATIBILITY_URL = "https://ga-dev-tools.google/ga4/dimensions-metrics-explorer/"


@dataclass(frozen=True)
class Field:
    """A dimension or metric as ``getMetadata`` describes it (``type`` for metrics only)."""

    api_name: str
    ui_name: str
    description: str
    category: str
    type: str | None = None


def _dimension(api_name: str, ui_name: str, description: str, category: str = "Time") -> Field:
    return Field(api_name, ui_name, description, category)


def _metric(api_name: str, ui_name: str, description: str, kind: str, category: str) -> Field:
    return Field(api_name, ui_name, description, category, kind)


DIMENSIONS = {f.api_name: f for f in (
    _dimension("date", "Date", "The date of the event, formatted as YYYYMMDD."),
    _dimension("year", "Year", "The four-digit year of the event."),
    _dimension("month", "Month", "The month of the event, a two-digit integer from 01 to 12."),
    _dimension("yearMonth", "Year month", "The combined values of year and month."),
    _dimension("day", "Day", "The day of the month, a two-digit number from 01 to 31."),
    _dimension("dayOfWeek", "Day of week", "The integer day of the week, 0 (Sunday) to 6."),
    _dimension("dayOfWeekName", "Day of week name", "The day of the week in English."),
    _dimension("week", "Week", "The week of the event, 01 to 53; weeks start on Sunday."),
    _dimension("isoWeek", "ISO week of the year", "ISO week number, 01 to 53; weeks start on Monday."),
    _dimension("isoYear", "ISO year", "The ISO year of the event."),
    _dimension("isoYearIsoWeek", "ISO week of ISO year", "The combined values of isoWeek and isoYear."),
    _dimension("sessionDefaultChannelGroup", "Session default channel group",
               "The session's default channel group.", "Traffic source"),
    _dimension("pagePath", "Page path", "The portion of the URL between the hostname and query string.",
               "Page / screen"),
    _dimension("eventName", "Event name", "The name of the event.", "Event"),
)}

METRICS = {f.api_name: f for f in (
    _metric("totalUsers", "Total users", "The number of distinct users who logged at least one event.",
            "TYPE_INTEGER", "User"),
    _metric("newUsers", "New users", "The number of users who interacted with your site for the first time.",
            "TYPE_INTEGER", "User"),
    _metric("sessions", "Sessions", "The number of sessions that began on your site.", "TYPE_INTEGER",
            "Session"),
    _metric("engagedSessions", "Engaged sessions", "The number of sessions that lasted 10 seconds or longer, "
            "had a key event, or had 2 or more page views.", "TYPE_INTEGER", "Session"),
    _metric("screenPageViews", "Views", "The number of app screens or web pages your users viewed.",
            "TYPE_INTEGER", "Page / screen"),
    _metric("averageSessionDuration", "Average session duration", "The average duration (in seconds) of "
            "users' sessions.", "TYPE_SECONDS", "Session"),
    _metric("userEngagementDuration", "User engagement", "The total amount of time (in seconds) your site "
            "was in the foreground of users' devices.", "TYPE_SECONDS", "User"),
    _metric("keyEvents", "Key events", "The count of key events.", "TYPE_FLOAT", "Event"),
    _metric("eventCount", "Event count", "The count of events.", "TYPE_INTEGER", "Event"),
    _metric("bounceRate", "Bounce rate", "The percentage of sessions that were not engaged, as a fraction.",
            "TYPE_FLOAT", "Session"),
    _metric("engagementRate", "Engagement rate", "The percentage of engaged sessions, as a fraction.",
            "TYPE_FLOAT", "Session"),
    _metric("screenPageViewsPerSession", "Views per session", "The number of views per session.",
            "TYPE_FLOAT", "Page / screen"),
    _metric("sessionsPerUser", "Sessions per user", "The average number of sessions per user.",
            "TYPE_FLOAT", "Session"),
    _metric("eventCountPerUser", "Event count per user", "The average number of events per user.",
            "TYPE_FLOAT", "Event"),
)}

ADDITIVE = frozenset({"sessions", "engagedSessions", "newUsers", "screenPageViews", "eventCount", "keyEvents",
                      "userEngagementDuration"})
Ratio = Callable[[pd.DataFrame], pd.Series]


def _share(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return (numerator / denominator.where(denominator != 0)).fillna(0.0)


RATIOS: dict[str, tuple[tuple[str, ...], Ratio]] = {
    "bounceRate": (("sessions", "engagedSessions"),
                   lambda f: (1 - _share(f.engagedSessions, f.sessions)).where(f.sessions != 0, 0.0)),
    "engagementRate": (("sessions", "engagedSessions"), lambda f: _share(f.engagedSessions, f.sessions)),
    "screenPageViewsPerSession": (("sessions", "screenPageViews"), lambda f: _share(f.screenPageViews, f.sessions)),
    "sessionsPerUser": (("sessions", "totalUsers"), lambda f: _share(f.sessions, f.totalUsers)),
    "eventCountPerUser": (("eventCount", "totalUsers"), lambda f: _share(f.eventCount, f.totalUsers)),
}
"""Derived metrics: the stored metrics each needs, and how it is computed from their added-up values."""


def _day_of_week(dates: pd.Series) -> pd.Series:
    return ((dates.dt.dayofweek + 1) % 7).astype(str)  # pandas: Monday 0; GA4: Sunday 0


def _week(dates: pd.Series) -> pd.Series:
    jan1 = pd.to_datetime(dates.dt.year.astype(str) + "-01-01")
    offset = (jan1.dt.dayofweek + 1) % 7  # days of week 01 before 1 January
    return ((dates.dt.dayofyear - 1 + offset) // 7 + 1).astype(str).str.zfill(2)


DATE_PARTS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "year": lambda d: d.dt.strftime("%Y"),
    "month": lambda d: d.dt.strftime("%m"),
    "yearMonth": lambda d: d.dt.strftime("%Y%m"),
    "day": lambda d: d.dt.strftime("%d"),
    "dayOfWeek": _day_of_week,
    "dayOfWeekName": lambda d: d.dt.day_name(),
    "week": _week,
    "isoWeek": lambda d: d.dt.isocalendar().week.astype(str).str.zfill(2),
    "isoYear": lambda d: d.dt.isocalendar().year.astype(str),
    "isoYearIsoWeek": lambda d: d.dt.isocalendar().year.astype(str)
    + d.dt.isocalendar().week.astype(str).str.zfill(2),
}
"""Dimensions computed from ``date``, with GA4's formats (``week`` counts Sunday-started weeks)."""


def base_dimension(name: str) -> str:
    """The fact dimension a requested dimension comes from (date parts come from ``date``)."""
    return "date" if name in DATE_PARTS else name


def stored_metrics(metrics: Iterable[str]) -> set[str]:
    """The stored metrics that ``metrics`` need (ratios need their parts; averages need sessions)."""
    needed: set[str] = set()
    for name in metrics:
        if name in RATIOS:
            needed.update(RATIOS[name][0])
        else:
            needed.add(name)
            if name == "averageSessionDuration":
                needed.add("sessions")
    return needed


@dataclass(frozen=True)
class Fact:
    """One of the company's GA4 frames: the dimensions of its key and the stored metrics it holds."""

    name: str
    dimensions: frozenset[str]
    metrics: frozenset[str]

    def holds(self, dimensions: Iterable[str], metrics: Iterable[str]) -> bool:
        """Whether this fact can answer these dimensions (incl. filtered ones) and metrics."""
        return ({base_dimension(d) for d in dimensions} <= self.dimensions
                and stored_metrics(metrics) <= self.metrics)


FACT_KEYS = {
    "ga4_totals": ("date",),
    "ga4_traffic": ("date", "sessionDefaultChannelGroup"),
    "ga4_pages": ("date", "pagePath"),
    "ga4_events": ("date", "eventName"),
}
"""The company frames the sandbox serves, in the order a request is matched to them, and their keys."""


def facts_of(company: object) -> tuple[Fact, ...]:
    """The facts of a company, each with the modeled metrics its frame has."""
    return tuple(Fact(name, frozenset(keys), frozenset(set(getattr(company, name).columns) & set(METRICS)))
                 for name, keys in FACT_KEYS.items())


def choose_fact(facts: Iterable[Fact], dimensions: Iterable[str], metrics: Iterable[str]) -> Fact | None:
    """The first fact that holds every one of ``dimensions`` and ``metrics``; None when the combination is
    not modeled."""
    dimensions, metrics = list(dimensions), list(metrics)
    return next((fact for fact in facts if fact.holds(dimensions, metrics)), None)


def incompatibility(facts: tuple[Fact, ...], dimensions: list[str], metrics: list[str]) -> str:
    """Google's words for a combination no fact holds, naming a field whose removal makes it compatible."""
    fields = dimensions + metrics
    culprit = next((name for name in reversed(fields)
                    if choose_fact(facts, [d for d in dimensions if d != name], [m for m in metrics if m != name])),
                   fields[-1])
    return (f"Please remove {culprit} to make the request compatible. The request's dimensions & metrics are "
            f"incompatible. To learn more, see {COMPATIBILITY_URL}")


def served_fields(facts: tuple[Fact, ...]) -> tuple[list[str], list[str]]:
    """The dimensions and metrics some fact can answer (what ``getMetadata`` lists)."""
    dimensions = [name for name in DIMENSIONS if any(fact.holds([name], []) for fact in facts)]
    metrics = [name for name in METRICS if any(fact.holds([], [name]) for fact in facts)]
    return dimensions, metrics


def with_date_parts(frame: pd.DataFrame, dimensions: Iterable[str]) -> pd.DataFrame:
    """``frame`` with a column for each requested date part (computed once per distinct day)."""
    parts = [name for name in dict.fromkeys(dimensions) if name in DATE_PARTS]
    if not parts:
        return frame
    codes, days = pd.factorize(frame["date"])
    days = pd.Series(days)
    return frame.assign(**{name: DATE_PARTS[name](days).to_numpy(dtype=object)[codes] for name in parts})


def aggregate(rows: pd.DataFrame, fact: Fact, keys: list[str], metrics: list[str],
              new_share: pd.Series) -> pd.DataFrame:
    """The requested ``metrics`` of ``rows`` (a fact's rows, date parts added) per distinct ``keys``.

    ``new_share`` is the property's new users / total users per date, for facts without ``newUsers``.
    Rows already unique per ``keys`` (the fact's own key) keep their stored values.
    """
    stored = sorted(stored_metrics(metrics))
    if set(keys) == fact.dimensions:
        table = rows[keys + stored].copy()
    else:
        table = _roll_up(rows, fact, keys, stored, new_share)
    for name in metrics:
        if name in RATIOS:
            table[name] = RATIOS[name][1](table)
    return table[keys + [m for m in metrics if m not in keys]]


def _roll_up(rows: pd.DataFrame, fact: Fact, keys: list[str], stored: list[str],
             new_share: pd.Series) -> pd.DataFrame:
    work = rows[keys + ["date"] * ("date" not in keys) + stored].copy()
    sums = [name for name in stored if name in ADDITIVE]
    if "averageSessionDuration" in stored:
        work["_seconds"] = work["averageSessionDuration"] * work["sessions"]
        sums.append("_seconds")
    if "totalUsers" in stored:
        if "newUsers" in rows:
            new = rows["newUsers"].to_numpy(dtype=float)
        else:
            new = np.round(rows["totalUsers"].to_numpy(dtype=float)
                           * rows["date"].map(new_share).fillna(0.0).to_numpy(dtype=float))
        work["_new"] = np.minimum(new, rows["totalUsers"].to_numpy(dtype=float))
        work["_returning"] = rows["totalUsers"].to_numpy(dtype=float) - work["_new"]
    aggregations = {name: "sum" for name in sums}
    if "totalUsers" in stored:
        aggregations.update({"_new": "sum", "_returning": "max"})
    if keys:
        table = work.groupby(keys, sort=False, dropna=False).agg(aggregations).reset_index()
    else:
        table = work.agg(aggregations).to_frame().T if len(work) else pd.DataFrame(columns=list(aggregations))
    if "totalUsers" in stored:
        table["totalUsers"] = table["_new"] + table["_returning"]
    if "averageSessionDuration" in stored:
        table["averageSessionDuration"] = _share(table["_seconds"], table["sessions"])
    return table[keys + stored].reset_index(drop=True)
