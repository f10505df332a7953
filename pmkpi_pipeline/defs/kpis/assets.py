"""``kpi_<family>``: one asset per KPI family, built from the catalog.

Each reads its staging upstreams through a :class:`TimeWindowPartitionMapping` reaching back
as far as the family's longest trailing window, computes every day of the run's range in one
set-based pass (``formulas/<family>.py``) and replaces the family's rows of that range in
``kpi_values`` (queried through the ``kpis`` view), and in the team's database when ``PMKPI_PUBLISH_URL``
is set (:mod:`pmkpi_pipeline.lib.publish`).
"""

import json
import math
from pathlib import Path

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    Nothing,
    TimeWindowPartitionMapping,
    asset,
)

from ...lib.kpi_tables import KPI_ROWS, LANDED_DAYS, kpis_view_sql, provisional_rows, replace_family_rows
from ...lib.publish import PublishTarget
from ...lib.settings import KpiSettings, RunSettings
from ...lib.warehouse import WarehouseResource, ensure_table
from ..common.metadata import code_references, table_metadata
from ..common.own_work import timed_body
from ..common.partitions import DAILY, SHAPING_SETTINGS, SINGLE_RUN, partition_dates
from ..common.per_day import add_daily_metadata
from ..operations.freshness import REFRESH_LEAD
from ..operations.schedules import CHECKS_CRON
from .catalog import BY_ID, FAMILIES, FAMILY_UPSTREAMS, family_lookback_days, kpi_windows
from .formulas import FAMILY_FUNCTIONS

NUMBERS = ["value", "numerator", "denominator"]
FORMULAS_DIR = Path(__file__).resolve().parent / "formulas"


def _number(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def daily_metadata(rows: pd.DataFrame, provisional: pd.DataFrame) -> dict:
    """Each day's own materialisation metadata: every KPI's value that day as a float (plotted by the UI),
    or its NULL reason as text; JSON details where the KPI has them; the day's row count; and on days with
    provisional KPIs, ``provisional``: each such KPI with the sources that had not settled when they landed
    (``provisional`` holds ``date, kpi, provisional_sources`` rows).

    Dimension rows (features, MRR movements) stay out of the plotted floats: they are in the details.
    """
    daily: dict = {day: {"dagster/row_count": MetadataValue.int(int(n))}
                   for day, n in rows.groupby("date", sort=True).size().items()}
    headline = rows[rows["dimension"].isna()]
    # one pass over the columns (no per-day frames, no row objects): ~20x fewer Python operations
    for day, kpi, value, reason, details in zip(headline["date"], headline["kpi"], headline["value"],
                                                headline["null_reason"], headline["details"]):
        number = _number(value)
        daily[day][kpi] = MetadataValue.float(number) if number is not None else MetadataValue.text(
            f"NULL: {reason}")
        if isinstance(details, str) and details:
            daily[day][f"{kpi}_details"] = MetadataValue.json(json.loads(details))
    for day, unsettled in provisional.groupby("date", sort=True):
        if day in daily:
            daily[day]["provisional"] = MetadataValue.json(
                dict(zip(unsettled["kpi"], unsettled["provisional_sources"])))
    return daily



def null_unlanded_windows(rows: pd.DataFrame, cfg: KpiSettings, con) -> pd.DataFrame:
    """NULL every KPI value whose window covers a day that one of its sources has not landed.

    A window over days that were never landed (before ``PMKPI_START_DATE``, or partitions not yet
    backfilled) would be wrong rather than merely early, so it is NULL with the reason instead.
    """
    rows = rows.copy()
    dates = pd.to_datetime(rows["date"])
    kpis = [BY_ID[k] for k in rows["kpi"].unique()]
    window = rows["kpi"].map({k.id: k.window_days(cfg) for k in kpis})
    ensure_table(con, LANDED_DAYS)
    landed = con.execute("SELECT source, date FROM landed_days").df()
    for source in sorted({s for k in kpis for s in k.sources}):
        uses = rows["kpi"].isin([k.id for k in kpis if source in k.sources])
        days_landed = pd.DatetimeIndex(pd.to_datetime(landed.loc[landed["source"] == source, "date"])).sort_values()
        # landed days inside [D - window + 1, D], by binary search over the sorted landed days
        upto = days_landed.searchsorted(dates.values, side="right")
        before = days_landed.searchsorted((dates - pd.to_timedelta(window - 1, unit="D")).values, side="left")
        missing = window.to_numpy() - (upto - before)
        short = uses.to_numpy() & (missing > 0)
        rows.loc[short, ["value", "numerator", "denominator"]] = None
        rows.loc[short, "null_reason"] = [
            f"window not fully landed: {source} lacks {m} of {w} day(s)"
            for m, w in zip(missing[short], window.to_numpy()[short])]
    return rows


def build_family_asset(family: str):
    """The ``kpi_<family>`` asset for one catalog family.

    The KPI windows shape the partition mapping and the description, so they are read as the
    definitions are built; the body computes with the run's ``settings`` resource.
    """
    cfg = SHAPING_SETTINGS.kpi_settings()
    kpis = FAMILIES[family]
    lookback = family_lookback_days(family, cfg)
    mapping = TimeWindowPartitionMapping(start_offset=-lookback, end_offset=0,
                                         allow_nonexistent_upstream_partitions=True)
    upstreams = FAMILY_UPSTREAMS[family]
    ins = {name: AssetIn(key=AssetKey(name), partition_mapping=mapping, dagster_type=Nothing)
           for name in upstreams}
    description = f"KPI family **{family}**: " + "; ".join(k.id for k in kpis) + ".\n\n" + "\n\n".join(
        f"- {k.describe(cfg)}" for k in kpis)

    @asset(
        name=f"kpi_{family}",
        ins=ins,
        partitions_def=DAILY,
        backfill_policy=SINGLE_RUN,
        group_name="kpis",
        tags={"layer": "kpi", "kpi_family": family},
        kinds={"duckdb"},
        description=description,
        # Yesterday's numbers are due by 09:00 after the 06:00 refresh (see defs/operations/freshness.py).
        freshness_policy=FreshnessPolicy.cron(deadline_cron=CHECKS_CRON, lower_bound_delta=REFRESH_LEAD,
                                              timezone=SHAPING_SETTINGS.timezone),
        metadata={"kpis": MetadataValue.json([k.id for k in kpis]),
                  "formulas": MetadataValue.md("\n".join(f"- `{k.id}`: {k.formula}" for k in kpis)),
                  **table_metadata([KPI_ROWS]),
                  **code_references(FORMULAS_DIR / f"{family}.py", FORMULAS_DIR.parent / "catalog.py",
                                    label="formulas")},
    )
    @timed_body
    def _family(context: AssetExecutionContext, warehouse: WarehouseResource,
                settings: RunSettings, publish: PublishTarget) -> MaterializeResult:
        start, end = partition_dates(context)
        cfg = settings.kpi_settings()
        reads = context.asset_partitions_time_window_for_input(upstreams[0])
        with warehouse.transaction() as con:
            rows = null_unlanded_windows(FAMILY_FUNCTIONS[family](con, start, end, cfg), cfg, con)
            # Parallel float sums differ in the last bits from run to run; 12 significant digits
            # keep every meaningful one and make a range run and a one-day run write equal rows.
            rows[NUMBERS] = rows[NUMBERS].astype(float).map(
                lambda v: v if pd.isna(v) else float(f"{v:.12g}"))
            written = replace_family_rows(con, KPI_ROWS, family, rows, start, end)
            con.execute(kpis_view_sql(kpi_windows(cfg)))
            provisional = provisional_rows(con, [k.id for k in kpis], start, end)
            # Last, still inside the warehouse transaction: a failed publish leaves both stores as they were.
            published = publish.publish_kpis(con, [k.id for k in kpis], start, end)
        nulls = int(rows["value"].isna().sum())
        context.log.info(
            f"kpi_{family} {start}..{end}: {written} rows ({nulls} NULL) from upstream partitions "
            f"{reads.start.date()}..{end}"
        )
        add_daily_metadata(context, daily_metadata(rows, provisional))
        return MaterializeResult(metadata={
            "partition_range": f"{start}..{end}",
            "rows": written,
            "null_values": nulls,
            "provisional_days": int(provisional["date"].nunique()),
            **({} if published is None else {"published_rows": published, "published_to": publish.safe_url}),
        })

    return _family


KPI_ASSETS = [build_family_asset(family) for family in FAMILIES]
