"""``raw_mailchimp``: campaigns, campaign reports and daily list activity of a partition range.

Campaigns and reports are filtered by ``send_time`` on the server (``since_send_time`` /
``before_send_time``) and bucketed by their local send date; list activity is one row per list
per day. All three tables are replaced for the range in one transaction. Every error names the
endpoint, the partition range and the field at fault.
"""

import functools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from ...lib.late_data import changed_rows, late_data_metadata, settled_before
from ...lib.settings import RunSettings
from ...lib.warehouse import WarehouseResource, replace_rows
from ..common.metadata import add_daily_row_counts, table_metadata
from ..common.partitions import DAILY, SINGLE_RUN, partition_dates
from .resource import MailchimpError, MailchimpResource
from .tables import MAILCHIMP_CAMPAIGNS, MAILCHIMP_LIST_ACTIVITY, MAILCHIMP_REPORTS

REPORT_FIELDS = {  # column → path in a /reports item
    "emails_sent": ("emails_sent",), "unique_opens": ("opens", "unique_opens"),
    "opens_total": ("opens", "opens_total"),
    "proxy_excluded_unique_opens": ("opens", "proxy_excluded_unique_opens"),
    "unique_subscriber_clicks": ("clicks", "unique_subscriber_clicks"),
    "clicks_total": ("clicks", "clicks_total"), "hard_bounces": ("bounces", "hard_bounces"),
    "soft_bounces": ("bounces", "soft_bounces"), "unsubscribed": ("unsubscribed",),
    "abuse_reports": ("abuse_reports",),
}
ACTIVITY_FIELDS = ("emails_sent", "unique_opens", "recipient_clicks", "hard_bounce", "soft_bounce",
                   "subs", "unsubs", "other_adds", "other_removes")
TABLES = (MAILCHIMP_REPORTS, MAILCHIMP_CAMPAIGNS, MAILCHIMP_LIST_ACTIVITY)
OPTIONAL_COUNTS = {"proxy_excluded_unique_opens"}


def _field(item: dict, path: tuple[str, ...], endpoint: str, key: str, partitions: str,
           integer: bool = True):
    """``item``'s value at ``path``; a missing field or a value that is not a count fails, naming it."""
    value: object = item
    for part in path:
        if not isinstance(value, dict) or part not in value:
            if path[-1] in OPTIONAL_COUNTS:
                return 0
            raise MailchimpError(endpoint, f"item {key} lacks this field", partitions=partitions,
                                 field=".".join(path))
        value = value[part]
    if integer and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise MailchimpError(endpoint, f"item {key} has {value!r}, not a count", partitions=partitions,
                             field=".".join(path))
    return value


def _utc_bounds(start: date, end: date, tz: str) -> tuple[str, str]:
    zone = ZoneInfo(tz)
    lo = datetime.combine(start, time(), zone).astimezone(ZoneInfo("UTC"))
    hi = datetime.combine(end + timedelta(days=1), time(), zone).astimezone(ZoneInfo("UTC"))
    return lo.isoformat(), hi.isoformat()


def _send_times(items: list[dict], endpoint: str, tz: str, partitions: str) -> pd.DataFrame:
    """``campaign_id``, ``list_id``, ``send_time`` (naive UTC) and local ``send_date`` of each item."""
    records = []
    for item in items:
        key = item.get("id", "?")
        list_id = item.get("list_id") or (item.get("recipients") or {}).get("list_id")
        if not list_id:
            raise MailchimpError(endpoint, f"item {key} lacks this field", partitions=partitions,
                                 field="list_id")
        sent = pd.to_datetime(_field(item, ("send_time",), endpoint, key, partitions, integer=False),
                              utc=True, errors="coerce")
        if pd.isna(sent):
            raise MailchimpError(endpoint, f"item {key} has a value that is not a timestamp",
                                 partitions=partitions, field="send_time")
        records.append({"campaign_id": key, "list_id": list_id, "send_time": sent})
    frame = pd.DataFrame(records, columns=["campaign_id", "list_id", "send_time"])
    local = pd.to_datetime(frame["send_time"], utc=True).dt.tz_convert(tz)
    frame["send_date"] = local.dt.date
    frame["send_time"] = pd.to_datetime(frame["send_time"], utc=True).dt.tz_localize(None)
    return frame


def _activity(mailchimp: MailchimpResource, lists: list[dict], start: date, end: date,
              partitions: str) -> pd.DataFrame:
    """One row per list and day of ``start..end`` from ``/lists/{id}/activity``."""
    rows = []
    for lst in lists:
        list_id = lst.get("id")
        endpoint = f"/lists/{list_id}/activity"
        fetch = functools.partial(mailchimp.client.lists.get_list_recent_activity, list_id)
        for day in mailchimp.paged(endpoint, "activity", fetch, partitions, key="day"):
            parsed = pd.to_datetime(day.get("day"), errors="coerce", format="%Y-%m-%d")
            if pd.isna(parsed):
                raise MailchimpError(endpoint, f"value {day.get('day')!r} is not a date",
                                     partitions=partitions, field="day")
            if start <= parsed.date() <= end:
                rows.append({"date": parsed.date(), "list_id": list_id, **{
                    f: _field(day, (f,), endpoint, str(parsed.date()), partitions) for f in ACTIVITY_FIELDS}})
    return pd.DataFrame(rows, columns=["date", "list_id", *ACTIVITY_FIELDS])


@asset(
    partitions_def=DAILY,
    backfill_policy=SINGLE_RUN,
    pool="mailchimp_api",
    group_name="raw_mailchimp",
    tags={"layer": "raw", "source": "mailchimp"},
    kinds={"mailchimp", "duckdb"},
    metadata=table_metadata(TABLES),
    description="Mailchimp campaigns, campaign reports (sends, unique opens incl. the Apple-MPP "
    "excluded count, unique subscriber clicks, bounces, unsubscribes, abuse) and daily list "
    "activity, landed as received into raw_mailchimp_campaigns / raw_mailchimp_reports / "
    "raw_mailchimp_list_activity. Numbers a re-pull changes are counted in the `changed_rows` "
    "metadata; changes to campaigns sent before the settling window are listed in "
    "`changed_settled_rows`.",
)
def raw_mailchimp(context: AssetExecutionContext, mailchimp: MailchimpResource,
                  warehouse: WarehouseResource, settings: RunSettings):
    """Fetch campaigns, reports and list activity for the run's range and replace those partitions."""
    start, end = partition_dates(context)
    partitions = f"{start}..{end}"
    tz = settings.timezone
    since, before = _utc_bounds(start, end, tz)
    client = mailchimp.client
    campaigns = mailchimp.paged("/campaigns", "campaigns", lambda **page: client.campaigns.list(
        status="sent", since_send_time=since, before_send_time=before, **page), partitions)
    reports = mailchimp.paged("/reports", "reports", lambda **page: client.reports.get_all_campaign_reports(
        since_send_time=since, before_send_time=before, **page), partitions)
    lists = mailchimp.paged("/lists", "lists", lambda **page: client.lists.get_all_lists(**page), partitions)

    campaign_frame = _send_times(campaigns, "/campaigns", tz, partitions)
    campaign_frame["type"] = [c.get("type") for c in campaigns]
    campaign_frame["title"] = [(c.get("settings") or {}).get("title") for c in campaigns]
    campaign_frame["status"] = [c.get("status") for c in campaigns]

    report_frame = _send_times(reports, "/reports", tz, partitions)
    for column, path in REPORT_FIELDS.items():
        report_frame[column] = [_field(r, path, "/reports", r.get("id", "?"), partitions) for r in reports]
    activity = _activity(mailchimp, lists, start, end, partitions)

    settled = settled_before(mailchimp.settling_days, tz)
    context.log.info(f"raw_mailchimp {partitions}: fetched {len(campaign_frame)} campaigns, {len(report_frame)} "
                     f"reports, {len(activity)} activity rows; replacing the range in one transaction")
    with warehouse.transaction() as con:
        changes = {
            MAILCHIMP_REPORTS.name: changed_rows(con, MAILCHIMP_REPORTS, report_frame, start, end,
                                                 keys=["campaign_id"], values=list(REPORT_FIELDS),
                                                 settled_before=settled),
            MAILCHIMP_LIST_ACTIVITY.name: changed_rows(con, MAILCHIMP_LIST_ACTIVITY, activity, start, end,
                                                       keys=["list_id"], values=list(ACTIVITY_FIELDS),
                                                       settled_before=settled),
        }
        counts = {
            MAILCHIMP_CAMPAIGNS.name: replace_rows(con, MAILCHIMP_CAMPAIGNS, campaign_frame, start, end),
            MAILCHIMP_REPORTS.name: replace_rows(con, MAILCHIMP_REPORTS, report_frame, start, end),
            MAILCHIMP_LIST_ACTIVITY.name: replace_rows(con, MAILCHIMP_LIST_ACTIVITY, activity, start, end),
        }
        add_daily_row_counts(context, con, TABLES, start, end)
    context.log.info(f"raw_mailchimp {start}..{end}: landed {counts} from {len(lists)} list(s)")
    return MaterializeResult(metadata={
        "partition_range": partitions,
        "rows": MetadataValue.json(counts),
        "lists": len(lists),
        "mpp_excluded_unique_opens": int(report_frame["proxy_excluded_unique_opens"].sum())
        if len(report_frame) else 0,
        **late_data_metadata(context, "raw_mailchimp", changes, settled, mailchimp.settling_days),
    })
