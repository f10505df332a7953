"""Customer KPIs from the billing database: surveys, churn and retention, product usage, time to value.

"Active at the end of D" and the churn counts come from :mod:`.common`. Product usage is read
from ``stg_product_events`` pre-aggregated to (customer, day) or (customer, feature, day) before
any windowing, so 5 million events over two years stay cheap.

Features: ``cfg.tracked_features``, or when empty every feature that appears in
``stg_product_events`` (all time). A feature's use "counts for D" when the customer has a
``feature_used:<feature>`` event in ``D-(w-1) .. D``; the event need not fall while they are active.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from ...settings import KpiSettings
from .common import (
    active_counts, active_spans, calendar, churn_counts, covering_counts, in_window, overlap, ratio_columns,
    run_formulas, sql_date, sql_text, window_days, windowed_sums, with_ctes,
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
    return f"""{with_ctes(calendar(start, end), active_spans(), churn_counts(window, start, end))}
        SELECT day AS date,
               {ratio_columns("churned", "active_before", _no_active_before(window))}
        FROM churn_counts"""


def retention_rate(start: date, end: date, cfg: KpiSettings) -> str:
    """(active at end of D − created in window and active at end of D) / active at end of D−w × 100.

    numerator = active at end of D − new and active; denominator = active at end of D−w. Customers
    who come back after the day before the window count as retained, so the value can exceed 100.
    """
    window = window_days("retention_rate", cfg)
    return f"""{with_ctes(calendar(start, end), active_spans(), active_counts(start, end),
                          churn_counts(window, start, end))},
    new_customer_spans AS (
        -- D in [created_date, created_date + w): the customer was created in D's window
        SELECT customer_id, created_date AS span_start, created_date + {window} AS span_end
        FROM stg_customers WHERE created_date IS NOT NULL),
    new_active_spans AS (
        {overlap("new_customer_spans", "active_spans")}),
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


def _feature_use_spans(start: date, end: date, window: int, any_feature: bool) -> str:
    """CTEs ending in ``feature_use_spans(customer_id, feature, span_start, span_end)``.

    The days D at whose window a customer has used a feature: a use on day ``u`` counts for
    ``D`` in ``[u, u + window)``, cut at the customer's next use of that feature so that one
    customer's spans of one feature never overlap. With ``any_feature``, also spans with
    ``feature`` NULL for a use of any feature.
    """
    any_rows = ("UNION ALL SELECT DISTINCT customer_id, NULL AS feature, day FROM feature_use_days_per_feature"
                if any_feature else "")
    return f"""feature_use_days_per_feature AS (
        SELECT DISTINCT customer_id, feature, occurred_date AS day
        FROM stg_product_events
        WHERE feature IS NOT NULL
          AND occurred_date BETWEEN {sql_date(start)} - {window - 1} AND {sql_date(end)}),
    feature_use_days AS (
        SELECT * FROM feature_use_days_per_feature {any_rows}),
    feature_use_spans AS (
        SELECT customer_id, feature, day AS span_start,
               least(day + {window},
                     lead(day) OVER (PARTITION BY customer_id, feature ORDER BY day)) AS span_end
        FROM feature_use_days)"""


def feature_adoption_rate(start: date, end: date, cfg: KpiSettings) -> str:
    """Customers active at end of D with a feature_used:F event in window / customers active at end of D × 100.

    One row per feature (dimension 'feature') and the headline row (no dimension) for a use of
    any feature — any feature_used event, tracked or not.
    """
    window = window_days("feature_adoption_rate", cfg)
    return f"""{with_ctes(calendar(start, end), _features(cfg), active_spans(), active_counts(start, end),
                          _feature_use_spans(start, end, window, any_feature=True))},
    adoption_keys AS (
        SELECT feature FROM features UNION ALL SELECT NULL AS feature),
    counted_feature_use_spans AS (
        SELECT * FROM feature_use_spans
        WHERE feature IS NULL OR feature IN (SELECT feature FROM features)),
    adopter_spans AS (
        -- active at the end of D and a use in D's window
        {overlap("counted_feature_use_spans", "active_spans", carry="l.feature, ")}),
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

    A customer's window counters change only on days an event day enters (its day) or leaves
    (day + w) the window, so they are running sums over those change days; each counter value
    holds until the customer's next change day, which makes a span of days with one score. The
    score spans, cut to the customer's active spans, are summed per day.
    """
    window = window_days("customer_engagement_score", cfg)
    return f"""{with_ctes(calendar(start, end), _features(cfg), active_spans(), active_counts(start, end),
                          _feature_use_spans(start, end, window, any_feature=False))},
    total_features AS (SELECT count(*) AS n FROM features),
    event_days AS (
        -- one row per customer and day with any product event, with that day's logins
        SELECT customer_id, occurred_date AS day, count(*) FILTER (WHERE event_name = 'login') AS logins
        FROM stg_product_events
        WHERE occurred_date BETWEEN {sql_date(start)} - {window - 1} AND {sql_date(end)}
        GROUP BY customer_id, occurred_date),
    counter_changes AS (
        SELECT customer_id, day, 1 AS active_days, logins, 0 AS features FROM event_days
        UNION ALL
        SELECT customer_id, day + {window}, -1, -logins, 0 FROM event_days
        UNION ALL
        SELECT customer_id, span_start, 0, 0, 1 FROM feature_use_spans
        WHERE feature IN (SELECT feature FROM features)
        UNION ALL
        SELECT customer_id, span_end, 0, 0, -1 FROM feature_use_spans
        WHERE feature IN (SELECT feature FROM features)),
    counters AS (
        -- a customer's window counters on the days from one change day to the next
        SELECT customer_id, day AS span_start, lead(day) OVER w AS span_end,
               sum(sum(active_days)) OVER w AS active_days,
               sum(sum(logins)) OVER w AS logins,
               sum(sum(features)) OVER w AS features
        FROM counter_changes
        GROUP BY customer_id, day
        WINDOW w AS (PARTITION BY customer_id ORDER BY day)),
    score_spans AS (
        SELECT k.customer_id, k.span_start, k.span_end,
               40 * least(1, k.active_days / 20)
             + 30 * CASE WHEN t.n > 0 THEN least(1, k.features / t.n) ELSE 0 END
             + 30 * least(1, k.logins / 20) AS score
        FROM counters k CROSS JOIN total_features t
        WHERE k.span_end IS NOT NULL),
    active_score_spans AS (
        {overlap("score_spans", "active_spans", carry="l.score, ")}),
    {covering_counts("score_sums", "active_score_spans", start, end, weight="score")}
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


FORMULAS = {
    "nps": nps,
    "csat": csat,
    "churn_rate": churn_rate,
    "retention_rate": retention_rate,
    "feature_adoption_rate": feature_adoption_rate,
    "customer_engagement_score": customer_engagement_score,
    "time_to_value": time_to_value,
}


def compute(con: duckdb.DuckDBPyConnection, start: date, end: date, cfg: KpiSettings) -> pd.DataFrame:
    """Rows of every customer KPI for every day ``start..end`` (feature adoption also per feature)."""
    return run_formulas(con, FORMULAS, start, end, cfg)
