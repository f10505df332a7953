"""Jobs (one per layer, one for everything, one for the checks alone) and their schedules.

Every job covers a range of daily partitions in ONE run (the assets' single-run backfill policy);
schedules express the range with Dagster's partition-range run tags.
"""

from __future__ import annotations

from datetime import datetime

from dagster import (
    AssetKey, AssetSelection, DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, SkipReason,
    define_asset_job, schedule,
)

from ... import settings
from ...kpis.catalog import FAMILY_UPSTREAMS
from ...partitions import DAILY

SCHEDULE_LOOKBACK_DAYS = settings.ga4_lookback_days()
"""Days before yesterday that the daily refresh re-lands everything: GA4 numbers settle for ~72 hours."""
MAILCHIMP_LOOKBACK_DAYS = settings.mailchimp_lookback_days()
"""Days before yesterday whose Mailchimp reports (late opens and clicks) the refresh re-pulls."""
MAILCHIMP_CHAIN = [AssetKey("raw_mailchimp"), AssetKey("stg_mailchimp"), *(
    AssetKey(f"kpi_{family}") for family, upstreams in FAMILY_UPSTREAMS.items() if "stg_mailchimp" in upstreams)]
"""raw_mailchimp and every asset computed from it."""
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
RAW_GROUPS = ("raw_ga4", "raw_mailchimp", "raw_billing", "raw_inputs")

everything_job = define_asset_job(
    "pmkpi_all", selection=AssetSelection.all(include_sources=False),
    description="Every raw, staging and KPI asset with their checks, for the selected partitions.",
)
raw_job = define_asset_job(
    "pmkpi_raw", selection=AssetSelection.groups(*RAW_GROUPS),
    description="Raw layer: pull every source for the selected partitions (with the raw checks).",
)
staging_job = define_asset_job(
    "pmkpi_staging", selection=AssetSelection.groups("staging"),
    description="Staging layer: refresh the typed views and validate the selected partitions "
    "(reads what the raw layer already holds).",
)
kpi_job = define_asset_job(
    "pmkpi_kpis", selection=AssetSelection.groups("kpis"),
    description="KPI layer: compute the KPI families (with their checks) from the staging views.",
)
checks_job = define_asset_job(
    "pmkpi_checks", selection=AssetSelection.all_asset_checks(),
    description="Every asset check, without materialising anything: re-evaluates what the warehouse "
    "holds for the selected partitions (raw rows every day, GA4 quality, KPI bounds/anomaly/target).",
)
JOBS = [everything_job, raw_job, staging_job, kpi_job, checks_job]


def lookback_window(scheduled: datetime, lookback_days: int = SCHEDULE_LOOKBACK_DAYS) -> list[str]:
    """Partition keys of yesterday (the last complete day at ``scheduled``) and the days before it."""
    keys = DAILY.get_partition_keys(current_time=scheduled)
    return keys[-lookback_days - 1:]


def range_run_request(keys: list[str], run_key: str) -> RunRequest:
    """One run over the partitions ``keys[0]..keys[-1]``."""
    return RunRequest(run_key=run_key, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})


@schedule(job=everything_job, cron_schedule="0 6 * * *", execution_timezone=settings.timezone(),
          default_status=DefaultScheduleStatus.STOPPED)
def daily_refresh(context: ScheduleEvaluationContext):
    """06:00: everything over yesterday plus the GA4 lookback (3 days: numbers settle for ~72 h), and
    Mailchimp with what it feeds over the older days of its lookback (7 days: late opens and clicks)."""
    window = lookback_window(context.scheduled_execution_time)
    if not window:
        return SkipReason("no complete daily partition yet (PMKPI_START_DATE is today or later)")
    requests = [range_run_request(window, run_key=window[-1])]
    mailchimp_only = lookback_window(context.scheduled_execution_time, MAILCHIMP_LOOKBACK_DAYS)[:-len(window)]
    if mailchimp_only:  # older days whose campaign reports still move: Mailchimp and what it feeds
        request = range_run_request(mailchimp_only, run_key=f"mailchimp-{window[-1]}")
        requests.append(request._replace(asset_selection=MAILCHIMP_CHAIN))
    return requests


@schedule(job=checks_job, cron_schedule="0 9 * * *", execution_timezone=settings.timezone(),
          default_status=DefaultScheduleStatus.STOPPED)
def daily_checks(context: ScheduleEvaluationContext):
    """09:00: every check again over the refresh's window, as a watchdog independent of the refresh.

    If the 06:00 refresh did not land yesterday (schedule off, run failed, source late), the
    ``rows_every_day`` checks fail here, and the alert sensors report it.
    """
    window = lookback_window(context.scheduled_execution_time)
    if not window:
        return SkipReason("no complete daily partition yet (PMKPI_START_DATE is today or later)")
    return range_run_request(window, run_key=f"checks-{window[-1]}")


SCHEDULES = [daily_refresh, daily_checks]
