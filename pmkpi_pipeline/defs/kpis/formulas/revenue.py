"""Revenue KPIs from the billing database: ARPU, CLV, refund (return) rate and MRR with its movements.

"Revenue in window" = Σ over the window of the view ``int_revenue_daily`` (billing staging): Σ amount of
invoices with status 'paid' and paid_date in the window − Σ amount of refunds created in the window
(reporting currency). Customers active at the end of D are counted from the view ``int_active_spans``.
"""

from __future__ import annotations

from datetime import date

from ....lib.settings import KpiSettings
from .common import (
    active_at,
    active_counts,
    calendar,
    churn_counts,
    ratio_columns,
    sql_date,
    sql_text,
    window_days,
    windowed_sums,
    with_ctes,
)

MOVEMENTS = ("new", "expansion", "contraction", "churned")


def _revenue_per_active(window: int, start: date, end: date) -> str:
    """CTEs ending in ``revenue_per_active(day, revenue, active)``.

    ``revenue`` = revenue in the window, ``active`` = customers active at the end of D.
    """
    return f"""{windowed_sums("revenue_window", "int_revenue_daily", ["revenue"], window)},
    {active_counts(start, end)},
    revenue_per_active AS (
        SELECT r.day, r.revenue, a.n AS active
        FROM revenue_window r JOIN active_counts a ON a.day = r.day)"""


def arpu(start: date, end: date, cfg: KpiSettings) -> str:
    """Revenue in window / customers active at end of D."""
    window = window_days("arpu", cfg)
    return f"""{with_ctes(calendar(start, end), _revenue_per_active(window, start, end))}
        SELECT day AS date,
               {ratio_columns("revenue", "active",
                              sql_text("denominator 0: no customers active at end of D"), 1.0)}
        FROM revenue_per_active"""


def clv(start: date, end: date, cfg: KpiSettings) -> str:
    """ARPA × gross margin / (churn_rate / 100), ARPA = revenue in window / customers active at end of D.

    numerator = ARPA × gross margin (currency), denominator = churn_rate / 100 (churned / active at
    end of D−w, a fraction), so value = numerator / denominator. NULL when there is no active
    customer at D (ARPA undefined), when churn is undefined (no customer active at D−w) or 0.
    """
    window = window_days("clv", cfg)
    return f"""{with_ctes(calendar(start, end), _revenue_per_active(window, start, end),
                          churn_counts(window, start, end))},
    parts AS (
        SELECT r.day,
               CASE WHEN r.active > 0
                    THEN r.revenue / r.active * {float(cfg.gross_margin)} END AS margin_per_account,
               CASE WHEN k.active_before > 0 THEN k.churned / k.active_before END AS churn_fraction,
               r.active, k.active_before
        FROM revenue_per_active r JOIN churn_counts k ON k.day = r.day)
        SELECT day AS date,
               margin_per_account AS numerator,
               churn_fraction AS denominator,
               CASE WHEN churn_fraction > 0 THEN margin_per_account / churn_fraction END AS value,
               CASE WHEN active = 0 THEN 'denominator 0: no customers active at end of D'
                    WHEN active_before = 0 THEN 'churn_rate is NULL: no customers active at end of D-{window}'
                    WHEN churn_fraction = 0 THEN 'churn_rate is 0'
               END AS null_reason
        FROM parts"""


def return_rate(start: date, end: date, cfg: KpiSettings) -> str:
    """Refunds created in window / paid invoices (paid_date) in window × 100, as counts."""
    window = window_days("return_rate", cfg)
    return f"""{with_ctes(calendar(start, end),
                          windowed_sums("money_window", "int_revenue_daily", ["paid_invoices", "refunds"], window))}
        SELECT day AS date,
               {ratio_columns("refunds", "paid_invoices", sql_text("denominator 0: no paid invoices in window"))}
        FROM money_window"""


def mrr(start: date, end: date, cfg: KpiSettings) -> str:
    """Σ mrr_amount of subscriptions active at end of D, and its movements against D−1.

    Each customer's MRR at D is compared with theirs at D−1 on the days one of their subscriptions
    starts or ends: new (0 → >0, including a returning customer), expansion (increase),
    contraction (decrease, still > 0) and churned (>0 → 0, as a positive amount). The movements
    are extra rows (dimension 'movement') and the headline row's details; they are 0, not NULL, on
    days without movement, as MRR itself is 0 when no subscription is active.
    new + expansion − contraction − churned = MRR(D) − MRR(D−1).
    """
    movement_rows = "\n        UNION ALL ".join(
        f"SELECT day AS date, {m} AS value, 'movement' AS dimension, '{m}' AS dimension_value, "
        f"NULL AS details FROM movements" for m in MOVEMENTS)
    details = ", ".join(f"'{m}', {m}" for m in MOVEMENTS)
    return f"""{with_ctes(calendar(start, end))},
    mrr_total AS (
        SELECT c.day, coalesce(sum(s.mrr_amount), 0) AS mrr
        FROM calendar c LEFT JOIN stg_subscriptions s ON {active_at("c.day")}
        GROUP BY c.day),
    customer_change_days AS (
        -- (customer, D) where one of the customer's subscriptions starts or ends on D
        SELECT customer_id, started_date AS day FROM stg_subscriptions
        WHERE started_date BETWEEN {sql_date(start)} AND {sql_date(end)}
        UNION
        SELECT customer_id, ended_date AS day FROM stg_subscriptions
        WHERE ended_date BETWEEN {sql_date(start)} AND {sql_date(end)}),
    customer_mrr AS (
        -- rounded to 1e-6 so that equal amounts summed in another order compare equal
        SELECT ch.day, ch.customer_id,
               round(coalesce(sum(s.mrr_amount) FILTER (WHERE {active_at("ch.day")}), 0), 6) AS mrr_now,
               round(coalesce(sum(s.mrr_amount) FILTER (WHERE {active_at("ch.day - 1")}), 0), 6) AS mrr_before
        FROM customer_change_days ch JOIN stg_subscriptions s ON s.customer_id = ch.customer_id
        GROUP BY ch.day, ch.customer_id),
    movements AS (
        SELECT c.day,
               coalesce(sum(m.mrr_now) FILTER (WHERE m.mrr_before = 0 AND m.mrr_now > 0), 0) AS new,
               coalesce(sum(m.mrr_now - m.mrr_before)
                        FILTER (WHERE m.mrr_before > 0 AND m.mrr_now > m.mrr_before), 0) AS expansion,
               coalesce(sum(m.mrr_before - m.mrr_now)
                        FILTER (WHERE m.mrr_now > 0 AND m.mrr_now < m.mrr_before), 0) AS contraction,
               coalesce(sum(m.mrr_before) FILTER (WHERE m.mrr_before > 0 AND m.mrr_now = 0), 0) AS churned
        FROM calendar c LEFT JOIN customer_mrr m ON m.day = c.day
        GROUP BY c.day)
        SELECT t.day AS date, t.mrr AS value, NULL AS dimension, NULL AS dimension_value,
               CAST(json_object({details}) AS VARCHAR) AS details
        FROM mrr_total t JOIN movements USING (day)
        UNION ALL {movement_rows}"""
