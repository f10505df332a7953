"""Web KPIs (GA4) on hand-made rows: 10 Jan has data, 11 Jan partial data, 12 Jan none."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from kpi_helpers import SMALL, insert, null_reason, row, run, staging_db, value

from pmkpi_pipeline.lib.settings import KpiSettings


@pytest.fixture(scope="module")
def ga4():
    con = staging_db()
    insert(con, "stg_ga4_traffic",
           "date, channel, sessions, engaged_sessions, total_users, screen_page_views, average_session_duration",
           ("2025-01-10", "Organic Search", 100, 60, 90, 300, 120.0),
           ("2025-01-10", "Email", 50, 20, 45, 50, 30.0))
    insert(con, "stg_ga4_totals", "date, total_users, new_users",
           ("2025-01-10", 400, 40),
           ("2025-01-11", 200, 0))
    insert(con, "stg_ga4_events", "date, event_name, event_count, total_users",
           ("2025-01-10", "sign_up", 10, 9),
           ("2025-01-10", "generate_lead", 2, 2),
           ("2025-01-10", "add_to_cart", 150, 120),
           ("2025-01-10", "purchase", 35, 30),
           ("2025-01-10", "file_download", 7, 5),
           ("2025-01-11", "sign_up", 5, 5),
           ("2025-01-11", "purchase", 10, 10))
    insert(con, "stg_ga4_pages", "date, page_path, screen_page_views, user_engagement_duration",
           ("2025-01-10", "/blog/a", 100, 500.0),
           ("2025-01-10", "/resources/x", 50, 250.0),
           ("2025-01-10", "/blogger", 1000, 9000.0),          # not under the /blog/ prefix
           ("2025-01-10", "/onboarding/step-1", 40, 100.0),
           ("2025-01-10", "/docs/getting-started", 20, 60.0),
           ("2025-01-10", "/docs/api", 5, 10.0),
           ("2025-01-11", "/pricing", 10, 30.0))
    return con


@pytest.fixture(scope="module")
def rows(ga4):
    return run(ga4, "web", "2025-01-10", "2025-01-12")


def test_session_kpis_sum_channels(rows):
    # (120·100 + 30·50) / (100 + 50) = 13500 / 150
    assert value(rows, "avg_session_duration", "2025-01-10") == pytest.approx(90.0)
    assert row(rows, "avg_session_duration", "2025-01-10")["denominator"] == 150
    # (300 + 50) / 150
    assert value(rows, "pages_per_session", "2025-01-10") == pytest.approx(350 / 150)
    # (150 − (60 + 20)) / 150 × 100 = 70 / 150 × 100
    assert value(rows, "bounce_rate", "2025-01-10") == pytest.approx(46.666666667)
    assert row(rows, "bounce_rate", "2025-01-10")["numerator"] == 70


def test_conversion_rate_uses_property_users(ga4):
    cfg = KpiSettings(window_days=3, email_window_days=2, conversion_events=("sign_up", "generate_lead"))
    rows = run(ga4, "web", "2025-01-10", "2025-01-12", cfg)
    # (10 + 2) / 400 × 100 — the property's 400 users, not the channels' 90 + 45
    assert value(rows, "conversion_rate", "2025-01-10") == pytest.approx(3.0)
    # 5 / 200 × 100
    assert value(rows, "conversion_rate", "2025-01-11") == pytest.approx(2.5)


def test_cart_abandonment_rate(rows):
    # (1 − 30 / 120) × 100
    assert value(rows, "cart_abandonment_rate", "2025-01-10") == pytest.approx(75.0)
    # purchases but no add_to_cart users on the 11th
    assert null_reason(rows, "cart_abandonment_rate", "2025-01-11") == "denominator 0: no add_to_cart users on D"


def test_content_usage_and_details(rows):
    # /blog/a 100 + /resources/x 50; /blogger is not a content page
    assert value(rows, "content_usage", "2025-01-10") == 150
    details = json.loads(row(rows, "content_usage", "2025-01-10")["details"])
    # (500 + 250) s / 150 views; 7 file_download events
    assert details == {"engagement_seconds_per_view": pytest.approx(5.0), "file_download_events": 7}
    # page data exists on the 11th but no content page: a true 0
    assert value(rows, "content_usage", "2025-01-11") == 0


def test_onboarding_guide_views_and_details(rows):
    # /onboarding/step-1 40 + /docs/getting-started 20
    assert value(rows, "onboarding_guide_views", "2025-01-10") == 60
    # 60 views / 40 new users
    assert json.loads(row(rows, "onboarding_guide_views", "2025-01-10")["details"]) == {"views_per_new_user": 1.5}
    # 0 views and 0 new users on the 11th
    assert value(rows, "onboarding_guide_views", "2025-01-11") == 0
    assert json.loads(row(rows, "onboarding_guide_views", "2025-01-11")["details"]) == {"views_per_new_user": None}


def test_day_without_data_is_null_with_reasons(rows):
    assert null_reason(rows, "avg_session_duration", "2025-01-11") == "denominator 0: no sessions on D"
    for kpi in ("avg_session_duration", "pages_per_session", "bounce_rate"):
        assert null_reason(rows, kpi, "2025-01-12") == "denominator 0: no sessions on D"
    assert null_reason(rows, "conversion_rate", "2025-01-12") == "denominator 0: no users on D"
    assert null_reason(rows, "content_usage", "2025-01-12") == "no GA4 page data on D"
    assert null_reason(rows, "onboarding_guide_views", "2025-01-12") == "no GA4 page data on D"


def test_empty_sources_still_give_every_row(con):
    rows = run(con, "web", "2025-01-01", "2025-01-03", SMALL)
    assert rows["value"].isna().all()
    assert len(rows) == 3 * 7


def test_an_empty_ga4_day_is_zero_without_traffic_and_null_when_unknown():
    con = staging_db()
    insert(con, "stg_ga4_days", "date, rows, status, reason",
           ("2025-01-10", 0, "no_traffic", None),
           ("2025-01-11", 0, "outage", "GA4 tracking outage on D: no rows at all"),
           ("2025-01-12", 0, "before_first_data", "no GA4 data on D: before the first day"))
    rows = run(con, "web", "2025-01-10", "2025-01-12")
    # no traffic: counts are a true 0, ratios NULL because their denominator is 0
    assert value(rows, "content_usage", "2025-01-10") == 0 and value(rows, "onboarding_guide_views", "2025-01-10") == 0
    assert null_reason(rows, "bounce_rate", "2025-01-10") == "denominator 0: no sessions on D"
    for kpi in ("content_usage", "bounce_rate", "conversion_rate", "cart_abandonment_rate"):
        assert null_reason(rows, kpi, "2025-01-11") == "GA4 tracking outage on D: no rows at all"
        assert null_reason(rows, kpi, "2025-01-12") == "no GA4 data on D: before the first day"
        assert pd.isna(row(rows, kpi, "2025-01-11")["denominator"])
