"""List members as leads: ``/lists/{id}/members`` for a range, dated by the local day of their opt-in.

KPI_SPEC "Leads": a member is a lead on the local day (``PMKPI_TIMEZONE``) of ``timestamp_opt``,
or of ``timestamp_signup`` where ``timestamp_opt`` is empty, whatever their status now; a member
with neither cannot be dated and is not a lead (counted in the metadata, not landed).

How a range is pulled: ``since_timestamp_opt``/``before_timestamp_opt`` would be the direct filter,
but a member with an empty ``timestamp_opt`` (a sign-up never confirmed) matches no such filter and
would be missed. A member's record changes when they sign up and when they opt in, so
``last_changed`` is at or after both: every member who became a lead in the range has changed since
its first instant. So each list is pulled once with ``since_last_changed`` at that instant (a second
earlier, in case "since" is exclusive), asking only for the fields used, and members whose lead day
falls outside the range are dropped. A recent range (the daily refresh) is a small pull; a backfill
from long ago pulls most of the audience, once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from .resource import MailchimpError, MailchimpResource
from .tables import MAILCHIMP_MEMBERS

TIMES = ("timestamp_opt", "timestamp_signup", "last_changed")
CHUNK = 5_000  # members typed at a time
API_FIELDS = ["members.id", "members.status", "members.source", *(f"members.{t}" for t in TIMES), "total_items"]


def list_members(mailchimp: MailchimpResource, list_ids: list[str], start: date, end: date, tz: str,
                 partitions: str) -> tuple[pd.DataFrame, int]:
    """The members of every list who became leads on a day of ``start..end`` (rows of ``raw_mailchimp_members``),
    and how many members pulled had neither timestamp. Pages are typed and filtered ``CHUNK`` members at a time as
    they arrive, so a backfill that pulls most of a large audience holds its leads as typed rows, not every
    member's JSON (at 4x the reference company, ~700 MB of it)."""
    first = datetime.combine(start, time(), ZoneInfo(tz)).astimezone(ZoneInfo("UTC")) - timedelta(seconds=1)
    frames, undated, columns = [], 0, list(MAILCHIMP_MEMBERS.columns)
    for list_id in list_ids:
        endpoint = f"/lists/{list_id}/members"
        fetch = functools.partial(mailchimp.client.lists.get_list_members_info, list_id,
                                  since_last_changed=first.isoformat(), fields=API_FIELDS)
        for chunk in _chunks(mailchimp.pages(endpoint, "members", fetch, partitions)):
            members = _typed(chunk, endpoint, partitions)
            lead = members["timestamp_opt"].fillna(members["timestamp_signup"])
            undated += int(lead.isna().sum())
            day = lead.dt.tz_convert(tz).dt.date
            leads = members.assign(date=day, list_id=list_id)[lead.notna() & (day >= start) & (day <= end)]
            frames.append(leads.assign(**{t: leads[t].dt.tz_localize(None) for t in TIMES})[columns])
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return frame, undated


def _chunks(pages: Iterator[list[dict]]) -> Iterator[list[dict]]:
    """The pages' items in runs of at least ``CHUNK`` (the last may be shorter; an empty collection is one
    empty run): typing each page of 1,000 members alone costs more in pandas calls."""
    chunk: list[dict] = []
    runs = 0
    for page in pages:
        chunk.extend(page)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk, runs = [], runs + 1
    if chunk or not runs:
        yield chunk


def _typed(items: list[dict], endpoint: str, partitions: str) -> pd.DataFrame:
    """Member ids, statuses and sources, and their times as UTC (NaT where Mailchimp sent ``""``); a missing
    field or a time that does not parse fails, naming it."""
    frame = pd.DataFrame(items, columns=["id", "status", "source", *TIMES])
    for field in ("id", "status", "last_changed"):
        lacking = frame[field].isna()
        if lacking.any():
            raise MailchimpError(endpoint, f"member {frame['id'][lacking].iloc[0]!r} lacks this field",
                                 partitions=partitions, field=f"members.{field}")
    for field in TIMES:
        text = frame[field].fillna("").astype(str)
        parsed = pd.to_datetime(text.where(text != ""), utc=True, errors="coerce", format="ISO8601")
        bad = parsed.isna() & (text != "")
        if bad.any():
            raise MailchimpError(endpoint, f"member {frame['id'][bad].iloc[0]!r} has {text[bad].iloc[0]!r}, not a "
                                 "time", partitions=partitions, field=f"members.{field}")
        frame[field] = parsed
    return frame.rename(columns={"id": "member_id"})
