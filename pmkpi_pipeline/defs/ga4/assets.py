"""``raw_ga4``: the four GA4 reports of a partition range, landed in one transaction.

One ``runReport`` per report per page covers the whole range (a ``date`` dimension), so a
year-long backfill is a handful of calls per report, not one per day.
"""

from dataclasses import dataclass

import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from ...lib.late_data import changed_rows, late_data_metadata, settled_before
from ...lib.settings import RunSettings
from ...lib.warehouse import WarehouseResource, WarehouseTable, replace_rows
from ..common.metadata import add_daily_row_counts, table_metadata
from ..common.partitions import DAILY, SINGLE_RUN, partition_dates
from .resource import GA4Resource
from .tables import GA4_EVENTS, GA4_PAGES, GA4_TOTALS, GA4_TRAFFIC

DIMENSION_COLUMNS = {"date": "date", "sessionDefaultChannelGroup": "channel", "pagePath": "page_path",
                     "eventName": "event_name"}


@dataclass(frozen=True)
class Ga4Report:
    """A GA4 report: its dimensions and metrics (API names) and the raw table it lands in."""

    name: str
    dimensions: tuple[str, ...]
    metrics: dict[str, str]  # API metric name → column name
    table: WarehouseTable

    @property
    def keys(self) -> list[str]:
        """The table's key columns besides ``date`` (one row per date and these)."""
        return [DIMENSION_COLUMNS[d] for d in self.dimensions if d != "date"]

    def land(self, result_frame: pd.DataFrame) -> pd.DataFrame:
        """Rename the API columns to the table's columns."""
        return result_frame.rename(columns={**self.metrics, **DIMENSION_COLUMNS})


REPORTS = (
    Ga4Report("traffic", ("date", "sessionDefaultChannelGroup"), {
        "sessions": "sessions", "engagedSessions": "engaged_sessions", "totalUsers": "total_users",
        "newUsers": "new_users", "screenPageViews": "screen_page_views",
        "averageSessionDuration": "average_session_duration",
        "userEngagementDuration": "user_engagement_duration", "keyEvents": "key_events",
    }, GA4_TRAFFIC),
    Ga4Report("pages", ("date", "pagePath"), {
        "screenPageViews": "screen_page_views", "totalUsers": "total_users",
        "userEngagementDuration": "user_engagement_duration",
    }, GA4_PAGES),
    Ga4Report("events", ("date", "eventName"), {
        "eventCount": "event_count", "totalUsers": "total_users",
    }, GA4_EVENTS),
    Ga4Report("totals", ("date",), {
        "totalUsers": "total_users", "newUsers": "new_users", "sessions": "sessions",
        "engagedSessions": "engaged_sessions", "screenPageViews": "screen_page_views",
    }, GA4_TOTALS),
)


@asset(
    partitions_def=DAILY,
    backfill_policy=SINGLE_RUN,
    pool="ga4_api",
    group_name="raw_ga4",
    tags={"layer": "raw", "source": "ga4"},
    kinds={"google_analytics", "duckdb"},
    metadata=table_metadata([r.table for r in REPORTS]),
    description="GA4 Data API reports (traffic by channel, pages, events, property totals) landed "
    "as received into raw_ga4_traffic / raw_ga4_pages / raw_ga4_events / raw_ga4_totals, with the "
    "property time zone and thresholding / (other)-row flags of each response. Numbers a re-pull "
    "changes are counted in the `changed_rows` metadata; changes to days older than the settling "
    "window are listed in `changed_settled_rows`.",
)
def raw_ga4(context: AssetExecutionContext, ga4: GA4Resource, warehouse: WarehouseResource, settings: RunSettings):
    """Fetch every GA4 report for the run's partition range and replace those partitions."""
    start, end = partition_dates(context)
    landed: dict[str, pd.DataFrame] = {}
    calls: dict[str, int] = {}
    flags: dict[str, object] = {"thresholded_reports": [], "other_row_loss_reports": [],
                                "sampled_reports": [], "time_zone": ""}
    for report in REPORTS:
        result = ga4.run_report(report.name, list(report.dimensions), list(report.metrics), start, end)
        frame = report.land(result.frame).assign(
            property_time_zone=result.time_zone,
            subject_to_thresholding=result.subject_to_thresholding,
            sampled=result.sampled,
            data_loss_from_other_row=result.data_loss_from_other_row,
        )
        landed[report.table.name] = frame
        calls[report.name] = result.calls
        flags["time_zone"] = result.time_zone
        for key, flagged in (("thresholded_reports", result.subject_to_thresholding),
                             ("other_row_loss_reports", result.data_loss_from_other_row),
                             ("sampled_reports", result.sampled)):
            if flagged:
                flags[key].append(report.name)
    settled = settled_before(ga4.settling_days, settings.timezone)
    context.log.info(f"raw_ga4 {start}..{end}: fetched {sum(len(f) for f in landed.values())} rows; "
                     "replacing the range in one transaction")
    with warehouse.transaction() as con:
        changes = {
            report.table.name: changed_rows(con, report.table, landed[report.table.name], start, end,
                                            keys=report.keys, values=list(report.metrics.values()),
                                            settled_before=settled)
            for report in REPORTS
        }
        counts = {
            report.table.name: replace_rows(con, report.table, landed[report.table.name], start, end,
                                            source=f"GA4 {report.name} report")
            for report in REPORTS
        }
        add_daily_row_counts(context, con, [r.table for r in REPORTS], start, end)
    context.log.info(f"raw_ga4 {start}..{end}: landed {counts} in {sum(calls.values())} runReport calls")
    return MaterializeResult(metadata={
        "partition_range": f"{start}..{end}",
        "rows": MetadataValue.json(counts),
        "run_report_calls": MetadataValue.json(calls),
        "property_time_zone": flags["time_zone"],
        "thresholded_reports": MetadataValue.json(flags["thresholded_reports"]),
        "other_row_loss_reports": MetadataValue.json(flags["other_row_loss_reports"]),
        "sampled_reports": MetadataValue.json(flags["sampled_reports"]),
        **late_data_metadata(context, "raw_ga4", changes, settled, ga4.settling_days),
    })
