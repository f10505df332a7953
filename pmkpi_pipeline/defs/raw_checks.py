"""Checks on the raw layer: every day of the range landed rows, and GA4 data quality flags.

A day without GA4 rows is an ERROR and blocks staging, so an empty day never becomes a KPI of
zero. Days without list activity (Mailchimp serves only the last 180 days of it), product
events, spend or social stats are WARNs: such days can be real, or history the API no longer has.
GA4 thresholding, "(other)"-row loss, sampling or a property time zone that differs from
``PMKPI_TIMEZONE`` are WARNs: the numbers landed, but read them with care.
"""

import pandas as pd
from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from .. import settings
from ..partitions import DAILY, days, partition_dates
from ..raw_tables import (
    BILLING_PRODUCT_EVENTS, GA4_EVENTS, GA4_PAGES, GA4_TOTALS, GA4_TRAFFIC, INPUTS_MARKETING_SPEND,
    INPUTS_SOCIAL_MEDIA, MAILCHIMP_LIST_ACTIVITY,
)
from ..warehouse import TableSchema, WarehouseResource

BLOCKING = {"raw_ga4"}
DAILY_TABLES: dict[str, tuple[TableSchema, ...]] = {
    "raw_ga4": (GA4_TRAFFIC, GA4_PAGES, GA4_EVENTS, GA4_TOTALS),
    "raw_mailchimp": (MAILCHIMP_LIST_ACTIVITY,),
    "raw_billing": (BILLING_PRODUCT_EVENTS,),
    "raw_inputs": (INPUTS_MARKETING_SPEND, INPUTS_SOCIAL_MEDIA),
}


def empty_days(con, table: TableSchema, start, end) -> list:
    """Days of start..end on which ``table`` has no rows."""
    counts = con.execute(
        f'SELECT "{table.partition_column}" AS d, count(*) FROM "{table.name}" '
        f'WHERE "{table.partition_column}" BETWEEN ? AND ? GROUP BY 1', [start, end]).fetchall()
    present = {pd.Timestamp(d).date() for d, n in counts if n}
    return [d for d in days(start, end) if d not in present]


def build_row_count_check(asset_name: str):
    """``rows_every_day`` on a raw asset: each daily table has rows on every day of the range."""
    blocking = asset_name in BLOCKING
    severity = AssetCheckSeverity.ERROR if blocking else AssetCheckSeverity.WARN

    @asset_check(asset=asset_name, name="rows_every_day", partitions_def=DAILY, blocking=blocking,
                 description="Every day of the range has rows in " + ", ".join(
                     t.name for t in DAILY_TABLES[asset_name])
                 + (" (ERROR, blocks staging)." if blocking else " (WARN)."))
    def _check(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
        start, end = partition_dates(context)
        with warehouse.connect() as con:
            missing = {t.name: empty_days(con, t, start, end) for t in DAILY_TABLES[asset_name]}
            counts = {t.name: con.execute(
                f'SELECT count(*) FROM "{t.name}" WHERE "{t.partition_column}" BETWEEN ? AND ?',
                [start, end]).fetchone()[0] for t in DAILY_TABLES[asset_name]}
        gaps = {name: [str(d) for d in ds[:20]] for name, ds in missing.items() if ds}
        return AssetCheckResult(
            passed=not gaps, severity=severity,
            metadata={"rows": MetadataValue.json(counts), "empty_days": MetadataValue.json(gaps)},
            description=f"days without rows: {gaps}" if gaps else f"rows on every day of {start}..{end}",
        )

    return _check


@asset_check(asset="raw_ga4", name="ga4_data_quality", partitions_def=DAILY,
             description="GA4 responses were not thresholded, lost no rows to '(other)', were not sampled, and the property "
             "time zone matches PMKPI_TIMEZONE (WARN).")
def ga4_data_quality(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    """WARN when GA4 flagged thresholding or (other)-row loss, or its time zone differs from ours."""
    start, end = partition_dates(context)
    with warehouse.connect() as con:
        flags = [(table.name, *con.execute(
            f"SELECT bool_or(subject_to_thresholding), bool_or(data_loss_from_other_row), bool_or(sampled), "
            f"string_agg(DISTINCT property_time_zone, ',') FROM {table.name} WHERE date BETWEEN ? AND ?",
            [start, end]).fetchone()) for table in DAILY_TABLES["raw_ga4"]]
    problems = []
    for report, thresholded, other_row, sampled, zones in flags:
        if thresholded:
            problems.append(f"{report}: subject to thresholding (small counts withheld)")
        if other_row:
            problems.append(f"{report}: rows rolled into '(other)'")
        if sampled:
            problems.append(f"{report}: computed from a sample of the events")
        for zone in (zones or "").split(","):
            if zone and zone != settings.timezone():
                problems.append(f"{report}: property time zone {zone} ≠ PMKPI_TIMEZONE {settings.timezone()}")
    return AssetCheckResult(passed=not problems, severity=AssetCheckSeverity.WARN,
                            metadata={"problems": MetadataValue.json(problems)},
                            description="; ".join(problems) or "no thresholding, no (other) row, time zone matches")


RAW_CHECKS = [*(build_row_count_check(name) for name in DAILY_TABLES), ga4_data_quality]
