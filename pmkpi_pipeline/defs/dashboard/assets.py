"""``kpi_dashboard``: the HTML dashboard, rebuilt from the warehouse after the KPI families.

Unpartitioned, downstream of every ``kpi_<family>`` asset (each daily partition upstream maps to it
through Dagster's default ``AllPartitionMapping``), so any run that refreshes KPIs — the daily
refresh, a backfill, ``pmkpi_kpis`` — rebuilds it once at the end. Its step has a lower priority
than the KPI checks, so the in-process executor runs it after them and the page shows the verdicts
of the same run. ``pmkpi dashboard`` builds the same page by hand.
"""

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from ...lib.settings import RunSettings
from ...lib.warehouse import WarehouseResource
from ..common.own_work import timed_body
from ..kpis.catalog import FAMILIES
from ..kpis.targets import load_targets
from .data import load_dashboard
from .page import render_page, write_page

AFTER_THE_CHECKS = "-1"
"""``dagster/priority`` of the dashboard's step: below the checks' default 0."""


@dataclass(frozen=True)
class BuiltDashboard:
    """Where the page was written, its size, the day it shows and how long it took."""

    path: Path
    size: int
    as_of: date | None
    seconds: float
    failed_checks: int


def build_dashboard(warehouse: WarehouseResource, settings: RunSettings, out: Path,
                    as_of: date | None = None) -> BuiltDashboard:
    """Read the warehouse as of ``as_of`` (default: its last KPI day) and write the page to ``out``."""
    began = time.perf_counter()
    cfg = settings.kpi_settings()
    with warehouse.connect(read_only=True) as con:
        dashboard = load_dashboard(con, cfg, load_targets(cfg.targets_file), settings.timezone, as_of)
    size = write_page(render_page(dashboard), out)
    return BuiltDashboard(path=out, size=size, as_of=dashboard.as_of, seconds=time.perf_counter() - began,
                          failed_checks=len(dashboard.failed))


@asset(
    name="kpi_dashboard",
    deps=[AssetKey(f"kpi_{family}") for family in FAMILIES],
    group_name="kpis",
    kinds={"html"},
    tags={"layer": "dashboard"},
    op_tags={"dagster/priority": AFTER_THE_CHECKS},
    description="The KPI dashboard: one self-contained HTML file (PMKPI_DASHBOARD_PATH, default "
    "`$PMKPI_DATA_DIR/dashboard.html`) with every KPI's latest value, change, 90-day sparkline with flagged "
    "days, target and formula; MRR movements; feature adoption; the days that failed a check.",
)
@timed_body
def kpi_dashboard(context: AssetExecutionContext, warehouse: WarehouseResource,
                  settings: RunSettings) -> MaterializeResult:
    built = build_dashboard(warehouse, settings, Path(settings.dashboard_path))
    context.log.info(f"kpi_dashboard: {built.path} ({built.size:,} bytes, as of {built.as_of}) "
                     f"in {built.seconds:.2f}s")
    return MaterializeResult(metadata={
        "path": MetadataValue.path(str(built.path)),
        "as_of": str(built.as_of),
        "bytes": built.size,
        "build_seconds": round(built.seconds, 3),
        "failed_checks_in_90_days": built.failed_checks,
    })
