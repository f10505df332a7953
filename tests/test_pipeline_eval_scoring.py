"""benchmarks/anomaly_pipeline_eval.py: what counts as judged, flagged, an event day and an echo."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import anomaly_pipeline_eval as evaluation

from pmkpi_sandbox.company import Event

START = date(2024, 9, 1)
DAYS = [START + timedelta(days=i) for i in range(60)]
KPIS = {k.id: k for k in evaluation.CATALOG}


def planted(*events: Event) -> list[evaluation.Planted]:
    return [evaluation.Planted.of(event, KPIS, evaluation.KpiSettings()) for event in events]


def verdicts(kpi: str, flagged_days: set[date], judged_from: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"kpi": kpi, "date": DAYS, "judged": [i >= judged_from for i in range(len(DAYS))],
                         "flagged": [d in flagged_days for d in DAYS], "score": None})


def test_an_events_days_are_not_false_flags_and_its_echoes_are_counted_apart():
    mpp = Event("mpp_campaign", date(2024, 9, 25))
    flags = {mpp.day, mpp.day + timedelta(days=3), mpp.day + timedelta(days=7), date(2024, 9, 5)}
    figures = evaluation.score(verdicts("email_open_rate", flags), planted(mpp), DAYS[0], DAYS[-1])
    row = figures["per_kpi"]["email_open_rate"]
    # the day after the 7-day window has left the event is false again; 3 days after is an echo
    assert (row["judged"], row["flags"], row["false"], row["false_excl_echoes"]) == (60, 4, 3, 2)
    assert (row["events"], row["caught"]) == (1, 1)
    assert figures["events"] == [{"event": "mpp_campaign 2024-09-25", "kpi": "email_open_rate",
                                  "verdict": "flagged", "score": None}]
    assert figures["max"]["false"] == {"kpi": "email_open_rate", "count": 3}


def test_every_day_of_a_tracking_break_is_an_event_day_and_only_the_first_must_be_flagged():
    broken = Event("tracking_break", date(2024, 10, 1))
    later_days = {broken.day + timedelta(days=1), broken.day + timedelta(days=2)}
    figures = evaluation.score(verdicts("conversion_rate", later_days), planted(broken), DAYS[0], DAYS[-1])
    row = figures["per_kpi"]["conversion_rate"]
    assert (row["flags"], row["false"], row["caught"]) == (2, 0, 0)
    assert figures["events"][0]["verdict"] == "missed"


def test_a_view_counts_only_its_days_and_events():
    outage = Event("checkout_outage", date(2024, 9, 10))
    frame = verdicts("cart_abandonment_rate", {outage.day, date(2024, 10, 20)}, judged_from=5)
    figures = evaluation.score(frame, planted(outage), date(2024, 10, 1), DAYS[-1])
    row = figures["per_kpi"]["cart_abandonment_rate"]
    assert (row["judged"], row["false"], row["events"]) == (30, 1, 0)
    assert figures["events"] == []


def test_verdict_rows_without_a_judgement_are_not_judged():
    checks = pd.DataFrame({
        "kpi": "mrr", "date": DAYS[:5],
        "passed": pd.array([True, False, None, True, False], dtype="boolean"),
        "status": ["pass", "anomaly", "not_judged", "insufficient_history", "anomaly"],
        "score": [0.1, 5.0, None, None, -6.0]})
    after = evaluation.after_verdicts(checks)
    assert after["judged"].tolist() == [True, True, False, False, True]
    assert after["flagged"].tolist() == [False, True, False, False, True]


def test_the_baseline_judges_with_14_earlier_values():
    rng = np.random.default_rng(3)
    values = np.r_[rng.normal(50, 1, 30), 80.0, rng.normal(50, 1, 29)]
    values[3] = np.nan
    frame = pd.DataFrame({"kpi": "mrr", "date": DAYS, "value": values, "numerator": np.nan, "denominator": np.nan})
    judged = evaluation.baseline_verdicts(frame)
    assert judged["judged"].sum() == 60 - 15  # a missing value and the 14 before the first judged day
    assert judged.loc[30, "flagged"] and not judged.loc[:29, "flagged"].any()


def test_the_events_kpis_and_echo_windows_follow_the_catalog():
    by_kind = {p.event.kind: p for p in planted(
        Event("mpp_campaign", START), Event("pricing_change", START), Event("checkout_outage", START, 2))}
    assert len(by_kind["mpp_campaign"].echoes) == 6
    assert by_kind["pricing_change"].echoes == frozenset()
    assert by_kind["checkout_outage"].days == {START, START + timedelta(days=1)}
    with pytest.raises(SystemExit):
        evaluation.parse_args(["--plant", "checkout_outage:2023-01-01"])
