"""Email KPIs from Mailchimp campaign reports, over the email window (default 7 days).

A campaign counts for ``D`` when its local ``send_date`` falls in ``D-(w-1) .. D``. Delivered emails
are ``emails_sent − hard_bounces − soft_bounces`` (both KPIs subtract both kinds of bounce).
"""

from __future__ import annotations

from datetime import date

from ....lib.settings import KpiSettings
from .common import calendar, ratio_columns, window_days, windowed_sums, with_ctes


def _campaign_ratio(kpi: str, measure: str, start: date, end: date, cfg: KpiSettings) -> str:
    """Σ ``measure`` / Σ delivered emails × 100 over the campaigns sent in the window."""
    return f"""{with_ctes(calendar(start, end))},
    campaigns_daily AS (
        SELECT send_date AS day, count(*) AS campaigns,
               sum(coalesce(unique_opens, 0)) AS unique_opens,
               sum(coalesce(unique_subscriber_clicks, 0)) AS unique_subscriber_clicks,
               sum(coalesce(emails_sent, 0) - coalesce(hard_bounces, 0) - coalesce(soft_bounces, 0))
                 AS delivered
        FROM stg_mailchimp_reports
        GROUP BY send_date),
    {windowed_sums("campaigns", "campaigns_daily",
                   ["campaigns", "unique_opens", "unique_subscriber_clicks", "delivered"],
                   window_days(kpi, cfg))}
        SELECT day AS date,
               {ratio_columns(measure, "delivered",
                              "CASE WHEN campaigns = 0 THEN 'no campaigns sent in window' "
                              "ELSE 'denominator 0: no delivered emails (sent - bounces) in window' END")}
        FROM campaigns"""


def email_open_rate(start: date, end: date, cfg: KpiSettings) -> str:
    """unique opens / (emails sent − hard − soft bounces) × 100, campaigns sent in the window."""
    return _campaign_ratio("email_open_rate", "unique_opens", start, end, cfg)


def email_click_rate(start: date, end: date, cfg: KpiSettings) -> str:
    """unique subscriber clicks / (emails sent − hard − soft bounces) × 100, campaigns sent in the window."""
    return _campaign_ratio("email_click_rate", "unique_subscriber_clicks", start, end, cfg)
