"""Web KPIs from GA4, each on the day itself: sessions, pages, conversion, cart and content views.

Reads ``int_ga4_traffic_daily`` (``stg_ga4_traffic`` summed over channels per day: sessions and page
views are additive over channels), ``stg_ga4_pages`` (date × page path), ``stg_ga4_events`` (date ×
event name) and ``stg_ga4_totals`` (one row per date: users of the whole property — users are never
summed over channels or pages).

A day GA4 sent no row for is judged in ``stg_ga4_days``: without traffic its counts are 0 (and its ratios
NULL: denominator 0); during a tracking outage, or before the property collected data, every web KPI of
the day is NULL with that reason (:func:`_unknown_days_null`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date

from ....lib.settings import KpiSettings
from .common import Formula, calendar, ratio_columns, sql_date, sql_text, sql_text_list, with_ctes

_UNKNOWN = "('outage', 'before_first_data')"


def _unknown_days_null(formula: Formula) -> Formula:
    """The formula's rows, NULL with ``stg_ga4_days``'s reason on days whose GA4 numbers are unknown."""

    @functools.wraps(formula)
    def wrapped(start: date, end: date, cfg: KpiSettings) -> str:
        return f"""SELECT k.* REPLACE (
               CASE WHEN g.status IN {_UNKNOWN} THEN NULL ELSE k.value END AS value,
               CASE WHEN g.status IN {_UNKNOWN} THEN NULL ELSE k.numerator END AS numerator,
               CASE WHEN g.status IN {_UNKNOWN} THEN NULL ELSE k.denominator END AS denominator,
               CASE WHEN g.status IN {_UNKNOWN} THEN g.reason ELSE k.null_reason END AS null_reason)
        FROM ({formula(start, end, cfg)}) k LEFT JOIN stg_ga4_days g ON g.date = k.date"""

    return wrapped


def _per_session(start: date, end: date, numerator: str, scale: float) -> str:
    """A ratio over Σ sessions on D; ``numerator`` is an expression over ``int_ga4_traffic_daily`` ``t``."""
    return f"""{with_ctes(calendar(start, end))}
        SELECT c.day AS date,
               {ratio_columns(f"coalesce({numerator}, 0)", "coalesce(t.sessions, 0)",
                              sql_text("denominator 0: no sessions on D"), scale)}
        FROM calendar c LEFT JOIN int_ga4_traffic_daily t ON t.day = c.day"""


@_unknown_days_null
def avg_session_duration(start: date, end: date, cfg: KpiSettings) -> str:
    """Σ(averageSessionDuration × sessions) / Σ sessions over channels on D, in seconds."""
    return _per_session(start, end, "t.session_seconds", 1.0)


@_unknown_days_null
def pages_per_session(start: date, end: date, cfg: KpiSettings) -> str:
    """Σ screenPageViews / Σ sessions over channels on D."""
    return _per_session(start, end, "t.screen_page_views", 1.0)


@_unknown_days_null
def bounce_rate(start: date, end: date, cfg: KpiSettings) -> str:
    """(sessions − engagedSessions) / sessions × 100 on D (GA4's definition), sums over channels."""
    return _per_session(start, end, "t.sessions - t.engaged_sessions", 100.0)


def _event_totals(start: date, end: date) -> str:
    """CTE ``event_totals(day, event_name, event_count, total_users)`` of the days in range."""
    return f"""event_totals AS (
        SELECT date AS day, event_name, sum(event_count) AS event_count, sum(total_users) AS total_users
        FROM stg_ga4_events
        WHERE date BETWEEN {sql_date(start)} AND {sql_date(end)}
        GROUP BY date, event_name)"""


def _property_totals(start: date, end: date) -> str:
    """CTE ``property_totals(day, total_users, new_users)``: the whole property on D (one row per day)."""
    return f"""property_totals AS (
        SELECT date AS day, max(total_users) AS total_users, max(new_users) AS new_users
        FROM stg_ga4_totals
        WHERE date BETWEEN {sql_date(start)} AND {sql_date(end)}
        GROUP BY date)"""


@_unknown_days_null
def conversion_rate(start: date, end: date, cfg: KpiSettings) -> str:
    """Σ eventCount of the conversion events on D / totalUsers of the whole property on D × 100."""
    return f"""{with_ctes(calendar(start, end), _event_totals(start, end), _property_totals(start, end))},
    conversions AS (
        SELECT day, sum(event_count) AS conversions
        FROM event_totals
        WHERE event_name IN {sql_text_list(cfg.conversion_events)}
        GROUP BY day)
        SELECT c.day AS date,
               {ratio_columns("coalesce(v.conversions, 0)", "coalesce(p.total_users, 0)",
                              sql_text("denominator 0: no users on D"))}
        FROM calendar c
        LEFT JOIN conversions v ON v.day = c.day
        LEFT JOIN property_totals p ON p.day = c.day"""


@_unknown_days_null
def cart_abandonment_rate(start: date, end: date, cfg: KpiSettings) -> str:
    """(1 − totalUsers of purchase / totalUsers of add_to_cart) × 100 on D.

    numerator = add_to_cart users − purchase users, denominator = add_to_cart users; not clamped
    (more purchasers than cart users gives a negative value, which the bounds check flags).
    """
    return f"""{with_ctes(calendar(start, end), _event_totals(start, end))},
    cart AS (
        SELECT day,
               sum(total_users) FILTER (WHERE event_name = 'add_to_cart') AS cart_users,
               sum(total_users) FILTER (WHERE event_name = 'purchase') AS purchase_users
        FROM event_totals
        GROUP BY day)
        SELECT c.day AS date,
               {ratio_columns("coalesce(k.cart_users, 0) - coalesce(k.purchase_users, 0)",
                              "coalesce(k.cart_users, 0)",
                              sql_text("denominator 0: no add_to_cart users on D"))}
        FROM calendar c LEFT JOIN cart k ON k.day = c.day"""


def _path_views(start: date, end: date, prefixes: Sequence[str]) -> str:
    """CTE ``path_views(day, page_rows, views, engagement_seconds)``: pages whose path starts with a prefix.

    ``page_rows`` counts every stg_ga4_pages row of D (0 = no page data landed for D).
    """
    matches = " OR ".join(f"starts_with(page_path, {sql_text(p)})" for p in prefixes) or "FALSE"
    return f"""path_views AS (
        SELECT date AS day, count(*) AS page_rows,
               coalesce(sum(screen_page_views) FILTER (WHERE {matches}), 0) AS views,
               coalesce(sum(user_engagement_duration) FILTER (WHERE {matches}), 0) AS engagement_seconds
        FROM stg_ga4_pages
        WHERE date BETWEEN {sql_date(start)} AND {sql_date(end)}
        GROUP BY date)"""


_NO_PAGE_DATA = sql_text("no GA4 page data on D")
_HAS_PAGES = "(coalesce(p.page_rows, 0) > 0 OR coalesce(g.status = 'no_traffic', FALSE))"
"""Page views are known: pages were landed, or GA4 had no row at all for a day without traffic (a true 0)."""


@_unknown_days_null
def content_usage(start: date, end: date, cfg: KpiSettings) -> str:
    """Page views of content pages (path prefixes) on D.

    details: engagement_seconds_per_view (Σ userEngagementDuration / Σ views of those pages, null
    when 0 views) and file_download_events (eventCount of ``file_download`` on D). NULL only when no
    page rows at all were landed for D (0 on a day without traffic); 0 when pages exist but none is a
    content page.
    """
    return f"""{with_ctes(calendar(start, end), _path_views(start, end, cfg.content_path_prefixes),
                          _event_totals(start, end))}
        SELECT c.day AS date,
               CASE WHEN {_HAS_PAGES} THEN CAST(coalesce(p.views, 0) AS DOUBLE) END AS value,
               NULL AS numerator, NULL AS denominator,
               CASE WHEN NOT {_HAS_PAGES} THEN {_NO_PAGE_DATA} END AS null_reason,
               CAST(json_object(
                   'engagement_seconds_per_view',
                   CASE WHEN p.views > 0 THEN p.engagement_seconds / p.views END,
                   'file_download_events', coalesce(e.event_count, 0)) AS VARCHAR) AS details
        FROM calendar c
        LEFT JOIN path_views p ON p.day = c.day
        LEFT JOIN stg_ga4_days g ON g.date = c.day
        LEFT JOIN event_totals e ON e.day = c.day AND e.event_name = 'file_download'"""


@_unknown_days_null
def onboarding_guide_views(start: date, end: date, cfg: KpiSettings) -> str:
    """Page views on onboarding paths (prefixes) on D.

    details: views_per_new_user (views / newUsers of the property on D, null when no new users).
    NULL only when no page rows at all were landed for D (0 on a day without traffic).
    """
    return f"""{with_ctes(calendar(start, end), _path_views(start, end, cfg.onboarding_path_prefixes),
                          _property_totals(start, end))}
        SELECT c.day AS date,
               CASE WHEN {_HAS_PAGES} THEN CAST(coalesce(p.views, 0) AS DOUBLE) END AS value,
               NULL AS numerator, NULL AS denominator,
               CASE WHEN NOT {_HAS_PAGES} THEN {_NO_PAGE_DATA} END AS null_reason,
               CAST(json_object(
                   'views_per_new_user',
                   CASE WHEN t.new_users > 0 THEN coalesce(p.views, 0) / t.new_users END) AS VARCHAR)
                 AS details
        FROM calendar c
        LEFT JOIN path_views p ON p.day = c.day
        LEFT JOIN stg_ga4_days g ON g.date = c.day
        LEFT JOIN property_totals t ON t.day = c.day"""
