"""Planted events in the sandbox company: each does what it models, on its days, and nothing else moves."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pandas as pd
import pytest

from pmkpi_sandbox.company import SIZES, Company, Event, generate_company
from pmkpi_sandbox.company.model import EVENT_DAYS

START, END = date(2025, 1, 1), date(2025, 3, 1)
FRAMES = [field.name for field in dataclasses.fields(Company) if field.type == "pd.DataFrame"]
BIGGER = dataclasses.replace(SIZES["tiny"], customers=1_000)  # a few buyers and sign-ups every day


def tiny(*events: Event, size=BIGGER) -> Company:
    return generate_company(7, size, start=START, end=END, events=events)


@pytest.fixture(scope="module")
def base() -> Company:
    return tiny()


def ga4_by_day(company: Company, event: str, column: str) -> pd.Series:
    """``column`` of GA4 event ``event`` per day of the range, 0 where GA4 has no row."""
    rows = company.ga4_events.query("eventName == @event").set_index("date")[column]
    return rows.reindex(pd.date_range(START, END), fill_value=0)


def created_per_day(company: Company) -> pd.Series:
    return company.customers["created_at"].dt.normalize().value_counts().reindex(pd.date_range(START, END),
                                                                                 fill_value=0)


def delivered(campaigns: pd.DataFrame) -> pd.Series:
    return campaigns["emails_sent"] - campaigns["hard_bounces"] - campaigns["soft_bounces"]


def assert_same_frames(left: Company, right: Company, except_: set[str] = frozenset()) -> None:
    for name in FRAMES:
        if name not in except_:
            pd.testing.assert_frame_equal(getattr(left, name), getattr(right, name), obj=name)


def mrr_at(company: Company, moment: pd.Timestamp) -> tuple[float, set[int]]:
    """MRR (currency units) of the subscriptions active at ``moment``, and the customers they belong to."""
    subs = company.subscriptions
    active = subs[(subs["started_at"] <= moment) & (subs["ended_at"].isna() | (subs["ended_at"] > moment))]
    plans = company.plans.set_index("id")
    months = plans["billing_interval"].map({"month": 1, "quarter": 3, "year": 12})
    monthly = plans["amount_cents"] / months
    return float((monthly.reindex(active["plan_id"]).to_numpy() * active["quantity"]).sum() / 100), set(
        active["customer_id"])


def test_no_events_is_the_company_as_before(base):
    assert_same_frames(base, generate_company(7, BIGGER, start=START, end=END))


def test_an_mpp_campaign_inflates_that_days_opens_only(base):
    campaigns = base.mailchimp_campaigns
    day = campaigns["send_time"].dt.tz_localize(None).dt.normalize().iloc[1]
    planted = tiny(Event("mpp_campaign", day.date()))
    after = planted.mailchimp_campaigns
    assert len(after) == len(campaigns)
    assert after["unique_opens"].iloc[1] / delivered(after).iloc[1] == pytest.approx(0.92, abs=1e-3)
    assert campaigns["unique_opens"].iloc[1] / delivered(campaigns).iloc[1] < 0.6
    unchanged = ["emails_sent", "hard_bounces", "unique_subscriber_clicks", "clicks_total",
                 "proxy_excluded_unique_opens"]
    pd.testing.assert_frame_equal(after[unchanged], campaigns[unchanged])
    pd.testing.assert_frame_equal(after.drop(index=1), campaigns.drop(index=1))
    extra = after["unique_opens"].iloc[1] - campaigns["unique_opens"].iloc[1]
    assert after["opens_total"].iloc[1] == campaigns["opens_total"].iloc[1] + extra
    activity, activity_before = planted.mailchimp_list_activity, base.mailchimp_list_activity
    assert activity["unique_opens"].sum() == activity_before["unique_opens"].sum() + extra
    assert_same_frames(base, planted, {"mailchimp_campaigns", "mailchimp_list_activity"})


def test_an_mpp_campaign_is_added_on_a_day_without_one(base):
    sent = set(base.mailchimp_campaigns["send_time"].dt.tz_localize(None).dt.normalize())
    day = next(d for d in pd.date_range("2025-02-03", END) if d not in sent and d.day_of_week < 4)
    demo = dataclasses.replace(SIZES["demo"], customers=1_000)  # two audiences
    before = tiny(size=demo).mailchimp_campaigns
    planted = tiny(Event("mpp_campaign", day.date()), size=demo)
    after = planted.mailchimp_campaigns
    assert len(after) == len(before) + 1
    added = after.iloc[-1]
    assert added["send_time"].tz_localize(None).normalize() == day
    assert added["list_id"] == planted.mailchimp_lists["id"].iloc[0]
    assert (added["type"], added["status"]) == ("regular", "sent")
    assert added["unique_opens"] / delivered(after).iloc[-1] == pytest.approx(0.92, abs=1e-3)
    assert added["opens_total"] >= added["unique_opens"] >= added["proxy_excluded_unique_opens"]
    assert added["unique_opens"] >= added["unique_subscriber_clicks"]
    assert after["id"].is_unique
    pd.testing.assert_frame_equal(after.iloc[:-1], before)
    activity = planted.mailchimp_list_activity
    assert activity["emails_sent"].sum() == after["emails_sent"].sum()


def test_a_checkout_outage_stops_purchases_while_people_shop(base):
    day = pd.Timestamp("2025-02-11")
    planted = tiny(Event("checkout_outage", day.date(), 2))
    outage = [day, day + pd.Timedelta(days=1)]
    after = day + pd.Timedelta(days=2)
    purchases = ga4_by_day(planted, "purchase", "totalUsers")
    assert (purchases[outage] == 0).all()
    assert (ga4_by_day(base, "purchase", "totalUsers")[outage] > 0).all()
    assert (ga4_by_day(planted, "purchase", "eventCount")[outage] == 0).all()
    carts = ga4_by_day(planted, "add_to_cart", "totalUsers")
    pd.testing.assert_series_equal(carts[outage], ga4_by_day(base, "add_to_cart", "totalUsers")[outage])
    # nobody buys; the blocked buyers come back and buy the day after
    created, created_before = created_per_day(planted), created_per_day(base)
    assert (created[outage] == 0).all()
    assert created[after] == created_before[after] + created_before[outage].sum()
    assert len(planted.customers) == len(base.customers)
    assert ga4_by_day(planted, "purchase", "eventCount")[after] == created[after]
    key_events = planted.ga4_totals.set_index("date")["keyEvents"]
    signups = ga4_by_day(planted, "sign_up", "eventCount")
    assert (key_events[outage] == signups[outage]).all()
    assert_same_frames(base, planted, {"ga4_events", "ga4_traffic", "ga4_totals", *BILLING_AND_DERIVED})


BILLING_AND_DERIVED = {"customers", "subscriptions", "invoices", "refunds", "survey_responses", "product_events",
                       "industry_sales"}


def test_a_pricing_change_raises_mrr_by_a_fifth_for_the_same_customers(base):
    day = pd.Timestamp("2025-02-01")
    planted = tiny(Event("pricing_change", day.date()))
    second = pd.Timedelta(seconds=1)
    mrr_before, customers_before = mrr_at(planted, day - second)
    mrr_after, customers_after = mrr_at(planted, day)
    assert mrr_after / mrr_before == pytest.approx(1.2, abs=1e-3)
    assert customers_after == customers_before
    for moment in (day - second, day, pd.Timestamp(END)):  # the same customers active as without the change
        assert mrr_at(planted, moment)[1] == mrr_at(base, moment)[1]
    assert mrr_at(planted, day - second)[0] == pytest.approx(mrr_at(base, day - second)[0])

    plans, subs = planted.plans, planted.subscriptions
    assert len(plans) == 2 * len(base.plans)
    assert subs["id"].tolist() == list(range(1, len(subs) + 1))
    assert subs["started_at"].is_monotonic_increasing
    ended_then = subs[subs["ended_at"] == day]
    started_then = subs[subs["started_at"] == day].set_index("customer_id")
    assert len(ended_then) > 0
    successor = started_then.loc[ended_then["customer_id"]]
    assert (successor["quantity"].to_numpy() == ended_then["quantity"].to_numpy()).all()
    assert (successor["plan_id"].to_numpy() > len(base.plans)).all()

    invoices = planted.invoices.merge(subs[["id", "plan_id", "quantity"]], left_on="subscription_id",
                                      right_on="id", suffixes=("", "_sub"))
    price = plans.set_index("id")["amount_cents"]
    later = invoices["issued_at"] >= day
    assert (invoices["amount_cents"] == price.reindex(invoices["plan_id"]).to_numpy() * invoices["quantity"]).all()
    assert (invoices.loc[later, "plan_id"] > len(base.plans)).all()
    assert (invoices.loc[~later, "plan_id"] <= len(base.plans)).all()
    earlier = planted.invoices["issued_at"] < day
    pd.testing.assert_series_equal(planted.invoices.loc[earlier, "amount_cents"],
                                   base.invoices.loc[earlier, "amount_cents"])
    assert (planted.refunds["amount_cents"] <= planted.invoices.set_index("id")["amount_cents"]
            .reindex(planted.refunds["invoice_id"]).to_numpy()).all()
    assert_same_frames(base, planted, {"plans", "subscriptions", "invoices", "refunds"})


def test_a_tracking_break_hides_sign_ups_from_ga4_only(base):
    day = pd.Timestamp("2025-02-18")
    planted = tiny(Event("tracking_break", day.date()))
    broken = pd.date_range(day, periods=3)
    assert (ga4_by_day(planted, "sign_up", "totalUsers")[broken] == 0).all()
    assert (ga4_by_day(planted, "sign_up", "eventCount")[broken] == 0).all()
    base_signups = ga4_by_day(base, "sign_up", "eventCount")
    assert (base_signups[broken] > 0).all()
    assert ga4_by_day(planted, "sign_up", "eventCount")[broken[-1] + pd.Timedelta(days=1)] > 0
    key_events = planted.ga4_totals.set_index("date")["keyEvents"]
    base_key_events = base.ga4_totals.set_index("date")["keyEvents"]
    assert (key_events[broken] == base_key_events[broken] - base_signups[broken]).all()
    pd.testing.assert_series_equal(created_per_day(planted), created_per_day(base))
    assert_same_frames(base, planted, {"ga4_events", "ga4_traffic", "ga4_totals"})


def test_events_are_parsed_and_validated():
    assert Event.parse("tracking_break:2025-02-03") == Event("tracking_break", date(2025, 2, 3), 3)
    assert Event.parse("checkout_outage:2025-02-03:2").last_day == date(2025, 2, 4)
    assert Event("pricing_change", date(2025, 2, 3)).days == 1
    assert set(EVENT_DAYS) == {"mpp_campaign", "checkout_outage", "pricing_change", "tracking_break"}
    for text, message in [("outage:2025-02-03", "kind"), ("checkout_outage:2025-2-3x", "date"),
                          ("checkout_outage", "KIND:YYYY-MM-DD"), ("tracking_break:2025-02-03:two", "whole number"),
                          ("tracking_break:2025-02-03:0", ">= 1"), ("mpp_campaign:2025-02-03:2", "one day")]:
        with pytest.raises(ValueError, match=message):
            Event.parse(text)
    with pytest.raises(ValueError, match="outside"):
        tiny(Event("tracking_break", date(2025, 2, 28)))
    with pytest.raises(ValueError, match="overlaps"):
        tiny(Event("checkout_outage", date(2025, 2, 3), 3), Event("checkout_outage", date(2025, 2, 5)))


def test_the_sandbox_command_takes_planted_events():
    from pmkpi_pipeline.cli import _planted_event

    assert _planted_event("pricing_change:2025-02-01") == Event("pricing_change", date(2025, 2, 1))
    with pytest.raises(Exception, match="not one of"):
        _planted_event("price:2025-02-01")


def test_events_of_every_kind_together_keep_the_sources_consistent(base):
    planted = tiny(Event("mpp_campaign", date(2025, 1, 14)), Event("checkout_outage", date(2025, 1, 21)),
                   Event("pricing_change", date(2025, 2, 1)), Event("tracking_break", date(2025, 2, 11), 2))
    campaigns = planted.mailchimp_campaigns
    assert (campaigns["unique_opens"] <= delivered(campaigns)).all()
    assert (campaigns["opens_total"] >= campaigns["unique_opens"]).all()
    assert (campaigns["unique_subscriber_clicks"] <= campaigns["unique_opens"]).all()
    events = planted.ga4_events
    assert (events["totalUsers"] <= events["eventCount"]).all()
    users = events.pivot(index="date", columns="eventName", values="totalUsers").fillna(0)
    assert (users["purchase"] < users["add_to_cart"]).all()
    assert np.isin(planted.subscriptions["plan_id"], planted.plans["id"]).all()
    assert planted.invoices["subscription_id"].dropna().isin(planted.subscriptions["id"]).all()
