"""The seven billing tables: plans, customers, subscription chains, invoices, refunds, survey responses
and product events, in naive UTC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .channels import _ChannelTable
from .dates import _DAY, _SECOND, _add_months, _Calendar, _local_to_utc, _months_between, _weekday
from .demand import _Funnel
from .model import Size
from .randomness import _lognoise

FEATURES = (
    "reports", "dashboards", "integrations", "alerts", "exports", "api", "sso", "automations",
)

_PLANS = (  # name, billing interval, amount per seat in cents, tier, share of new customers
    ("Starter Monthly", "month", 2_900, 0, 0.30),
    ("Starter Annual", "year", 29_000, 0, 0.08),
    ("Growth Monthly", "month", 7_900, 1, 0.22),
    ("Growth Quarterly", "quarter", 22_500, 1, 0.07),
    ("Growth Annual", "year", 79_000, 1, 0.10),
    ("Pro Monthly", "month", 19_900, 2, 0.15),
    ("Pro Annual", "year", 199_000, 2, 0.08),
)
_UPGRADE = np.array([2, 4, 5, 5, 6, -1, -1])  # plan index a tier up, -1: none
_DOWNGRADE = np.array([-1, -1, 0, 0, 1, 2, 4])
_INTERVAL_MONTHS = {"month": 1, "quarter": 3, "year": 12}
_CHURN_PER_RENEWAL = {"month": 0.03, "quarter": 0.08, "year": 0.20}
_CHANGE_PER_RENEWAL = {"month": 0.02, "quarter": 0.05, "year": 0.12}
_SEATS_MEAN = np.array([1.6, 3.5, 8.0])  # by tier
_MAX_SEATS = 100
_SETUP_FEE_CENTS = 50_000

_COUNTRIES = ("US", "GB", "DE", "CA", "FR", "AU", "NL", "SE", "IN", "BR", "ES", "IE")
_COUNTRY_SHARE = (0.42, 0.12, 0.09, 0.07, 0.05, 0.05, 0.04, 0.03, 0.04, 0.03, 0.03, 0.03)
_FIRST_NAMES = ("alex", "sam", "maria", "li", "noah", "emma", "omar", "ines", "yuki", "lena")
_LAST_NAMES = ("smith", "garcia", "chen", "mueller", "khan", "rossi", "dubois", "novak", "silva")
_COMPANIES = ("northwind", "globex", "initech", "umbrella", "hooli", "acme", "tyrell", "soylent")

_NPS_SCORES_HAPPY = (0.01, 0.01, 0.01, 0.02, 0.02, 0.04, 0.05, 0.12, 0.17, 0.25, 0.30)  # 0..10
_NPS_SCORES_CHURNED = (0.05, 0.04, 0.06, 0.08, 0.09, 0.12, 0.14, 0.14, 0.12, 0.09, 0.07)
_CSAT_SCORES_HAPPY = (0.02, 0.03, 0.08, 0.32, 0.55)  # 1..5
_CSAT_SCORES_CHURNED = (0.10, 0.12, 0.20, 0.30, 0.28)

_APP_EVENTS = ("login", "page_view_app", "settings_updated", "invite_sent")
_APP_EVENT_SHARE = (0.33, 0.14, 0.03, 0.03)  # the remaining 47 % are feature_used:<feature>
_FEATURE_ADOPTION = np.array([0.85, 0.72, 0.45, 0.40, 0.55, 0.20, 0.12, 0.30])  # by FEATURES
_FEATURE_POPULARITY = np.array([0.30, 0.22, 0.10, 0.08, 0.12, 0.07, 0.03, 0.08])


def _billing(
    sizing: Size, calendar: _Calendar, funnel: _Funnel, channels: _ChannelTable,
    currencies: tuple[str, ...], streams: dict[str, np.random.Generator],
) -> dict[str, pd.DataFrame]:
    snapshot = calendar.snapshot
    plans = _plans(currencies)
    customers, activated = _customers(calendar, funnel, channels, streams["customers"])
    subscriptions = _subscriptions(customers, activated, snapshot, streams["subscriptions"])
    invoices = _invoices(subscriptions, plans, snapshot, streams["invoices"])
    lifetime_end = _lifetime_ends(len(customers), subscriptions, snapshot)
    return {
        "customers": customers,
        "plans": plans,
        "subscriptions": subscriptions,
        "invoices": invoices,
        "refunds": _refunds(invoices, snapshot, streams["invoices"]),
        "survey_responses": _survey_responses(
            customers, lifetime_end, lifetime_end < snapshot, streams["surveys"]
        ),
        "product_events": _product_events(
            sizing, customers, subscriptions, lifetime_end, streams["product_events"]
        ),
    }


def _plans(currencies: tuple[str, ...]) -> pd.DataFrame:
    names, intervals, amounts, _, _ = zip(*_PLANS)
    return pd.DataFrame({
        "id": np.arange(1, len(_PLANS) + 1),
        "name": names,
        "billing_interval": intervals,
        "amount_cents": np.array(amounts, dtype=np.int64),
        "currency": [currencies[index % len(currencies)] for index in range(len(_PLANS))],
    })


def _customers(
    calendar: _Calendar, funnel: _Funnel, channels: _ChannelTable, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """Customers created on each local day (mostly in business hours), ids in created_at order.

    Returns the frame and whether each customer activates (at any time, even after the snapshot).
    """
    day = np.repeat(np.arange(len(calendar.days)), funnel.customers)
    count = len(day)
    seconds = np.floor((13.5 + 3.2 * rng.standard_normal(count)) % 24 * 3600).astype(np.int64)
    local = calendar.days[day] + seconds.astype("timedelta64[s]")
    created = _local_to_utc(local, calendar.timezone)
    activates = rng.random(count) < 0.7
    delay_hours = np.clip(np.exp(np.log(30.0) + 1.1 * rng.standard_normal(count)), 0.5, 480.0)
    activated_at = created + (delay_hours * 3600).astype(np.int64).astype("timedelta64[s]")
    visible = activates & (activated_at < calendar.snapshot)
    propensity = channels.share * channels.propensity
    frame = pd.DataFrame({
        "created_at": created,
        "activated_at": np.where(visible, activated_at, np.datetime64("NaT", "ns")),
        "acquisition_channel": rng.choice(
            channels.names, size=count, p=propensity / propensity.sum()
        ),
        "country": rng.choice(np.array(_COUNTRIES, dtype=object), size=count, p=_COUNTRY_SHARE),
        "first": rng.choice(np.array(_FIRST_NAMES, dtype=object), size=count),
        "last": rng.choice(np.array(_LAST_NAMES, dtype=object), size=count),
        "company": rng.choice(np.array(_COMPANIES, dtype=object), size=count),
    })
    order = np.argsort(created, kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    ids = pd.Series(np.arange(1, count + 1))
    email = frame.pop("first") + "." + frame.pop("last") + ids.astype(str) + "@"
    frame.insert(0, "email", email + frame.pop("company") + ".example")
    frame.insert(0, "id", ids)
    return frame, activates[order]


def _subscriptions(
    customers: pd.DataFrame, activated: np.ndarray, snapshot: np.datetime64,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Subscription chains: at each renewal a subscription renews, churns or changes plan.

    A plan change (upgrade or downgrade) ends the subscription and starts the next one for the
    same customer at the same instant; churn is ~3 % a month, more for never-activated customers.
    """
    intervals = np.array([_INTERVAL_MONTHS[plan[1]] for plan in _PLANS])
    churn = np.array([_CHURN_PER_RENEWAL[plan[1]] for plan in _PLANS])
    change = np.array([_CHANGE_PER_RENEWAL[plan[1]] for plan in _PLANS])
    tiers = np.array([plan[3] for plan in _PLANS])
    shares = np.array([plan[4] for plan in _PLANS])
    count = len(customers)
    customer = np.arange(count)
    plan = rng.choice(len(_PLANS), size=count, p=shares / shares.sum())
    seats = np.minimum(rng.geometric(1 / _SEATS_MEAN[tiers[plan]]), _MAX_SEATS)
    checkout_seconds = rng.integers(30, 900, count).astype("timedelta64[s]")
    started = np.minimum(customers["created_at"].to_numpy() + checkout_seconds, snapshot - _SECOND)
    generations = []
    while True:
        interval = intervals[plan]
        p_event = churn[plan] * np.where(activated[customer], 1.0, 1.8) + change[plan]
        horizon = _months_between(started, snapshot) // interval + 2  # any later end is "active"
        ended = _add_months(started, np.minimum(rng.geometric(p_event), horizon) * interval)
        done = ended <= snapshot
        ended_at = np.where(done, ended, np.datetime64("NaT"))
        generations.append((customer, plan, seats, started, ended_at))
        moving = done & (rng.random(customer.size) * p_event < change[plan])
        if not moving.any():
            break
        customer, plan, seats, started = _change_plans(
            customer[moving], plan[moving], seats[moving], ended[moving], rng
        )
    customer, plan, seats, started, ended = (np.concatenate(column) for column in zip(*generations))
    frame = pd.DataFrame({
        "customer_id": customer + 1,
        "plan_id": plan + 1,
        "quantity": seats,
        "status": np.where(np.isnat(ended), "active", "canceled"),
        "started_at": started,
        "ended_at": ended.astype("datetime64[ns]"),
    })
    frame = frame.sort_values(["started_at", "customer_id"], kind="stable", ignore_index=True)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


def _change_plans(
    customer: np.ndarray, plan: np.ndarray, seats: np.ndarray, started: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The replacing subscriptions: 70 % upgrades (a tier up or more seats), 30 % downgrades
    (fewer seats or a tier down); a downgrade with nothing lower to go to is a churn."""
    upgrade = rng.random(customer.size) < 0.7
    by_tier = rng.random(customer.size) < 0.5
    step = rng.geometric(0.5, customer.size)
    up, down = _UPGRADE[plan], _DOWNGRADE[plan]
    tier_up = upgrade & by_tier & (up >= 0)
    seats_up = upgrade & ~tier_up
    seats_down = ~upgrade & (seats > 1) & (~by_tier | (down < 0))
    tier_down = ~upgrade & ~seats_down & (down >= 0)
    new_plan = np.where(tier_up, up, np.where(tier_down, down, plan))
    fewer_seats = np.where(seats_down, np.maximum(1, seats - step), seats)
    new_seats = np.where(seats_up, seats + step, fewer_seats)
    keep = upgrade | seats_down | tier_down
    return customer[keep], new_plan[keep], np.minimum(new_seats, _MAX_SEATS)[keep], started[keep]


def _lifetime_ends(count: int, subscriptions: pd.DataFrame, snapshot: np.datetime64) -> np.ndarray:
    """When each customer's last subscription ends; the snapshot while one is still active."""
    ended = subscriptions["ended_at"].to_numpy()
    ends = np.where(np.isnat(ended), snapshot, ended).astype("datetime64[ns]").view(np.int64)
    latest = np.full(count, np.iinfo(np.int64).min)
    np.maximum.at(latest, subscriptions["customer_id"].to_numpy() - 1, ends)
    return latest.view("datetime64[ns]")


def _invoices(
    subscriptions: pd.DataFrame, plans: pd.DataFrame, snapshot: np.datetime64,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One invoice per billing period started before the snapshot, plus one-off setup fees
    (no subscription) for ~30 % of customers starting on a Pro plan.

    Most are paid by card within hours, some by bank transfer within days; ~1 % are void and
    ~1.5 % uncollectible once 30 days overdue; anything unpaid at the snapshot is ``open``.
    """
    plan = subscriptions["plan_id"].to_numpy() - 1
    interval = np.array([_INTERVAL_MONTHS[name] for name in plans["billing_interval"]])[plan]
    started = subscriptions["started_at"].to_numpy()
    ended = subscriptions["ended_at"].to_numpy()
    horizon = np.where(np.isnat(ended), snapshot, ended)
    periods = _months_between(started, horizon) // interval + 1
    periods -= _add_months(started, (periods - 1) * interval) >= horizon
    row = np.repeat(np.arange(len(subscriptions)), periods)
    period = np.arange(len(row)) - np.repeat(np.cumsum(periods) - periods, periods)
    amount = plans["amount_cents"].to_numpy()[plan] * subscriptions["quantity"].to_numpy()
    currency = plans["currency"].to_numpy()[plan]

    first = ~subscriptions["customer_id"].duplicated().to_numpy()  # rows are in started_at order
    tiers = np.array([entry[3] for entry in _PLANS])
    setup = np.flatnonzero(first & (tiers[plan] == 2) & (rng.random(len(plan)) < 0.3))
    setup = setup[started[setup] + 2 * _DAY < snapshot]
    issued = np.concatenate([
        _add_months(started[row], period * interval[row]), started[setup] + 2 * _DAY
    ])
    count = len(issued)
    by_card = rng.random(count) < 0.82
    card_hours = np.clip(np.exp(np.log(0.3) + rng.standard_normal(count)), 0.01, 72.0)
    transfer_hours = 24 * np.clip(np.exp(np.log(4.0) + 0.8 * rng.standard_normal(count)), 0.1, 45.0)
    delay = (np.where(by_card, card_hours, transfer_hours) * 3600).astype(np.int64)
    paid_at = issued + delay.astype("timedelta64[s]")
    outcome = rng.random(count)
    overdue = issued + 30 * _DAY <= snapshot
    status = np.select(
        [outcome < 0.012, (outcome < 0.027) & overdue, (outcome < 0.027) | (paid_at >= snapshot)],
        ["void", "uncollectible", "open"],
        "paid",
    )
    subscription_id = np.concatenate([subscriptions["id"].to_numpy()[row], np.zeros(len(setup))])
    frame = pd.DataFrame({
        "customer_id": np.concatenate([subscriptions["customer_id"].to_numpy()[row],
                                       subscriptions["customer_id"].to_numpy()[setup]]),
        "subscription_id": pd.arrays.IntegerArray(
            subscription_id.astype(np.int64), np.arange(count) >= len(row)
        ),
        "issued_at": issued,
        "paid_at": np.where(status == "paid", paid_at, np.datetime64("NaT", "ns")),
        "amount_cents": np.concatenate([amount[row], np.full(len(setup), _SETUP_FEE_CENTS)]),
        "currency": np.concatenate([currency[row], currency[setup]]),
        "status": status,
    })
    frame = frame.sort_values("issued_at", kind="stable", ignore_index=True)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


def _refunds(
    invoices: pd.DataFrame, snapshot: np.datetime64, rng: np.random.Generator
) -> pd.DataFrame:
    """Refunds of ~2 % of paid invoices, days after payment; 70 % in full."""
    paid = invoices[invoices["status"] == "paid"]
    chosen = paid[rng.random(len(paid)) < 0.02]
    delay_days = np.clip(np.exp(np.log(5.0) + 0.9 * rng.standard_normal(len(chosen))), 1 / 24, 60.0)
    delay = (delay_days * 86_400).astype(np.int64).astype("timedelta64[s]")
    created = chosen["paid_at"].to_numpy() + delay
    amount = chosen["amount_cents"].to_numpy()
    partial = np.round(amount * rng.uniform(0.1, 0.9, len(chosen))).astype(np.int64)
    frame = pd.DataFrame({
        "invoice_id": chosen["id"].to_numpy(),
        "created_at": created,
        "amount_cents": np.where(rng.random(len(chosen)) < 0.7, amount, partial),
    })
    frame = frame[created < snapshot].sort_values("created_at", kind="stable", ignore_index=True)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


def _survey_responses(
    customers: pd.DataFrame, lifetime_end: np.ndarray, churned: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """NPS (quarterly, ~35 % answer) and CSAT (after support contacts) responses over each
    customer's lifetime; customers who churn answer lower. ~6 % of CSAT answers are anonymous."""
    created = customers["created_at"].to_numpy()
    life_days = (lifetime_end - created) / _DAY
    surveys = (
        ("nps", 90.0, 0.35, _NPS_SCORES_HAPPY, _NPS_SCORES_CHURNED, 0),
        ("csat", 30.0, 0.25, _CSAT_SCORES_HAPPY, _CSAT_SCORES_CHURNED, 1),
    )
    frames = []
    for survey, every_days, response_rate, happy, unhappy, lowest in surveys:
        responses = rng.poisson(life_days / every_days * response_rate)
        owner = np.repeat(np.arange(len(created)), responses)
        offset = (rng.random(len(owner)) * life_days[owner] * 86_400).astype(np.int64)
        cdf = np.where(
            churned[owner, None], np.cumsum(unhappy) / sum(unhappy), np.cumsum(happy) / sum(happy)
        )
        frames.append(pd.DataFrame({
            "customer_id": owner + 1,
            "survey": survey,
            "score": lowest + (rng.random(len(owner))[:, None] >= cdf).sum(axis=1),
            "responded_at": created[owner] + offset.astype("timedelta64[s]"),
        }))
    frame = pd.concat(frames, ignore_index=True)
    anonymous = (frame["survey"] == "csat").to_numpy() & (rng.random(len(frame)) < 0.06)
    customer_ids = frame["customer_id"].to_numpy(np.int64)
    frame["customer_id"] = pd.arrays.IntegerArray(customer_ids, anonymous)
    frame = frame.sort_values("responded_at", kind="stable", ignore_index=True)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


def _product_events(
    sizing: Size, customers: pd.DataFrame, subscriptions: pd.DataFrame, lifetime_end: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """In-app events over each customer's lifetime, busier for activated, larger accounts.

    Weekdays and business hours (UTC) dominate. ``feature_used:<feature>`` events come only
    after activation and only for the features the customer adopted; the rest are logins,
    ``page_view_app``, ``settings_updated`` and ``invite_sent``.
    """
    created = customers["created_at"].to_numpy()
    activated_at = customers["activated_at"].to_numpy()
    seats = subscriptions.drop_duplicates("customer_id").sort_values("customer_id")["quantity"]
    life = (lifetime_end - created) / _SECOND
    intensity = _lognoise(rng, len(created), 0.9) * np.where(np.isnat(activated_at), 0.3, 1.0)
    expected = intensity * np.sqrt(seats.to_numpy()) * life
    counts = rng.poisson(expected * sizing.product_events / max(expected.sum(), 1.0))
    owner = np.repeat(np.arange(len(created)), counts)
    total = len(owner)
    offset = rng.random(total) * life[owner]
    keeps_weekend = rng.random(total) < 0.4
    pending = np.arange(total)
    for _ in range(6):  # redraw rejected weekend moments; a few may stay on a weekend
        moment = created[owner[pending]] + offset[pending].astype(np.int64).astype("timedelta64[s]")
        pending = pending[(_weekday(moment) >= 5) & ~keeps_weekend[pending]]
        offset[pending] = rng.random(len(pending)) * life[owner[pending]]
    moment = created[owner] + offset.astype(np.int64).astype("timedelta64[s]")
    time_of_day = np.floor((14 + 3.5 * rng.standard_normal(total)) % 24 * 3600).astype(np.int64)
    day_start = moment.astype("datetime64[D]").astype("datetime64[ns]")
    moment = day_start + time_of_day.astype("timedelta64[s]")
    moment = np.clip(moment, created[owner], lifetime_end[owner] - _SECOND)

    app_share = np.array(_APP_EVENT_SHARE)
    code = rng.choice(len(app_share) + 1, size=total, p=[*app_share, 1 - app_share.sum()])
    wants_feature = code == len(app_share)
    is_feature = wants_feature & (moment >= activated_at[owner])  # NaT compares False
    code[wants_feature & ~is_feature] = _APP_EVENTS.index("page_view_app")
    adopted = rng.random((len(created), len(FEATURES))) < _FEATURE_ADOPTION
    adopted[:, 0] |= ~adopted.any(axis=1)
    cdf = np.cumsum(adopted * _FEATURE_POPULARITY, axis=1).astype(np.float32)
    cdf /= cdf[:, -1:]
    feature_owner = owner[is_feature]
    draws = rng.random(len(feature_owner), dtype=np.float32)
    code[is_feature] = len(app_share) + (draws[:, None] >= cdf[feature_owner]).sum(axis=1)

    order = np.argsort(moment, kind="stable")
    names = (*_APP_EVENTS, *(f"feature_used:{feature}" for feature in FEATURES))
    return pd.DataFrame({
        "id": np.arange(1, total + 1),
        "customer_id": owner[order] + 1,
        "event_name": pd.Categorical.from_codes(code[order], categories=names),
        "occurred_at": moment[order],
    })
