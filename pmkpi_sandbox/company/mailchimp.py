"""Mailchimp: the audiences, the regular campaigns with their report counts, and the daily list activity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .campaign_counts import _engagement
from .campaign_kinds import _create_times, _new_ids, _with_campaign_kinds
from .dates import _Calendar, _holidays, _local_to_utc, _weekday
from .demand import _Funnel
from .model import Size
from .randomness import _count, _hex_ids, _lognoise, _thin

_LEADS_PER_SIGNUP = 2.6
_MPP_OPEN_SHARE = 0.92  # unique opens / delivered e-mails of a campaign that Apple MPP inflated
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
    mpp_days: Sequence[int] = (), events_rng: np.random.Generator | None = None,
) -> _Mailchimp:
    """The audiences, campaigns and activity; ``details_rng`` draws the campaigns' create times and other kinds.

    ``mpp_days`` (indexes of range days) each get a campaign whose opens Apple MPP inflated (:func:`_mpp_campaigns`),
    drawn from ``events_rng`` when one has to be added.
    """
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
    if len(mpp_days):
        campaigns, per_day = _mpp_campaigns(
            campaigns, per_day, mpp_days, names, open_rates, members, calendar, open_factor, events_rng
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



def _mpp_campaigns(
    campaigns: pd.DataFrame, per_day: np.ndarray, mpp_days: Sequence[int], names: np.ndarray, open_rates: np.ndarray,
    members: np.ndarray, calendar: _Calendar, open_factor: np.ndarray, rng: np.random.Generator,
) -> tuple[pd.DataFrame, np.ndarray]:
    """``campaigns`` (with their ``day_index``/``list_index``) where, on each of ``mpp_days``, the first campaign
    sent to an audience has Apple-MPP-inflated opens; a day without one gets a regular campaign to the first
    audience (and one more campaign in ``per_day``)."""
    per_day = per_day.copy()
    for day in mpp_days:
        sent = (campaigns["day_index"] == day) & (campaigns["list_index"] >= 0) & (campaigns["status"] == "sent")
        if not sent.any():
            added = _one_campaign(day, names, open_rates, members, calendar, open_factor, set(campaigns["id"]), rng)
            campaigns = pd.concat([campaigns, added[campaigns.columns]], ignore_index=True)
            sent = campaigns.index == campaigns.index[-1]
            per_day[day] += 1
        _inflate_opens(campaigns, campaigns.index[sent][0])
    return campaigns, per_day


def _one_campaign(
    day: int, names: np.ndarray, open_rates: np.ndarray, members: np.ndarray, calendar: _Calendar,
    open_factor: np.ndarray, taken: set[str], rng: np.random.Generator,
) -> pd.DataFrame:
    """A regular campaign sent on range day ``day`` to the first audience, as :func:`_campaigns` draws one."""
    local = calendar.range_days[[day]] + np.timedelta64(60 * (9 * 60 + int(rng.integers(0, 150))), "s")
    send_time = pd.Series(pd.DatetimeIndex(_local_to_utc(local, calendar.timezone)).tz_localize("UTC"))
    emails_sent = np.round(members[[day], 0] * rng.uniform(0.85, 0.99, 1)).astype(np.int64)
    counts = _engagement(emails_sent, open_rates[:1], open_factor[calendar.history + np.array([day])], rng)
    local_day = pd.Timestamp(calendar.range_days[day])
    return pd.DataFrame({
        "id": _new_ids(taken, 1, rng),
        "send_time": send_time,
        "type": "regular",
        "title": f"{names[0]} {local_day:%Y-%m-%d}",
        "subject_line": _SUBJECTS[int(rng.integers(0, len(_SUBJECTS)))].format(month=f"{local_day:%B}"),
        "status": "sent",
        **counts,
        "day_index": [day],
        "list_index": [0],
        "parent_campaign_id": "",
        "create_time": _create_times(send_time, rng),
    })


def _inflate_opens(campaigns: pd.DataFrame, row) -> None:
    """Set campaign ``row``'s unique opens to :data:`_MPP_OPEN_SHARE` of its delivered e-mails, each added unique
    open one more open; its opens excluding machine opens and its clicks stay (clipped to the unique opens)."""
    counts = campaigns.loc[row]
    delivered = counts["emails_sent"] - counts["hard_bounces"] - counts["soft_bounces"]
    unique = int(round(_MPP_OPEN_SHARE * delivered))
    campaigns.loc[row, "opens_total"] = max(unique, int(counts["opens_total"]) + unique - int(counts["unique_opens"]))
    campaigns.loc[row, "unique_opens"] = unique
    for column in ("proxy_excluded_unique_opens", "unique_subscriber_clicks"):
        campaigns.loc[row, column] = min(int(counts[column]), unique)
