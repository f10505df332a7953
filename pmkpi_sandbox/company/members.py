"""Mailchimp list members: one per lead, consistent with the daily list activity, plus the audience before the range.

Per list:

- each day's ``subs + other_adds`` members opted in that local day (``timestamp_opt`` on it, in the
  company's ``timezone``). Most ``subs`` came through a form with double opt-in (``timestamp_signup``
  minutes to hours before the confirmation, sometimes the day before); the rest, and every
  ``other_adds`` member (imports, API and admin adds), have no ``timestamp_signup``;
- sign-ups that were never confirmed: ``pending`` members (a few since archived) with a
  ``timestamp_signup`` and no ``timestamp_opt``. The activity does not count them (nobody
  subscribed), but KPI_SPEC.md counts them as leads on their sign-up day, so leads exceed the
  activity's ``subs + other_adds`` by exactly these members;
- the audience at the start of the range (its ``member_count`` then), opted in between the list's
  creation and the start;
- a few transactional contacts with neither timestamp: they cannot be dated and are not leads.

Of the members who opted in, exactly ``Σ unsubs`` are ``unsubscribed`` and ``Σ other_removes``
``cleaned`` or ``archived``, so the ``subscribed`` ones number the list's ``member_count``.
``last_changed`` is at or after every other timestamp of a member and before the snapshot; ``id``
is the MD5 of the lower-cased e-mail address (Mailchimp's subscriber hash).

Everything is drawn from its own random stream, so adding members changed no other number.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from .billing import _FIRST_NAMES, _LAST_NAMES
from .dates import _SECOND, _Calendar, _local_to_utc

_DOUBLE_OPT_IN = 0.7  # share of form sign-ups (and of the audience at the start) confirmed by e-mail
_PENDING_PER_SUB = 0.06  # unconfirmed sign-ups per confirmed one
_ARCHIVED_PENDING = 0.15
_TRANSACTIONAL = 0.01  # transactional contacts per member at the start, at least one per list
_CHANGED_LATER = 0.25  # subscribed members whose profile changed after they opted in
_CLEANED = 0.7  # share of the removed members cleaned (the rest archived)
_FORMS = ("Hosted Signup Form", "Embedded Form", "Pop-up Form", "Landing Page")
_ADDS = ("Import", "API - Generic", "Admin Add", "Zapier")
_DOMAINS = ("example.com", "mail.example", "corp.example", "inbox.example")
COLUMNS = ("list_id", "id", "email_address", "full_name", "status", "source", "timestamp_signup",
           "timestamp_opt", "last_changed", "member_rating")


def _members(calendar: _Calendar, lists: pd.DataFrame, activity: pd.DataFrame,
             rng: np.random.Generator) -> pd.DataFrame:
    """Every member of every list, in ``COLUMNS``; timestamps tz-aware UTC (NaT when empty)."""
    frames = []
    for list_id, created, count in zip(lists["id"], lists["date_created"], lists["member_count"]):
        days = activity[activity["list_id"] == list_id].sort_values("day")
        opted_in = int(days["subs"].sum() + days["other_adds"].sum())
        initial = int(count) - opted_in + int(days["unsubs"].sum() + days["other_removes"].sum())
        created = pd.Timestamp(created).tz_convert("UTC").tz_localize(None).to_datetime64()
        frame = pd.concat([
            _initial_audience(initial, created, calendar, rng),
            _opt_ins(days, calendar, rng),
            _pending(days, calendar, rng),
            _transactional(max(1, round(_TRANSACTIONAL * initial)), calendar, rng),
        ], ignore_index=True)
        _remove(frame, int(days["unsubs"].sum()), int(days["other_removes"].sum()), calendar, rng)
        frame.insert(0, "list_id", list_id)
        first = frame["timestamp_signup"].fillna(frame["timestamp_opt"]).fillna(frame["last_changed"])
        frames.append(frame.iloc[np.argsort(first.to_numpy(), kind="stable")])
    members = pd.concat(frames, ignore_index=True)
    _name(members, rng)
    for column in ("timestamp_signup", "timestamp_opt", "last_changed"):
        members[column] = pd.to_datetime(members[column]).dt.tz_localize("UTC")
    return members[list(COLUMNS)]


def _frame(opt: np.ndarray, signup: np.ndarray, status: str | np.ndarray, source: np.ndarray) -> pd.DataFrame:
    """Members with naive-UTC ``timestamp_opt``/``timestamp_signup`` (NaT when empty); ``last_changed`` is
    their latest timestamp until :func:`_remove` or a later change moves it."""
    latest = np.fmax(opt, signup)
    return pd.DataFrame({"status": status, "source": source, "timestamp_signup": signup, "timestamp_opt": opt,
                         "last_changed": latest})


def _within_days(days: np.ndarray, calendar: _Calendar, rng: np.random.Generator) -> np.ndarray:
    """A uniformly drawn moment of each local day, as naive UTC."""
    seconds = rng.integers(0, 86_400, len(days)).astype("timedelta64[s]")
    return _local_to_utc(days + seconds, calendar.timezone)


def _signups_before(opt: np.ndarray, double: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The sign-up before each double opt-in confirmation (minutes to hours earlier); NaT for the others."""
    delay = np.clip(np.exp(np.log(600.0) + 1.2 * rng.standard_normal(len(opt))), 30, 2 * 86_400)
    signup = opt - delay.astype(np.int64).astype("timedelta64[s]")
    return np.where(double, signup, np.datetime64("NaT", "ns"))


def _initial_audience(count: int, created: np.datetime64, calendar: _Calendar,
                      rng: np.random.Generator) -> pd.DataFrame:
    """The members at the start of the range, opted in between the list's creation and the start."""
    start = _local_to_utc(calendar.range_days[:1], calendar.timezone)[0]
    span = (start - created) // _SECOND
    opt = created + (rng.random(count) * span).astype(np.int64).astype("timedelta64[s]")
    opt = opt.astype("datetime64[ns]")
    double = rng.random(count) < _DOUBLE_OPT_IN
    source = np.where(double, rng.choice(np.array(_FORMS, dtype=object), count),
                      rng.choice(np.array(_ADDS, dtype=object), count))
    return _frame(opt, _signups_before(opt, double, rng), "subscribed", source)


def _opt_ins(days: pd.DataFrame, calendar: _Calendar, rng: np.random.Generator) -> pd.DataFrame:
    """``subs`` form sign-ups and ``other_adds`` adds that opted in on each day of the range."""
    local = days["day"].to_numpy("datetime64[ns]")
    subs, adds = days["subs"].to_numpy(), days["other_adds"].to_numpy()
    sub_opt = _within_days(np.repeat(local, subs), calendar, rng)
    double = rng.random(len(sub_opt)) < _DOUBLE_OPT_IN
    forms = _frame(sub_opt, _signups_before(sub_opt, double, rng), "subscribed",
                   rng.choice(np.array(_FORMS, dtype=object), len(sub_opt)))
    add_opt = _within_days(np.repeat(local, adds), calendar, rng)
    added = _frame(add_opt, np.full(len(add_opt), np.datetime64("NaT", "ns")), "subscribed",
                   rng.choice(np.array(_ADDS, dtype=object), len(add_opt)))
    return pd.concat([forms, added], ignore_index=True)


def _pending(days: pd.DataFrame, calendar: _Calendar, rng: np.random.Generator) -> pd.DataFrame:
    """Sign-ups never confirmed: ``timestamp_signup`` only; a few archived since."""
    local = days["day"].to_numpy("datetime64[ns]")
    signup = _within_days(np.repeat(local, rng.poisson(_PENDING_PER_SUB * days["subs"].to_numpy())), calendar,
                          rng)
    archived = rng.random(len(signup)) < _ARCHIVED_PENDING
    frame = _frame(np.full(len(signup), np.datetime64("NaT", "ns")), signup,
                   np.where(archived, "archived", "pending"), rng.choice(np.array(_FORMS, dtype=object),
                                                                        len(signup)))
    frame.loc[archived, "last_changed"] = _later(signup[archived], calendar, rng)
    return frame


def _transactional(count: int, calendar: _Calendar, rng: np.random.Generator) -> pd.DataFrame:
    """Transactional contacts (e-commerce receipts): no opt-in, no sign-up; changed during the range."""
    start = _local_to_utc(calendar.range_days[:1], calendar.timezone)[0]
    frame = _frame(np.full(count, np.datetime64("NaT", "ns")), np.full(count, np.datetime64("NaT", "ns")),
                   "transactional", np.full(count, "API - E-commerce", dtype=object))
    frame["last_changed"] = _later(np.full(count, start), calendar, rng)
    return frame


def _later(after: np.ndarray, calendar: _Calendar, rng: np.random.Generator) -> np.ndarray:
    """A moment between each of ``after`` and the snapshot (whole seconds)."""
    span = (calendar.snapshot - after) // _SECOND
    return after + (rng.random(len(after)) * span).astype(np.int64).astype("timedelta64[s]")


def _remove(frame: pd.DataFrame, unsubscribed: int, removed: int, calendar: _Calendar,
            rng: np.random.Generator) -> None:
    """Unsubscribe, clean or archive exactly that many opted-in members (changed after opting in), and move
    ``last_changed`` of some subscribed members (a profile update)."""
    opted = np.flatnonzero(frame["timestamp_opt"].notna().to_numpy())
    chosen = rng.choice(opted, size=min(len(opted), unsubscribed + removed), replace=False)
    status = frame["status"].to_numpy(dtype=object)
    status[chosen[:unsubscribed]] = "unsubscribed"
    status[chosen[unsubscribed:]] = np.where(rng.random(len(chosen) - unsubscribed) < _CLEANED, "cleaned",
                                             "archived")
    frame["status"] = status
    changed = np.zeros(len(frame), dtype=bool)
    changed[opted] = rng.random(len(opted)) < _CHANGED_LATER
    changed[chosen] = True
    opt = frame["timestamp_opt"].to_numpy("datetime64[ns]")
    last = frame["last_changed"].to_numpy("datetime64[ns]").copy()
    last[changed] = _later(opt[changed], calendar, rng)
    frame["last_changed"] = last


def _name(members: pd.DataFrame, rng: np.random.Generator) -> None:
    """Unique e-mail addresses, full names, subscriber hashes and ratings."""
    count = len(members)
    first = rng.choice(np.array(_FIRST_NAMES, dtype=object), count)
    last = rng.choice(np.array(_LAST_NAMES, dtype=object), count)
    domain = rng.choice(np.array(_DOMAINS, dtype=object), count)
    emails = [f"{f}.{surname}.{n}@{d}" for n, (f, surname, d) in enumerate(zip(first, last, domain), start=1)]
    members["email_address"] = emails
    members["id"] = [hashlib.md5(email.lower().encode()).hexdigest() for email in emails]
    members["full_name"] = [f"{f.title()} {surname.title()}" for f, surname in zip(first, last)]
    members["member_rating"] = rng.integers(1, 6, count)
