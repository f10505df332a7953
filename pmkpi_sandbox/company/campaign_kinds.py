"""Mailchimp campaigns beyond the regular ones: create times, and (``Size.campaign_kinds``) the other kinds.

Every campaign gets a ``create_time`` (1 hour to 14 days before it was sent; an RSS child is
created by its send) and a
``parent_campaign_id`` (``""`` unless it is a child). With ``Size.campaign_kinds`` the account
also has, besides its regular campaigns:

- ``variate`` (A/B) campaigns, a few, each testing two subject lines on one audience;
- one ``rss`` campaign (status ``sending``: active, never sent itself) and its children, ``rss``
  campaigns sent every Friday at 08:00 to the first audience, ``parent_campaign_id`` the parent;
- ``plaintext`` campaigns, a few;
- resends to non-openers: ``regular`` campaigns sent two days after a regular campaign to those
  who did not open it, ``parent_campaign_id`` the original;
- one ``regular`` campaign still ``sending`` on the last day (its counts so far);
- one ``regular`` campaign whose audience was deleted since (``list_id`` is ``""``; its sends are
  in no list's activity).

All of it is drawn from its own random stream, so the regular campaigns and every other frame
keep their numbers whether the kinds are on or off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .campaign_counts import _COUNT_COLUMNS, _engagement
from .dates import _Calendar, _holidays, _local_to_utc, _weekday
from .randomness import _hex_ids

_RSS_TITLE = "Weekly blog digest"
_DELETED_AUDIENCE = -1  # list_index of a campaign whose audience no longer exists
_NEVER_SENT = -1  # day_index of the RSS parent, which sends only through its children


@dataclass(frozen=True)
class _Batch:
    """Campaigns of one kind, before their counts, times and ids are drawn."""

    type: str
    day_index: np.ndarray
    list_index: np.ndarray
    minute: np.ndarray  # local minute of the day they were sent
    recipients: np.ndarray  # e-mails sent
    open_rate: np.ndarray  # expected unique-open rate
    title: list[str]
    subject_line: list[str]
    parent_campaign_id: list[str] | str = ""
    status: str = "sent"


def _with_campaign_kinds(
    regular: pd.DataFrame, kinds: bool, names: np.ndarray, shares: np.ndarray, open_rates: np.ndarray,
    members: np.ndarray, calendar: _Calendar, open_factor: np.ndarray, rng: np.random.Generator,
) -> pd.DataFrame:
    """``regular`` with ``create_time`` and ``parent_campaign_id``, plus the other kinds when ``kinds``."""
    frame = regular.assign(parent_campaign_id="", create_time=_create_times(regular["send_time"], rng))
    if not kinds:
        return frame
    days = calendar.range_days
    eligible = np.flatnonzero((_weekday(days) < 4) & ~_holidays(days))
    months = len(days) / 30.4375
    audiences = (names, shares, open_rates, members, days, rng)
    batches = [
        _to_audiences("variate", eligible, max(2, round(months / 3)), 10, 1.05, *audiences,
                      "A/B subject test {day}", "Which one opens better? ({day})"),  # two subject lines
        _rss_children(days, open_rates, members, rng),
        _to_audiences("plaintext", eligible, max(2, round(months / 4)), 15, 0.9, *audiences,
                      "{name} plain-text note {day}", "A quick note from the team"),
        _resends(regular, max(2, round(months / 3)), open_rates, len(days), rng),
        _sending(len(days) - 1, names, shares, open_rates, members, days, rng),
        _deleted_audience(eligible, rng),
    ]
    others = pd.concat(
        [_rss_parent(calendar), *(_sent(batch, calendar, open_factor, rng) for batch in batches)],
        ignore_index=True,
    )
    others["id"] = _new_ids(set(regular["id"]), len(others), rng)
    children = (others["type"] == "rss") & (others["day_index"] != _NEVER_SENT)
    others.loc[children, "parent_campaign_id"] = others["id"].iloc[0]
    others.loc[children, "create_time"] = others.loc[children, "send_time"]  # the send creates them
    return pd.concat([frame, others[frame.columns]], ignore_index=True)


def _create_times(send_time: pd.Series, rng: np.random.Generator) -> pd.Series:
    """When each campaign was created: 1 hour to 14 days before it was sent."""
    before = pd.to_timedelta(rng.integers(3_600, 14 * 86_400, len(send_time)), "s")
    return send_time - before


def _new_ids(taken: set[str], count: int, rng: np.random.Generator) -> list[str]:
    """``count`` campaign ids that are not in ``taken``."""
    while True:
        ids = _hex_ids(rng, count)
        if taken.isdisjoint(ids):
            return ids


def _sent(batch: _Batch, calendar: _Calendar, open_factor: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """The campaigns of ``batch`` with their send and create times and report counts."""
    local = calendar.range_days[batch.day_index] + (60 * batch.minute).astype("timedelta64[s]")
    send_time = pd.Series(pd.DatetimeIndex(_local_to_utc(local, calendar.timezone)).tz_localize("UTC"))
    counts = _engagement(
        batch.recipients.astype(np.int64), batch.open_rate, open_factor[calendar.history + batch.day_index], rng
    )
    return pd.DataFrame({
        "id": "",
        "send_time": send_time,
        "type": batch.type,
        "title": batch.title,
        "subject_line": batch.subject_line,
        "status": batch.status,
        **counts,
        "day_index": batch.day_index,
        "list_index": batch.list_index,
        "parent_campaign_id": batch.parent_campaign_id,
        "create_time": _create_times(send_time, rng),
    })


def _audiences(
    day_index: np.ndarray, names: np.ndarray, shares: np.ndarray, members: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """An audience per campaign (by share) and the e-mails sent to it: 85-99 % of its members."""
    list_index = rng.choice(len(names), size=len(day_index), p=shares)
    return list_index, np.round(members[day_index, list_index] * rng.uniform(0.85, 0.99, len(day_index)))


def _to_audiences(
    kind: str, eligible: np.ndarray, count: int, hour: int, open_scale: float, names: np.ndarray,
    shares: np.ndarray, open_rates: np.ndarray, members: np.ndarray, days: np.ndarray, rng: np.random.Generator,
    title: str, subject_line: str,
) -> _Batch:
    """``count`` campaigns of ``kind`` on eligible days at ``hour``-``hour + 1``, each to an audience by share.

    ``title`` and ``subject_line`` are formatted with the audience's ``name`` and the ``day``.
    """
    day_index = np.sort(rng.choice(eligible, size=min(count, len(eligible)), replace=False))
    list_index, recipients = _audiences(day_index, names, shares, members, rng)
    values = [{"name": names[i], "day": day} for i, day in zip(list_index, pd.DatetimeIndex(days[day_index]).date)]
    return _Batch(
        kind, day_index, list_index, 60 * hour + rng.integers(0, 60, len(day_index)), recipients,
        open_rates[list_index] * open_scale, [title.format(**v) for v in values],
        [subject_line.format(**v) for v in values],
    )


def _rss_children(days: np.ndarray, open_rates: np.ndarray, members: np.ndarray, rng: np.random.Generator) -> _Batch:
    """The RSS campaign's sends: every Friday at 08:00 to the first audience."""
    day_index = np.flatnonzero(_weekday(days) == 4)
    dates = pd.DatetimeIndex(days[day_index]).strftime("%Y-%m-%d")
    return _Batch(
        "rss", day_index, np.zeros(len(day_index), dtype=np.int64), np.full(len(day_index), 480),
        np.round(members[day_index, 0] * rng.uniform(0.9, 0.99, len(day_index))),
        np.full(len(day_index), open_rates[0] * 0.8), [f"{_RSS_TITLE} {day}" for day in dates],
        [f"This week on the blog ({day})" for day in dates],
    )


def _rss_parent(calendar: _Calendar) -> pd.DataFrame:
    """The RSS campaign itself: created 45 days before the range, active (``sending``), never sent."""
    created = _local_to_utc(calendar.range_days[:1] - np.timedelta64(45, "D"), calendar.timezone)
    return pd.DataFrame({
        "id": [""], "send_time": pd.Series([pd.NaT], dtype="datetime64[ns, UTC]"), "type": "rss",
        "title": _RSS_TITLE, "subject_line": "*|RSSFEED:TITLE|*", "status": "sending",
        **{column: 0 for column in _COUNT_COLUMNS},
        "day_index": _NEVER_SENT, "list_index": 0, "parent_campaign_id": "",
        "create_time": pd.DatetimeIndex(created).tz_localize("UTC"),
    })


def _resends(
    regular: pd.DataFrame, count: int, open_rates: np.ndarray, day_count: int, rng: np.random.Generator
) -> _Batch:
    """Resends to non-openers, two days after a regular campaign, to those who did not open it."""
    candidates = np.flatnonzero(regular["day_index"].to_numpy() + 2 < day_count)
    originals = regular.iloc[np.sort(rng.choice(candidates, size=min(count, len(candidates)), replace=False))]
    delivered = originals["emails_sent"] - originals["hard_bounces"] - originals["soft_bounces"]
    list_index = originals["list_index"].to_numpy()
    return _Batch(
        "regular", originals["day_index"].to_numpy() + 2, list_index,
        600 + rng.integers(0, 60, len(originals)), (delivered - originals["unique_opens"]).to_numpy(),
        open_rates[list_index] * 0.35, [f"{title} (resend to non-openers)" for title in originals["title"]],
        [f"In case you missed it: {subject}" for subject in originals["subject_line"]],
        parent_campaign_id=list(originals["id"]),
    )


def _sending(
    last: int, names: np.ndarray, shares: np.ndarray, open_rates: np.ndarray, members: np.ndarray,
    days: np.ndarray, rng: np.random.Generator,
) -> _Batch:
    """A campaign started at 22:00-23:00 on the last day and still sending: 30-80 % sent so far."""
    day_index = np.array([last])
    list_index, recipients = _audiences(day_index, names, shares, members, rng)
    day = pd.Timestamp(days[last])
    return _Batch(
        "regular", day_index, list_index, 1320 + rng.integers(0, 60, 1),
        np.round(recipients * rng.uniform(0.3, 0.8)), open_rates[list_index],
        [f"{names[list_index[0]]} {day:%Y-%m-%d} late edition"], [f"Tonight: the {day:%B} roundup"],
        status="sending",
    )


def _deleted_audience(eligible: np.ndarray, rng: np.random.Generator) -> _Batch:
    """A promotion sent early in the range to an audience that was deleted since."""
    day_index = rng.choice(eligible[: max(1, len(eligible) // 2)], size=min(1, len(eligible)))
    return _Batch(
        "regular", day_index, np.full(len(day_index), _DELETED_AUDIENCE), 540 + rng.integers(0, 60, len(day_index)),
        rng.integers(300, 900, len(day_index)).astype(float), np.full(len(day_index), 0.3),
        ["Spring promo (deleted audience)"] * len(day_index), ["Our spring offer ends soon"] * len(day_index),
    )

