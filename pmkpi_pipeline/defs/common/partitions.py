"""The daily partitions every asset shares, and helpers to read a run's partition range as dates."""

from __future__ import annotations

from datetime import date, timedelta

from dagster import BackfillPolicy, DailyPartitionsDefinition

from ...lib.settings import load_settings

SHAPING_SETTINGS = load_settings()
"""The settings that shape the definitions themselves (first partition, time zone, lookbacks, KPI windows),
read once as they are built; asset and check bodies read the ``settings`` resource instead."""
DAILY = DailyPartitionsDefinition(start_date=SHAPING_SETTINGS.start_date.isoformat(),
                                  timezone=SHAPING_SETTINGS.timezone)
"""Calendar days in ``PMKPI_TIMEZONE`` from ``PMKPI_START_DATE`` up to yesterday."""

SINGLE_RUN = BackfillPolicy.single_run()
"""A backfill of any range is one run: each asset handles the whole range in one pass."""


def partition_dates(context) -> tuple[date, date]:
    """First and last day (inclusive) of the partitions a run or check covers."""
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()


def days(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end`` inclusive."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
