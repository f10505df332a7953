"""The anomaly detector's noise model per KPI shape, on hand-made series of the pipeline's shapes.

A 7-day e-mail rate moves in steps as campaigns enter and leave its window; MRR is a stock that moves by the day's
change; a day the detector cannot score is not judged, never a pass.
"""

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from pmkpi_pipeline.lib.anomaly import AnomalyParams, assess_series

START = date(2025, 1, 6)
EMAIL = AnomalyParams().replace(ratio_kind="proportion", unit=100.0, window_days=7, seasonality="none")
MRR = AnomalyParams().replace(ratio_kind="none", point_in_time=True)
KNOWN = 90  # days after which a dozen earlier 7-day windows are known


def frame(value, numerator=None, denominator=None) -> pd.DataFrame:
    """A daily series starting on START."""
    nan = np.full(len(value), np.nan)
    return pd.DataFrame({"date": [START + timedelta(days=i) for i in range(len(value))],
                         "value": np.asarray(value, dtype=float),
                         "numerator": nan if numerator is None else numerator,
                         "denominator": nan if denominator is None else denominator})


def campaigns(days: int = 240, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Campaign sends every 3–10 days to 8,000–16,000 recipients, each with its own open rate (38 % ± 5 points:
    audience, subject and content vary far more than binomial noise at 10,000 recipients): sent and opens per day."""
    rng = np.random.default_rng(seed)
    sent, opens, rates = np.zeros(days), np.zeros(days), np.full(days, np.nan)
    day = 0
    while day < days:
        audience, rates[day] = rng.integers(8000, 16000), np.clip(rng.normal(0.38, 0.05), 0.1, 0.9)
        sent[day] = audience
        opens[day] = rng.binomial(audience, rates[day])
        day += int(rng.integers(3, 11))
    return sent, opens, rates


def open_rate(sent: np.ndarray, opens: np.ndarray) -> pd.DataFrame:
    """The 7-day open rate: opens / delivered of the campaigns sent in the window, NULL without one."""
    numerator, denominator = np.convolve(opens, np.ones(7))[:len(sent)], np.convolve(sent, np.ones(7))[:len(sent)]
    value = np.where(denominator > 0, 100 * numerator / np.where(denominator > 0, denominator, 1), np.nan)
    return frame(value, numerator, denominator)


def send_day_after(sent: np.ndarray, day: int) -> int:
    return int(next(d for d in np.flatnonzero(sent) if d >= day))


def test_a_window_rate_is_not_flagged_as_campaigns_enter_and_leave():
    sent, opens, _ = campaigns()
    verdicts = assess_series(open_rate(sent, opens), EMAIL)
    judged = [v for v in verdicts if v.judged]
    assert len(judged) > 150
    # Once a dozen earlier windows are known (the first ones happen to hold eight campaigns within 6 points of
    # one another, so the campaigns' spread is still underestimated then), nothing is flagged.
    assert [v.date for v in verdicts[KNOWN:] if v.status == "anomaly"] == []
    assert all(v.rule.startswith("7-day window robust z") for v in judged)
    # Judged day by day instead, the same series alarms every few weeks: its one-day changes are mostly nothing.
    daily = assess_series(open_rate(sent, opens), EMAIL.replace(window_days=1))
    assert sum(v.status == "anomaly" for v in daily) > 20


def test_the_mpp_inflated_campaign_is_flagged_on_its_send_day_and_its_leaving_passes():
    sent, opens, _ = campaigns()
    mpp = send_day_after(sent, 130)
    opens[mpp] = round(0.92 * sent[mpp])  # Apple Mail Privacy Protection opens every e-mail it fetches
    verdicts = assess_series(open_rate(sent, opens), EMAIL)
    flagged = [v for v in verdicts[KNOWN:] if v.status == "anomaly"]
    assert [v.date for v in flagged] == [START + timedelta(days=mpp)]
    day = flagged[0]
    assert day.kind == "spike" and day.value > day.upper and day.score > 3.25
    assert 30 < day.expected < 46 and "earlier 7-day windows sharing none of its days" in day.rule
    # While the campaign stays in the window the rate stays high: that is the same anomaly, not a new one.
    inside = verdicts[mpp + 1: mpp + 7]
    assert all(v.status != "anomaly" for v in inside)
    assert any(f"flagged {day.date.isoformat()} still in the window" in v.rule for v in inside)
    # The campaign leaves the window (the rate falls back): judged against earlier windows, it passes.
    after = [v for v in verdicts[mpp + 7: mpp + 21] if v.judged]
    assert after and all(v.status == "pass" and abs(v.score) < 3.25 for v in after)


def test_a_campaign_entering_after_the_spike_is_judged_against_normal_windows():
    sent, opens, rates = campaigns()
    mpp = send_day_after(sent, 130)
    opens[mpp] = round(0.92 * sent[mpp])
    following = send_day_after(sent, mpp + 1)  # the next ordinary campaign, entering while the spike is in
    verdicts = assess_series(open_rate(sent, opens), EMAIL)
    assert following < mpp + 7 or verdicts[following].status == "pass"
    assert verdicts[following].status == "pass"  # the return towards normal is no drop


def test_a_nan_score_is_never_a_pass():
    sent, opens, _ = campaigns()
    # Judged day by day without a weekday pattern, windows of one campaign between empty days leave some days with
    # no noise to judge against (the score was NaN, and NaN compared false with the threshold: 'within ±4').
    verdicts = assess_series(open_rate(sent, opens), EMAIL.replace(window_days=1))
    unscored = [v for v in verdicts if v.rule.startswith("not judged: the history gives no expected value")]
    assert unscored, "the series no longer has a day the daily model cannot score"
    for v in verdicts:
        assert v.status in ("pass", "anomaly", "not_judged")
        if v.status != "not_judged":
            assert v.score is not None and math.isfinite(v.score)
            assert all(math.isfinite(x) for x in (v.expected, v.lower, v.upper))
        else:
            assert v.score is None and v.rule.startswith("not judged: ")


def test_a_young_window_kpi_is_not_judged_with_the_reason():
    sent, opens, _ = campaigns(days=30)
    verdicts = assess_series(open_rate(sent, opens), EMAIL)
    assert all(v.status == "not_judged" for v in verdicts[:14])
    assert "judged against earlier 7-day windows sharing none of its days" in verdicts[12].rule


def test_noise_around_a_curve_handed_over_as_a_window_kpi_is_judged_day_by_day():
    rng = np.random.default_rng(5)
    t = np.arange(200)
    values = 50 + 5 * np.sin(2 * np.pi * t / 90) + rng.normal(0, 0.4, 200)
    values[150] += 3.0  # 7.5 sd
    params = AnomalyParams().replace(ratio_kind="none", window_days=30)
    verdicts = assess_series(frame(values), params)
    assert verdicts[150].status == "anomaly" and verdicts[150].rule.startswith("weekly-seasonal")
    assert verdicts[151].status == "pass"


def mrr(days: int = 200, seed: int = 11) -> np.ndarray:
    """MRR: 100,000 growing by new and churned subscriptions, with a large customer now and then."""
    rng = np.random.default_rng(seed)
    changes = rng.normal(150, 400, days)
    changes[rng.random(days) < 0.05] += rng.choice([-1, 1]) * 2500
    return np.round(100_000 + np.cumsum(changes), 2)


def test_mrr_is_judged_on_the_days_change_and_a_pricing_change_is_one_alert():
    values = mrr()
    calm = assess_series(frame(values), MRR)
    assert [v.date for v in calm[60:] if v.status == "anomaly"] == []
    assert all(v.rule.startswith("day-to-day change") for v in calm[60:])
    values[150:] *= 1.2  # every price 20 % up for everyone from day 150
    verdicts = assess_series(frame(values), MRR)
    assert [i for i, v in enumerate(verdicts) if v.status == "anomaly"] == [150]
    assert verdicts[150].kind == "spike" and verdicts[150].value > verdicts[150].upper
    assert verdicts[151].expected == pytest.approx(values[150], rel=0.01)  # the new level is kept


def test_the_day_after_a_spike_that_returns_to_normal_passes():
    values = mrr()
    values[120] += 30_000  # a one-day glitch in the subscriptions table
    verdicts = assess_series(frame(values), MRR)
    assert verdicts[120].status == "anomaly"
    back = verdicts[121]
    assert back.status == "pass" and "back to the level before yesterday's change" in back.rule
    assert back.expected == pytest.approx(values[119], rel=0.01)
