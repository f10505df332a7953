"""The model's calendar of local days, and the naive-UTC date arithmetic the sources share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

_SECOND = np.timedelta64(1, "s")
_DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class _Calendar:
    days: np.ndarray  # local midnights from the billing history start to end, datetime64[ns]
    history: int  # days before start
    timezone: str
    snapshot: np.datetime64  # the end of ``end`` in timezone, as naive UTC

    @classmethod
    def build(cls, start: date, end: date, history_days: int, timezone: str) -> _Calendar:
        first = start - timedelta(days=history_days)
        days = pd.date_range(first, end, freq="D").to_numpy("datetime64[ns]")
        after_end = np.array([days[-1] + _DAY], dtype="datetime64[ns]")
        return cls(days, history_days, timezone, _local_to_utc(after_end, timezone)[0])

    @property
    def range_days(self) -> np.ndarray:
        return self.days[self.history:]


def _local_to_utc(local: np.ndarray, timezone: str) -> np.ndarray:
    """Naive local wall-clock times in ``timezone`` as naive UTC ``datetime64[ns]``."""
    local = np.asarray(local, dtype="datetime64[ns]")
    if timezone == "UTC":
        return local
    aware = pd.DatetimeIndex(local).tz_localize(
        timezone, ambiguous=np.zeros(len(local), dtype=bool), nonexistent="shift_forward"
    )
    return aware.tz_convert("UTC").tz_localize(None).to_numpy("datetime64[ns]")


def _add_months(moments: np.ndarray, months: np.ndarray) -> np.ndarray:
    """``moments`` plus whole calendar months, the day clamped to the month's length."""
    days = moments.astype("datetime64[D]")
    month = days.astype("datetime64[M]")
    day_of_month = (days - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months, dtype=np.int64).astype("timedelta64[M]")
    first_day = target.astype("datetime64[D]")
    length = ((target + 1).astype("datetime64[D]") - first_day).astype(np.int64)
    day = first_day + np.minimum(day_of_month, length - 1).astype("timedelta64[D]")
    return day.astype("datetime64[ns]") + (moments - days.astype("datetime64[ns]"))


def _months_between(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    return (last.astype("datetime64[M]") - first.astype("datetime64[M]")).astype(np.int64)


def _weekday(moments: np.ndarray) -> np.ndarray:
    """Monday = 0 .. Sunday = 6 (1970-01-01 was a Thursday)."""
    return (moments.astype("datetime64[D]").astype(np.int64) + 3) % 7


def _holidays(days: np.ndarray) -> np.ndarray:
    index = pd.DatetimeIndex(days)
    christmas = (index.month == 12) & (index.day >= 24)
    return np.asarray(christmas | ((index.month == 1) & (index.day == 1)))
