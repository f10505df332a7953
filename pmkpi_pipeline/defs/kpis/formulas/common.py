"""Shared SQL building blocks of the KPI formulas, each written once.

Every formula is one set-based DuckDB query that computes all days of a range at once. It reads the
``stg_*`` views and the ``int_*`` views built on them by the staging assets (``defs/<source>/staging.sql``):
the building blocks that are facts of the warehouse rather than of one query live there, queryable
by an analyst:

- ``int_active_spans(customer_id, span_start, span_end)`` — when each customer is active;
- ``int_revenue_events(customer_id, day, amount, paid_invoices, refunds)`` and
  ``int_revenue_daily(day, revenue, paid_invoices, refunds)`` — paid invoices minus refunds;
- ``int_new_customers_daily(day, new_customers)``, ``int_leads_daily(day, leads)``,
  ``int_spend_daily(day, spend)`` — marketing facts per day;
- ``int_ga4_traffic_daily(day, sessions, engaged_sessions, screen_page_views, session_seconds)``.

The parts that depend on the range or the window are common table expressions (CTEs) built below:

- :func:`calendar` — the days ``start..end``, one row per partition day ``D``;
- :func:`windowed_sums` — Σ of daily facts over each day's trailing window ``D-(w-1) .. D``;
- :func:`active_counts` — customers active at the end of each day;
- :func:`churn_counts` — customers active at the end of ``D-w`` and how many of them are gone at ``D``;

plus :func:`ratio_columns`, which turns a numerator and a denominator into the ``value``,
``numerator``, ``denominator`` and ``null_reason`` columns, and :func:`run_formulas`, which runs a
family's queries and returns rows in the :data:`KPI_COLUMNS` shape.

Customer states are kept as *spans* of days rather than one row per (customer, day): a span
``[span_start, span_end)`` holds the days ``D`` at whose end something is true of a customer
(they are active; they used a feature in ``D``'s window; ...). "Active at the end of D and used
feature F in the window" is then the :func:`overlap` of two spans, and a daily count is
:func:`covering_counts` — +1 where a span starts, −1 where it ends, a running sum over the
calendar. Two years of 20,000 customers stay a few ten thousand spans instead of millions of
(customer, day) rows. Capped counts of events in a window, Σ over customers of
``min(cap, events in D's window)``, are spans too: :func:`capped_count_spans`.

Conventions: the partition day is always the column ``day`` (``date`` only in the output); "active
at the end of D" means ``started_date <= D AND (ended_date IS NULL OR ended_date > D)``, i.e. ``D`` in
the half-open span ``[started_date, ended_date)``; windows are inclusive of both ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date

import duckdb
import pandas as pd

from ....lib.settings import KpiSettings
from ..catalog import BY_ID

KPI_COLUMNS: tuple[str, ...] = (
    "date", "kpi", "value", "numerator", "denominator", "unit",
    "dimension", "dimension_value", "null_reason", "details",
)


# --------------------------------------------------------------------------- SQL literals

def sql_date(day: date) -> str:
    """A DuckDB DATE literal."""
    return f"DATE '{day.isoformat()}'"


def sql_text(text: str) -> str:
    """A DuckDB string literal, quotes escaped."""
    return "'" + str(text).replace("'", "''") + "'"


def sql_text_list(values: Iterable[str]) -> str:
    """A parenthesised list of string literals for ``IN (...)`` (``(NULL)`` when empty)."""
    items = [sql_text(v) for v in values]
    return "(" + (", ".join(items) if items else "NULL") + ")"


def with_ctes(*ctes: str) -> str:
    """``WITH cte1, cte2, ...`` from CTE definitions (each ``name AS (...)``)."""
    return "WITH " + ",\n    ".join(ctes)


def window_days(kpi_id: str, cfg: KpiSettings) -> int:
    """The trailing window of a KPI in days, from the catalog."""
    return BY_ID[kpi_id].window_days(cfg)


def in_window(column: str, window: int, day: str = "c.day") -> str:
    """Predicate: ``column`` falls in the trailing window of ``window`` days ending on ``day``."""
    return f"{column} BETWEEN {day} - {window - 1} AND {day}"


# --------------------------------------------------------------------------- calendar and windows

def calendar(start: date, end: date) -> str:
    """CTE ``calendar(day)``: every partition day ``start..end``."""
    return (f"calendar AS (SELECT CAST(range AS DATE) AS day "
            f"FROM range({sql_date(start)}, {sql_date(end)} + 1, INTERVAL 1 DAY))")


def windowed_sums(name: str, daily: str, measures: Sequence[str], window: int) -> str:
    """CTE ``name(day, <measures>)``: Σ of each daily measure over each calendar day's window.

    ``daily`` is the name of a CTE with a ``day`` column and the measures (0 for a window without
    rows). Requires the ``calendar`` CTE.
    """
    sums = ",\n               ".join(f"coalesce(sum(f.{m}), 0) AS {m}" for m in measures)
    return f"""{name} AS (
        SELECT c.day,
               {sums}
        FROM calendar c
        LEFT JOIN {daily} f ON {in_window('f.day', window)}
        GROUP BY c.day)"""


# --------------------------------------------------------------------------- customers

def active_at(day: str, alias: str = "s") -> str:
    """Predicate: subscription ``alias`` is active at the end of ``day`` (dates are local)."""
    return f"({alias}.started_date <= {day} AND ({alias}.ended_date IS NULL OR {alias}.ended_date > {day}))"


def overlap(left: str, right: str, carry: str = "") -> str:
    """A SELECT of the overlaps of two span CTEs, per customer: the days in both.

    ``left`` and ``right`` have ``customer_id``, ``span_start`` and ``span_end``; ``carry`` lists
    columns of ``left`` (alias ``l``) to keep, e.g. ``"l.feature, "``. When each side's spans of a
    customer are disjoint, so are the overlaps.
    """
    start, end = "greatest(l.span_start, r.span_start)", "least(l.span_end, r.span_end)"
    return f"""SELECT {carry}{start} AS span_start, {end} AS span_end
        FROM {left} l JOIN {right} r ON r.customer_id = l.customer_id
        WHERE {start} < {end}"""


def capped_count_spans(items: str, window: int, cap: int, per: str = "customer_id", carry: str = "",
                       period: tuple[str, str] | None = None) -> str:
    """A SELECT of spans that count, on each day ``D``, ``min(cap, items in D's window)`` per counter.

    ``items`` is a CTE with one row per counted item (an event, a day with events, ...) and its
    ``day``; ``per`` lists its columns that make one counter. Sorted by day, an item counts for
    ``D`` while it is in ``D``'s window, ``D`` in ``[day, day + window)``, and is one of the ``cap``
    latest items of its counter up to ``D``, i.e. before the day of the ``cap``-th next item: so on
    every day the number of a counter's spans containing it is ``min(cap, items in D's window)``,
    and with ``cap`` 1 a counter's spans never overlap. ``period`` names two columns of ``items``,
    a span ``[start, end)`` each item's span is cut to. Empty spans are left out. ``carry`` lists
    columns of ``items`` to keep, e.g. ``"feature, "``, before ``span_start`` and ``span_end``.
    """
    span_start, period_end = ("day", "") if period is None else (f"greatest(day, {period[0]})", f", {period[1]}")
    return f"""SELECT {carry}{span_start} AS span_start,
               least(day + {window}, lead(day, {cap}) OVER (PARTITION BY {per} ORDER BY day){period_end}) AS span_end
        FROM {items}
        QUALIFY span_start < span_end"""


def covering_counts(name: str, spans: str, start: date, end: date, key: str | None = None,
                    keys: str | None = None) -> str:
    """CTEs ending in ``name(day, [key,] n)``: how many spans contain each calendar day.

    ``spans`` is a CTE with ``span_start`` (inclusive) and ``span_end`` (exclusive) days. Counted
    with +1 at each start and −1 at each end and a running sum over the calendar, so a long span
    costs no more than a short one. With ``key``, counts per key for every value of the CTE
    ``keys(key)`` (a NULL key is a value like any other). Requires ``calendar``.
    """
    k = f"{key}, " if key else ""
    overlaps = f"span_start <= {sql_date(end)} AND span_end > {sql_date(start)}"
    keyed_join = f" CROSS JOIN {keys} k" if key else ""
    keyed_match = f" AND ch.{key} IS NOT DISTINCT FROM k.{key}" if key else ""
    return f"""{name}_changes AS (
        SELECT {k}greatest(span_start, {sql_date(start)}) AS day, count(*) AS change
        FROM {spans} WHERE {overlaps} GROUP BY ALL
        UNION ALL
        SELECT {k}span_end AS day, -count(*) AS change
        FROM {spans} WHERE {overlaps} AND span_end <= {sql_date(end)} GROUP BY ALL),
    {name} AS (
        SELECT c.day,{f' k.{key},' if key else ''}
               sum(coalesce(sum(ch.change), 0)) OVER (
                   {'PARTITION BY k.' + key if key else ''} ORDER BY c.day) AS n
        FROM calendar c{keyed_join}
        LEFT JOIN {name}_changes ch ON ch.day = c.day{keyed_match}
        GROUP BY c.day{', k.' + key if key else ''})"""


def active_counts(start: date, end: date) -> str:
    """CTEs ending in ``active_counts(day, n)``: customers active at the end of each calendar day.

    Requires ``calendar``; reads the view ``int_active_spans``.
    """
    return covering_counts("active_counts", "int_active_spans", start, end)


def churn_counts(window: int, start: date, end: date) -> str:
    """CTEs ending in ``churn_counts(day, active_before, churned)`` for each calendar day ``D``.

    ``active_before`` = customers active at the end of ``D-window`` (the day before the window);
    ``churned`` = those of them with no active subscription at the end of ``D``, i.e.
    ``active_before`` minus the retained ones, active at the end of both days. Requires
    ``calendar``; reads the view ``int_active_spans``.
    """
    return f"""active_before_spans AS (
        -- D in [span_start + w, span_end + w): the customer was active at the end of D - w
        SELECT customer_id, span_start + {window} AS span_start, span_end + {window} AS span_end
        FROM int_active_spans),
    retained_spans AS (
        -- active at the end of D - w and at the end of D
        {overlap("active_before_spans", "int_active_spans")}),
    {covering_counts("active_before_counts", "active_before_spans", start, end)},
    {covering_counts("retained_counts", "retained_spans", start, end)},
    churn_counts AS (
        SELECT b.day, b.n AS active_before, b.n - r.n AS churned
        FROM active_before_counts b JOIN retained_counts r ON r.day = b.day)"""


# --------------------------------------------------------------------------- output

def ratio_columns(numerator: str, denominator: str, null_reason: str, scale: float = 100.0) -> str:
    """SELECT-list fragment: ``value = numerator / denominator × scale`` with its parts.

    The value is NULL, with ``null_reason`` (an SQL expression or literal), when the denominator
    is 0 or NULL; ``null_reason`` is NULL otherwise.
    """
    return f"""CAST({numerator} AS DOUBLE) AS numerator,
               CAST({denominator} AS DOUBLE) AS denominator,
               CASE WHEN coalesce({denominator}, 0) <> 0
                    THEN CAST({numerator} AS DOUBLE) / {denominator} * {scale} END AS value,
               CASE WHEN coalesce({denominator}, 0) = 0 THEN {null_reason} END AS null_reason"""


def kpi_frame(con: duckdb.DuckDBPyConnection, kpi_id: str, sql: str) -> pd.DataFrame:
    """Run one KPI query and return its rows in the :data:`KPI_COLUMNS` shape.

    The query returns ``date`` and ``value`` and any of ``numerator``, ``denominator``,
    ``dimension``, ``dimension_value``, ``null_reason``, ``details`` (missing ones are None).
    ``kpi`` and ``unit`` come from the catalog.
    """
    frame = con.execute(sql).df()
    frame["kpi"] = kpi_id
    frame["unit"] = BY_ID[kpi_id].unit
    for column in KPI_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    return frame[list(KPI_COLUMNS)]


Formula = Callable[[date, date, KpiSettings], str]


def run_formulas(con: duckdb.DuckDBPyConnection, formulas: Mapping[str, Formula], start: date, end: date,
                 cfg: KpiSettings) -> pd.DataFrame:
    """Run each KPI's query for ``start..end`` and return all rows in the :data:`KPI_COLUMNS` shape.

    ``formulas`` maps a KPI id to a function building its SQL. ``date`` is a ``datetime.date``;
    rows are ordered by date, kpi, dimension, dimension value (headline row first).
    """
    frame = pd.concat([kpi_frame(con, kpi, formula(start, end, cfg)) for kpi, formula in formulas.items()],
                      ignore_index=True)
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    for column in ("value", "numerator", "denominator"):
        frame[column] = frame[column].astype("float64")
    for column in ("kpi", "unit", "dimension", "dimension_value", "null_reason", "details"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    frame = frame.sort_values(["date", "kpi", "dimension", "dimension_value"],
                              na_position="first", kind="stable")
    return frame.reset_index(drop=True)
