"""Mailchimp: the audiences, the regular campaigns with their report counts, and the daily list activity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .campaign_counts import _engagement
from .campaign_kinds import _with_campaign_kinds
from .dates import _Calendar, _holidays, _local_to_utc, _weekday
from .demand import _Funnel
from .model import Size
from .randomness import _count, _hex_ids, _lognoise, _thin

_LEADS_PER_SIGNUP = 2.6
_LISTS = (  # name, share of leads, unique-open rate
    ("Newsletter", 0.62, 0.36),
    ("Product Updates", 0.26, 0.43),
    ("Webinar Attendees", 0.12, 0.31),
)
_SUBJECTS = (
    "Your {month} product digest",
    "5 KPIs every SaaS team should track in {month}",
    "New in {month}: smarter dashboards",
    "How top teams cut churn this {month}",
    "Join our {month} live webinar",
    "{month} benchmarks: how do you compare?",
)


@dataclass(frozen=True)
class _Mailchimp:
    lists: pd.DataFrame
    campaigns: pd.DataFrame
    activity: pd.DataFrame
    campaigns_per_day: np.ndarray


def _mailchimp(
    sizing: Size, calendar: _Calendar, funnel: _Funnel, open_factor: np.ndarray,
    rng: np.random.Generator, details_rng: np.random.Generator,
) -> _Mailchimp:
    """The audiences, campaigns and activity; ``details_rng`` draws the campaigns' create times and other kinds."""
    names, shares, open_rates = (np.array(column) for column in zip(*_LISTS[: sizing.lists]))
    shares = shares / shares.sum()
    days, history = calendar.range_days, calendar.history
    shape = (len(days), len(names))

    lead_rate = funnel.base_signups[history:, None] * _LEADS_PER_SIGNUP * shares
    leads = _count(lead_rate * _lognoise(rng, shape, 0.2), rng, funnel.factor[history:, None])
    subs = _thin(leads, 0.78, rng)
    daily_leads = lead_rate.mean(axis=0)
    imports = (rng.random(shape) < 0.015) * _count(np.broadcast_to(8 * daily_leads, shape), rng)
    other_adds = leads - subs + imports
    initial = np.maximum(50, np.round(700 * daily_leads)).astype(np.int64)
    members = initial + np.cumsum(subs + other_adds, axis=0)
    unsubs = _count(members * 0.0003, rng)
    other_removes = _count(members * 0.00008, rng)

    campaigns, per_day = _campaigns(
        sizing.campaigns_per_month, names, shares, open_rates, members, calendar, open_factor, rng
    )
    campaigns = _with_campaign_kinds(
        campaigns, sizing.campaign_kinds, names, shares, open_rates, members, calendar, open_factor, details_rng
    )
    day_index, list_index = campaigns.pop("day_index").to_numpy(), campaigns.pop("list_index").to_numpy()
    list_ids = _hex_ids(rng, len(names))
    audience = list_index >= 0  # else the audience was deleted since
    campaigns.insert(1, "list_id", np.where(audience, np.array(list_ids, dtype=object)[list_index], ""))
    in_activity = audience & campaigns["send_time"].notna().to_numpy()
    cells = (day_index[in_activity], list_index[in_activity])

    def per_list_day(column: str) -> np.ndarray:
        totals = np.zeros(shape, dtype=np.int64)
        np.add.at(totals, cells, campaigns[column].to_numpy()[in_activity])
        return totals

    hard, soft = per_list_day("hard_bounces"), per_list_day("soft_bounces")
    unsubs += per_list_day("unsubscribed")
    other_removes += hard  # hard-bounced addresses are cleaned
    activity = pd.DataFrame({
        "list_id": np.repeat(list_ids, len(days)),
        "day": np.tile(days, len(names)),
        "emails_sent": per_list_day("emails_sent").T.ravel(),
        "unique_opens": per_list_day("unique_opens").T.ravel(),
        "recipient_clicks": per_list_day("unique_subscriber_clicks").T.ravel(),
        "hard_bounce": hard.T.ravel(),
        "soft_bounce": soft.T.ravel(),
        "subs": subs.T.ravel(),
        "unsubs": unsubs.T.ravel(),
        "other_adds": other_adds.T.ravel(),
        "other_removes": other_removes.T.ravel(),
    })
    created = pd.Timestamp(days[0]) - pd.to_timedelta(rng.integers(400, 1500, len(names)), "D")
    created += pd.to_timedelta(rng.integers(0, 86_400, len(names)), "s")
    lists = pd.DataFrame({
        "id": list_ids,
        "name": names,
        "date_created": created.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "member_count": initial + (subs + other_adds - unsubs - other_removes).sum(axis=0),
    })
    return _Mailchimp(lists, campaigns, activity, per_day)


def _campaigns(
    per_month: float, names: np.ndarray, shares: np.ndarray, open_rates: np.ndarray,
    members: np.ndarray, calendar: _Calendar, open_factor: np.ndarray, rng: np.random.Generator,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Regular campaigns sent on Monday-to-Thursday mornings, each to one audience.

    Returns the campaign reports (with the helper columns ``day_index`` and ``list_index``) and
    the number of campaigns sent per day.
    """
    days = calendar.range_days
    eligible = np.flatnonzero((_weekday(days) < 4) & ~_holidays(days))
    count = int(round(len(days) / 30.4375 * per_month)) if len(eligible) else 0
    day_index = np.sort(rng.choice(eligible, size=count, replace=count > len(eligible)))
    list_index = rng.choice(len(names), size=count, p=shares)
    local = days[day_index] + (60 * (9 * 60 + rng.integers(0, 150, count))).astype("timedelta64[s]")
    send_time = pd.DatetimeIndex(_local_to_utc(local, calendar.timezone)).tz_localize("UTC")

    emails_sent = np.round(members[day_index, list_index] * rng.uniform(0.85, 0.99, count))
    counts = _engagement(
        emails_sent.astype(np.int64), open_rates[list_index], open_factor[calendar.history + day_index], rng
    )
    local_days = pd.DatetimeIndex(days[day_index])
    subjects = rng.integers(0, len(_SUBJECTS), count)
    frame = pd.DataFrame({
        "id": _hex_ids(rng, count),
        "send_time": send_time,
        "type": "regular",
        "title": names[list_index].astype(object) + " " + local_days.strftime("%Y-%m-%d"),
        "subject_line": [
            _SUBJECTS[subject].format(month=month)
            for subject, month in zip(subjects, local_days.strftime("%B"))
        ],
        "status": "sent",
        **counts,
        "day_index": day_index,
        "list_index": list_index,
    })
    return frame, np.bincount(day_index, minlength=len(days))

