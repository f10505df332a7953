"""The schedules: the daily refresh and the checks watchdog.

Each run covers a range of daily partitions (the assets' single-run backfill policy), expressed
with Dagster's partition-range run tags.
"""

from __future__ import annotations

from datetime import datetime

from dagster import AssetKey, DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, SkipReason, schedule

from ..common.partitions import DAILY, SHAPING_SETTINGS
from ..kpis.catalog import FAMILY_UPSTREAMS

_settings = SHAPING_SETTINGS  # the schedules' time zone and lookbacks shape the definitions
SCHEDULE_LOOKBACK_DAYS = _settings.ga4_lookback_days
"""Days before yesterday that the daily refresh re-lands everything: GA4 numbers settle for ~72 hours."""
MAILCHIMP_LOOKBACK_DAYS = _settings.mailchimp_lookback_days
"""Days before yesterday whose Mailchimp reports (late opens and clicks) the refresh re-pulls."""
MAILCHIMP_CHAIN = [AssetKey("raw_mailchimp"), AssetKey("stg_mailchimp"), *(
    AssetKey(f"kpi_{family}") for family, upstreams in FAMILY_UPSTREAMS.items() if "stg_mailchimp" in upstreams),
    AssetKey("kpi_dashboard")]
"""raw_mailchimp and every asset computed from it (the dashboard shows the re-pulled days too)."""
REFRESH_CRON = "0 6 * * *"
"""The daily refresh: 06:00 in PMKPI_TIMEZONE."""
CHECKS_CRON = "0 9 * * *"
"""The checks watchdog, and the deadline for yesterday's KPIs: 09:00 in PMKPI_TIMEZONE."""
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def lookback_window(scheduled: datetime, lookback_days: int = SCHEDULE_LOOKBACK_DAYS) -> list[str]:
    """Partition keys of yesterday (the last complete day at ``scheduled``) and the days before it."""
    keys = DAILY.get_partition_keys(current_time=scheduled)
    return keys[-lookback_days - 1:]


def range_run_request(keys: list[str], run_key: str) -> RunRequest:
    """One run over the partitions ``keys[0]..keys[-1]``."""
    return RunRequest(run_key=run_key, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})


@schedule(job_name="pmkpi_all", cron_schedule=REFRESH_CRON, execution_timezone=_settings.timezone,
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


@schedule(job_name="pmkpi_checks", cron_schedule=CHECKS_CRON, execution_timezone=_settings.timezone,
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

