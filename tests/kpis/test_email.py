"""Email KPIs (Mailchimp campaign reports) over a 2-day email window."""

from __future__ import annotations

import pytest
from kpi_helpers import insert, null_reason, row, run, value


@pytest.fixture
def campaigns(con):
    insert(con, "stg_mailchimp_reports",
           "campaign_id, send_date, emails_sent, hard_bounces, soft_bounces, unique_opens, "
           "unique_subscriber_clicks",
           ("c1", "2025-02-01", 1000, 10, 40, 380, 95),
           ("c2", "2025-02-02", 500, 0, 0, 100, 25),
           ("c3", "2025-02-04", 20, 10, 10, 0, 0))   # every email bounced
    return con


def test_email_open_rate(campaigns):
    rows = run(campaigns, "email", "2025-02-01", "2025-02-06")
    # 1 Feb, window 31 Jan..1 Feb: c1 — 380 / (1000 − 10 − 40) × 100
    assert value(rows, "email_open_rate", "2025-02-01") == pytest.approx(40.0)
    # 2 Feb: c1 + c2 — (380 + 100) / (950 + 500) × 100
    assert value(rows, "email_open_rate", "2025-02-02") == pytest.approx(48000 / 1450)
    assert row(rows, "email_open_rate", "2025-02-02")["denominator"] == 1450
    # 3 Feb: c2 only — 100 / 500 × 100
    assert value(rows, "email_open_rate", "2025-02-03") == pytest.approx(20.0)


def test_email_click_rate(campaigns):
    rows = run(campaigns, "email", "2025-02-01", "2025-02-06")
    # 95 / 950 × 100; (95 + 25) / 1450 × 100; 25 / 500 × 100
    assert value(rows, "email_click_rate", "2025-02-01") == pytest.approx(10.0)
    assert value(rows, "email_click_rate", "2025-02-02") == pytest.approx(12000 / 1450)
    assert value(rows, "email_click_rate", "2025-02-03") == pytest.approx(5.0)


def test_nothing_delivered_or_no_campaign_is_null(campaigns):
    rows = run(campaigns, "email", "2025-02-01", "2025-02-06")
    for kpi in ("email_open_rate", "email_click_rate"):
        # 4 and 5 Feb: only c3, whose 20 emails all bounced
        assert null_reason(rows, kpi, "2025-02-04").startswith("denominator 0: no delivered emails")
        assert null_reason(rows, kpi, "2025-02-05").startswith("denominator 0: no delivered emails")
        # 6 Feb, window 5..6 Feb: no campaign
        assert null_reason(rows, kpi, "2025-02-06") == "no campaigns sent in window"
