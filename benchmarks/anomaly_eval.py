"""Evaluation of the KPI anomaly check against a ceiling and a floor, on three independent generators.

Each labelled series (:mod:`anomaly_cases`) is judged three ways, every day from the days before it:

* **ours** — the ``<kpi>_anomaly`` check's own code path (``anomaly_verdicts`` with the catalog KPI
  the series is shaped like, default settings), the one ``pmkpi detect`` runs;
* **oracle** — the ceiling: knows each day's true normal value and noise sd, flags
  ``|value − normal| / sd`` above the same threshold (``PMKPI_ANOMALY_SENSITIVITY``, 3.25);
* **baseline** — the floor, Elementary's default test: ``|value − mean| > 3 × sd`` of the
  previous 14 values, no seasonality.

Anomalies are 2.5–6 sd of the day's true noise (Poisson, negative-binomial or binomial sd for
counts and rates). Per kind and overall the tables give precision (flagged anomaly days / flagged
scored days), recall (flagged anomaly days / anomaly days), the false-alarm rate (flagged clean
days / clean days) and F1, on the anomalies of 2.5–5 sd (larger ones neither hits nor misses);
a second table gives the recall per size bin over 2.5–6 sd. Days labelled "ignored" (the
28-day warm-up, the days right after a level shift) count for nothing.

Generator A (:mod:`anomaly_series_a`) is what the detector was tuned on; generator B
(:mod:`anomaly_series_b`, other noise families, weekly profiles, trends and anomaly shapes) is held
out — though its failures were looked at while the detector was being fixed, so it is not
untouched either; generator C (:mod:`anomaly_series_c`, written later from the issue's one-line
description of the external evaluation: 90–365-day series, multiplicative weekly profiles, gamma and
Poisson noise, sizes in robust sd of each series' own noise) was not tuned on, but it was looked at:
its per-kind rates, its holiday recall by day of the dip, and the false alarms it gained when the
24-week weekday pattern and the dip rule were tried (both kept, with A and B measured beside). All three are
ours, so try a generator written by someone else before trusting the numbers: series of the shape
``pmkpi detect`` reads can be judged with it directly.

Usage: ``python benchmarks/anomaly_eval.py [--seed N] [--series-per-kind N] [--generators ABC]``
(defaults: seed 20250613, 30 series per kind, all three; A's series are 180 days, B's 150, C's
90–365). Deterministic for a seed. Exits 0 when, on each generator and anomalies of 2.5–5 sd, our
overall recall is at least 0.55 at a false-alarm rate of at most 0.5 % with precision at least 0.75,
small-count precision is at least 0.5, our F1 beats the baseline's on every kind, and at most 3 % of the days 3–30
after a level shift's onset are flagged; 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore", message=".*(preview|beta).*", module="dagster|pmkpi_pipeline")  # the checks module

import anomaly_series_a  # noqa: E402
import anomaly_series_b  # noqa: E402
import anomaly_series_c  # noqa: E402
from anomaly_cases import ANOMALY, CLEAN, IGNORED, KINDS, Case  # noqa: E402

from pmkpi_pipeline.defs.kpis.catalog import BY_ID  # noqa: E402
from pmkpi_pipeline.defs.kpis.checks import anomaly_params, anomaly_verdicts  # noqa: E402

DETECTORS = ("ours", "oracle", "baseline")
BINS = ((2.5, 3.5), (3.5, 4.5), (4.5, 5.0), (5.0, 6.0))
BAR_MAX_SIZE = 5.0
GENERATORS = {"A (tuned on)": (anomaly_series_a.generate, 180), "B (held out)": (anomaly_series_b.generate, 150),
              "C (held out)": (anomaly_series_c.generate, None)}


def ours(case: Case) -> np.ndarray:
    """The anomaly check's verdicts, as ``pmkpi detect`` gives them."""
    return np.array([v.status == "anomaly" for v in anomaly_verdicts(BY_ID[case.kpi], case.frame)])


def oracle(case: Case) -> np.ndarray:
    """|deviation from the true normal value| / true sd above the check's own threshold."""
    threshold = anomaly_params(BY_ID[case.kpi]).sensitivity
    return np.nan_to_num(np.abs(case.oracle)) > threshold


def baseline(case: Case) -> np.ndarray:
    """Elementary's default: |value − mean| > 3 × sample sd of the previous 14 values."""
    points = case.frame["value"].dropna()
    previous = points.shift(1).rolling(14, min_periods=14)
    mean, sd = previous.mean(), previous.std(ddof=1)
    score = ((points - mean) / sd).where(sd > 0, 0.0)
    flags = pd.Series(False, index=case.frame.index)
    flags[points.index] = (score.abs() > 3).to_numpy()
    return flags.to_numpy()


def judge(cases: list[Case]) -> tuple[dict, dict]:
    """Per kind: labels, sizes and each detector's flags, every series concatenated; and per detector the days 3–30
    after each level shift's onset, flagged and in all."""
    pooled = {kind: {"labels": [], "size": [], **{d: [] for d in DETECTORS}} for kind in KINDS}
    after = {name: [0, 0] for name in DETECTORS}
    events = {name: [0, 0] for name in DETECTORS}
    for case in cases:
        entry = pooled[case.kind]
        entry["labels"].append(case.labels)
        entry["size"].append(case.size)
        for name, detector in zip(DETECTORS, (ours, oracle, baseline), strict=True):
            flags = detector(case)
            entry[name].append(flags)
            flagged, days = after_shift(case, flags)
            after[name][0] += flagged
            after[name][1] += days
            caught, total = caught_events(case, flags)
            events[name][0] += caught
            events[name][1] += total
    return ({kind: {key: np.concatenate(parts) for key, parts in entry.items()} for kind, entry in pooled.items()},
            {"after_shift": after, "events": events})


def caught_events(case: Case, flags: np.ndarray) -> tuple[int, int]:
    """Anomalies counted as events (a run of anomalous days, such as a holiday week, is one; of 2.5–5 sd): how many
    have at least one flagged day, and how many there are."""
    anomalous = (case.labels == ANOMALY) & (case.size < BAR_MAX_SIZE)
    starts = np.flatnonzero(anomalous & ~np.concatenate([[False], anomalous[:-1]]))
    caught = 0
    for start in starts:
        end = start
        while end + 1 < len(anomalous) and anomalous[end + 1]:
            end += 1
        caught += bool(flags[start:end + 1].any())
    return caught, len(starts)


def after_shift(case: Case, flags: np.ndarray) -> tuple[int, int]:
    """Of a level shift's days 3–30 (its onset is day 1), how many are flagged, and how many there are."""
    onsets = np.flatnonzero((case.labels[:-1] == ANOMALY) & (case.labels[1:] == IGNORED))
    if case.kind != "level_shift" or not onsets.size:
        return 0, 0
    days = flags[onsets[0] + 2: onsets[0] + 30]
    return int(days.sum()), len(days)


def within(entry: dict, max_size: float) -> np.ndarray:
    """The labels with anomalies of ``max_size`` sd or more set aside (neither hits nor misses)."""
    return np.where((entry["labels"] == ANOMALY) & (entry["size"] >= max_size), IGNORED, entry["labels"])


def rates(flags: np.ndarray, labels: np.ndarray) -> dict:
    """Precision, recall, false-alarm rate and F1 of ``flags`` against ``labels``."""
    hits, false = np.sum(flags & (labels == ANOMALY)), np.sum(flags & (labels == CLEAN))
    precision = hits / (hits + false) if hits + false else float("nan")
    recall = hits / max(np.sum(labels == ANOMALY), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"P": precision, "R": recall, "FAR": false / max(np.sum(labels == CLEAN), 1), "F1": f1}


def merged(judged: dict, kinds: tuple[str, ...]) -> dict:
    return {key: np.concatenate([judged[k][key] for k in kinds]) for key in judged[kinds[0]]}


def kind_table(judged: dict) -> dict:
    """Print precision, recall, false alarms and F1 per kind and overall (anomalies up to 5 sd); return the rates."""
    header = f"{'kind':<12}{'anom':>5}{'clean':>6} " + "".join(
        f" | {name:<8}{'P':>6}{'R':>6}{'FAR':>7}{'F1':>6}" for name in DETECTORS)
    print(header)
    print("-" * len(header))
    table = {}
    for kind in (*KINDS, "all"):
        entry = merged(judged, KINDS if kind == "all" else (kind,))
        labels = within(entry, BAR_MAX_SIZE)
        table[kind] = {name: rates(entry[name], labels) for name in DETECTORS}
        cells = "".join(f" | {'':<8}{r['P']:>6.3f}{r['R']:>6.3f}{r['FAR']:>7.2%}{r['F1']:>6.3f}"
                        for r in table[kind].values())
        print(f"{kind:<12}{np.sum(labels == ANOMALY):>5}{np.sum(labels == CLEAN):>6} {cells}")
    return table


def bin_table(judged: dict) -> None:
    """Print the recall of each detector per anomaly size bin (all kinds), and over 2.5–6 sd."""
    entry = merged(judged, KINDS)
    anomalous = entry["labels"] == ANOMALY
    print(f"\n{'size (sd)':<12}{'anom':>5}" + "".join(f"{name + ' R':>12}" for name in DETECTORS))
    for low, high in (*BINS, (BINS[0][0], BINS[-1][1])):
        days = anomalous & (entry["size"] >= low) & (entry["size"] < high + (high == BINS[-1][1]))
        recalls = "".join(f"{np.mean(entry[name][days]) if days.any() else float('nan'):>12.3f}" for name in DETECTORS)
        print(f"{f'{low:g}–{high:g}':<12}{np.sum(days):>5}{recalls}")


def bar(table: dict, extra: dict) -> list[tuple[str, bool]]:
    """The targets (issue 24's on labelled series), each with whether it holds."""
    overall = table["all"]["ours"]
    flagged, days = extra["after_shift"]["ours"]
    checks = [(f"overall recall {overall['R']:.3f} >= 0.55", overall["R"] >= 0.55),
              (f"false alarms {overall['FAR']:.2%} <= 0.5%", overall["FAR"] <= 0.005),
              (f"precision {overall['P']:.3f} >= 0.75", overall["P"] >= 0.75),
              (f"small-count precision {table['small_count']['ours']['P']:.3f} >= 0.5",
               table["small_count"]["ours"]["P"] >= 0.5),
              (f"days 3-30 after a level shift flagged {flagged / max(days, 1):.1%} <= 3%", flagged <= 0.03 * days)]
    for kind in KINDS:
        ours_f1, base_f1 = table[kind]["ours"]["F1"], table[kind]["baseline"]["F1"]
        checks.append((f"{kind} F1 {ours_f1:.3f} > baseline {base_f1:.3f}", ours_f1 > base_f1))
    return checks


def main(argv: list[str] | None = None) -> int:
    """Judge both generators' suites, print the tables, return 0 when the bar is met on both."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=20250613)
    parser.add_argument("--series-per-kind", type=int, default=30)
    parser.add_argument("--generators", default="ABC", help="which generators to run, e.g. BC (default ABC)")
    args = parser.parse_args(argv)
    if args.series_per_kind < 1:
        parser.error("--series-per-kind must be at least 1")
    met = True
    for name, (generate, days) in GENERATORS.items():
        if name[0] not in args.generators.upper():
            continue
        started = time.perf_counter()
        judged, extra = judge(generate(args.seed, args.series_per_kind, days))
        print(f"\n=== generator {name}: seed={args.seed}, {args.series_per_kind} series per kind, "
              f"{days or '90–365'} days; anomalies of 2.5–5 sd ===")
        table = kind_table(judged)
        bin_table(judged)
        print("\ndays 3-30 after a level shift, flagged: " + ", ".join(
            f"{name} {flagged / max(total, 1):.1%} ({flagged} of {total})"
            for name, (flagged, total) in extra["after_shift"].items()))
        print("anomalies as events (a run of days is one), caught: " + ", ".join(
            f"{name} {caught / max(total, 1):.3f} ({caught} of {total})"
            for name, (caught, total) in extra["events"].items()))
        checks = bar(table, extra)
        met &= all(ok for _, ok in checks)
        print("\nbar: " + "; ".join(f"{text} {'ok' if ok else 'NOT MET'}" for text, ok in checks)
              + f"   ({time.perf_counter() - started:.1f} s)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
