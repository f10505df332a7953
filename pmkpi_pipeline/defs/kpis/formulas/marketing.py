"""Marketing KPIs: leads, acquisition cost, social engagement, return on marketing and market share.

Window facts (all summed over the trailing window of D) from the daily views of the staging layer:
marketing spend (``int_spend_daily``, all channels), new leads (``int_leads_daily``: Mailchimp list
members by the day of their opt-in, all lists), new customers (``int_new_customers_daily``, by ``created_date``),
revenue (``int_revenue_daily``) and industry sales (``stg_industry_sales_daily``, months already
pro-rated to days, all markets). A sum over days without rows is 0; only a 0 denominator makes a
value NULL.
"""

from __future__ import annotations

from datetime import date

from ....lib.settings import KpiSettings
from .common import calendar, in_window, ratio_columns, sql_text, window_days, windowed_sums, with_ctes

_NO_LEADS = sql_text("denominator 0: no new leads in window")


def _window_ratio(kpi: str, numerator: str, denominator: str, reason: str, scale: float,
                  start: date, end: date, cfg: KpiSettings) -> str:
    """A ratio of two window facts (columns of ``marketing_window``) for every day of the range."""
    return f"""{with_ctes(calendar(start, end))},
    industry_daily AS (
        SELECT date AS day, sum(daily_sales) AS industry_sales
        FROM stg_industry_sales_daily GROUP BY date),
    marketing_daily AS (
        SELECT day, spend FROM int_spend_daily
        UNION ALL BY NAME SELECT day, leads FROM int_leads_daily
        UNION ALL BY NAME SELECT day, new_customers FROM int_new_customers_daily
        UNION ALL BY NAME SELECT day, revenue FROM int_revenue_daily
        UNION ALL BY NAME SELECT day, industry_sales FROM industry_daily),
    {windowed_sums("marketing_window", "marketing_daily",
                   ["spend", "leads", "new_customers", "revenue", "industry_sales"], window_days(kpi, cfg))}
        SELECT day AS date, {ratio_columns(numerator, denominator, reason, scale)}
        FROM marketing_window"""


def lead_conversion_rate(start: date, end: date, cfg: KpiSettings) -> str:
    """New customers (created in window) / new leads in window × 100."""
    return _window_ratio("lead_conversion_rate", "new_customers", "leads", _NO_LEADS, 100.0, start, end, cfg)


def cost_per_lead(start: date, end: date, cfg: KpiSettings) -> str:
    """Marketing spend in window / new leads in window."""
    return _window_ratio("cost_per_lead", "spend", "leads", _NO_LEADS, 1.0, start, end, cfg)


def cac(start: date, end: date, cfg: KpiSettings) -> str:
    """Marketing spend in window / new customers in window."""
    return _window_ratio("cac", "spend", "new_customers",
                         sql_text("denominator 0: no new customers in window"), 1.0, start, end, cfg)


def market_share(start: date, end: date, cfg: KpiSettings) -> str:
    """Revenue in window / industry sales (all markets) pro-rated to the window × 100."""
    return _window_ratio("market_share", "revenue", "industry_sales",
                         sql_text("denominator 0: no industry sales in window"), 100.0, start, end, cfg)


def social_engagement_rate(start: date, end: date, cfg: KpiSettings) -> str:
    """Σ engagements / Σ impressions × 100 on D, over all networks."""
    return f"""{with_ctes(calendar(start, end))},
    social AS (
        SELECT date AS day, sum(engagements) AS engagements, sum(impressions) AS impressions
        FROM stg_social_media GROUP BY date)
        SELECT c.day AS date,
               {ratio_columns("coalesce(s.engagements, 0)", "coalesce(s.impressions, 0)",
                              sql_text("denominator 0: no impressions on D"))}
        FROM calendar c LEFT JOIN social s ON s.day = c.day"""


def romi(start: date, end: date, cfg: KpiSettings) -> str:
    """(attributed revenue in window − spend in window) / spend in window × 100.

    Attributed revenue: revenue in the window (paid invoices − refunds, ``int_revenue_events``)
    of customers created in the window whose acquisition_channel had spend > 0 in the window.
    Spend is all channels. numerator = attributed revenue − spend, denominator = spend.
    """
    window = window_days("romi", cfg)
    return f"""{with_ctes(calendar(start, end))},
    channel_spend AS (
        -- spend per channel in each day's window
        SELECT c.day, s.channel, sum(s.amount) AS spend
        FROM calendar c JOIN stg_marketing_spend s ON {in_window("s.date", window)}
        GROUP BY c.day, s.channel),
    window_spend AS (
        SELECT c.day, coalesce(sum(cs.spend), 0) AS spend
        FROM calendar c LEFT JOIN channel_spend cs ON cs.day = c.day
        GROUP BY c.day),
    attributed_customers AS (
        -- customers created in D's window whose acquisition channel had spend in that window
        SELECT c.day, cu.customer_id
        FROM calendar c
        JOIN stg_customers cu ON {in_window("cu.created_date", window)}
        JOIN channel_spend cs
          ON cs.day = c.day AND cs.channel = cu.acquisition_channel AND cs.spend > 0),
    attributed_revenue AS (
        SELECT a.day, sum(r.amount) AS revenue
        FROM attributed_customers a
        JOIN int_revenue_events r ON r.customer_id = a.customer_id AND {in_window("r.day", window, "a.day")}
        GROUP BY a.day)
        SELECT w.day AS date,
               {ratio_columns("coalesce(ar.revenue, 0) - w.spend", "w.spend",
                              sql_text("denominator 0: no marketing spend in window"))}
        FROM window_spend w LEFT JOIN attributed_revenue ar ON ar.day = w.day"""
