"""Time zones compared as zones, not as names: Google spells them its own way (``Etc/UTC``, ``Asia/Calcutta``,
``US/Pacific``), and those are the same zones as ``UTC``, ``Asia/Kolkata`` and ``America/Los_Angeles``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@lru_cache(maxsize=256)
def same_zone(first: str, second: str, start: date, end: date) -> bool:
    """Whether two zone names give the same UTC offset at every hour of the days ``start..end`` (a name this machine's
    zone database does not know is the same only as itself)."""
    if first == second:
        return True
    try:
        zones = ZoneInfo(first), ZoneInfo(second)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    instant = datetime(start.year, start.month, start.day, tzinfo=UTC) - timedelta(days=1)
    last = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=2)
    while instant < last:
        if instant.astimezone(zones[0]).utcoffset() != instant.astimezone(zones[1]).utcoffset():
            return False
        instant += timedelta(hours=1)
    return True
