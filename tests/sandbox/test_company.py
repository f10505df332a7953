"""The sandbox company model: determinism, cross-source consistency, anomalies and writers."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from pmkpi_sandbox import writers
from pmkpi_sandbox.company import SIZES, Anomaly, Company, generate_company
from pmkpi_sandbox.writers import write_billing_db, write_inputs

START, END = date(2025, 1, 1), date(2025, 3, 1)
SPIKE_DAY = pd.Timestamp("2025-02-05")
FRAMES = [field.name for field in dataclasses.fields(Company) if field.type == "pd.DataFrame"]
PG_URL = os.environ.get("PMKPI_TEST_PG_URL")


def tiny(seed: int = 7, **options) -> Company:
    return generate_company(seed, options.pop("size", "tiny"), start=START, end=END, **options)


@pytest.fixture(scope="module")
def company() -> Company:
    return tiny()


def by_date(frame: pd.DataFrame, column: str = "date") -> pd.DataFrame:
    return frame.set_index(column).sort_index()


def local_day(stamps: pd.Series) -> pd.Series:
    return stamps.dt.tz_localize(None).dt.normalize()


def scalar(connection: sa.Connection, sql: str):
    return connection.execute(sa.text(sql)).scalar_one()


def assert_ga4_consistent(company: Company) -> None:
    traffic, totals, events = company.ga4_traffic, by_date(company.ga4_totals), company.ga4_events
    additive = ["sessions", "engagedSessions", "screenPageViews", "totalUsers"]
    channel_sums = traffic.groupby("date")[additive].sum()
    for column in additive[:3]:
        assert (channel_sums[column] == totals[column]).all(), column
    page_views = company.ga4_pages.groupby("date")["screenPageViews"].sum()
    assert (page_views == totals["screenPageViews"]).all()
    assert (totals["totalUsers"] / channel_sums["totalUsers"]).between(0.84, 1.0).all()
    assert (traffic["engagedSessions"] <= traffic["sessions"]).all()
    assert (traffic["totalUsers"] <= traffic["sessions"]).all()
    assert (traffic["newUsers"] <= traffic["totalUsers"]).all()
    assert (totals["newUsers"] <= totals["totalUsers"]).all()
    counts = events.pivot(index="date", columns="eventName", values="eventCount").fillna(0)
    users = events.pivot(index="date", columns="eventName", values="totalUsers").fillna(0)
    assert (counts["page_view"] == totals["screenPageViews"]).all()
    assert (counts["session_start"] == totals["sessions"]).all()
    assert (users["purchase"] < users["add_to_cart"]).all()
    assert (events["totalUsers"] <= events["eventCount"]).all()


def test_same_seed_same_frames_and_another_seed_differs(company):
    again = tiny()
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(company, name), getattr(again, name), obj=name)
    other = tiny(seed=8)
    assert not other.ga4_traffic.equals(company.ga4_traffic)
    assert not other.customers.equals(company.customers)


def test_ga4_reports_agree_with_each_other(company):
    assert_ga4_consistent(company)
    assert company.ga4_traffic["date"].dtype == "datetime64[ns]"
    assert company.ga4_traffic["sessionDefaultChannelGroup"].nunique() == SIZES["tiny"].channels
    required = {"page_view", "session_start", "sign_up", "file_download", "add_to_cart",
                "purchase", "begin_checkout", "first_visit", "scroll", "click"}
    assert required <= set(company.ga4_events["eventName"])
    paths = set(company.ga4_pages["pagePath"])
    for prefix in ("/blog/", "/resources/", "/onboarding", "/docs/getting-started", "/features/"):
        assert any(path.startswith(prefix) for path in paths), prefix
    assert {"/", "/pricing", "/signup"} <= paths


def test_weekends_dip_and_traffic_covers_only_the_range(company):
    sessions = by_date(company.ga4_totals)["sessions"]
    weekend = sessions.index.day_of_week >= 5
    assert 0.2 < 1 - sessions[weekend].mean() / sessions[~weekend].mean() < 0.5
    assert (sessions.index.min(), sessions.index.max()) == (pd.Timestamp(START), pd.Timestamp(END))


def test_leads_outnumber_signups_which_outnumber_new_customers(company):
    activity = company.mailchimp_list_activity
    leads = (activity["subs"] + activity["other_adds"]).sum()
    signups = company.ga4_events.query("eventName == 'sign_up'")["eventCount"].sum()
    created = company.customers["created_at"]
    new_customers = (created >= pd.Timestamp(START)).sum()
    assert leads > signups >= new_customers > 0
    assert (created < pd.Timestamp(START)).any(), "billing history before the range"


def test_purchases_are_new_customers_per_local_day():
    berlin = tiny(seed=3, timezone="Europe/Berlin")
    created = berlin.customers["created_at"].dt.tz_localize("UTC").dt.tz_convert("Europe/Berlin")
    days = local_day(created)
    per_day = days[days >= pd.Timestamp(START)].value_counts().sort_index()
    purchases = by_date(berlin.ga4_events.query("eventName == 'purchase'"))["eventCount"]
    assert per_day.to_dict() == purchases[purchases > 0].to_dict()


def test_mailchimp_reports_are_consistent(company):
    campaigns, lists = company.mailchimp_campaigns, company.mailchimp_lists
    delivered = campaigns["emails_sent"] - campaigns["hard_bounces"] - campaigns["soft_bounces"]
    assert len(campaigns) > 0
    assert (campaigns["unique_opens"] <= delivered).all()
    assert (campaigns["proxy_excluded_unique_opens"] <= campaigns["unique_opens"]).all()
    assert (campaigns["unique_subscriber_clicks"] <= campaigns["unique_opens"]).all()
    assert (campaigns["opens_total"] >= campaigns["unique_opens"]).all()
    assert str(campaigns["send_time"].dt.tz) == "UTC"
    assert (campaigns["send_time"].dt.day_of_week < 4).all(), "sent Monday to Thursday"
    assert all(re.fullmatch("[0-9a-f]{10}", value) for value in [*campaigns["id"], *lists["id"]])
    assert set(campaigns["list_id"]) <= set(lists["id"])
    activity = company.mailchimp_list_activity
    assert len(activity) == len(lists) * ((END - START).days + 1)
    assert activity["emails_sent"].sum() == campaigns["emails_sent"].sum()


def test_members_are_the_leads_and_agree_with_the_activity():
    """Each list-day's ``subs + other_adds`` opted in that local day (here New York); unconfirmed sign-ups
    are leads on their sign-up day too; undated contacts exist; subscribed members are the member count."""
    company = tiny(timezone="America/New_York")
    members, lists = company.mailchimp_members, company.mailchimp_lists
    assert members["id"].is_unique and len(members) > len(lists)
    assert all(members["id"] == members["email_address"].map(lambda e: hashlib.md5(e.lower().encode()).hexdigest()))
    assert set(members["status"]) == {"subscribed", "unsubscribed", "cleaned", "pending", "transactional",
                                      "archived"}
    opted = members.dropna(subset=["timestamp_opt"])
    day = local_day(opted["timestamp_opt"].dt.tz_convert("America/New_York"))
    in_range = day >= pd.Timestamp(START)
    per_day = opted[in_range].groupby(["list_id", day[in_range]]).size()
    activity = company.mailchimp_list_activity.set_index(["list_id", "day"])
    expected = activity["subs"] + activity["other_adds"]
    assert per_day.reindex(expected.index, fill_value=0).to_dict() == expected.to_dict()
    signup_only = members["timestamp_opt"].isna() & members["timestamp_signup"].notna()
    assert signup_only.any() and set(members.loc[signup_only, "status"]) == {"pending", "archived"}
    undated = members["timestamp_opt"].isna() & members["timestamp_signup"].isna()
    assert undated.any() and set(members.loc[undated, "status"]) == {"transactional"}
    subscribed = members[members["status"] == "subscribed"].groupby("list_id").size()
    assert subscribed.to_dict() == lists.set_index("id")["member_count"].to_dict()
    for column in ("timestamp_opt", "timestamp_signup"):
        assert (members["last_changed"] >= members[column].fillna(members["last_changed"])).all()
    assert (members["last_changed"] < pd.Timestamp(END, tz="America/New_York") + pd.Timedelta(days=1)).all()


def test_billing_tables_follow_the_spec(company):
    snapshot = pd.Timestamp(END) + pd.Timedelta(days=1)
    invoices, subscriptions = company.invoices, company.subscriptions
    for name, frame in company.billing_tables().items():
        assert frame["id"].is_unique and frame["id"].min() == 1, name
        for column in frame.select_dtypes("datetime").columns:
            assert frame[column].dt.tz is None, (name, column)
            assert (frame[column].dropna() < snapshot).all(), (name, column)
    assert set(company.plans["billing_interval"]) == {"month", "quarter", "year"}
    assert invoices["paid_at"].isna().eq(invoices["status"] != "paid").all()
    assert set(invoices["status"]) <= {"paid", "open", "void", "uncollectible"}
    paid = invoices.dropna(subset=["paid_at"])
    assert (paid["paid_at"] >= paid["issued_at"]).all()
    refunded = company.refunds.merge(
        invoices, left_on="invoice_id", right_on="id", suffixes=("", "_invoice")
    )
    assert (refunded["created_at"] > refunded["paid_at"]).all()
    assert (refunded["amount_cents"] <= refunded["amount_cents_invoice"]).all()
    assert subscriptions["ended_at"].isna().eq(subscriptions["status"] == "active").all()
    assert 0.55 < company.customers["activated_at"].notna().mean() < 0.85
    surveys = company.survey_responses
    assert surveys.query("survey == 'nps'")["score"].between(0, 10).all()
    assert surveys.query("survey == 'csat'")["score"].between(1, 5).all()
    events = company.product_events["event_name"].astype(str)
    assert "login" in set(events) and events.str.startswith("feature_used:").any()


@pytest.mark.parametrize(
    ("target", "frame", "column"),
    [("ga4_traffic", "ga4_totals", "sessions"), ("spend", "marketing_spend", "amount")],
)
def test_an_anomaly_multiplies_only_its_day(company, target, frame, column):
    spiked = tiny(anomalies=[Anomaly(target, SPIKE_DAY.date(), 3.0)])
    before, after = getattr(company, frame), getattr(spiked, frame)
    on_day = [by_date(rows).loc[SPIKE_DAY, column].sum() for rows in (before, after)]
    assert on_day[1] == pytest.approx(3 * on_day[0], rel=0.02)
    other_days = [rows[rows["date"] != SPIKE_DAY] for rows in (before, after)]
    pd.testing.assert_frame_equal(*other_days)
    assert_ga4_consistent(spiked)


def test_a_signups_anomaly_moves_signups_leads_and_customers_together():
    bigger = dataclasses.replace(SIZES["tiny"], customers=2_000)
    base = tiny(size=bigger)
    spiked = tiny(size=bigger, anomalies=[Anomaly("signups", SPIKE_DAY.date(), 4.0)])

    def on_spike_day(company: Company) -> tuple[int, int, int]:
        signups = by_date(company.ga4_events.query("eventName == 'sign_up'"))["eventCount"]
        activity = by_date(company.mailchimp_list_activity, "day").loc[[SPIKE_DAY]]
        leads = int((activity["subs"] + activity["other_adds"]).sum())
        customers = int((company.customers["created_at"].dt.normalize() == SPIKE_DAY).sum())
        return signups[SPIKE_DAY], leads, customers

    for before, after in zip(on_spike_day(base), on_spike_day(spiked)):
        assert after == pytest.approx(4 * before, abs=4)  # exact up to rounding
    assert_ga4_consistent(spiked)


def test_an_email_opens_anomaly_scales_that_days_campaign_opens(company):
    sent_day = local_day(company.mailchimp_campaigns["send_time"]).iloc[0]
    dropped = tiny(anomalies=[Anomaly("email_opens", sent_day.date(), 0.5)])
    before, after = company.mailchimp_campaigns, dropped.mailchimp_campaigns
    on_day = local_day(before["send_time"]) == sent_day
    expected = 0.5 * before.loc[on_day, "unique_opens"].to_numpy()
    assert after.loc[on_day, "unique_opens"].to_numpy() == pytest.approx(expected, abs=1)
    pd.testing.assert_frame_equal(before[~on_day], after[~on_day])
    assert (after["proxy_excluded_unique_opens"] <= after["unique_opens"]).all()


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="target"):
        Anomaly("pageviews", START, 2.0)
    with pytest.raises(ValueError, match="outside"):
        tiny(anomalies=[Anomaly("spend", date(2024, 1, 1), 2.0)])
    with pytest.raises(ValueError, match="unknown size"):
        tiny(size="huge")


def test_mixed_currencies_reach_the_invoices():
    mixed = tiny(currency=("USD", "EUR"))
    assert set(mixed.plans["currency"]) == {"USD", "EUR"}
    assert set(mixed.invoices["currency"]) == {"USD", "EUR"}


def test_write_billing_db_round_trips_through_sqlite(company, tmp_path):
    url = f"sqlite:///{tmp_path / 'billing.sqlite'}"
    expected = {name: len(frame) for name, frame in company.billing_tables().items()}
    assert write_billing_db(company, url) == expected
    assert write_billing_db(company, url) == expected  # replaces, never appends
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        stored = {name: scalar(connection, f"SELECT COUNT(*) FROM {name}") for name in expected}
        invoices = sa.Table("invoices", sa.MetaData(), autoload_with=connection)
        row = connection.execute(sa.select(invoices).where(invoices.c.id == 1)).one()
        unpaid = scalar(connection, "SELECT COUNT(*) FROM invoices WHERE paid_at IS NULL")
    engine.dispose()
    assert stored == expected
    first = company.invoices.iloc[0]
    assert (row.amount_cents, row.issued_at, row.paid_at) == (
        first["amount_cents"], first["issued_at"].to_pydatetime(), first["paid_at"].to_pydatetime()
    )
    assert unpaid == company.invoices["paid_at"].isna().sum()


@pytest.fixture
def scratch_postgres_url():
    """A fresh database on the test PostgreSQL server, dropped afterwards."""
    if not PG_URL:
        if os.environ.get("PMKPI_REQUIRE_POSTGRES"):
            pytest.fail("PMKPI_REQUIRE_POSTGRES is set but PMKPI_TEST_PG_URL is not")
        pytest.skip("PMKPI_TEST_PG_URL is not set")
    name = "pmkpi_sandbox_writer_test"
    server = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with server.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    server.dispose()


def test_write_billing_db_copies_into_postgresql(company, scratch_postgres_url):
    expected = {name: len(frame) for name, frame in company.billing_tables().items()}
    assert write_billing_db(company, scratch_postgres_url) == expected
    assert write_billing_db(company, scratch_postgres_url) == expected
    engine = sa.create_engine(scratch_postgres_url)
    with engine.connect() as connection:
        stored = {name: scalar(connection, f"SELECT COUNT(*) FROM {name}") for name in expected}
        paid_at = scalar(connection, "SELECT paid_at FROM invoices WHERE id = 1")
        anonymous = scalar(
            connection, "SELECT COUNT(*) FROM survey_responses WHERE customer_id IS NULL"
        )
    engine.dispose()
    assert stored == expected
    assert paid_at == company.invoices["paid_at"].iloc[0].to_pydatetime()
    assert anonymous == company.survey_responses["customer_id"].isna().sum()


def test_write_billing_db_falls_back_to_sqlalchemy_executemany(company, tmp_path, monkeypatch):
    monkeypatch.setattr(writers, "_LOADERS", {})
    url = f"sqlite:///{tmp_path / 'generic.sqlite'}"
    counts = write_billing_db(company, url)
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        stored = scalar(connection, "SELECT COUNT(*) FROM product_events")
    engine.dispose()
    assert stored == counts["product_events"] == len(company.product_events)


def test_write_inputs_writes_the_three_csvs(company, tmp_path):
    paths = write_inputs(company, tmp_path / "inputs")
    lines = {path.name: path.read_text().splitlines()[:2] for path in paths}
    assert lines["marketing_spend.csv"][0] == "date,channel,amount"
    assert lines["social_media.csv"][0] == "date,network,impressions,engagements"
    assert lines["industry_sales.csv"][0] == "month,market,total_sales"
    assert lines["marketing_spend.csv"][1].startswith(f"{START.isoformat()},")
    assert re.fullmatch(r"2025-01,[^,]+,\d+\.\d\d", lines["industry_sales.csv"][1])


def test_campaign_kinds_add_campaigns_and_change_no_other_number(company):
    kinds = tiny(size=dataclasses.replace(SIZES["tiny"], campaign_kinds=True))
    campaigns, regular = kinds.mailchimp_campaigns, company.mailchimp_campaigns
    pd.testing.assert_frame_equal(campaigns.iloc[: len(regular)], regular)
    for name in FRAMES:
        if not name.startswith("mailchimp_"):
            pd.testing.assert_frame_equal(getattr(kinds, name), getattr(company, name), obj=name)
    leads = ["list_id", "day", "subs", "other_adds"]
    pd.testing.assert_frame_equal(kinds.mailchimp_list_activity[leads], company.mailchimp_list_activity[leads])

    others = campaigns.iloc[len(regular):]
    assert others.groupby(["type", "status"]).size().to_dict() == {
        ("plaintext", "sent"): 2, ("regular", "sending"): 1, ("regular", "sent"): 3, ("rss", "sending"): 1,
        ("rss", "sent"): 9, ("variate", "sent"): 2}
    sent = campaigns.dropna(subset=["send_time"])
    assert campaigns["id"].is_unique and (sent["create_time"] <= sent["send_time"]).all()
    rss = others[others["type"] == "rss"]
    assert rss["send_time"].isna().sum() == 1 and set(rss["parent_campaign_id"]) == {"", rss["id"].iloc[0]}
    resends = others[(others["type"] == "regular") & (others["parent_campaign_id"] != "")]
    originals = regular.set_index("id").loc[resends["parent_campaign_id"]]
    assert len(resends) == 2
    assert (resends["send_time"].to_numpy() > originals["send_time"].to_numpy()).all()
    assert (resends["emails_sent"].to_numpy() == (originals["emails_sent"] - originals["hard_bounces"]
            - originals["soft_bounces"] - originals["unique_opens"]).to_numpy()).all()
    deleted = campaigns[campaigns["list_id"] == ""]
    assert len(deleted) == 1 and deleted["status"].iloc[0] == "sent"
    in_lists = campaigns[campaigns["list_id"] != ""]
    assert kinds.mailchimp_list_activity["emails_sent"].sum() == in_lists["emails_sent"].sum()


def test_a_scaled_size_multiplies_the_volumes_that_grow_with_a_company_and_keeps_the_rest():
    reference = SIZES["reference"]
    assert reference.scaled(1) is reference  # the named sizes, and so their data, are unchanged
    double = reference.scaled(2)
    assert (double.customers, double.pages, double.product_events) == (40_000, 4_000, 10_000_000)
    assert dataclasses.replace(double, name="reference", customers=20_000, pages=2_000,
                               product_events=5_000_000) == reference
    assert reference.scaled(0.5).name == "referencex0.5"
    with pytest.raises(ValueError, match="scale"):
        reference.scaled(0)
