"""How cost grows: our own work and peak RSS against company size, and the daily run against history.

    python benchmarks/scaling.py                                   # 0.5x..4x reference, 1/2/4 years: hours
    python benchmarks/scaling.py --size tiny --scales 0.5,1,2 --years 1,2 --days 60   # minutes

1. For each scale, ``backfill.py --size SIZE --scale S`` (a fresh process, sandbox and Dagster instance
   each, in memory by default: its event log, about the same size at every scale, is then in the RSS too, so
   for the pipeline's own memory use ``--instance sqlite`` with ``TMPDIR`` on a tmpfs; no floors, no
   per-partition sample):
   the backfill's own work (inside the bodies, as they record it; and ``own_work_compute_seconds``, counted
   from outside by ``timed_run.py``) and its peak RSS, then the growth exponent of own work against scale
   (least squares of log own work on log scale: 1 is linear).
2. For each number of years, a fresh sandbox company with that much history ending on the same day, the
   history landed (``daily_run.py``, without checks), then the next morning's ``daily_refresh`` run
   timed, and the ratio of the longest history's daily run to the shortest's.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from backfill import HERE, RANGES, _log, run_json, start_sandbox
from instances import env_for, fresh_home

DAILY_END = date(2024, 12, 30)
"""The last complete day of the history runs (the reference range's last day)."""


def growth_exponent(scales: list[float], values: list[float]) -> float | None:
    """Least-squares slope of log(value) on log(scale); None with fewer than two positive points."""
    points = [(math.log(s), math.log(v)) for s, v in zip(scales, values) if v and v > 0]
    if len(points) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    return round(sum((x - mean_x) * (y - mean_y) for x, y in points)
                 / sum((x - mean_x) ** 2 for x, _ in points), 3)


def by_scale(size: str, scales: list[float], days: int, instance: str) -> dict:
    """Own work and peak RSS of the backfill at each scale, and the fitted growth exponents."""
    rows = []
    for scale in scales:
        _log(f"backfill at {scale:g}x {size} …")
        figures = run_json([sys.executable, str(HERE / "backfill.py"), "--size", size, "--scale", str(scale),
                            "--floors", "none", "--sample", "0", "--instance", instance,
                            *(["--days", str(days)] if days else [])],
                           dict(os.environ))
        rows.append({key: figures.get(key) for key in (
            "scale", "partitions", "backfill_seconds", "own_work_seconds", "own_work_compute_seconds",
            "peak_rss_mib", "peak_rss_step", "rows_landed", "own_work_top_steps")})
    return {"by_scale": rows,
            "growth_exponent": growth_exponent(scales, [r["own_work_seconds"] for r in rows]),
            "growth_exponent_compute": growth_exponent(scales, [r["own_work_compute_seconds"] for r in rows]),
            "peak_rss_mib_max": max(r["peak_rss_mib"] for r in rows)}


def by_history(size: str, years: list[int], work: Path, instance: str) -> dict:
    """The daily run after each number of years of history (a fresh company, warehouse and instance each)."""
    rows = []
    for count in years:
        start = DAILY_END.replace(year=DAILY_END.year - count) + timedelta(days=1)
        _log(f"daily run after {count} year(s) of {size} history ({start}..{DAILY_END}) …")
        folder = work / f"history_{count}y"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PMKPI_", "DAGSTER_"))},
               "PMKPI_DATA_DIR": str(folder / "data"), "PMKPI_START_DATE": start.isoformat(), "PMKPI_TIMEZONE": "UTC"}
        sandbox, exported, _ = start_sandbox(size, start.isoformat(), DAILY_END.isoformat(), env)
        try:
            env.update({k: v for k, v in exported.items() if k.startswith("PMKPI_")})
            with fresh_home(folder / "dagster_home", "sqlite" if instance == "memory" else instance) as home:
                run_env = env_for(home, env) if instance != "memory" else env  # no DAGSTER_HOME: in memory
                figures = run_json([sys.executable, str(HERE / "daily_run.py"), DAILY_END.isoformat()], run_env)
        finally:
            sandbox.terminate()
            sandbox.wait()
        rows.append({"years": count, **figures})
    shortest, longest = rows[0], rows[-1]
    return {"daily_by_history": rows,
            "daily_ratio": round(longest["daily_run_seconds"] / shortest["daily_run_seconds"], 3),
            "daily_compute_ratio": round(longest["daily_compute_seconds"]
                                         / max(shortest["daily_compute_seconds"], 1e-9), 3),
            "daily_ratio_years": f"{longest['years']}y/{shortest['years']}y"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(RANGES), default="reference")
    parser.add_argument("--scales", default="0.5,1,2,4", help="company sizes as multiples of --size ('' skips)")
    parser.add_argument("--days", type=int, default=0, help="backfill only the first N days of the size's range")
    parser.add_argument("--years", default="1,2,4", help="years of history before the daily run ('' skips)")
    parser.add_argument("--instance", choices=("memory", "sqlite", "postgres"), default="memory",
                        help="Dagster instance of the runs (default memory: bookkeeping cheap, our own work the same)")
    args = parser.parse_args()
    scales = [float(s) for s in args.scales.split(",") if s]
    years = sorted(int(y) for y in args.years.split(",") if y)
    work = Path(tempfile.mkdtemp(prefix="pmkpi-scaling-"))
    out: dict = {"size": args.size, "instance": args.instance}
    try:
        if scales:
            out.update(by_scale(args.size, scales, args.days, args.instance))
        if years:
            out.update(by_history(args.size, years, work, args.instance))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
