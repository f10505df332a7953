"""Customer KPIs from the billing database: surveys, churn and retention, product usage, time to value.

"Active at the end of D" is the view ``int_active_spans`` (billing staging); the active and churn counts
per day come from :mod:`.common`. Product usage is read
from ``stg_product_events`` left to the events that can count for a day at whose end their
customer is active (:func:`_product_events`); a count of them in D's window, capped or not,
becomes spans of days (:func:`.common.capped_count_spans`), never one row per (customer, day),
so 5 million events over two years stay cheap.

Features: ``cfg.tracked_features``, or when empty every feature that appears in
``stg_product_events`` (all time). A feature's use "counts for D" when the customer has a
``feature_used:<feature>`` event in ``D-(w-1) .. D``; the event need not fall while they are active.
"""

from __future__ import annotations

from datetime import date

from ....lib.settings import KpiSettings
from .common import (
    active_counts,
    calendar,
    capped_count_spans,
    churn_counts,
    covering_counts,
    in_window,
    overlap,
    ratio_columns,
    sql_date,
    sql_text,
    window_days,
    windowed_sums,
    with_ctes,
)

_NO_ACTIVE = sql_text("denominator 0: no customers active at end of D")


def _no_active_before(window: int) -> str:
    return sql_text(f"denominator 0: no customers active at end of D-{window}")


# --------------------------------------------------------------------------- surveys

def _survey_window(window: int) -> str:
    """CTEs ending in ``surveys(day, ...)``: NPS and CSAT response counts in each day's window."""
    return f"""surveys_daily AS (
        SELECT responded_date AS day,
               count(*) FILTER (WHERE survey = 'nps') AS nps_responses,
               count(*) FILTER (WHERE survey = 'nps' AND score BETWEEN 9 AND 10) AS promoters,
               count(*) FILTER (WHERE survey = 'nps' AND score BETWEEN 0 AND 6) AS detractors,
               count(*) FILTER (WHERE survey = 'csat') AS csat_responses,
               count(*) FILTER (WHERE survey = 'csat' AND score BETWEEN 4 AND 5) AS satisfied
        FROM stg_survey_responses
        WHERE score IS NOT NULL
        GROUP BY responded_date),
    {windowed_sums("surveys", "surveys_daily",
                   ["nps_responses", "promoters", "detractors", "csat_responses", "satisfied"], window)}"""


def nps(start: date, end: date, cfg: KpiSettings) -> str:
    """(promoters − detractors) / nps responses × 100 in the window; numerator = promoters − detractors."""
    return f"""{with_ctes(calendar(start, end), _survey_window(window_days("nps", cfg)))}
        SELECT day AS date,
               {ratio_columns("promoters - detractors", "nps_responses",
                              sql_text("no nps responses in window"))}
        FROM surveys"""


def csat(start: date, end: date, cfg: KpiSettings) -> str:
    """csat responses scoring 4–5 / all csat responses × 100 in the window."""
    return f"""{with_ctes(calendar(start, end), _survey_window(window_days("csat", cfg)))}
        SELECT day AS date,
               {ratio_columns("satisfied", "csat_responses", sql_text("no csat responses in window"))}
        FROM surveys"""


# --------------------------------------------------------------------------- churn and retention

def churn_rate(start: date, end: date, cfg: KpiSettings) -> str:
    """Customers active at end of D−w with none active at end of D / customers active at end of D−w × 100."""
    window = window_days("churn_rate", cfg)
    return f"""{with_ctes(calendar(start, end), churn_counts(window, start, end))}
        SELECT day AS date,
               {ratio_columns("churned", "active_before", _no_active_before(window))}
        FROM churn_counts"""


def retention_rate(start: date, end: date, cfg: KpiSettings) -> str:
    """(active at end of D − created in window and active at end of D) / active at end of D−w × 100.

    numerator = active at end of D − new and active; denominator = active at end of D−w. Customers
    who come back after the day before the window count as retained, so the value can exceed 100.
    """
    window = window_days("retention_rate", cfg)
    return f"""{with_ctes(calendar(start, end), active_counts(start, end), churn_counts(window, start, end))},
    new_customer_spans AS (
        -- D in [created_date, created_date + w): the customer was created in D's window
        SELECT customer_id, created_date AS span_start, created_date + {window} AS span_end
        FROM stg_customers WHERE created_date IS NOT NULL),
    new_active_spans AS (
        {overlap("new_customer_spans", "int_active_spans")}),
    {covering_counts("new_active_counts", "new_active_spans", start, end)}
        SELECT a.day AS date,
               {ratio_columns("a.n - na.n", "k.active_before", _no_active_before(window))}
        FROM active_counts a
        JOIN new_active_counts na ON na.day = a.day
        JOIN churn_counts k ON k.day = a.day"""


# --------------------------------------------------------------------------- product usage

def _features(cfg: KpiSettings) -> str:
    """CTE ``features(feature)``: the tracked features, or every feature seen in the product events."""
    if cfg.tracked_features:
        tracked = ", ".join(sql_text(f) for f in cfg.tracked_features)
        return f"features AS (SELECT DISTINCT unnest([{tracked}]) AS feature)"
    return """features AS (
        SELECT DISTINCT feature FROM stg_product_events WHERE feature IS NOT NULL)"""


def _product_events(start: date, end: date, window: int, feature_uses_only: bool = False) -> str:
    """CTE ``product_events(customer_id, active_start, active_end, event_name, feature, day)``.

    An event on day ``u`` is in the windows of the days ``[u, u + window)`` and counts for such a
    day ``D`` only when the customer is active at the end of ``D``: each event is kept once for
    each active span ``[active_start, active_end)`` of its customer (view ``int_active_spans``)
    that has such a day ``D`` in ``start..end``, and the spans of days it counts for are cut to
    that active span. Counted per active span, the events left out change no count, capped ones
    included (:func:`.common.capped_count_spans`): were a left-out event on or before a day ``D``
    of the active span that an earlier kept event counts for, ``D`` would be in its window too.
    With ``feature_uses_only``, only ``feature_used:`` events.
    """
    feature_uses = "e.feature IS NOT NULL AND " if feature_uses_only else ""
    return f"""product_events AS (
        SELECT e.customer_id, a.span_start AS active_start, a.span_end AS active_end,
               e.event_name, e.feature, e.occurred_date AS day
        FROM stg_product_events e
        JOIN int_active_spans a
          ON a.customer_id = e.customer_id
         -- active at the end of a day in [occurred_date, occurred_date + w) within start..end
         AND a.span_start <= least(e.occurred_date + {window - 1}, {sql_date(end)})
         AND a.span_end > greatest(e.occurred_date, {sql_date(start)})
        WHERE {feature_uses}e.occurred_date BETWEEN {sql_date(start)} - {window - 1} AND {sql_date(end)})"""


def _active_capped_spans(items: str, window: int, cap: int, counter: str = "", carry: str = "") -> str:
    """A SELECT of spans of days ``D`` at whose end the customer is active that count ``min(cap, items
    in D's window)`` per customer (:func:`.common.capped_count_spans`, per active span).

    ``items`` has the columns ``customer_id``, ``active_start``, ``active_end`` and ``day`` of
    ``product_events``; ``counter`` names a further column that splits a customer's items into
    counters, e.g. ``"feature"``; ``carry`` lists columns to keep, e.g. ``"feature, "``.
    """
    per = ", ".join(["customer_id", "active_start", *([counter] if counter else [])])
    return capped_count_spans(items, window, cap, per=per, carry=carry, period=("active_start", "active_end"))


def feature_adoption_rate(start: date, end: date, cfg: KpiSettings) -> str:
    """Customers active at end of D with a feature_used:F event in window / customers active at end of D × 100.

    One row per feature (dimension 'feature') and the headline row (no dimension) for a use of
    any feature — any feature_used event, tracked or not. A customer's uses of a feature (feature
    NULL: of any feature) become the spans of days ``D`` they are active at the end of with a use
    in ``D``'s window (a count capped at 1), counted per day.
    """
    window = window_days("feature_adoption_rate", cfg)
    return f"""{with_ctes(calendar(start, end), _features(cfg), active_counts(start, end),
                          _product_events(start, end, window, feature_uses_only=True))},
    adoption_uses AS (
        -- the uses that make an adopter: of a counted feature, and (feature NULL) of any feature
        SELECT * FROM product_events WHERE feature IN (SELECT feature FROM features)
        UNION ALL
        SELECT * REPLACE (NULL AS feature) FROM product_events),
    adopter_spans AS (
        -- active at the end of D and a use of the feature in D's window
        {_active_capped_spans("adoption_uses", window, 1, counter="feature", carry="feature, ")}),
    adoption_keys AS (
        SELECT feature FROM features UNION ALL SELECT NULL AS feature),
    {covering_counts("adopters", "adopter_spans", start, end, key="feature", keys="adoption_keys")}
        SELECT d.day AS date,
               CASE WHEN d.feature IS NOT NULL THEN 'feature' END AS dimension,
               d.feature AS dimension_value,
               {ratio_columns("d.n", "a.n", _NO_ACTIVE)}
        FROM adopters d JOIN active_counts a ON a.day = d.day"""


def customer_engagement_score(start: date, end: date, cfg: KpiSettings) -> str:
    """Mean over customers active at end of D of a 0–100 score from their events in the window.

    score = 40·min(1, active days/20) + 30·min(1, distinct features/total features)
    + 30·min(1, logins/20); active days = distinct days with any event, features = distinct
    counted features used (see the module docstring; that part is 0 when there are no features
    at all), logins = ``login`` events. Customers without events score 0.
    numerator = Σ scores, denominator = customers active at end of D.

    Each part is a capped count, and a sum of capped counts over the active customers is a count
    of spans (:func:`_active_capped_spans`): Σ min(20, active days) from the days with events,
    Σ min(20, logins) from the login events, and Σ distinct features = Σ over features of
    min(1, uses) from the uses of each counted feature (a customer's distinct features never
    exceed the total). So Σ scores = 40/20·Σ min(20, active days) + 30/total·Σ features
    + 30/20·Σ min(20, logins), from the spans counted per day and part.
    """
    window = window_days("customer_engagement_score", cfg)
    full_days = full_logins = 20
    return f"""{with_ctes(calendar(start, end), _features(cfg), active_counts(start, end),
                          _product_events(start, end, window))},
    total_features AS (SELECT count(*) AS n FROM features),
    event_days AS (
        -- the items of the active days: one per customer, active span and day with any event
        SELECT DISTINCT customer_id, active_start, active_end, day FROM product_events),
    logins AS (
        SELECT * FROM product_events WHERE event_name = 'login'),
    feature_uses AS (
        -- a feature's uses count it once: capped at 1 per feature
        SELECT * FROM product_events WHERE feature IN (SELECT feature FROM features)),
    engagement_spans AS (
        {_active_capped_spans("event_days", window, full_days, carry="'active_days' AS part, ")}
        UNION ALL
        {_active_capped_spans("logins", window, full_logins, carry="'logins' AS part, ")}
        UNION ALL
        {_active_capped_spans("feature_uses", window, 1, counter="feature", carry="'features' AS part, ")}),
    parts AS (SELECT unnest(['active_days', 'logins', 'features']) AS part),
    {covering_counts("part_counts", "engagement_spans", start, end, key="part", keys="parts")},
    score_sums AS (
        -- Σ scores of the customers active at the end of D
        SELECT p.day,
               40 * sum(p.n) FILTER (WHERE p.part = 'active_days') / {full_days}
             + CASE WHEN t.n > 0 THEN 30 * sum(p.n) FILTER (WHERE p.part = 'features') / t.n ELSE 0 END
             + 30 * sum(p.n) FILTER (WHERE p.part = 'logins') / {full_logins} AS n
        FROM part_counts p CROSS JOIN total_features t
        GROUP BY p.day, t.n)
        SELECT a.day AS date, {ratio_columns("s.n", "a.n", _NO_ACTIVE, 1.0)}
        FROM active_counts a JOIN score_sums s ON s.day = a.day"""


# --------------------------------------------------------------------------- time to value

def time_to_value(start: date, end: date, cfg: KpiSettings) -> str:
    """Median of (activated_at − created_at) in days (epoch seconds / 86400), customers activated in window."""
    window = window_days("time_to_value", cfg)
    return f"""{with_ctes(calendar(start, end))}
        SELECT c.day AS date,
               median(epoch(cu.activated_at) - epoch(cu.created_at)) / 86400.0 AS value,
               CASE WHEN count(cu.customer_id) = 0 THEN 'no customers activated in window' END AS null_reason
        FROM calendar c
        LEFT JOIN stg_customers cu
               ON {in_window("cu.activated_date", window)} AND cu.activated_at IS NOT NULL
        GROUP BY c.day"""
