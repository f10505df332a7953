"""Unit tests of the KPI anomaly detector on hand-made series."""

import json
import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from pmkpi_pipeline.lib.anomaly import AnomalyParams, Verdict, assess_series

START = date(2025, 1, 6)  # a Monday
PARAMS = AnomalyParams()


def series(values, numerators=None, denominators=None) -> pd.DataFrame:
    """A daily series starting on START."""
    n = len(values)
    return pd.DataFrame(
        {
            "date": [START + timedelta(days=i) for i in range(n)],
            "value": np.asarray(values, dtype=float),
            "numerator": np.nan if numerators is None else np.asarray(numerators, dtype=float),
            "denominator": np.nan if denominators is None else np.asarray(denominators, dtype=float),
        }
    )


def traffic(days: int = 84, seed: int = 1) -> np.ndarray:
    """Sessions: 1000 on weekdays, 600 on Sundays, 5 % noise."""
    noise = np.random.default_rng(seed).normal(0, 0.05, days)
    base = np.where(np.arange(days) % 7 == 6, 600.0, 1000.0)
    return np.round(base * np.exp(noise))


def statuses(verdicts: list[Verdict]) -> list[str]:
    return [v.status for v in verdicts]


def test_weekly_dip_passes_every_sunday():
    verdicts = assess_series(series(traffic()), PARAMS)
    judged = verdicts[28:]
    assert statuses(judged) == ["pass"] * len(judged)
    sundays = [v for v in judged if v.date.weekday() == 6]
    assert len(sundays) == 8
    for v in sundays:
        assert 560 < v.expected < 640
        assert v.lower < v.value < v.upper
        assert abs(v.score) < 2.5
        assert v.rule.startswith("weekly-seasonal robust z ")
        assert f"robust z {v.score:.1f} within ±3.25 (log scale" in v.rule


def test_spike_is_flagged_with_rule_and_score():
    values = traffic()
    values[50] *= 1.8  # a Thursday
    v = assess_series(series(values), PARAMS)[50]
    assert v.status == "anomaly"
    assert v.history_size == 28
    assert 950 < v.expected < 1050
    assert v.upper < v.value
    assert v.score > 6  # log(1.8) is about 12 noise standard deviations of 5 %
    assert v.rule.startswith(f"weekly-seasonal robust z {v.score:.1f} > 3.25 (log scale")


def test_drop_is_flagged_with_a_negative_score():
    values = traffic()
    values[52] *= 0.5
    v = assess_series(series(values), PARAMS)[52]
    assert v.status == "anomaly"
    assert v.value < v.lower
    assert v.score < -10
    assert "< -3.25" in v.rule


def test_outlier_in_history_masks_nothing_and_raises_no_later_alarms():
    values = traffic()
    values[40] *= 4  # one bad day
    values[55] *= 1.6  # a real spike 15 days later
    verdicts = assess_series(series(values), PARAMS)
    flagged = [i for i, v in enumerate(verdicts) if v.status == "anomaly" and i >= 28]
    assert flagged == [40, 55]
    assert [verdicts[i].kind for i in flagged] == ["spike", "spike"]
    after = verdicts[43]  # the Wednesday after the bad Saturday
    assert 950 < after.expected < 1050 and after.upper < 1300


def test_level_shift_is_one_alert_at_onset_then_adapts_within_a_week():
    values = traffic(days=98)
    values[49:] = np.round(values[49:] * 0.5)  # traffic halves for good on day 49
    verdicts = assess_series(series(values), PARAMS)
    flagged = [i for i, v in enumerate(verdicts) if v.status == "anomaly" and i >= 28]
    # Its first two days are flagged, named as a dip that lasts; from the third day the run is not flagged again
    # (one alert, not a week of them); then the new level is adopted.
    assert flagged == [49, 50]
    assert [verdicts[i].kind for i in flagged] == ["drop", "sustained dip"]
    assert "away from the level before 2025-02-24" in verdicts[50].rule
    assert all("the run since 2025-02-24 was flagged 2025-02-24" in verdicts[i].rule for i in range(51, 56))
    assert all(verdicts[i].value < verdicts[i].lower for i in range(51, 54))  # still below the old range
    assert statuses(verdicts[51:]) == ["pass"] * 47
    assert 450 < verdicts[60].expected < 550  # a Thursday: the new normal


def test_short_history_is_not_judged_with_the_reason():
    verdicts = assess_series(series(traffic(days=20)), PARAMS)
    assert statuses(verdicts[:14]) == ["not_judged"] * 14
    assert not any(v.judged for v in verdicts[:14]) and all(v.judged for v in verdicts[14:])
    assert [v.history_size for v in verdicts[:14]] == list(range(14))
    first = verdicts[0]
    assert (first.expected, first.lower, first.upper, first.score) == (None, None, None, None)
    assert first.rule == "not judged: insufficient history: 0 usable of the previous 28 days, 14 needed"
    assert verdicts[13].rule == "not judged: insufficient history: 13 usable of the previous 28 days, 14 needed"
    assert statuses(verdicts[14:]) == ["pass"] * 6


def test_min_history_is_configurable():
    verdicts = assess_series(series(traffic(days=20)), PARAMS.replace(min_history=7))
    assert statuses(verdicts[:7]) == ["not_judged"] * 7
    assert verdicts[7].status == "pass"


def conversion_rate(days: int = 70, seed: int = 2):
    """Sign-ups / users × 100: about 400 users a day converting at 5 %."""
    rng = np.random.default_rng(seed)
    users = rng.poisson(400, days).astype(float)
    signups = rng.binomial(users.astype(int), 0.05).astype(float)
    return signups, users


def test_rate_over_a_tiny_denominator_is_not_flagged():
    signups, users = conversion_rate()
    signups[50], users[50] = 2, 5  # 40 % of five users
    signups[60], users[60] = 160, 400  # 40 % of four hundred users
    verdicts = assess_series(series(100 * signups / users, signups, users), PARAMS)
    tiny, real = verdicts[50], verdicts[60]
    assert tiny.value == 40.0 and tiny.status == "pass"
    assert tiny.lower == 0.0 and tiny.upper < 100.0  # binomial at 5 users: 5 % ± 65 points, clipped at 0
    assert "range set by sampling noise at denominator 5" in tiny.rule
    assert real.value == 40.0 and real.status == "anomaly"
    assert 4 < real.expected < 6
    assert statuses(verdicts[28:50] + verdicts[51:60]) == ["pass"] * 31


def test_zero_inflated_counts_do_not_cry_wolf():
    rng = np.random.default_rng(3)
    counts = rng.poisson(0.4, 84).astype(float)  # mostly zeros
    counts[70] = 12  # a burst
    verdicts = assess_series(series(counts), PARAMS)
    flagged = [i for i, v in enumerate(verdicts) if v.status == "anomaly"]
    assert flagged == [70]
    assert verdicts[70].lower == 0.0 and verdicts[70].upper < 5
    assert "range set by Poisson noise of counts" in verdicts[71].rule


def test_nan_value_is_not_judged_and_is_skipped_in_history():
    values = traffic()
    values[40] = np.nan
    verdicts = assess_series(series(values), PARAMS)
    missing = verdicts[40]
    assert missing.status == "not_judged"
    assert missing.value is None and missing.score is None
    assert missing.rule == "not judged: no value (KPI not computable)"
    assert 950 < missing.expected < 1050
    assert verdicts[41].history_size == 27
    assert verdicts[41].status == "pass"
    early = assess_series(series([1000.0, np.nan]), PARAMS)[1]
    assert (early.status, early.expected, early.history_size) == ("not_judged", None, 1)


def test_unsorted_input_and_evaluate_from():
    frame = series(traffic())
    shuffled = frame.sample(frac=1, random_state=0)
    verdicts = assess_series(shuffled, PARAMS, evaluate_from=START + timedelta(days=80))
    assert [v.date for v in verdicts] == [START + timedelta(days=i) for i in range(80, 84)]
    full = assess_series(frame, PARAMS)
    assert verdicts == full[80:]


def test_non_seasonal_mode_flags_the_weekly_dip():
    values = traffic()
    verdicts = assess_series(series(values), PARAMS.replace(seasonality="none"))
    sundays = [v for v in verdicts[28:] if v.date.weekday() == 6]
    assert statuses(sundays) == ["anomaly"] * 8
    assert sundays[0].rule.startswith("non-seasonal robust z -")


def test_metadata_is_json_safe_and_rounded():
    values = traffic()
    values[50] = 1234.56789
    v = assess_series(series(values), PARAMS)[50]
    meta = v.metadata()
    assert json.loads(json.dumps(meta)) == meta
    fields = {"date", "status", "kind", "value", "expected", "lower", "upper", "score", "history_size", "rule"}
    assert set(meta) == fields
    assert meta["date"] == "2025-02-25"
    assert meta["value"] == 1234.57
    assert meta["score"] == round(v.score, 2)
    assert meta["history_size"] == 28
    empty = assess_series(series(traffic(days=3)), PARAMS)[2].metadata()
    assert empty["expected"] is None and empty["score"] is None


def test_params_replace_validates():
    strict = PARAMS.replace(sensitivity=5.0, history_days=56)
    assert (strict.sensitivity, strict.history_days, strict.min_history) == (5.0, 56, 14)
    assert PARAMS.sensitivity == 3.25
    with pytest.raises(ValueError, match="unknown anomaly parameter"):
        PARAMS.replace(treshold=2)
    with pytest.raises(ValueError, match="seasonality"):
        PARAMS.replace(seasonality="monthly")
    with pytest.raises(ValueError, match="min_history"):
        PARAMS.replace(min_history=40)
    with pytest.raises(ValueError, match="seasonal_days >= 14"):
        PARAMS.replace(seasonal_days=7)


def test_zero_after_a_positive_history_is_judged_linearly():
    values = traffic()
    values[60] = 0.0  # tracking broke
    v = assess_series(series(values), PARAMS)[60]
    assert v.status == "anomaly"
    assert v.score < -10
    assert math.isfinite(v.lower) and "log scale" not in v.rule


def test_a_declared_ratio_kind_makes_a_day_verdict_independent_of_the_range_evaluated():
    """With the KPI's ratio shape declared, day D's verdict is the same in a range run and a one-day run."""
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(60)]
    numerator = [30.0 + (i % 7) for i in range(59)] + [130.0]  # the last day's exceeds its denominator
    series = pd.DataFrame({"date": days, "numerator": numerator, "denominator": [100.0] * 60})
    series["value"] = series["numerator"] / series["denominator"] * 100
    declared = AnomalyParams(ratio_kind="unbounded", unit=100.0)
    day = days[40]
    in_range = [v for v in assess_series(series, declared, evaluate_from=days[30]) if v.date == day][0]
    alone = assess_series(series[series["date"] <= day], declared, evaluate_from=day)[0]
    assert in_range.metadata() == alone.metadata()
    # Inferred from the data instead, the 130/100 day changes the kind and with it day D's range.
    inferred_range = [v for v in assess_series(series, AnomalyParams(), evaluate_from=days[30]) if v.date == day][0]
    inferred_alone = assess_series(series[series["date"] <= day], AnomalyParams(), evaluate_from=day)[0]
    assert inferred_range.metadata() != inferred_alone.metadata()


def test_a_holiday_week_is_one_alert_and_the_return_passes():
    values = traffic(days=98)
    values[70:75] = np.round(values[70:75] * 0.6)  # Monday to Friday at 60 %
    verdicts = assess_series(series(values), PARAMS)
    assert statuses(verdicts[70:75]) == ["anomaly", "anomaly", "pass", "pass", "pass"]
    assert [v.kind for v in verdicts[70:72]] == ["drop", "sustained dip"]
    assert all("one alert per run" in v.rule for v in verdicts[72:75])
    assert all(v.expected > 900 for v in verdicts[70:75])  # judged against the level before the dip
    assert statuses(verdicts[75:]) == ["pass"] * 23


def test_a_dip_not_flagged_on_its_first_days_is_flagged_when_it_deepens_then_once():
    values = traffic(days=98)
    values[70:72] = np.round(values[70:72] * 0.92)  # two days 8 % down: each passes
    values[72:75] = np.round(values[72:75] * 0.6)  # then 40 % down for three days
    verdicts = assess_series(series(values), PARAMS)
    assert statuses(verdicts[70:75]) == ["pass", "pass", "anomaly", "anomaly", "pass"]
    assert [v.kind for v in verdicts[72:74]] == ["drop", "sustained dip"]
    assert "day 3 of that run: one alert per run" in verdicts[74].rule
    assert "the run since 2025-03-19 was flagged 2025-03-19" in verdicts[74].rule
    assert statuses(verdicts[75:]) == ["pass"] * 23

def test_a_normal_day_after_a_one_day_drop_ends_it():
    values = traffic(days=98)
    values[70] = np.round(values[70] * 0.75)  # a one-day drop on Monday, Tuesday normal again
    values[72] = np.round(values[72] * 0.93)  # the same Wednesday as in the lasting dip above
    verdicts = assess_series(series(values), PARAMS)
    assert [v.kind for v in verdicts[70:73]] == ["drop", "normal", "normal"]
    assert -3.25 < verdicts[72].score < -1.95 and "within ±3.25" in verdicts[72].rule


def test_a_weekday_missing_from_the_last_twelve_weeks_is_known_from_the_twelve_before():
    assert PARAMS.seasonal_days == 168  # read with the 28 days before the first judged day whose flags it depends on
    assert PARAMS.lookback_days == 168 + 28
    values = traffic(days=175)
    sundays = np.arange(90, 168)[np.arange(90, 168) % 7 == 6]
    values[sundays] = np.nan  # no Sunday in the 84 days before day 174, a Sunday
    sunday = assess_series(series(values), PARAMS)[174]
    assert sunday.date.weekday() == 6 and sunday.status == "pass"
    assert 560 < sunday.expected < 640
    blind = assess_series(series(values), PARAMS.replace(seasonal_days=84))[174]
    assert blind.status == "anomaly" and blind.expected > 900


def test_small_counts_are_judged_as_counts_not_on_a_log_scale():
    rng = np.random.default_rng(4)
    refunds = rng.poisson(np.where(np.arange(112) % 7 >= 5, 2.0, 6.0)).astype(float)  # weekdays 6, weekends 2
    refunds[100] = 17  # a Wednesday: 6 + 4.5 Poisson sd
    verdicts = assess_series(series(refunds), PARAMS)
    assert verdicts[100].kind == "spike" and "log scale" not in verdicts[100].rule
    assert 4 < verdicts[100].expected < 8 and verdicts[100].upper < 17
    assert sum(v.status == "anomaly" for v in verdicts[28:]) <= 2


def test_the_return_after_a_fortnight_dip_the_level_followed_passes_in_range_and_one_day_runs():
    values = traffic(days=120)
    values[80:90] = np.round(values[80:90] * 0.55)  # a holiday fortnight: the level follows it after a week
    values[90:] = traffic(days=120, seed=2)[90:]  # then back to normal
    verdicts = assess_series(series(values), PARAMS)
    assert statuses(verdicts[80:82]) == ["anomaly", "anomaly"]
    assert all(v.status == "pass" for v in verdicts[82:])
    back = [v for v in verdicts[90:] if "back to the level before the run flagged 2025-03-27" in v.rule]
    assert back and all(v.value > v.upper for v in back)  # outside the range around the dip's level: a return
    for day in (82, 85, 90, 91):  # the same verdict when the day is judged alone, as the daily schedule does
        alone = assess_series(series(values), PARAMS, evaluate_from=START + timedelta(days=day))[0]
        assert (alone.status, alone.rule) == (verdicts[day].status, verdicts[day].rule)
