"""Late KPIs: yesterday's numbers are due by 09:00 (``PMKPI_TIMEZONE``), after the 06:00 refresh.

Two views of the same deadline:
- each KPI asset carries a cron :class:`~dagster.FreshnessPolicy` (``defs/kpis/assets.py``), so the
  Dagster UI shows it as fresh or late;
- the ``alert_on_late_kpis`` sensor looks, once the deadline has passed, whether yesterday's
  partition of every KPI asset is materialised, and alerts once per day (log, and
  ``PMKPI_ALERT_WEBHOOK_URL`` when set) naming the late assets.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dagster import AssetKey, DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor
from dagster._core.storage.event_log.base import AssetRecordsFilter

from ..common.partitions import SHAPING_SETTINGS
from ..kpis.catalog import FAMILIES
from .alerts import post_alert
from .schedules import CHECKS_CRON

KPI_ASSETS = [AssetKey(f"kpi_{family}") for family in FAMILIES]
DEADLINE = time(int(CHECKS_CRON.split()[1]), int(CHECKS_CRON.split()[0]))
REFRESH_LEAD = timedelta(hours=3)
"""The freshness policy's lower bound: a materialisation within the 3 hours before the deadline is today's."""
_settings = SHAPING_SETTINGS  # the time zone and the first partition shape the sensor's schedule


def late_kpi_assets(instance, day: date) -> list[str]:
    """The KPI assets whose partition ``day`` has never been materialised."""
    late = []
    for key in KPI_ASSETS:
        found = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=key, asset_partitions=[day.isoformat()]), limit=1).records
        if not found:
            late.append(key.to_user_string())
    return late


def now_utc() -> datetime:
    """The current time (a seam for tests)."""
    return datetime.now(ZoneInfo("UTC"))


def due_day(now: datetime) -> date | None:
    """The partition that must be materialised at ``now`` (yesterday, once today's deadline passed)."""
    local = now.astimezone(ZoneInfo(_settings.timezone))
    if local.time() < DEADLINE:
        return None
    day = local.date() - timedelta(days=1)
    return day if day >= _settings.start_date else None


def late_payload(day: date, late: list[str]) -> dict:
    """The JSON body of a late-KPI alert."""
    return {"text": f"pmkpi late KPIs: partition {day} of {', '.join(late)} not materialised by "
                    f"{DEADLINE:%H:%M} {_settings.timezone}",
            "event": "late_kpis", "partition": day.isoformat(), "late_assets": late,
            "ui_path": "/assets?groups=kpis"}


@sensor(name="alert_on_late_kpis", minimum_interval_seconds=300, default_status=DefaultSensorStatus.RUNNING,
        description="After 09:00 (PMKPI_TIMEZONE): alerts once a day (log + PMKPI_ALERT_WEBHOOK_URL) when "
        "yesterday's partition of a KPI asset has not been materialised.")
def alert_on_late_kpis(context: SensorEvaluationContext):
    """Alert once per due day when a KPI asset lacks that day's partition; the cursor is the last day looked at."""
    day = due_day(now_utc())
    if day is None:
        return SkipReason(f"before today's deadline ({DEADLINE:%H:%M} {_settings.timezone})")
    if context.cursor == day.isoformat():
        return SkipReason(f"{day} already looked at")
    late = late_kpi_assets(context.instance, day)
    context.update_cursor(day.isoformat())
    if not late:
        return SkipReason(f"every KPI asset has {day}")
    post_alert(late_payload(day, late), context.log)
    return SkipReason(f"alerted: {day} late for {', '.join(late)}")
