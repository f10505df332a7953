"""``raw_ga4``: the four GA4 reports of a partition range, landed in one transaction.

One ``runReport`` per report per page covers the whole range (a ``date`` dimension), so a
year-long backfill is a handful of calls per report, not one per day. Every day of the range is
recorded in ``raw_ga4_days`` with its rows per report, also a day GA4 had no rows for; rows GA4 dated
``(other)`` go to ``raw_ga4_other_dates``; the property quota GA4 reports left is in the metadata.
"""

import json
from dataclasses import dataclass

import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from ...lib.late_data import changed_rows, late_data_metadata, settled_before
from ...lib.settings import RunSettings
from ...lib.warehouse import WarehouseResource, WarehouseTable, append_rows, ensure_table, replace_rows
from ..common.metadata import add_daily_row_counts, table_metadata
from ..common.own_work import timed_body
from ..common.partitions import DAILY, SINGLE_RUN, days, partition_dates
from .resource import OTHER, GA4Resource, ReportResult
from .tables import GA4_DAYS, GA4_EVENTS, GA4_OTHER_DATES, GA4_PAGES, GA4_TOTALS, GA4_TRAFFIC

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
    metadata=table_metadata([*(r.table for r in REPORTS), GA4_DAYS, GA4_OTHER_DATES]),
    description="GA4 Data API reports (traffic by channel, pages, events, property totals) landed "
    "as received into raw_ga4_traffic / raw_ga4_pages / raw_ga4_events / raw_ga4_totals, with the "
    "property time zone and thresholding / (other)-row flags of each response; every day pulled, with "
    "its rows per report, in raw_ga4_days (a day GA4 had no rows for too); rows GA4 dated '(other)' in "
    "raw_ga4_other_dates. Numbers a re-pull changes are counted in the `changed_rows` metadata; changes "
    "to days older than the settling window are listed in `changed_settled_rows`; `ga4_property_quota` is "
    "what GA4 said was left of each property quota after the last call.",
)
@timed_body
def raw_ga4(context: AssetExecutionContext, ga4: GA4Resource, warehouse: WarehouseResource, settings: RunSettings):
    """Fetch every GA4 report for the run's partition range and replace those partitions."""
    start, end = partition_dates(context)
    landed: dict[str, pd.DataFrame] = {}
    results: dict[str, ReportResult] = {}
    for report in REPORTS:
        result = ga4.run_report(report.name, list(report.dimensions), list(report.metrics), start, end)
        results[report.name] = result
        landed[report.table.name] = report.land(result.frame).assign(
            property_time_zone=result.time_zone,
            subject_to_thresholding=result.subject_to_thresholding,
            sampled=result.sampled,
            data_loss_from_other_row=result.data_loss_from_other_row,
        )
    pulled = pulled_days(results, start, end)
    undated = other_dates(results, start, end)
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
        replace_rows(con, GA4_DAYS, pulled, start, end, source="GA4 days pulled")
        replace_other_dates(con, undated, start, end)
        add_daily_row_counts(context, con, [r.table for r in REPORTS], start, end)
    calls = {name: result.calls for name, result in results.items()}
    context.log.info(f"raw_ga4 {start}..{end}: landed {counts} in {sum(calls.values())} runReport calls")
    flagged = {key: [name for name, result in results.items() if getattr(result, attribute)]
               for key, attribute in (("thresholded_reports", "subject_to_thresholding"),
                                      ("other_row_loss_reports", "data_loss_from_other_row"),
                                      ("sampled_reports", "sampled"))}
    return MaterializeResult(metadata={
        "partition_range": f"{start}..{end}",
        "rows": MetadataValue.json(counts),
        "run_report_calls": MetadataValue.json(calls),
        "property_time_zone": results[REPORTS[-1].name].time_zone,
        **{key: MetadataValue.json(names) for key, names in flagged.items()},
        "days_without_rows": MetadataValue.json([str(d) for d in pulled.loc[_no_rows(pulled), "date"]]),
        "other_rows": MetadataValue.json(other_row_counts(landed, undated)),
        "ga4_property_quota": MetadataValue.json(property_quota(results)),
        **late_data_metadata(context, "raw_ga4", changes, settled, ga4.settling_days),
    })


ROW_COLUMNS = {"traffic": "traffic_rows", "pages": "pages_rows", "events": "events_rows", "totals": "totals_rows"}


def pulled_days(results: dict[str, ReportResult], start, end) -> pd.DataFrame:
    """One row per day of the range: GA4's time zone and the rows each report had that day (0 without any)."""
    frame = pd.DataFrame({"date": days(start, end)})
    for name, column in ROW_COLUMNS.items():
        per_day = results[name].frame.groupby("date").size() if len(results[name].frame) else pd.Series(dtype=int)
        frame[column] = frame["date"].map(per_day).fillna(0).astype(int)
    return frame.assign(property_time_zone=results["totals"].time_zone)


def _no_rows(pulled: pd.DataFrame) -> pd.Series:
    return pulled[list(ROW_COLUMNS.values())].sum(axis=1) == 0


def other_dates(results: dict[str, ReportResult], start, end) -> pd.DataFrame:
    """The rows GA4 dated ``(other)``, one per report row, dimensions and metrics as JSON."""
    rows = []
    for report in REPORTS:
        result = results[report.name]
        for record in result.other_dates.to_dict("records"):
            rows.append({"range_start": start, "range_end": end, "report": report.name,
                         "dimensions": json.dumps({d: record[d] for d in report.dimensions}),
                         "metrics": json.dumps({m: float(record[m]) for m in report.metrics}),
                         "property_time_zone": result.time_zone})
    return pd.DataFrame(rows, columns=list(GA4_OTHER_DATES.columns))


def replace_other_dates(con, undated: pd.DataFrame, start, end) -> None:
    """Replace the ``(other)``-dated rows of every earlier pull whose range overlaps ``start..end``. The
    table is only created once GA4 sent such a row."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                         [GA4_OTHER_DATES.name]).fetchone()[0]
    if undated.empty and not exists:
        return
    ensure_table(con, GA4_OTHER_DATES)
    con.execute(f"DELETE FROM {GA4_OTHER_DATES.name} WHERE range_start <= ? AND range_end >= ?", [end, start])
    append_rows(con, GA4_OTHER_DATES, undated)


def other_row_counts(landed: dict[str, pd.DataFrame], undated: pd.DataFrame) -> dict[str, int]:
    """Rows of each report GA4 folded into ``(other)``: dated ones per table, and those dated ``(other)``."""
    counts = {}
    for report in REPORTS:
        frame = landed[report.table.name]
        if report.keys and len(frame):
            counts[report.table.name] = int((frame[report.keys] == OTHER).any(axis=1).sum())
    counts["dated (other)"] = len(undated)
    return counts


def property_quota(results: dict[str, ReportResult]) -> dict[str, dict[str, int]]:
    """Each property quota after the run's last call: what remained, and what the run's calls consumed."""
    quota: dict[str, dict[str, int]] = {}
    for result in results.values():
        for name, status in result.property_quota.items():
            consumed = quota.get(name, {}).get("consumed_by_run", 0) + status["consumed"]
            quota[name] = {"remaining": status["remaining"], "consumed_by_run": consumed}
    return quota
