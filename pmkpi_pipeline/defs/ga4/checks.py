"""Checks on ``raw_ga4``: rows on every day (ERROR, blocks staging) and GA4's data-quality flags (WARN).

GA4 thresholding, "(other)"-row loss, sampling or a property time zone that differs from
``PMKPI_TIMEZONE`` are WARNs: the numbers landed, but read them with care.
"""

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from ...lib.settings import RunSettings
from ...lib.warehouse import WarehouseResource
from ..common.partitions import DAILY, partition_dates
from ..common.raw_checks import build_row_count_check
from .tables import GA4_EVENTS, GA4_PAGES, GA4_TOTALS, GA4_TRAFFIC

DAILY_TABLES = (GA4_TRAFFIC, GA4_PAGES, GA4_EVENTS, GA4_TOTALS)

ga4_rows_every_day = build_row_count_check("raw_ga4", DAILY_TABLES, blocking=True)


@asset_check(asset="raw_ga4", name="ga4_data_quality", partitions_def=DAILY,
             description="GA4 responses were not thresholded, lost no rows to '(other)', were not sampled, "
             "and the property time zone matches PMKPI_TIMEZONE (WARN).")
def ga4_data_quality(context: AssetCheckExecutionContext, warehouse: WarehouseResource,
                     settings: RunSettings) -> AssetCheckResult:
    """WARN when GA4 flagged thresholding or (other)-row loss, or its time zone differs from ours."""
    start, end = partition_dates(context)
    with warehouse.connect() as con:
        flags = [(table.name, *con.execute(
            f"SELECT bool_or(subject_to_thresholding), bool_or(data_loss_from_other_row), bool_or(sampled), "
            f"string_agg(DISTINCT property_time_zone, ',') FROM {table.name} WHERE date BETWEEN ? AND ?",
            [start, end]).fetchone()) for table in DAILY_TABLES]
    problems = []
    for report, thresholded, other_row, sampled, zones in flags:
        if thresholded:
            problems.append(f"{report}: subject to thresholding (small counts withheld)")
        if other_row:
            problems.append(f"{report}: rows rolled into '(other)'")
        if sampled:
            problems.append(f"{report}: computed from a sample of the events")
        for zone in (zones or "").split(","):
            if zone and zone != settings.timezone:
                problems.append(f"{report}: property time zone {zone} ≠ PMKPI_TIMEZONE {settings.timezone}")
    return AssetCheckResult(passed=not problems, severity=AssetCheckSeverity.WARN,
                            metadata={"problems": MetadataValue.json(problems)},
                            description="; ".join(problems) or "no thresholding, no (other) row, time zone matches")
