"""Customer KPIs on hand-made billing rows, with a 3-day window (``SMALL``)."""

from __future__ import annotations

import pytest
from kpi_helpers import SMALL, insert, null_reason, row, run, staging_db, value

from pmkpi_pipeline.lib.settings import KpiSettings


def events(con, *rows: tuple) -> None:
    """Insert product events ``(customer_id, event_name, day)``; ``feature`` as the staging view derives it."""
    insert(con, "stg_product_events", "customer_id, event_name, feature, occurred_date",
           *[(c, name, name.removeprefix("feature_used:") if name.startswith("feature_used:") else None, day)
             for c, name, day in rows])


def subscriptions(con, *rows: tuple) -> None:
    """Insert subscriptions ``(customer_id, started_date, ended_date)``."""
    insert(con, "stg_subscriptions", "customer_id, started_date, ended_date", *rows)


# --------------------------------------------------------------------------- nps, csat

@pytest.fixture(scope="module")
def surveys():
    con = staging_db()
    insert(con, "stg_survey_responses", "customer_id, survey, score, responded_date",
           (1, "nps", 10, "2025-03-01"), (2, "nps", 9, "2025-03-01"), (3, "nps", 7, "2025-03-01"),
           (4, "nps", 3, "2025-03-02"), (5, "csat", 5, "2025-03-02"), (6, "csat", 4, "2025-03-02"),
           (7, "csat", 2, "2025-03-02"),
           (8, "nps", 8, "2025-03-03"), (9, "csat", 3, "2025-03-03"))
    return run(con, "customer", "2025-03-03", "2025-03-06")


def test_nps(surveys):
    # 3 Mar, window 1..3 Mar: 10, 9, 7, 3, 8 → promoters 2, detractors 1: (2 − 1) / 5 × 100
    assert value(surveys, "nps", "2025-03-03") == pytest.approx(20.0)
    headline = row(surveys, "nps", "2025-03-03")
    assert (headline["numerator"], headline["denominator"]) == (1, 5)
    # 4 Mar, window 2..4 Mar: 3, 8 → (0 − 1) / 2 × 100
    assert value(surveys, "nps", "2025-03-04") == pytest.approx(-50.0)
    # 5 Mar: 8 only, a passive → 0, a real value
    assert value(surveys, "nps", "2025-03-05") == 0.0
    assert null_reason(surveys, "nps", "2025-03-06") == "no nps responses in window"


def test_csat(surveys):
    # 3 Mar: 5, 4, 2, 3 → 2 of 4 score 4–5
    assert value(surveys, "csat", "2025-03-03") == pytest.approx(50.0)
    # 5 Mar, window 3..5 Mar: 3 → 0 of 1
    assert value(surveys, "csat", "2025-03-05") == 0.0
    assert null_reason(surveys, "csat", "2025-03-06") == "no csat responses in window"


# --------------------------------------------------------------------------- churn, retention

@pytest.fixture(scope="module")
def churn():
    con = staging_db()
    insert(con, "stg_customers", "customer_id, created_date",
           *[(c, "2025-01-01") for c in (1, 2, 3, 4, 7, 8, 9)], (5, "2025-04-07"), (6, "2025-04-09"))
    subscriptions(con,
                  (1, "2025-01-01", None),
                  (2, "2025-01-01", "2025-04-09"),   # gone before the 10th
                  (3, "2025-01-01", "2025-04-10"),   # ended on the 10th: not active at its end
                  (4, "2025-01-01", "2025-04-08"),   # ... and continues on a new plan the same day
                  (4, "2025-04-08", None),
                  (5, "2025-04-07", None),           # started on D − 3 itself
                  (6, "2025-04-09", None),           # new customer in the window
                  (7, "2025-01-01", "2025-04-07"),   # not active at the end of the 7th
                  (8, "2025-01-01", "2025-04-08"),   # a one-day gap on the 8th, back on the 9th
                  (8, "2025-04-09", None),
                  (9, "2025-04-09", None))           # old customer, first subscription in the window
    return run(con, "customer", "2025-01-02", "2025-04-11")


def test_churn_rate(churn):
    # 10 Apr: active at end of 7 Apr: 1, 2, 3, 4, 5, 8 (6); none active at end of 10 Apr: 2, 3 → 2 / 6
    assert value(churn, "churn_rate", "2025-04-10") == pytest.approx(100 * 2 / 6)
    assert (row(churn, "churn_rate", "2025-04-10")["numerator"],
            row(churn, "churn_rate", "2025-04-10")["denominator"]) == (2, 6)
    # 11 Apr: active at end of 8 Apr: 1, 2, 3, 4, 5 (8 is in its gap); gone: 2, 3 → 2 / 5
    assert value(churn, "churn_rate", "2025-04-11") == pytest.approx(40.0)


def test_retention_rate(churn):
    # 10 Apr: active at end: 1, 4, 5, 6, 8, 9 (6) − created 8..10 Apr and active: 6 (1) → 5 / 6
    assert value(churn, "retention_rate", "2025-04-10") == pytest.approx(100 * 5 / 6)
    # 11 Apr: same 6 active − 6 (created 9 Apr) → 5 / 5 (active at end of 8 Apr)
    assert value(churn, "retention_rate", "2025-04-11") == pytest.approx(100.0)


def test_churn_and_retention_without_customers_before_the_window(churn):
    assert null_reason(churn, "churn_rate", "2025-01-02") == "denominator 0: no customers active at end of D-3"
    assert null_reason(churn, "retention_rate", "2025-01-02") == "denominator 0: no customers active at end of D-3"


# --------------------------------------------------------------------------- feature adoption

def adoption_db():
    con = staging_db()
    subscriptions(con, *[(c, "2025-01-01", None) for c in (1, 2, 3, 4)],
                  (5, "2025-01-01", "2025-05-01"),      # inactive
                  (6, "2025-05-10", None))              # active from the 10th, used export before
    events(con,
           (1, "feature_used:export", "2025-05-09"), (1, "feature_used:share", "2025-05-10"),
           (2, "feature_used:export", "2025-05-07"), (2, "login", "2025-05-09"),
           (2, "feature_used:report", "2025-05-01"),
           (3, "feature_used:share", "2025-05-08"),
           (5, "feature_used:export", "2025-05-09"),
           (6, "feature_used:export", "2025-05-08"))
    return con


@pytest.fixture(scope="module")
def adoption():
    return run(adoption_db(), "customer", "2024-12-31", "2025-05-11")


def test_feature_adoption_rate(adoption):
    # 10 May: active 1, 2, 3, 4, 6 (5); window 8..10 May
    assert value(adoption, "feature_adoption_rate", "2025-05-10") == pytest.approx(60.0)           # 1, 3, 6
    assert value(adoption, "feature_adoption_rate", "2025-05-10", "export") == pytest.approx(40.0)  # 1, 6
    assert value(adoption, "feature_adoption_rate", "2025-05-10", "share") == pytest.approx(40.0)   # 1, 3
    assert value(adoption, "feature_adoption_rate", "2025-05-10", "report") == 0.0                 # only 1 May
    assert row(adoption, "feature_adoption_rate", "2025-05-10", "export")["dimension"] == "feature"
    # 11 May, window 9..11 May: customer 1 only (export 9 May, share 10 May) → 1 / 5
    assert value(adoption, "feature_adoption_rate", "2025-05-11") == pytest.approx(20.0)
    assert value(adoption, "feature_adoption_rate", "2025-05-11", "export") == pytest.approx(20.0)
    assert value(adoption, "feature_adoption_rate", "2025-05-11", "share") == pytest.approx(20.0)


def test_feature_adoption_rate_tracked_features():
    cfg = KpiSettings(window_days=3, tracked_features=("export", "never_used"))
    rows = run(adoption_db(), "customer", "2025-05-10", "2025-05-10", cfg)
    features = set(rows[rows["kpi"] == "feature_adoption_rate"]["dimension_value"].dropna())
    assert features == {"export", "never_used"}
    assert value(rows, "feature_adoption_rate", "2025-05-10", "never_used") == 0.0
    # the headline still counts a use of any feature: 1, 3, 6 of 5
    assert value(rows, "feature_adoption_rate", "2025-05-10") == pytest.approx(60.0)


def test_feature_adoption_rate_without_active_customers(adoption):
    for feature in (None, "export", "report", "share"):
        assert null_reason(adoption, "feature_adoption_rate", "2024-12-31", feature) == \
            "denominator 0: no customers active at end of D"


# --------------------------------------------------------------------------- engagement score

@pytest.fixture(scope="module")
def engagement():
    con = staging_db()
    subscriptions(con, *[(c, "2025-01-01", None) for c in (1, 2, 3, 5)])   # 4 has events, no subscription
    events(con,
           (1, "login", "2025-06-08"), (1, "login", "2025-06-08"), (1, "feature_used:f1", "2025-06-09"),
           (1, "login", "2025-06-10"), (1, "feature_used:f2", "2025-06-10"),
           (2, "feature_used:f1", "2025-06-10"), (2, "feature_used:f1", "2025-06-10"),
           (2, "feature_used:f1", "2025-06-10"), (2, "login", "2025-06-01"),
           *[(5, "login", "2025-06-09")] * 25,
           (4, "login", "2025-06-10"), (4, "feature_used:f2", "2025-06-10"))
    return run(con, "customer", "2024-12-31", "2025-06-11")


def test_customer_engagement_score(engagement):
    # 10 Jun, window 8..10 Jun; features f1, f2 (total 2)
    #   1: 3 days, f1 + f2, 3 logins: 40·3/20 + 30·2/2 + 30·3/20 = 6 + 30 + 4.5 = 40.5
    #   2: 1 day, f1, 0 logins (1 Jun is outside): 40·1/20 + 30·1/2 = 2 + 15 = 17
    #   3: no events: 0
    #   5: 1 day, 25 logins (capped at 20): 40·1/20 + 30·1 = 2 + 30 = 32
    #   mean over the 4 active customers = 89.5 / 4
    assert value(engagement, "customer_engagement_score", "2025-06-10") == pytest.approx(22.375)
    assert (row(engagement, "customer_engagement_score", "2025-06-10")["numerator"],
            row(engagement, "customer_engagement_score", "2025-06-10")["denominator"]) == (pytest.approx(89.5), 4)
    # 11 Jun, window 9..11 Jun: 1: 2 days, f1 + f2, 1 login = 4 + 30 + 1.5 = 35.5; 2: 17; 3: 0; 5: 32
    assert value(engagement, "customer_engagement_score", "2025-06-11") == pytest.approx(84.5 / 4)


def test_customer_engagement_score_without_active_customers(engagement):
    assert null_reason(engagement, "customer_engagement_score", "2024-12-31") == \
        "denominator 0: no customers active at end of D"


# --------------------------------------------------------------------------- time to value

def test_time_to_value(con):
    insert(con, "stg_customers", "customer_id, created_at, created_date, activated_at, activated_date",
           (1, "2025-07-01 00:00:00", "2025-07-01", "2025-07-09 12:00:00", "2025-07-09"),  # 8.5 days
           (2, "2025-07-05 06:00:00", "2025-07-05", "2025-07-10 06:00:00", "2025-07-10"),  # 5 days
           (3, "2025-07-08 00:00:00", "2025-07-08", "2025-07-10 18:00:00", "2025-07-10"),  # 2.75 days
           (4, "2025-07-01 00:00:00", "2025-07-01", None, None),
           (5, "2025-06-01 00:00:00", "2025-06-01", "2025-07-06 00:00:00", "2025-07-06"))
    rows = run(con, "customer", "2025-07-10", "2025-07-14")
    # 10 Jul, window 8..10 Jul: 8.5, 5, 2.75 → median 5
    assert value(rows, "time_to_value", "2025-07-10") == pytest.approx(5.0)
    # 12 Jul, window 10..12 Jul: 5, 2.75 → (5 + 2.75) / 2
    assert value(rows, "time_to_value", "2025-07-12") == pytest.approx(3.875)
    assert null_reason(rows, "time_to_value", "2025-07-14") == "no customers activated in window"


def test_empty_sources_still_give_every_row(con):
    rows = run(con, "customer", "2025-01-01", "2025-01-03", SMALL)
    assert rows["value"].isna().all()
