"""``raw_billing``: the billing tables copied into the warehouse.

State tables (customers, plans, subscriptions, invoices, refunds) are copied whole on every
run — their rows change after creation — while the event tables (survey responses, product
events) replace exactly the run's partitions, bucketed by the local date of their timestamp.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from ...lib.settings import RunSettings
from ...lib.warehouse import WarehouseResource, clear_rows
from ..common.metadata import add_daily_row_counts, table_metadata
from ..common.own_work import timed_body
from ..common.partitions import DAILY, SINGLE_RUN, partition_dates
from .landing import land, landing_select, utc_session
from .resource import BillingDatabase
from .tables import (
    BILLING_CUSTOMERS,
    BILLING_INVOICES,
    BILLING_PLANS,
    BILLING_PRODUCT_EVENTS,
    BILLING_REFUNDS,
    BILLING_SUBSCRIPTIONS,
    BILLING_SURVEY_RESPONSES,
)
from .validation import validate_billing

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
    with billing.reading() as source, warehouse.transaction() as wcon:
        source.verify([*STATE_TABLES, *EVENT_TABLES])
        utc_session(wcon)
        for logical, (schema, ts_columns) in STATE_TABLES.items():
            clear_rows(wcon, schema)
            select = landing_select(schema, billing.table(logical), ts_columns, tz)
            counts[schema.name] = land(wcon, schema, source.scan(logical, schema.columns), select)
        for logical, (schema, ts_column) in EVENT_TABLES.items():
            # Streamed batch by batch into the same warehouse transaction: flat memory, still atomic.
            clear_rows(wcon, schema, start, end)
            select = landing_select(schema, billing.table(logical), (ts_column,), tz, dated_by=ts_column)
            window = source.scan(logical, schema.columns, f"WHERE {ts_column} >= :lo AND {ts_column} < :hi",
                                 {"lo": lo, "hi": hi})
            counts[schema.name] = land(wcon, schema, window, select)
            context.log.info(f"raw_billing: read {counts[schema.name]} {logical} rows for {start}..{end}")
        validate_billing(wcon, start, end)  # a broken rule rolls the transaction back: nothing lands
        add_daily_row_counts(context, wcon, [schema for schema, _ in EVENT_TABLES.values()], start, end)
    context.log.info(f"raw_billing {start}..{end}: landed {counts}")
    return MaterializeResult(metadata={
        "partition_range": f"{start}..{end}",
        "rows": MetadataValue.json(counts),
        "database": billing.safe_url,
    })
