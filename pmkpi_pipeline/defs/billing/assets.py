"""``raw_billing``: the billing tables copied into the warehouse.

State tables (customers, plans, subscriptions, invoices, refunds) are copied whole on every
run — their rows change after creation — while the event tables (survey responses, product
events) replace exactly the run's partitions, bucketed by the local date of their timestamp.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from ...lib.settings import RunSettings
from ...lib.warehouse import WarehouseResource, append_rows, replace_rows
from ..common.metadata import add_daily_row_counts, table_metadata
from ..common.own_work import timed_body
from ..common.partitions import DAILY, SINGLE_RUN, partition_dates
from .resource import BillingDatabase, BillingError
from .tables import (
    BILLING_CUSTOMERS,
    BILLING_INVOICES,
    BILLING_PLANS,
    BILLING_PRODUCT_EVENTS,
    BILLING_REFUNDS,
    BILLING_SUBSCRIPTIONS,
    BILLING_SURVEY_RESPONSES,
)

STATE_TABLES = {
    "customers": (BILLING_CUSTOMERS, ("created_at", "activated_at")),
    "plans": (BILLING_PLANS, ()),
    "subscriptions": (BILLING_SUBSCRIPTIONS, ("started_at", "ended_at")),
    "invoices": (BILLING_INVOICES, ("issued_at", "paid_at")),
    "refunds": (BILLING_REFUNDS, ("created_at",)),
}
EVENT_TABLES = {
    "survey_responses": (BILLING_SURVEY_RESPONSES, "responded_at"),
    "product_events": (BILLING_PRODUCT_EVENTS, "occurred_at"),
}


def to_utc_naive(values: pd.Series, table: str, column: str, ids: pd.Series) -> pd.Series:
    """Parse a timestamp column to naive UTC (naive values are UTC already); name the bad row."""
    parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    bad = parsed.isna() & values.notna()
    if bad.any():
        raise BillingError(
            f"billing table {table} column {column}: value {values[bad].iloc[0]!r} "
            f"(id {ids[bad].iloc[0]}) is not a timestamp"
        )
    return parsed.dt.tz_localize(None)


def local_dates(utc_naive: pd.Series, tz: str) -> pd.Series:
    """The calendar date in ``tz`` of naive-UTC timestamps (as midnights, cast to DATE on landing)."""
    return utc_naive.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()


def _utc_window(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    lo = datetime.combine(start, time(), zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    hi = datetime.combine(end + timedelta(days=1), time(), zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    return lo, hi


@asset(
    partitions_def=DAILY,
    backfill_policy=SINGLE_RUN,
    group_name="raw_billing",
    tags={"layer": "raw", "source": "billing"},
    kinds={"sql", "duckdb"},
    metadata=table_metadata([schema for schema, _ in (*EVENT_TABLES.values(), *STATE_TABLES.values())]),
    description="Billing tables from PMKPI_BILLING_DB_URL: customers, plans, subscriptions, "
    "invoices and refunds copied whole (state that changes after creation); survey responses "
    "and product events landed by the local date of their timestamp.",
)
@timed_body
def raw_billing(context: AssetExecutionContext, billing: BillingDatabase, warehouse: WarehouseResource,
                settings: RunSettings):
    """Copy the billing state tables and the run's partitions of the event tables."""
    start, end = partition_dates(context)
    tz = settings.timezone
    lo, hi = _utc_window(start, end, tz)
    counts = {}
    with billing.connect() as con, warehouse.transaction() as wcon:
        billing.verify(con, [*STATE_TABLES, *EVENT_TABLES])
        for logical, (schema, ts_columns) in STATE_TABLES.items():
            frame = billing.read(con, logical)
            for column in ts_columns:
                frame[column] = to_utc_naive(frame[column], billing.table(logical), column, frame["id"])
            counts[schema.name] = replace_rows(wcon, schema, frame, source=f"billing {logical}")
        for logical, (schema, ts_column) in EVENT_TABLES.items():
            # Streamed chunk by chunk into the same warehouse transaction: flat memory, still atomic.
            replace_rows(wcon, schema, pd.DataFrame(columns=list(schema.columns)), start, end,
                         source=f"billing {logical}")
            counts[schema.name] = 0
            for chunk in billing.read_chunks(
                    con, logical, f"WHERE {ts_column} >= :lo AND {ts_column} < :hi", {"lo": lo, "hi": hi}):
                chunk[ts_column] = to_utc_naive(chunk[ts_column], billing.table(logical), ts_column, chunk["id"])
                chunk["date"] = local_dates(chunk[ts_column], tz)
                counts[schema.name] += append_rows(wcon, schema, chunk)
            context.log.info(f"raw_billing: read {counts[schema.name]} {logical} rows for {start}..{end}")
        add_daily_row_counts(context, wcon, [schema for schema, _ in EVENT_TABLES.values()], start, end)
    context.log.info(f"raw_billing {start}..{end}: landed {counts}")
    return MaterializeResult(metadata={
        "partition_range": f"{start}..{end}",
        "rows": MetadataValue.json(counts),
        "database": billing.safe_url,
    })
