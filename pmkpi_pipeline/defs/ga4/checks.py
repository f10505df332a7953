"""Checks on ``raw_ga4``: rows on every day (ERROR, blocks staging) and GA4's data-quality flags (WARN).

GA4 thresholding, "(other)"-row loss, sampling or a property time zone that differs from
``PMKPI_TIMEZONE`` are WARNs: the numbers landed, but read them with care.
"""

from dagster import AssetCheckExecutionContext, AssetCheckSeverity, AssetKey, MetadataValue, asset_check

from ...lib.settings import RunSettings
from ...lib.warehouse import WarehouseResource
from ..common.partitions import DAILY, days, partition_dates
from ..common.per_day import DayVerdict, check_outputs, daily_evaluations
from ..common.raw_checks import build_row_count_check
from .tables import GA4_EVENTS, GA4_PAGES, GA4_TOTALS, GA4_TRAFFIC

DAILY_TABLES = (GA4_TRAFFIC, GA4_PAGES, GA4_EVENTS, GA4_TOTALS)

ga4_rows_every_day = build_row_count_check("raw_ga4", DAILY_TABLES, blocking=True)


@asset_check(asset="raw_ga4", name="ga4_data_quality", partitions_def=DAILY,
             description="GA4 responses were not thresholded, lost no rows to '(other)', were not sampled, "
             "and the property time zone matches PMKPI_TIMEZONE (WARN).")
def ga4_data_quality(context: AssetCheckExecutionContext, warehouse: WarehouseResource, settings: RunSettings):
    """Per day: WARN when GA4 flagged thresholding, (other)-row loss or sampling, or its time zone differs."""
    start, end = partition_dates(context)
    problems: dict = {day: [] for day in days(start, end)}
    with warehouse.connect() as con:
        for table in DAILY_TABLES:
            for day, thresholded, other_row, sampled, zones in con.execute(
                    f"SELECT date, bool_or(subject_to_thresholding), bool_or(data_loss_from_other_row), "
                    f"bool_or(sampled), string_agg(DISTINCT property_time_zone, ',') FROM {table.name} "
                    "WHERE date BETWEEN ? AND ? GROUP BY date", [start, end]).fetchall():
                problems[day] += data_quality_problems(table.name, thresholded, other_row, sampled, zones,
                                                       settings.timezone)
    verdicts = [DayVerdict(day=day, passed=not found,
                           description="; ".join(found) or "no thresholding, no (other) row, time zone matches",
                           metadata={"problems": MetadataValue.json(found)})
                for day, found in problems.items()]
    yield from daily_evaluations(context, AssetKey("raw_ga4"), "ga4_data_quality", verdicts, AssetCheckSeverity.WARN)
    yield from check_outputs(context)


def data_quality_problems(report: str, thresholded: bool, other_row: bool, sampled: bool, zones: str | None,
                          timezone: str) -> list[str]:
    """What GA4 said about one report's rows of one day, in words."""
    problems = []
    if thresholded:
        problems.append(f"{report}: subject to thresholding (small counts withheld)")
    if other_row:
        problems.append(f"{report}: rows rolled into '(other)'")
    if sampled:
        problems.append(f"{report}: computed from a sample of the events")
    for zone in (zones or "").split(","):
        if zone and zone != timezone:
            problems.append(f"{report}: property time zone {zone} ≠ PMKPI_TIMEZONE {timezone}")
    return problems
