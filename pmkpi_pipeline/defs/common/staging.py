"""The ``stg_<source>`` asset factory: refresh a source's typed views and validate the range.

Each source's views are SQL in ``defs/<source>/staging.sql``: the ``stg_*`` views type the raw tables, and
the ``int_*`` views after them are the building blocks the KPI formulas share (active spans, revenue, leads
and spend per day, ...). A materialisation is cheap: it (re)creates the views in file order, checks the
partition range (every money row has a currency with a known rate) and reports row counts per day range.
It also records the range in ``landed_days``, so KPI windows can tell a day with no activity from a day that
was never landed, and when each day settles, so KPI rows built from unsettled days are marked provisional.
Money in a currency without a configured rate stops the run with the offending rows named.
"""

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from ...lib.kpi_tables import LANDED_DAYS, replace_family_rows
from ...lib.settings import KpiSettings, RunSettings
from ...lib.warehouse import WarehouseResource
from .metadata import add_daily_row_counts, code_references, view_metadata
from .own_work import timed_body
from .partitions import DAILY, SINGLE_RUN, days, partition_dates

DEFS_DIR = Path(__file__).resolve().parent.parent
_VIEW = re.compile(r"CREATE OR REPLACE VIEW (\w+) AS\s+(.*?);\s*(?=CREATE OR REPLACE VIEW|\Z)", re.S)


def staging_views(source: str, timezone: str, reporting_currency: str) -> dict[str, str]:
    """View name → SELECT of one source's staging views (``defs/<source>/staging.sql``), placeholders filled.

    ``{timezone}`` buckets days (PMKPI_TIMEZONE); input rows without a currency are in ``{reporting_currency}``.
    """
    text = (DEFS_DIR / source / "staging.sql").read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    text = text.replace("{timezone}", timezone.replace("'", "")).replace(
        "{reporting_currency}", reporting_currency.replace("'", ""))
    return {name: select.strip() for name, select in _VIEW.findall(text)}


class CurrencyError(ValueError):
    """Money rows in a currency that has no configured rate to the reporting currency."""


def write_fx_rates(con, cfg: KpiSettings) -> None:
    """(Re)write ``stg_fx_rates``: the reporting currency at 1 plus ``PMKPI_FX_RATES``."""
    rates = pd.DataFrame(
        [(cfg.reporting_currency, 1.0), *((c, r) for c, r in cfg.fx_rates.items() if c != cfg.reporting_currency)],
        columns=["currency", "rate"],
    )
    con.execute("CREATE OR REPLACE TABLE stg_fx_rates (currency VARCHAR, rate DOUBLE)")
    con.register("_rates", rates)
    con.execute("INSERT INTO stg_fx_rates SELECT currency, rate FROM _rates")
    con.unregister("_rates")


def audit_currencies(con, audits: Sequence[tuple[str, str]], cfg: KpiSettings) -> None:
    """Raise :class:`CurrencyError` naming the rows whose currency has no rate.

    ``audits`` are (what, query) pairs; each query lists ``row_ref, currency`` of money rows.
    """
    for what, query in audits:
        bad = con.execute(
            f"SELECT q.* FROM ({query}) q(row_ref, currency) "
            f"WHERE COALESCE(NULLIF(upper(q.currency), ''), '{cfg.reporting_currency}') "
            "NOT IN (SELECT currency FROM stg_fx_rates) ORDER BY 1"
        ).fetchall()
        if bad:
            listed = ", ".join(f"{ref} ({ccy})" for ref, ccy in bad[:10])
            more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
            raise CurrencyError(
                f"{what}: {len(bad)} row(s) in a currency other than the reporting currency "
                f"{cfg.reporting_currency} without a rate in PMKPI_FX_RATES: {listed}{more}"
            )


def count_all_rows(con, view: str) -> int:
    """Every row of a view without a date column (e.g. spans), whatever the range."""
    return con.execute(f"SELECT count(*) FROM {view}").fetchone()[0]


def landed_days(dates: list, timezone: str, settling_hours: int, now: datetime | None = None) -> pd.DataFrame:
    """Rows of ``landed_days`` for ``dates`` landed ``now``: each day settles ``settling_hours`` after it ends
    (midnight in ``timezone``); both times in UTC without a zone, as the warehouse keeps timestamps."""
    ends = pd.DatetimeIndex([pd.Timestamp(d) + pd.Timedelta(days=1) for d in dates]).tz_localize(timezone)
    settles = (ends + pd.Timedelta(hours=settling_hours)).tz_convert("UTC").tz_localize(None)
    landed_at = pd.Timestamp(now or datetime.now(UTC)).tz_convert("UTC").tz_localize(None)
    return pd.DataFrame({"date": dates, "landed_at": landed_at, "settles_at": settles})


def build_staging_asset(source: str, date_columns: Mapping[str, str | None],
                        currency_audits: Sequence[tuple[str, str]] = ()):
    """The ``stg_<source>`` asset: refresh the source's views and validate the run's range.

    ``date_columns`` names each view's local-date column (for per-range row counts; None counts every row
    of a view without one, e.g. spans);
    ``currency_audits`` list the source's money rows (see :func:`audit_currencies`).
    """

    @asset(
        name=f"stg_{source}",
        deps=[AssetKey(f"raw_{source}")],
        partitions_def=DAILY,
        backfill_policy=SINGLE_RUN,
        group_name="staging",
        tags={"layer": "staging", "source": source},
        kinds={"duckdb"},
        description=f"Typed staging views over raw_{source}: local dates in PMKPI_TIMEZONE, money in "
        "the reporting currency; then the int_* building blocks the KPIs share. Views: "
        + ", ".join(date_columns) + ".",
        metadata=code_references(DEFS_DIR / source / "staging.sql"),
    )
    @timed_body
    def _staging(context: AssetExecutionContext, warehouse: WarehouseResource,
                 settings: RunSettings) -> MaterializeResult:
        start, end = partition_dates(context)
        cfg = settings.kpi_settings()
        views = staging_views(source, settings.timezone, cfg.reporting_currency)
        with warehouse.transaction() as con:
            write_fx_rates(con, cfg)
            audit_currencies(con, currency_audits, cfg)
            landed = landed_days(days(start, end), settings.timezone, settings.settling_hours(source))
            replace_family_rows(con, LANDED_DAYS, source, landed, start, end, key_column="source")
            for name, sql in views.items():
                con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
            dated = {name: column for name, column in date_columns.items() if column is not None}
            daily = add_daily_row_counts(context, con, dated, start, end)
            counts = {name: sum(day[name] for day in daily.values()) if name in dated
                      else count_all_rows(con, name) for name in views}
            schemas = view_metadata(con, list(views))
        context.log.info(f"stg_{source} {start}..{end}: {counts}")
        return MaterializeResult(metadata={
            "partition_range": f"{start}..{end}",
            "rows_in_range": MetadataValue.json(counts),
            **schemas,
        })

    return _staging

