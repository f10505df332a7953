"""Feature adoption and engagement score against a day-by-day brute force of the spec.

Random but seeded billing rows dense enough that the score's caps (20 active days, 20 logins
in a 30-day window) are reached, with several subscriptions per customer (overlapping,
back-to-back, with gaps), events before a customer's first subscription, several events of a
kind on one day, and a range that starts after the first events.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pandas as pd
import pytest
from kpi_helpers import insert, run, staging_db

from pmkpi_pipeline.lib.settings import KpiSettings

FIRST = date(2025, 1, 1)
DAYS = 150
FEATURES = ("f0", "f1", "f2", "f3", "f4")


def _billing_rows(seed: int) -> tuple[list[tuple], list[tuple]]:
    """Subscriptions ``(customer_id, started_date, ended_date)`` and events ``(customer_id, event_name, day)``."""
    rng = random.Random(seed)
    subscriptions, events = [], []
    for customer in range(1, 31):
        for _ in range(rng.choice((0, 1, 2, 3))):
            started = FIRST + timedelta(days=rng.randrange(DAYS))
            ended = started + timedelta(days=rng.randrange(1, 60)) if rng.random() < 0.7 else None
            subscriptions.append((customer, started, ended))
        density = rng.choice((0.1, 0.5, 0.9))          # chance of a day with events
        for offset in range(DAYS):
            if rng.random() < density:
                day = FIRST + timedelta(days=offset)
                for _ in range(rng.randrange(1, 4)):
                    kind = rng.random()
                    name = ("login" if kind < 0.45 else
                            f"feature_used:{rng.choice(FEATURES[:4] if customer % 2 else FEATURES)}" if kind < 0.9
                            else "page_view")
                    events.append((customer, name, day))
    return subscriptions, events


def _active(subscriptions: list[tuple], customer: int, day: date) -> bool:
    return any(c == customer and s <= day and (e is None or e > day) for c, s, e in subscriptions)


def _expected(subscriptions, events, day: date, window: int, features: tuple[str, ...]):
    """(engagement Σ scores, active customers, {feature or None: adopters}, caps reached) on ``day``, by the spec."""
    customers = sorted({c for c, _, _ in subscriptions} | {c for c, _, _ in events})
    active = [c for c in customers if _active(subscriptions, c, day)]
    in_window: dict[int, list[tuple[str, date]]] = {}
    for c, n, d in events:
        if day - timedelta(days=window - 1) <= d <= day:
            in_window.setdefault(c, []).append((n, d))
    scores, adopters, caps = 0.0, {f: 0 for f in (*features, None)}, set()
    for c in active:
        mine = in_window.get(c, [])
        used = {n.removeprefix("feature_used:") for n, _ in mine if n.startswith("feature_used:")}
        days = len({d for _, d in mine})
        logins = sum(1 for n, _ in mine if n == "login")
        counted = used & set(features)
        caps |= {"days"} if days > 20 else set()
        caps |= {"logins"} if logins > 20 else set()
        scores += (40 * min(1, days / 20) + (30 * min(1, len(counted) / len(features)) if features else 0)
                   + 30 * min(1, logins / 20))
        for f in counted:
            adopters[f] += 1
        adopters[None] += bool(used)
    return scores, len(active), adopters, caps


@pytest.mark.parametrize("seed, cfg", [(1, KpiSettings()), (2, KpiSettings()),
                                      (3, KpiSettings(tracked_features=("f1", "f4", "never"))),
                                      (4, KpiSettings(window_days=7))])
def test_usage_kpis_match_brute_force(seed, cfg):
    subscriptions, events = _billing_rows(seed)
    con = staging_db()
    insert(con, "stg_subscriptions", "customer_id, started_date, ended_date", *subscriptions)
    con.register("event_rows", pd.DataFrame(events, columns=["customer_id", "event_name", "occurred_date"]))
    con.execute("""INSERT INTO stg_product_events (customer_id, event_name, feature, occurred_date)
                   SELECT customer_id, event_name,
                          CASE WHEN starts_with(event_name, 'feature_used:') THEN substr(event_name, 14) END,
                          occurred_date
                   FROM event_rows""")
    start, end = FIRST + timedelta(days=20), FIRST + timedelta(days=DAYS + 10)
    rows = run(con, "customer", start.isoformat(), end.isoformat(), cfg)
    features = cfg.tracked_features or tuple(sorted({n.removeprefix("feature_used:") for _, n, _ in events
                                                     if n.startswith("feature_used:")}))
    window = cfg.window_days
    computed = {(r.date, r.kpi, r.dimension_value): r for r in rows.itertuples()}
    caps_reached = set()
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        scores, active, adopters, caps = _expected(subscriptions, events, day, window, features)
        engagement = computed[day, "customer_engagement_score", None]
        assert engagement.denominator == active
        assert engagement.numerator == pytest.approx(scores, abs=1e-9), day
        assert len([k for k in computed if k[:2] == (day, "feature_adoption_rate")]) == len(adopters)
        for feature, count in adopters.items():
            adoption = computed[day, "feature_adoption_rate", feature]
            assert (adoption.numerator, adoption.denominator) == (count, active), (day, feature)
        caps_reached |= caps
    assert caps_reached == ({"days", "logins"} if window > 20 else set())   # the data reach both caps
