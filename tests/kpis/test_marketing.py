"""Marketing KPIs on hand-made spend, leads, customers, revenue and industry rows (3-day window)."""

from __future__ import annotations

import pytest
from kpi_helpers import insert, null_reason, row, run, staging_db, value


@pytest.fixture(scope="module")
def marketing():
    con = staging_db()
    insert(con, "stg_marketing_spend", "date, channel, amount",
           ("2025-10-07", "search", 1000.0),          # before the window of 10 Oct
           ("2025-10-08", "search", 100.0),
           ("2025-10-09", "social", 50.0),
           ("2025-10-09", "display", 0.0),            # a channel without spend
           ("2025-10-10", "search", 30.0))
    members = [("2025-10-07", "A", 100), ("2025-10-08", "A", 10 + 2), ("2025-10-09", "B", 5 + 3)]  # date, list, leads
    insert(con, "stg_mailchimp_members", "date, list_id, member_id",
           *[(day, lst, f"{lst}{day}{n}") for day, lst, leads in members for n in range(leads)])
    insert(con, "stg_customers", "customer_id, created_date, acquisition_channel",
           (1, "2025-10-08", "search"),
           (2, "2025-10-09", "social"),
           (3, "2025-10-10", "display"),             # its channel had no spend
           (4, "2025-10-10", "email"),               # its channel has no spend rows at all
           (5, "2025-10-05", "search"))              # created before the window
    insert(con, "stg_invoices", "invoice_id, customer_id, status, paid_date, amount",
           (11, 1, "paid", "2025-10-09", 200.0),
           (12, 2, "paid", "2025-10-10", 100.0),
           (13, 3, "paid", "2025-10-10", 500.0),
           (15, 5, "paid", "2025-10-09", 300.0),
           (16, 1, "paid", "2025-10-11", 999.0))     # after 10 Oct
    insert(con, "stg_refunds", "refund_id, invoice_id, customer_id, created_date, amount",
           (21, 12, 2, "2025-10-10", 40.0))
    insert(con, "stg_industry_sales_daily", "date, market, daily_sales",
           *[(f"2025-10-{d:02d}", m, 1000.0) for d in (8, 9, 10) for m in ("eu", "us")])
    insert(con, "stg_social_media", "date, network, impressions, engagements",
           ("2025-10-10", "x", 1000, 30),
           ("2025-10-10", "linkedin", 500, 45))
    return run(con, "marketing", "2025-10-10", "2025-10-14")


def test_lead_conversion_rate(marketing):
    # 10 Oct, window 8..10 Oct: new customers 1, 2, 3, 4 / leads (10 + 2) + (5 + 3) + 0 = 20
    assert value(marketing, "lead_conversion_rate", "2025-10-10") == pytest.approx(20.0)
    assert (row(marketing, "lead_conversion_rate", "2025-10-10")["numerator"],
            row(marketing, "lead_conversion_rate", "2025-10-10")["denominator"]) == (4, 20)


def test_cost_per_lead(marketing):
    # spend 100 + 50 + 0 + 30 = 180 / 20 leads
    assert value(marketing, "cost_per_lead", "2025-10-10") == pytest.approx(9.0)


def test_cac(marketing):
    # 180 / 4 new customers
    assert value(marketing, "cac", "2025-10-10") == pytest.approx(45.0)


def test_romi(marketing):
    # customers created in 8..10 Oct whose channel had spend there: 1 (search 130), 2 (social 50)
    # their revenue in the window: 200 + 100 − refund 40 = 260; spend (all channels) 180
    # (260 − 180) / 180 × 100
    assert value(marketing, "romi", "2025-10-10") == pytest.approx(80 / 180 * 100)
    assert (row(marketing, "romi", "2025-10-10")["numerator"],
            row(marketing, "romi", "2025-10-10")["denominator"]) == (pytest.approx(80.0), pytest.approx(180.0))


def test_market_share(marketing):
    # revenue in window 200 + 100 + 500 + 300 − 40 = 1060 / industry 2 markets × 3 days × 1000 × 100
    assert value(marketing, "market_share", "2025-10-10") == pytest.approx(1060 / 6000 * 100)


def test_social_engagement_rate(marketing):
    # (30 + 45) / (1000 + 500) × 100
    assert value(marketing, "social_engagement_rate", "2025-10-10") == pytest.approx(5.0)


def test_empty_window_is_null_with_reasons(marketing):
    # 14 Oct, window 12..14 Oct: nothing at all
    day = "2025-10-14"
    assert null_reason(marketing, "lead_conversion_rate", day) == "denominator 0: no new leads in window"
    assert null_reason(marketing, "cost_per_lead", day) == "denominator 0: no new leads in window"
    assert null_reason(marketing, "cac", day) == "denominator 0: no new customers in window"
    assert null_reason(marketing, "romi", day) == "denominator 0: no marketing spend in window"
    assert null_reason(marketing, "market_share", day) == "denominator 0: no industry sales in window"
    assert null_reason(marketing, "social_engagement_rate", day) == "denominator 0: no impressions on D"
