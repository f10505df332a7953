"""``stg_*``: one staging asset per source, refreshing its typed views and validating the range.

Staging is views (see ``staging_views.py``), so a materialisation is cheap: it (re)creates the
views, checks the partition range (every money row has a currency with a known rate) and
reports row counts per day range. It also records the range in ``landed_days``, so KPI windows
can tell a day with no activity from a day that was never landed. Money in a currency without a configured rate stops the run
with the offending rows named.
"""

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from ... import settings
from ...partitions import DAILY, SINGLE_RUN, days, partition_dates
from ...staging_views import staging_views
from ...warehouse import LANDED_DAYS, WarehouseResource, replace_family_rows

DATE_COLUMNS = {  # view → its local-date column, for per-range row counts
    "stg_ga4_traffic": "date", "stg_ga4_pages": "date", "stg_ga4_events": "date",
    "stg_ga4_totals": "date", "stg_mailchimp_reports": "send_date",
    "stg_mailchimp_list_activity": "date", "stg_customers": "created_date",
    "stg_subscriptions": "started_date", "stg_invoices": "issued_date", "stg_refunds": "created_date",
    "stg_survey_responses": "responded_date", "stg_product_events": "occurred_date",
    "stg_marketing_spend": "date", "stg_social_media": "date", "stg_industry_sales_daily": "date",
}

CURRENCY_AUDITS = {  # source → queries listing money rows whose currency has no rate
    "billing": [
        ("billing plans", "SELECT 'plan ' || id, currency FROM raw_billing_plans"),
        ("billing invoices", "SELECT 'invoice ' || id, currency FROM raw_billing_invoices"),
    ],
    "inputs": [
        ("marketing_spend.csv", "SELECT 'line ' || source_line, currency FROM raw_inputs_marketing_spend"),
        ("industry_sales.csv", "SELECT 'line ' || source_line, currency FROM raw_inputs_industry_sales"),
    ],
}


class CurrencyError(ValueError):
    """Money rows in a currency that has no configured rate to the reporting currency."""


def write_fx_rates(con, cfg: settings.KpiSettings) -> None:
    """(Re)write ``stg_fx_rates``: the reporting currency at 1 plus ``PMKPI_FX_RATES``."""
    rates = pd.DataFrame(
        [(cfg.reporting_currency, 1.0), *((c, r) for c, r in cfg.fx_rates.items() if c != cfg.reporting_currency)],
        columns=["currency", "rate"],
    )
    con.execute("CREATE OR REPLACE TABLE stg_fx_rates (currency VARCHAR, rate DOUBLE)")
    con.register("_rates", rates)
    con.execute("INSERT INTO stg_fx_rates SELECT currency, rate FROM _rates")
    con.unregister("_rates")


def audit_currencies(con, source: str, cfg: settings.KpiSettings) -> None:
    """Raise :class:`CurrencyError` naming the rows whose currency has no rate."""
    for what, query in CURRENCY_AUDITS.get(source, []):
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


def build_staging_asset(source: str):
    """The ``stg_<source>`` asset: refresh the source's views and validate the run's range."""

    @asset(
        name=f"stg_{source}",
        deps=[AssetKey(f"raw_{source}")],
        partitions_def=DAILY,
        backfill_policy=SINGLE_RUN,
        group_name="staging",
        kinds={"duckdb"},
        description=f"Typed staging views over raw_{source}: local dates in PMKPI_TIMEZONE, money in "
        "the reporting currency. Views: "
        + ", ".join(staging_views("UTC", "USD")[source]) + ".",
    )
    def _staging(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        start, end = partition_dates(context)
        cfg = settings.kpi_settings()
        views = staging_views(settings.timezone(), cfg.reporting_currency)[source]
        with warehouse.transaction() as con:
            write_fx_rates(con, cfg)
            audit_currencies(con, source, cfg)
            landed = pd.DataFrame({"date": days(start, end)})
            replace_family_rows(con, LANDED_DAYS, source, landed, start, end, key_column="source")
            counts = {}
            for name, sql in views.items():
                con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
                counts[name] = con.execute(
                    f"SELECT count(*) FROM {name} WHERE {DATE_COLUMNS[name]} BETWEEN ? AND ?", [start, end]
                ).fetchone()[0]
        context.log.info(f"stg_{source} {start}..{end}: {counts}")
        return MaterializeResult(metadata={
            "partition_range": f"{start}..{end}",
            "rows_in_range": MetadataValue.json(counts),
        })

    return _staging


STAGING_ASSETS = [build_staging_asset(source) for source in ("ga4", "mailchimp", "billing", "inputs")]
