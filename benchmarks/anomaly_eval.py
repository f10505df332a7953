"""Evaluation harness for the KPI anomaly detector (``pmkpi_pipeline.lib.anomaly``).

Generates labelled daily series from a seed, runs our detector with its default
parameters and a baseline mirroring Elementary's default anomaly test (mean ± 3 sample
standard deviations of the previous 14 points, no seasonality, a zero deviation scores 0),
and prints precision, recall and false-alarm rate per series kind for both.

Series kinds (all start on a Monday; the level, noise and weekday pattern are drawn per series):

* ``seasonal``      — daily sessions: weekday pattern with a weekend dip to 45–80 %,
  log-normal noise of 4–8 %.
* ``trending``      — the same with growth or decline of 0.2–0.6 % a day that changes rate
  half-way (a kink), so the history's trend is not the future's.
* ``noisy``         — average session duration: heavy-tailed (Student t, 4 dof), mildly
  autocorrelated (AR(1), ρ 0–0.4) noise with a robust sd of 6–12 %, weak weekday pattern.
* ``small_count``   — a conversion rate in percent over daily users (numerator and
  denominator given): 150–500 users on weekdays, 30–60 % of that at weekends, and on ~4 %
  of days only 2–12 users (a partial day); a base rate of 12–35 %, binomial noise with
  5 % over-dispersion.
* ``zero_inflated`` — daily demo requests: Poisson counts of 1.5–5 on weekdays, 3–30 % of
  that at weekends, 5–20 % of days forced to zero.
* ``level_shift``   — ``seasonal`` sessions with one or two permanent steps of +30–70 % or
  −30–70 % (onsets at least 35 days apart).

Injected anomalies — 3–6 spikes or drops per 180 days at known days after the warm-up, at
least 3 days apart and clear of level-shift onsets — are realistic breaks, not subtle ones:

* the day's value is multiplied by 1 + (40–80 %) or 1 − (40–80 %), or moved by 5 robust
  standard deviations of the series' noise if that is larger (a drop stops at −95 %);
* ``small_count``: the day's rate is set to the base rate ± 5–8 binomial standard
  deviations at that day's denominator (a drop may hit 0 %), on days with at least the
  median denominator, where a break is visible at all;
* ``zero_inflated``: spikes only, adding 5–8 × √(weekday mean) requests (a drop of a count
  of about 3 is not detectable).

Labels, per day:

* anomaly — an injected spike or drop day, or the first day of a level shift;
* ignored — the first 28 days (the detector's default history, the warm-up) and the 6 days
  after a level-shift onset (an alarm there is the detector still adapting: counted as
  neither a hit nor a false alarm);
* clean — every other day, including days right after a spike and from the 7th day after a
  level shift onwards (the new normal): alarms there are false alarms.

Recall = flagged anomaly days / anomaly days; precision = flagged anomaly days / flagged
scored days; false-alarm rate = flagged clean days / clean days.

Usage: ``python benchmarks/anomaly_eval.py [--seed N] [--series-per-kind N] [--days N]``
(defaults: seed 20240101, 30 series per kind, 180 days). Deterministic for a seed. Exits 0
when our detector meets the targets on the whole suite (recall >= 0.9, false-alarm rate
<= 2 %, precision and recall above the baseline's), 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pmkpi_pipeline.lib.anomaly import AnomalyParams, assess_series

KINDS = ("seasonal", "trending", "noisy", "small_count", "zero_inflated", "level_shift")
START = date(2024, 1, 1)  # a Monday: weekday of day i is i % 7
WARMUP = 28  # days not scored: the detector's default history
GRACE = 7  # a level shift's onset is an anomaly; its next GRACE - 1 days are not scored
MIN_GAP = 3  # days between injected events
MIN_DAYS = WARMUP + 30
T4_ROBUST_SD = 1.0986  # 1.4826 × MAD of a Student t with 4 degrees of freedom
ANOMALY, CLEAN, IGNORED = 1, 0, -1


@dataclass
class Case:
    """One labelled series: the detector's input frame and a label per day."""

    kind: str
    frame: pd.DataFrame
    labels: np.ndarray


def robust_sd(x: np.ndarray) -> float:
    """1.4826 × median absolute deviation."""
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def weekday_pattern(rng: np.random.Generator, weekend: tuple[float, float]) -> np.ndarray:
    """Multipliers for Monday..Sunday: small weekday differences, a weekend dip."""
    pattern = 1 + rng.normal(0, 0.04, 7)
    pattern[5:] = rng.uniform(*weekend, 2)
    return pattern


def event_days(rng: np.random.Generator, days: int, count: int, blocked: set[int]) -> list[int]:
    """``count`` random days after the warm-up, MIN_GAP apart and not in ``blocked``."""
    chosen: list[int] = []
    for day in rng.permutation(np.arange(WARMUP + 7, days)):
        if len(chosen) == count:
            break
        if day not in blocked and all(abs(day - c) >= MIN_GAP for c in chosen):
            chosen.append(int(day))
    return sorted(chosen)


def point_count(rng: np.random.Generator, days: int) -> int:
    """3–6 spikes/drops per 180 days."""
    return max(1, round(rng.integers(3, 7) * days / 180))


def relative_jump(rng: np.random.Generator, sd: float, sign: int) -> float:
    """A log-scale jump: ±(40–80 %) or 5 robust standard deviations, whichever is larger."""
    if sign > 0:
        return max(np.log1p(rng.uniform(0.4, 0.8)), 5 * sd)
    return max(min(np.log1p(-rng.uniform(0.4, 0.8)), -5 * sd), np.log(0.05))


def multiplicative(rng: np.random.Generator, days: int, kind: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Seasonal, trending, noisy and level-shift series: a product of level, trend, weekday
    pattern, steps and noise, with spikes and drops multiplied in."""
    t = np.arange(days)
    labels = np.full(days, CLEAN)
    labels[:WARMUP] = IGNORED
    if kind == "noisy":
        pattern = weekday_pattern(rng, (0.85, 1.0))
        rho, scale = rng.uniform(0.0, 0.4), rng.uniform(0.06, 0.12)
        innovations = rng.standard_t(4, days) * scale / T4_ROBUST_SD * np.sqrt(1 - rho**2)
        noise = np.zeros(days)
        for i in range(days):
            noise[i] = rho * noise[i - 1] + innovations[i] if i else innovations[i] / np.sqrt(1 - rho**2)
        level = rng.uniform(60, 240)
    else:
        pattern = weekday_pattern(rng, (0.45, 0.8))
        noise = rng.normal(0, rng.uniform(0.04, 0.08), days)
        level = rng.uniform(300, 5000)
    log_value = np.log(level) + np.log(pattern[t % 7]) + noise
    if kind == "trending":
        kink = days // 2
        first, second = rng.choice([-1, 1]) * rng.uniform(0.002, 0.006, 2)
        log_value += np.where(t < kink, first * t, first * kink + second * (t - kink))
    blocked: set[int] = set()
    if kind == "level_shift":
        onsets = [int(rng.integers(WARMUP + 14, max(days // 2, WARMUP + 15)))]
        if rng.random() < 0.5 and onsets[0] + 35 < days - 21:
            onsets.append(int(rng.integers(onsets[0] + 35, days - 21)))
        for onset in onsets:
            step = rng.choice([-1, 1]) * rng.uniform(0.3, 0.7)
            log_value[onset:] += np.log1p(step)
            labels[onset] = ANOMALY
            labels[onset + 1 : onset + GRACE] = IGNORED
            blocked |= set(range(onset - MIN_GAP + 1, onset + GRACE + 1))
    sd = robust_sd(noise)
    for day in event_days(rng, days, point_count(rng, days), blocked):
        log_value[day] += relative_jump(rng, sd, int(rng.choice([-1, 1])))
        labels[day] = ANOMALY
    value = np.exp(log_value)
    value = np.round(value, 1) if kind == "noisy" else np.round(value)
    return frame_of(value), labels


def small_count(rng: np.random.Generator, days: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A conversion rate (percent) over small daily user counts."""
    t = np.arange(days)
    labels = np.full(days, CLEAN)
    labels[:WARMUP] = IGNORED
    users = rng.poisson(rng.uniform(150, 500) * weekday_pattern(rng, (0.3, 0.6))[t % 7]).astype(float)
    partial = rng.random(days) < 0.04
    users[partial] = rng.integers(2, 13, partial.sum())
    base = rng.uniform(0.12, 0.35)
    rate = np.clip(base * np.exp(rng.normal(0, 0.05, days)), 0, 1)
    quiet_days = set(np.flatnonzero(users < np.median(users)).tolist())
    for day in event_days(rng, days, point_count(rng, days), quiet_days):
        sd = np.sqrt(base * (1 - base) / users[day])
        rate[day] = np.clip(base + rng.choice([-1, 1]) * rng.uniform(5, 8) * sd, 0, 1)
        labels[day] = ANOMALY
    converted = rng.binomial(users.astype(int), rate).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(users > 0, 100 * converted / users, np.nan)
    return frame_of(value, converted, users), labels


def zero_inflated(rng: np.random.Generator, days: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Daily counts, mostly small, many zeros; spikes only."""
    t = np.arange(days)
    labels = np.full(days, CLEAN)
    labels[:WARMUP] = IGNORED
    weekday_mean = rng.uniform(1.5, 5)
    pattern = weekday_pattern(rng, (0.03, 0.3))
    counts = rng.poisson(weekday_mean * pattern[t % 7]) * (rng.random(days) >= rng.uniform(0.05, 0.2))
    counts = counts.astype(float)
    for day in event_days(rng, days, point_count(rng, days), set()):
        counts[day] += np.ceil(rng.uniform(5, 8) * np.sqrt(weekday_mean))
        labels[day] = ANOMALY
    return frame_of(counts), labels


def frame_of(
    value: np.ndarray, numerator: np.ndarray | None = None, denominator: np.ndarray | None = None
) -> pd.DataFrame:
    """The detector's input frame for a series starting on START."""
    nan = np.full(len(value), np.nan)
    return pd.DataFrame(
        {
            "date": [START + timedelta(days=i) for i in range(len(value))],
            "value": value,
            "numerator": nan if numerator is None else numerator,
            "denominator": nan if denominator is None else denominator,
        }
    )


def generate_suite(seed: int, per_kind: int, days: int) -> list[Case]:
    """``per_kind`` labelled series of ``days`` days for every kind, deterministic for ``seed``."""
    cases = []
    for k, kind in enumerate(KINDS):
        for i in range(per_kind):
            rng = np.random.default_rng([seed, k, i])
            if kind == "small_count":
                frame, labels = small_count(rng, days)
            elif kind == "zero_inflated":
                frame, labels = zero_inflated(rng, days)
            else:
                frame, labels = multiplicative(rng, days, kind)
            cases.append(Case(kind, frame, labels))
    return cases


def ours(frame: pd.DataFrame) -> np.ndarray:
    """Our detector's alarms (default parameters)."""
    return np.array([v.status == "anomaly" for v in assess_series(frame, AnomalyParams())])


def baseline(frame: pd.DataFrame) -> np.ndarray:
    """Elementary's default: |value − mean| > 3 × sample sd of the previous 14 points."""
    points = frame["value"].dropna()
    previous = points.shift(1).rolling(14, min_periods=14)
    mean, sd = previous.mean(), previous.std(ddof=1)
    score = ((points - mean) / sd).where(sd > 0, 0.0)
    flags = pd.Series(False, index=frame.index)
    flags[points.index] = (score.abs() > 3).to_numpy()
    return flags.to_numpy()


def rates(flags: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall and false-alarm rate of ``flags`` against ``labels``."""
    hits = np.sum(flags & (labels == ANOMALY))
    false = np.sum(flags & (labels == CLEAN))
    precision = hits / (hits + false) if hits + false else float("nan")
    return precision, hits / np.sum(labels == ANOMALY), false / np.sum(labels == CLEAN)


def print_table(labels: dict, flags: dict) -> dict:
    """Print precision, recall and false-alarm rate per kind and overall for each detector;
    return the overall ``(precision, recall, false-alarm rate)`` per detector."""
    header = (
        f"{'kind':<14}{'anomalies':>10}{'clean':>7}   "
        f"{'ours P':>7}{'R':>7}{'FAR':>7}   {'baseline P':>11}{'R':>7}{'FAR':>7}"
    )
    print(header)
    print("-" * len(header))
    overall = {}
    for kind in (*KINDS, "all"):
        kinds = KINDS if kind == "all" else (kind,)
        truth = np.concatenate([series for k in kinds for series in labels[k]])
        row = {
            name: rates(np.concatenate([series for k in kinds for series in by_kind[k]]), truth)
            for name, by_kind in flags.items()
        }
        if kind == "all":
            print("-" * len(header))
            overall = row
        (op, orc, ofar), (bp, brc, bfar) = row["ours"], row["baseline"]
        print(
            f"{kind:<14}{np.sum(truth == ANOMALY):>10}{np.sum(truth == CLEAN):>7}   "
            f"{op:>7.3f}{orc:>7.3f}{ofar:>7.2%}   {bp:>11.3f}{brc:>7.3f}{bfar:>7.2%}"
        )
    return overall


def main(argv: list[str] | None = None) -> int:
    """Run the suite, print the comparison table, return 0 if the targets are met."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--series-per-kind", type=int, default=30)
    parser.add_argument("--days", type=int, default=180)
    args = parser.parse_args(argv)
    if args.days < MIN_DAYS or args.series_per_kind < 1:
        parser.error(f"--days must be at least {MIN_DAYS} and --series-per-kind at least 1")

    started = time.perf_counter()
    labels: dict = {kind: [] for kind in KINDS}
    flags: dict = {name: {kind: [] for kind in KINDS} for name in ("ours", "baseline")}
    for case in generate_suite(args.seed, args.series_per_kind, args.days):
        labels[case.kind].append(case.labels)
        flags["ours"][case.kind].append(ours(case.frame))
        flags["baseline"][case.kind].append(baseline(case.frame))

    print(f"seed={args.seed} series-per-kind={args.series_per_kind} days={args.days}")
    overall = print_table(labels, flags)
    (precision, recall, false_alarms), (base_precision, base_recall, _) = overall["ours"], overall["baseline"]
    met = recall >= 0.9 and false_alarms <= 0.02 and precision > base_precision and recall > base_recall
    print(
        f"\ntargets (all kinds): recall {recall:.3f} >= 0.9, false alarms {false_alarms:.2%} <= 2%, "
        f"precision {precision:.3f} > baseline {base_precision:.3f}, "
        f"recall {recall:.3f} > baseline {base_recall:.3f}: {'met' if met else 'NOT met'}"
        f"   ({time.perf_counter() - started:.1f} s)"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
