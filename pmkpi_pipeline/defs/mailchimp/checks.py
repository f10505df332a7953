"""Checks on ``raw_mailchimp``: list activity on every day, and the leads reconciled with the activity (WARNs).

Leads come from list members (KPI_SPEC "Leads"), which Mailchimp serves for all history; its list
activity covers only the 180 days before today, so it is a reconciliation: on each day whose
activity was served, and had settled when it was pulled, the activity's ``subs + other_adds`` of a
list must equal that list's members who opted in that day. Sign-ups never confirmed (no
``timestamp_opt``) are leads but not in the activity, so they are reported beside it, not compared.
"""

from datetime import UTC

from dagster import AssetCheckExecutionContext, AssetCheckSeverity, AssetKey, MetadataValue, asset_check

from ...lib.late_data import settled_before
from ...lib.pull_ledger import served_pulls
from ...lib.settings import RunSettings
from ...lib.warehouse import WarehouseResource, ensure_table
from ..common.own_work import timed_body
from ..common.partitions import DAILY, days, partition_dates
from ..common.per_day import DayVerdict, check_outputs, daily_evaluations
from ..common.raw_checks import build_row_count_check
from .resource import MailchimpResource
from .tables import MAILCHIMP_LIST_ACTIVITY, MAILCHIMP_MEMBERS

mailchimp_rows_every_day = build_row_count_check("raw_mailchimp", (MAILCHIMP_LIST_ACTIVITY,))

_PER_LIST_DAY = f"""
    WITH activity AS (
        SELECT date, list_id, sum(subs + other_adds) AS adds FROM {MAILCHIMP_LIST_ACTIVITY.name}
        WHERE date BETWEEN $start AND $end GROUP BY ALL),
    members AS (
        SELECT date, list_id, count(*) FILTER (WHERE timestamp_opt IS NOT NULL) AS opt_ins,
               count(*) FILTER (WHERE timestamp_opt IS NULL) AS unconfirmed
        FROM {MAILCHIMP_MEMBERS.name} WHERE date BETWEEN $start AND $end GROUP BY ALL)
    SELECT date, list_id, coalesce(adds, 0), coalesce(opt_ins, 0), coalesce(unconfirmed, 0)
    FROM activity FULL OUTER JOIN members USING (date, list_id)"""


@asset_check(asset="raw_mailchimp", name="leads_match_activity", partitions_def=DAILY,
             description="On days whose list activity Mailchimp served (the 180 days before the pull) and that had "
             "settled when pulled, each list's members who opted in that day equal the activity's subs + other_adds "
             "(WARN).")
@timed_body
def leads_match_activity(context: AssetCheckExecutionContext, warehouse: WarehouseResource,
                         mailchimp: MailchimpResource, settings: RunSettings):
    """Per day: WARN when a list's opted-in members and its activity's ``subs + other_adds`` differ."""
    start, end = partition_dates(context)
    with warehouse.connect() as con:
        for table in (MAILCHIMP_LIST_ACTIVITY, MAILCHIMP_MEMBERS):
            ensure_table(con, table)
        pulled = served_pulls(con, MAILCHIMP_LIST_ACTIVITY.name, start, end)
        counts = con.execute(_PER_LIST_DAY, {"start": start, "end": end}).fetchall()
    by_day: dict = {day: {} for day in days(start, end)}
    for day, list_id, adds, opt_ins, unconfirmed in counts:
        by_day[day][list_id] = (adds, opt_ins, unconfirmed)
    verdicts = []
    for day, lists in by_day.items():
        numbers = {"activity_adds": sum(n[0] for n in lists.values()), "opt_ins": sum(n[1] for n in lists.values()),
                   "unconfirmed_signups": sum(n[2] for n in lists.values())}
        when = pulled.get(day)
        if when is None:
            verdicts.append(DayVerdict(day, True, f"not compared: Mailchimp did not serve the activity of {day} (older "
                                       "than its 180-day horizon when pulled, or never pulled)", _metadata(numbers)))
            continue
        if day >= settled_before(mailchimp.settling_days, settings.timezone, now=when.replace(tzinfo=UTC)):
            verdicts.append(DayVerdict(day, True, f"not compared: the activity of {day} had not settled when pulled "
                                       f"({when:%Y-%m-%d %H:%M} UTC)", _metadata(numbers)))
            continue
        differ = {list_id: {"activity_adds": n[0], "opt_ins": n[1]} for list_id, n in lists.items() if n[0] != n[1]}
        verdicts.append(DayVerdict(
            day, not differ,
            f"{len(differ)} list(s) whose opted-in members differ from the activity's subs + other_adds on {day}"
            if differ else f"opted-in members match the activity on {day}",
            {**_metadata(numbers), "differences": MetadataValue.json(differ)}))
    context.log.info(f"raw_mailchimp leads_match_activity {start}..{end}: "
                     f"{sum(not v.passed for v in verdicts)} day(s) differ")
    yield from daily_evaluations(context, AssetKey("raw_mailchimp"), "leads_match_activity", verdicts,
                                 AssetCheckSeverity.WARN)
    yield from check_outputs(context)


def _metadata(numbers: dict) -> dict:
    return {name: MetadataValue.int(int(value)) for name, value in numbers.items()}
