"""``raw_mailchimp``: campaigns, campaign reports, daily list activity and list members of a partition range.

Campaigns and reports are filtered by ``send_time`` on the server (``since_send_time`` /
``before_send_time``) and bucketed by their local send date; list activity is one row per list
per day; list members are dated by the local day they became leads (:mod:`.members`). Every call
asks only for the fields it uses. All four tables are replaced for the range in one transaction,
except the activity of days Mailchimp no longer serves (it keeps only the 180 days before today):
those keep what was landed while they were served, and ``landed_pulls`` records which pull each
day of each table comes from (:mod:`pmkpi_pipeline.lib.pull_ledger`). Every error names the
endpoint, the partition range and the field at fault.

Campaign kinds, the rule: a campaign counts once Mailchimp reports it ``sent``, whatever its type
(``regular``, ``plaintext``, ``variate`` A/B tests as one campaign with one report, ``rss`` items, resends
to non-openers), each with its own sends and report, on its own send date; RSS items and resends keep their
``parent_campaign_id``. A campaign still ``sending`` is not landed yet: the Mailchimp lookback of the daily
refresh lands it once it is sent. An RSS parent is never sent itself. A campaign whose audience was deleted
is landed with a NULL ``list_id`` and counts in the e-mail KPIs (its e-mails went out). The
``campaign_kinds`` metadata counts each kind of the range.
"""

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from ...lib.late_data import changed_rows, late_data_metadata, settled_before
from ...lib.pull_ledger import Pull, replace_served, served_span
from ...lib.settings import RunSettings
from ...lib.warehouse import WarehouseResource
from ..common.metadata import add_daily_row_counts, table_metadata
from ..common.own_work import timed_body
from ..common.partitions import DAILY, SINGLE_RUN, partition_dates
from .members import list_members
from .resource import MailchimpError, MailchimpResource
from .tables import MAILCHIMP_CAMPAIGNS, MAILCHIMP_LIST_ACTIVITY, MAILCHIMP_MEMBERS, MAILCHIMP_REPORTS

REPORT_FIELDS = {  # column → path in a /reports item
    "emails_sent": ("emails_sent",), "unique_opens": ("opens", "unique_opens"),
    "opens_total": ("opens", "opens_total"),
    "proxy_excluded_unique_opens": ("opens", "proxy_excluded_unique_opens"),
    "unique_subscriber_clicks": ("clicks", "unique_subscriber_clicks"),
    "clicks_total": ("clicks", "clicks_total"), "hard_bounces": ("bounces", "hard_bounces"),
    "soft_bounces": ("bounces", "soft_bounces"), "unsubscribed": ("unsubscribed",),
    "abuse_reports": ("abuse_reports",),
}
NO_CHANGES = {"changed": 0, "settled": 0, "examples": []}
MEMBER_DATES = ["timestamp_opt", "timestamp_signup"]  # what makes a member a lead on a day
ACTIVITY_FIELDS = ("emails_sent", "unique_opens", "recipient_clicks", "hard_bounce", "soft_bounce",
                   "subs", "unsubs", "other_adds", "other_removes")
TABLES = (MAILCHIMP_REPORTS, MAILCHIMP_CAMPAIGNS, MAILCHIMP_LIST_ACTIVITY, MAILCHIMP_MEMBERS)
OPTIONAL_COUNTS = {"proxy_excluded_unique_opens"}
# what each call asks for (``fields``): only what is landed or checked
CAMPAIGN_FIELDS = ["campaigns.id", "campaigns.type", "campaigns.status", "campaigns.send_time",
                   "campaigns.recipients.list_id", "campaigns.settings.title", "campaigns.parent_campaign_id",
                   "total_items"]
REPORT_API_FIELDS = ["reports.id", "reports.list_id", "reports.send_time",
                     *(f"reports.{'.'.join(path)}" for path in REPORT_FIELDS.values()), "total_items"]
LIST_FIELDS = ["lists.id", "total_items"]
ACTIVITY_API_FIELDS = ["activity.day", *(f"activity.{name}" for name in ACTIVITY_FIELDS), "total_items"]


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
    """``campaign_id``, ``list_id``, ``send_time`` (naive UTC) and local ``send_date`` of each item.

    ``list_id`` is NULL for a campaign whose audience was deleted (Mailchimp then sends ``""``).
    """
    records = []
    for item in items:
        key = item.get("id", "?")
        audience = item if "list_id" in item else item.get("recipients")
        if not isinstance(audience, dict) or "list_id" not in audience:
            raise MailchimpError(endpoint, f"item {key} lacks this field", partitions=partitions,
                                 field="list_id")
        list_id = audience["list_id"] or None
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


def campaign_kinds(campaigns: pd.DataFrame) -> dict[str, int]:
    """How many campaigns of the range are of each type, children (RSS items, resends) and without audience."""
    kinds = {str(kind): int(n) for kind, n in campaigns["type"].value_counts().sort_index().items()}
    kinds["children"] = int(campaigns["parent_campaign_id"].notna().sum())
    kinds["without_audience"] = int(campaigns["list_id"].isna().sum())
    return kinds


def _activity(mailchimp: MailchimpResource, list_ids: list[str], start: date, end: date,
              partitions: str) -> tuple[pd.DataFrame, tuple[date, date] | None]:
    """One row per list and day of ``start..end`` from ``/lists/{id}/activity``, and the span of days Mailchimp
    served (from the oldest to the newest day any list reported; None when none did: all beyond its horizon)."""
    rows, served = [], []
    for list_id in list_ids:
        endpoint = f"/lists/{list_id}/activity"
        fetch = functools.partial(mailchimp.client.lists.get_list_recent_activity, list_id,
                                  fields=ACTIVITY_API_FIELDS)
        for day in mailchimp.paged(endpoint, "activity", fetch, partitions, key="day"):
            parsed = pd.to_datetime(day.get("day"), errors="coerce", format="%Y-%m-%d")
            if pd.isna(parsed):
                raise MailchimpError(endpoint, f"value {day.get('day')!r} is not a date",
                                     partitions=partitions, field="day")
            served.append(parsed.date())
            if start <= parsed.date() <= end:
                rows.append({"date": parsed.date(), "list_id": list_id, **{
                    f: _field(day, (f,), endpoint, str(parsed.date()), partitions) for f in ACTIVITY_FIELDS}})
    frame = pd.DataFrame(rows, columns=["date", "list_id", *ACTIVITY_FIELDS])
    return frame, (min(served), max(served)) if served else None


@asset(
    partitions_def=DAILY,
    backfill_policy=SINGLE_RUN,
    pool="mailchimp_api",
    group_name="raw_mailchimp",
    tags={"layer": "raw", "source": "mailchimp"},
    kinds={"mailchimp", "duckdb"},
    metadata=table_metadata(TABLES),
    description="Mailchimp campaigns, campaign reports (sends, unique opens incl. the Apple-MPP "
    "excluded count, unique subscriber clicks, bounces, unsubscribes, abuse), daily list "
    "activity and list members (the leads, by the local day of their opt-in or sign-up), landed as "
    "received into raw_mailchimp_campaigns / raw_mailchimp_reports / raw_mailchimp_list_activity / "
    "raw_mailchimp_members. Activity of days Mailchimp no longer serves (older than 180 days) keeps "
    "what was landed; `landed_pulls` records which pull each day comes from. Numbers a re-pull "
    "changes are counted in the `changed_rows` metadata; changes to campaigns sent before the "
    "settling window are listed in `changed_settled_rows`.",
)
@timed_body
def raw_mailchimp(context: AssetExecutionContext, mailchimp: MailchimpResource,
                  warehouse: WarehouseResource, settings: RunSettings):
    """Fetch campaigns, reports, list activity and members for the run's range and replace those partitions
    (keeping activity Mailchimp no longer serves)."""
    start, end = partition_dates(context)
    partitions = f"{start}..{end}"
    tz = settings.timezone
    since, before = _utc_bounds(start, end, tz)
    client = mailchimp.client
    campaigns = mailchimp.paged("/campaigns", "campaigns", lambda **page: client.campaigns.list(
        status="sent", since_send_time=since, before_send_time=before, fields=CAMPAIGN_FIELDS, **page), partitions)
    reports = mailchimp.paged("/reports", "reports", lambda **page: client.reports.get_all_campaign_reports(
        since_send_time=since, before_send_time=before, fields=REPORT_API_FIELDS, **page), partitions)
    lists = mailchimp.paged("/lists", "lists", lambda **page: client.lists.get_all_lists(
        fields=LIST_FIELDS, **page), partitions)
    list_ids = [lst.get("id") for lst in lists]

    campaign_frame = _send_times(campaigns, "/campaigns", tz, partitions)
    campaign_frame["type"] = [c.get("type") for c in campaigns]
    campaign_frame["title"] = [(c.get("settings") or {}).get("title") for c in campaigns]
    campaign_frame["status"] = [c.get("status") for c in campaigns]
    campaign_frame["parent_campaign_id"] = [c.get("parent_campaign_id") or None for c in campaigns]

    report_frame = _send_times(reports, "/reports", tz, partitions)
    for column, path in REPORT_FIELDS.items():
        report_frame[column] = [_field(r, path, "/reports", r.get("id", "?"), partitions) for r in reports]
    activity, activity_served = _activity(mailchimp, list_ids, start, end, partitions)
    members, undated = list_members(mailchimp, list_ids, start, end, tz, partitions)

    settled = settled_before(mailchimp.settling_days, tz)
    span = served_span(start, end, activity_served)
    kept = (end - start).days + 1 - ((span[1] - span[0]).days + 1 if span else 0)
    context.log.info(f"raw_mailchimp {partitions}: fetched {len(campaign_frame)} campaigns, {len(report_frame)} "
                     f"reports, {len(activity)} activity rows, {len(members)} members; replacing the range in "
                     "one transaction" + (f" (keeping {kept} day(s) of activity Mailchimp no longer serves)"
                                          if kept else ""))
    pull = Pull(context.run.run_id, datetime.now(UTC).replace(tzinfo=None))
    full = (start, end)
    with warehouse.transaction() as con:
        changes = {
            MAILCHIMP_REPORTS.name: changed_rows(con, MAILCHIMP_REPORTS, report_frame, start, end,
                                                 keys=["campaign_id"], values=list(REPORT_FIELDS),
                                                 settled_before=settled),
            MAILCHIMP_LIST_ACTIVITY.name: changed_rows(con, MAILCHIMP_LIST_ACTIVITY, activity, *span,
                                                       keys=["list_id"], values=list(ACTIVITY_FIELDS),
                                                       settled_before=settled) if span else NO_CHANGES,
            MAILCHIMP_MEMBERS.name: changed_rows(con, MAILCHIMP_MEMBERS, members, start, end,
                                                 keys=["list_id", "member_id"], values=MEMBER_DATES,
                                                 settled_before=settled),
        }
        counts = {
            MAILCHIMP_CAMPAIGNS.name: replace_served(con, MAILCHIMP_CAMPAIGNS, campaign_frame, start, end, full, pull),
            MAILCHIMP_REPORTS.name: replace_served(con, MAILCHIMP_REPORTS, report_frame, start, end, full, pull),
            MAILCHIMP_LIST_ACTIVITY.name: replace_served(con, MAILCHIMP_LIST_ACTIVITY, activity, start, end,
                                                         activity_served, pull),
            MAILCHIMP_MEMBERS.name: replace_served(con, MAILCHIMP_MEMBERS, members, start, end, full, pull),
        }
        add_daily_row_counts(context, con, TABLES, start, end)
    context.log.info(f"raw_mailchimp {start}..{end}: landed {counts} from {len(lists)} list(s)")
    return MaterializeResult(metadata={
        "partition_range": partitions,
        "rows": MetadataValue.json(counts),
        "lists": len(lists),
        "mpp_excluded_unique_opens": int(report_frame["proxy_excluded_unique_opens"].sum())
        if len(report_frame) else 0,
        "activity_served": f"{span[0]}..{span[1]}" if span else "none (older than Mailchimp's 180-day horizon)",
        "activity_days_kept": MetadataValue.int(kept),
        "undated_members": MetadataValue.int(undated),
        "campaign_kinds": MetadataValue.json(campaign_kinds(campaign_frame)),
        **late_data_metadata(context, "raw_mailchimp", changes, settled, mailchimp.settling_days),
    })
