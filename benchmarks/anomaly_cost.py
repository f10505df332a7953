"""What the anomaly detector costs per series: the working tree against the detector at a git ref.

    python benchmarks/anomaly_cost.py                                  # 730-day series of every labelled kind
    python benchmarks/anomaly_cost.py --warehouse .pmkpi/warehouse.duckdb   # also every KPI of a backfill

Each series is judged whole (every day from the days before it, as a range run's check does), ``--repeat`` times;
the best of those times counts (the least disturbed by the machine). The labelled series are generator C's kinds
at 730 days, judged with the catalog KPI each kind is shaped like; with ``--warehouse``, each KPI's headline
series of that warehouse with its own catalog entry. The ref's detector gets the catalog's ratio shape and the
e-mail rates' overrides of that time (``anomaly_pipeline_eval.BEFORE_OVERRIDES``); the working tree's, the
check's own parameters (its window and point-in-time shape too).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore", message=".*(preview|beta).*", module="dagster|pmkpi_pipeline")

import anomaly_series_c  # noqa: E402
from anomaly_pipeline_eval import BEFORE_OVERRIDES, load_detector  # noqa: E402

from pmkpi_pipeline.defs.kpis.catalog import BY_ID  # noqa: E402
from pmkpi_pipeline.defs.kpis.checks import anomaly_verdicts  # noqa: E402

COLUMNS = ["date", "value", "numerator", "denominator"]


def labelled_series(days: int, seed: int) -> list[tuple[str, pd.DataFrame]]:
    """One series of each of generator C's kinds, cut or repeated to ``days`` days."""
    series = []
    for case in anomaly_series_c.generate(seed, 1):
        frame = case.frame
        while len(frame) < days:
            later = frame.copy()
            later["date"] = later["date"] + pd.Timedelta(days=len(frame))
            frame = pd.concat([frame, later], ignore_index=True)
        series.append((case.kpi, frame.iloc[:days].reset_index(drop=True)))
    return series


def warehouse_series(path: Path) -> list[tuple[str, pd.DataFrame]]:
    """Every KPI's headline series in a warehouse."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("SELECT kpi, date, value, numerator, denominator FROM kpi_values "
                           "WHERE dimension IS NULL ORDER BY kpi, date").df()
    finally:
        con.close()
    rows["date"] = pd.to_datetime(rows["date"]).dt.date
    return [(kpi, group[COLUMNS].reset_index(drop=True)) for kpi, group in rows.groupby("kpi") if kpi in BY_ID]


def best_seconds(judge, repeat: int) -> float:
    """The shortest of ``repeat`` timed calls."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        judge()
        times.append(time.perf_counter() - began)
    return min(times)


def measure(series: list[tuple[str, pd.DataFrame]], before, repeat: int) -> tuple[float, float]:
    """Seconds for all the series: the working tree's detector, the ref's."""
    ours = theirs = 0.0
    for kpi_id, frame in series:
        kpi = BY_ID[kpi_id]
        params = before.AnomalyParams().replace(ratio_kind=kpi.ratio_kind, unit=kpi.ratio_scale,
                                                **BEFORE_OVERRIDES.get(kpi_id, {}))
        ours += best_seconds(lambda: anomaly_verdicts(kpi, frame), repeat)  # noqa: B023
        theirs += best_seconds(lambda: before.assess_series(frame[COLUMNS], params), repeat)  # noqa: B023
    return ours, theirs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="6aa10bf", help="git ref of the detector to compare with")
    parser.add_argument("--days", type=int, default=730, help="length of the labelled series")
    parser.add_argument("--seed", type=int, default=20250613)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warehouse", type=Path, help="also judge every KPI series of this DuckDB warehouse")
    args = parser.parse_args(argv)
    before = load_detector(args.before)
    sets = {f"labelled, {args.days} days": labelled_series(args.days, args.seed)}
    if args.warehouse:
        sets[f"KPIs of {args.warehouse}"] = warehouse_series(args.warehouse)
    print(f"| series | count | working tree s/series | {args.before} s/series | ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, series in sets.items():
        ours, theirs = measure(series, before, args.repeat)
        count = len(series)
        print(f"| {name} | {count} | {ours / count:.3f} | {theirs / count:.3f} | {ours / theirs:.2f} |")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
