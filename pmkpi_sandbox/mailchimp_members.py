"""``GET /3.0/lists/{list_id}/members`` and ``/members/{subscriber_hash}``: a list's members as the real API shows them.

The collection pages by ``count`` (default 10, at most 1000) and ``offset`` and reports
``total_items``; it filters on ``status`` (one of subscribed, unsubscribed, cleaned, pending,
transactional, archived), ``since_timestamp_opt``/``before_timestamp_opt`` and
``since_last_changed``/``before_last_changed`` ("since" inclusive, "before" exclusive; a member
with an empty ``timestamp_opt`` never matches a ``timestamp_opt`` filter) and sorts by
``sort_field`` (``timestamp_opt``, ``timestamp_signup``, ``last_changed``) and ``sort_dir``;
without one, members come in the order they joined. A member object has the real field names,
``id`` being the MD5 of the lower-cased e-mail address, times as ``2025-01-31T14:00:00+00:00`` or
``""``, and ``_links``. The server cuts answers to ``fields``/``exclude_fields`` as it does for
every endpoint (:func:`pmkpi_sandbox.mailchimp_query.project`).
"""

from __future__ import annotations

import threading
from urllib.parse import unquote

import pandas as pd

from pmkpi_sandbox._http import ApiError, Request
from pmkpi_sandbox.mailchimp_query import equal_to, in_window, page

STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived")
TIMES = ("timestamp_signup", "timestamp_opt", "last_changed")
WINDOWS = ("timestamp_opt", "last_changed")  # filtered by since_<column> (inclusive) and before_<column>
SELECTORS = ("status", *(f"{bound}_{column}" for column in WINDOWS for bound in ("since", "before")), "sort_field",
             "sort_dir")
CACHED_SELECTIONS = 32  # a client pages through one selection: filter and sort it once


class MemberDirectory:
    """The members of every list, answering the two member endpoints."""

    def __init__(self, members: pd.DataFrame | None, list_ids) -> None:
        frame = members if members is not None and len(members) else pd.DataFrame(
            columns=["list_id", "id", "email_address", "full_name", "status", "source", *TIMES, "member_rating"])
        frame = frame.assign(**{f"{c}_text": _texts(frame[c]) for c in TIMES})
        self.lists = {list_id: frame[frame["list_id"] == list_id].reset_index(drop=True) for list_id in list_ids}
        self._selections: dict[tuple, pd.DataFrame] = {}
        self._lock = threading.Lock()

    def page(self, list_id: str, request: Request) -> dict:
        """One page of ``GET /lists/{list_id}/members``."""
        members = self._selection(list_id, request.query)
        root = _root(request)
        return {
            "members": [_member(row, root) for row in members.iloc[page(request.query)].to_dict("records")],
            "list_id": list_id, "total_items": len(members),
            "_links": [_link("self", f"{root}/lists/{list_id}/members"),
                       _link("parent", f"{root}/lists/{list_id}"),
                       _link("create", f"{root}/lists/{list_id}/members", "POST")],
        }

    def one(self, list_id: str, subscriber_hash: str, request: Request) -> dict:
        """``GET /lists/{list_id}/members/{subscriber_hash}`` (the hash of the e-mail, or the e-mail itself)."""
        members = self._of(list_id)
        wanted = unquote(subscriber_hash).lower()
        found = members[(members["id"] == wanted) | (members["email_address"].str.lower() == wanted)]
        if found.empty:
            raise ApiError(404)
        return _member(found.iloc[0].to_dict(), _root(request))

    def _selection(self, list_id: str, query: dict[str, str]) -> pd.DataFrame:
        """The list's members that the query's filters select, in its order (kept for the next pages)."""
        key = (list_id, *(query.get(name, "") for name in SELECTORS))
        with self._lock:
            found = self._selections.get(key)
        if found is None:
            found = _sorted(_filtered(self._of(list_id), query), query)
            with self._lock:
                if len(self._selections) >= CACHED_SELECTIONS:
                    self._selections.pop(next(iter(self._selections)))
                self._selections[key] = found
        return found

    def _of(self, list_id: str) -> pd.DataFrame:
        if list_id not in self.lists:
            raise ApiError(404)
        return self.lists[list_id]


def _texts(times: pd.Series) -> pd.Series:
    """Mailchimp's time format, ``""`` where there is none."""
    return pd.to_datetime(times, utc=True).dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").fillna("")


def _filtered(members: pd.DataFrame, query: dict[str, str]) -> pd.DataFrame:
    """The members the query's ``status`` and time windows select (an empty time never matches a window)."""
    times = members.assign(**{column: pd.to_datetime(members[column], utc=True) for column in WINDOWS})
    keep = equal_to(members, query, {"status": STATUSES})
    for column in WINDOWS:
        keep &= in_window(times, query, column)
    return members[keep]


def _sorted(members: pd.DataFrame, query: dict[str, str]) -> pd.DataFrame:
    field, direction = query.get("sort_field", ""), query.get("sort_dir", "ASC").upper()
    if not field:
        return members
    if field not in TIMES or direction not in ("ASC", "DESC"):
        raise ApiError(400, f"Invalid sort: sort_field must be one of {', '.join(TIMES)}, sort_dir ASC or DESC.")
    return members.sort_values(field, ascending=direction == "ASC", kind="stable", na_position="first")


def _root(request: Request) -> str:
    return f"http://{request.headers.get('Host', '127.0.0.1')}/3.0"


def _link(rel: str, href: str, method: str = "GET") -> dict:
    return {"rel": rel, "href": href, "method": method, "targetSchema": "", "schema": ""}


def _member(row: dict, root: str) -> dict:
    """A member object with the real API's fields."""
    first, _, last = str(row["full_name"]).partition(" ")
    href = f"{root}/lists/{row['list_id']}/members/{row['id']}"
    return {
        "id": row["id"], "email_address": row["email_address"], "unique_email_id": row["id"][:10],
        "contact_id": row["id"][-26:], "full_name": row["full_name"], "web_id": int(row["id"][:7], 16),
        "email_type": "html", "status": row["status"],
        **({"unsubscribe_reason": "N/A (Unsubscribed via the unsubscribe link)"}
           if row["status"] == "unsubscribed" else {}),
        "consents_to_one_to_one_messaging": True,
        "merge_fields": {"FNAME": first, "LNAME": last, "ADDRESS": "", "PHONE": "", "BIRTHDAY": ""},
        "stats": {"avg_open_rate": 0, "avg_click_rate": 0},
        "ip_signup": "", "timestamp_signup": row["timestamp_signup_text"], "ip_opt": "",
        "timestamp_opt": row["timestamp_opt_text"], "member_rating": int(row["member_rating"]),
        "last_changed": row["last_changed_text"], "language": "", "vip": False, "email_client": "",
        "location": {"latitude": 0, "longitude": 0, "gmtoff": 0, "dstoff": 0, "country_code": "", "timezone": "",
                     "region": ""},
        "source": row["source"], "tags_count": 0, "tags": [], "list_id": row["list_id"],
        "_links": [_link("self", href), _link("parent", f"{root}/lists/{row['list_id']}/members"),
                   _link("update", href, "PATCH"), _link("upsert", href, "PUT"), _link("delete", href, "DELETE"),
                   _link("activity", f"{href}/activity"), _link("goals", f"{href}/goals"),
                   _link("notes", f"{href}/notes")],
    }
