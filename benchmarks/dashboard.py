"""Dashboard benchmark: build the HTML dashboard from a warehouse holding two years of KPIs and verdicts.

    python benchmarks/dashboard.py [--size tiny] [--days 730] [--repeat 3]

Generates a sandbox company over ``--days`` days, materialises every raw, staging and KPI asset over
them as one run (in-memory Dagster instance), writes the checks' per-day verdicts for every day with
the checks' own functions (without Dagster recording 60,000 evaluations), then builds the dashboard
``--repeat`` times and prints the warehouse's row counts, the build seconds and the file size as JSON.
The dashboard reads only the 90 days it shows, so its build time does not depend on the company's size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path


def landed_warehouse(size: str, start: date, end: date, work: Path):
    """A warehouse with every raw, staging and KPI asset materialised over ``start..end``."""
    import os

    os.environ.update({"PMKPI_DATA_DIR": str(work), "PMKPI_START_DATE": start.isoformat(), "PMKPI_TIMEZONE": "UTC"})
    from dagster import AssetSelection, DagsterInstance, materialize

    from pmkpi_pipeline.definitions import defs
    from pmkpi_pipeline.defs.resources import build_resources
    from pmkpi_pipeline.lib.warehouse import WarehouseResource
    from pmkpi_sandbox.demo import prepare_sandbox

    warehouse = WarehouseResource(path=str(work / "warehouse.duckdb"))
    with prepare_sandbox(seed=7, size=size, start=start, end=end, data_dir=work, ga4_over_grpc=True):
        loaded = defs()
        everything_but_the_page = AssetSelection.all() - AssetSelection.assets("kpi_dashboard")
        result = materialize(list(loaded.assets), selection=everything_but_the_page,
                             resources={**build_resources(), "warehouse": warehouse},
                             instance=DagsterInstance.ephemeral(),
                             tags={"dagster/asset_partition_range_start": start.isoformat(),
                                   "dagster/asset_partition_range_end": end.isoformat()})
        assert result.success
    return warehouse


def write_verdicts(warehouse, start: date, end: date) -> None:
    """Every KPI check's verdict for every day, as the ``kpi_<family>_checks`` write them."""
    import pandas as pd

    from pmkpi_pipeline.defs.kpis.catalog import FAMILIES
    from pmkpi_pipeline.defs.kpis.checks import evaluate_kpi
    from pmkpi_pipeline.lib.kpi_tables import CHECK_ROWS, replace_family_rows

    with warehouse.transaction() as con:
        rows = con.execute("SELECT date, kpi, value, numerator, denominator FROM kpi_values "
                           "WHERE dimension IS NULL ORDER BY date").df()
        rows["date"] = pd.to_datetime(rows["date"]).dt.date
        for family, kpis in FAMILIES.items():
            verdicts = [v for kpi in kpis for v in evaluate_kpi(kpi, rows[rows["kpi"] == kpi.id], start, end, None)]
            replace_family_rows(con, CHECK_ROWS, family, pd.DataFrame(
                verdicts, columns=[c for c in CHECK_ROWS.columns if c != "family"]), start, end)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="tiny", help="sandbox company size (tiny, demo, reference)")
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--end", default="2024-12-30", help="last day of the history")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from pmkpi_pipeline.defs.dashboard.assets import build_dashboard
    from pmkpi_pipeline.lib.settings import RunSettings

    end = date.fromisoformat(args.end)
    start = end - timedelta(days=args.days - 1)
    with tempfile.TemporaryDirectory(prefix="pmkpi-dashboard-bench-") as folder:
        work = Path(folder)
        began = time.monotonic()
        warehouse = landed_warehouse(args.size, start, end, work)
        write_verdicts(warehouse, start, end)
        prepared = time.monotonic() - began
        with warehouse.connect(read_only=True) as con:
            counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                      for t in ("kpi_values", "kpi_check_results")}
        builds = [build_dashboard(warehouse, RunSettings(), work / "dashboard.html") for _ in range(args.repeat)]
    print(json.dumps({
        "size": args.size, "days": args.days, "range": f"{start}..{end}", "warehouse_rows": counts,
        "prepare_seconds": round(prepared, 1),
        "build_seconds": [round(b.seconds, 3) for b in builds],
        "build_seconds_median": round(statistics.median(b.seconds for b in builds), 3),
        "bytes": builds[-1].size, "failed_checks_shown": builds[-1].failed_checks,
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
