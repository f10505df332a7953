"""Revenue KPIs on hand-made billing rows, with a 3-day window and a gross margin of 0.8."""

from __future__ import annotations

import json

import pytest
from kpi_helpers import insert, null_reason, row, run, staging_db, value

from pmkpi_pipeline.lib.settings import KpiSettings

CFG = KpiSettings(window_days=3, gross_margin=0.8)


@pytest.fixture(scope="module")
def billing():
    con = staging_db()
    insert(con, "stg_subscriptions", "customer_id, started_date, ended_date, mrr_amount",
           (1, "2025-01-01", None, 100.0),
           (2, "2025-01-01", "2025-08-09", 50.0),     # churns on 9 Aug
           (3, "2025-01-01", None, 30.0),
           (4, "2025-08-09", None, 20.0))             # new on 9 Aug
    insert(con, "stg_invoices", "invoice_id, customer_id, status, paid_date, amount",
           (11, 1, "paid", "2025-08-08", 100.0),
           (12, 3, "paid", "2025-08-10", 30.0),
           (13, 4, "paid", "2025-08-09", 20.0),
           (14, 2, "paid", "2025-08-07", 50.0),
           (15, 1, "open", None, 100.0),
           (16, 1, "void", "2025-08-09", 999.0))
    insert(con, "stg_refunds", "refund_id, invoice_id, customer_id, created_date, amount",
           (21, 14, 2, "2025-08-09", 10.0))            # refund of an invoice paid before the window
    return run(con, "revenue", "2024-12-31", "2025-08-11", CFG)


def test_arpu(billing):
    # 10 Aug, window 8..10 Aug: revenue 100 + 30 + 20 − 10 = 140; active at end: 1, 3, 4
    assert value(billing, "arpu", "2025-08-10") == pytest.approx(140 / 3)
    assert (row(billing, "arpu", "2025-08-10")["numerator"], row(billing, "arpu", "2025-08-10")["denominator"]) \
        == (pytest.approx(140.0), 3)
    # 11 Aug, window 9..11 Aug: 30 + 20 − 10 = 40; active 1, 3, 4
    assert value(billing, "arpu", "2025-08-11") == pytest.approx(40 / 3)
    # 1 Jun: customers but no revenue in the window — a real 0
    assert value(billing, "arpu", "2025-06-01") == 0.0
    assert null_reason(billing, "arpu", "2024-12-31") == "denominator 0: no customers active at end of D"


def test_clv(billing):
    # 10 Aug: ARPA 140 / 3 × margin 0.8; churn: of 1, 2, 3 (active at end of 7 Aug) 2 is gone → 1/3
    #   CLV = 140 / 3 × 0.8 / (1/3) = 112
    assert value(billing, "clv", "2025-08-10") == pytest.approx(112.0)
    assert row(billing, "clv", "2025-08-10")["denominator"] == pytest.approx(1 / 3)
    # 11 Aug: 40 / 3 × 0.8 / (1/3) (of 1, 2, 3 at end of 8 Aug, 2 is gone) = 32
    assert value(billing, "clv", "2025-08-11") == pytest.approx(32.0)
    # 1 Jun: nobody churned
    assert null_reason(billing, "clv", "2025-06-01") == "churn_rate is 0"
    assert null_reason(billing, "clv", "2024-12-31") == "denominator 0: no customers active at end of D"


def test_return_rate(billing):
    # 10 Aug: 1 refund created in 8..10 Aug / 3 paid invoices (11, 12, 13) × 100
    assert value(billing, "return_rate", "2025-08-10") == pytest.approx(100 / 3)
    # 11 Aug: 1 / 2 (12, 13)
    assert value(billing, "return_rate", "2025-08-11") == pytest.approx(50.0)
    assert null_reason(billing, "return_rate", "2025-06-01") == "denominator 0: no paid invoices in window"


@pytest.fixture(scope="module")
def mrr():
    con = staging_db()
    insert(con, "stg_subscriptions", "customer_id, started_date, ended_date, mrr_amount",
           (1, "2025-09-01", "2025-09-05", 100.0), (1, "2025-09-05", None, 150.0),   # expansion 50
           (2, "2025-09-01", "2025-09-05", 40.0),                                    # churned 40
           (3, "2025-09-05", None, 25.0),                                            # new 25
           (4, "2025-09-01", None, 60.0), (4, "2025-09-01", "2025-09-05", 20.0),     # contraction 20
           (5, "2025-09-01", "2025-09-05", 10.0), (5, "2025-09-05", None, 10.0))     # same price: none
    return run(con, "revenue", "2025-08-31", "2025-09-05", CFG)


def test_mrr_and_movements(mrr):
    # 4 Sep: 100 + 40 + 60 + 20 + 10; 5 Sep: 150 + 25 + 60 + 10
    assert value(mrr, "mrr", "2025-09-04") == pytest.approx(230.0)
    assert value(mrr, "mrr", "2025-09-05") == pytest.approx(245.0)
    moves = {m: value(mrr, "mrr", "2025-09-05", m) for m in ("new", "expansion", "contraction", "churned")}
    assert moves == {"new": 25.0, "expansion": 50.0, "contraction": 20.0, "churned": 40.0}
    # 25 + 50 − 20 − 40 = 245 − 230
    assert json.loads(row(mrr, "mrr", "2025-09-05")["details"]) == moves
    assert row(mrr, "mrr", "2025-09-05", "new")["dimension"] == "movement"
    # 1 Sep, the first day with subscriptions: all of it is new against 31 Aug
    assert value(mrr, "mrr", "2025-09-01", "new") == pytest.approx(230.0)
    assert value(mrr, "mrr", "2025-09-04", "new") == 0.0


def test_mrr_without_subscriptions_is_zero(mrr):
    assert value(mrr, "mrr", "2025-08-31") == 0.0
    assert value(mrr, "mrr", "2025-08-31", "churned") == 0.0
