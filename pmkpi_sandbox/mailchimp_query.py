"""The query parameters of the Marketing API's read endpoints, validated and applied as Mailchimp does.

``count`` (default 10, at most 1000) and ``offset`` page a collection, which reports
``total_items`` before paging. Time windows take ISO 8601: ``since_*`` is inclusive,
``before_*`` exclusive. ``status`` and ``type`` must be one of the API's values, ``sort_field``
one the endpoint sorts by and ``sort_dir`` ``ASC`` (the default) or ``DESC``. ``fields`` and
``exclude_fields`` are comma-separated dotted paths applied to the whole response, through
arrays: ``fields=campaigns.id,campaigns.settings.title,total_items`` keeps exactly those, a path
to an object keeps all of it, and unknown names are ignored. A bad value answers 400 naming the
parameter; parameters the sandbox does not model are ignored.
"""

from __future__ import annotations

import re

import pandas as pd

from pmkpi_sandbox._http import ApiError

DEFAULT_COUNT = 10
MAX_COUNT = 1000
CAMPAIGN_STATUSES = ("save", "paused", "schedule", "sending", "sent", "canceled", "canceling", "archived")
CAMPAIGN_TYPES = ("regular", "plaintext", "absplit", "rss", "variate")
SORT_DIRECTIONS = ("ASC", "DESC")

Query = dict[str, str]
Paths = dict[str, "Paths | None"]  # a tree of dotted paths; None keeps the whole value


def query_int(query: Query, name: str, default: int) -> int:
    """A non-negative integer parameter, ``default`` when absent."""
    text = query.get(name, "")
    if text == "":
        return default
    if not text.isdigit():
        raise ApiError(400, f"Invalid value for '{name}': {text!r} is not a non-negative integer.")
    return int(text)


def query_time(query: Query, name: str) -> pd.Timestamp | None:
    """An ISO 8601 time parameter (UTC when it names no offset), None when absent."""
    text = query.get(name, "")
    if text == "":
        return None
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text)  # an unescaped '+' arrives as a space
    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        raise ApiError(400, f"Invalid value for '{name}': {text!r} is not an ISO 8601 time.") from None
    if pd.isna(stamp):
        raise ApiError(400, f"Invalid value for '{name}': {text!r} is not an ISO 8601 time.")
    return stamp.tz_localize("UTC") if stamp.tz is None else stamp


def query_choice(query: Query, name: str, allowed: tuple[str, ...]) -> str | None:
    """A parameter that must be one of ``allowed``, None when absent."""
    value = query.get(name, "")
    if value == "":
        return None
    if value not in allowed:
        raise ApiError(400, f"Invalid value for '{name}': {value!r}; expected one of {', '.join(allowed)}.")
    return value


def in_window(frame: pd.DataFrame, query: Query, field: str) -> pd.Series:
    """Rows whose ``field`` is in ``[since_<field>, before_<field>)``; a row without a time is out
    of any window."""
    keep = pd.Series(True, index=frame.index)
    since, before = query_time(query, f"since_{field}"), query_time(query, f"before_{field}")
    if since is not None:
        keep &= frame[field] >= since
    if before is not None:
        keep &= frame[field] < before
    return keep


def equal_to(frame: pd.DataFrame, query: Query, choices: dict[str, tuple[str, ...] | None]) -> pd.Series:
    """Rows whose columns equal the query's value of the same name (validated against ``choices``)."""
    keep = pd.Series(True, index=frame.index)
    for name, allowed in choices.items():
        value = query_choice(query, name, allowed) if allowed else query.get(name) or None
        if value is not None:
            keep &= frame[name] == value
    return keep


def ordered(frame: pd.DataFrame, query: Query, sortable: tuple[str, ...], default: str) -> pd.DataFrame:
    """``frame`` by ``sort_field`` (one of ``sortable``; ``default`` when absent) and ``sort_dir``, then id.

    An endpoint that sorts by nothing (``sortable`` empty) ignores both parameters, as Mailchimp does.
    """
    field = (query_choice(query, "sort_field", sortable) if sortable else None) or default
    ascending = not sortable or query_choice(query, "sort_dir", SORT_DIRECTIONS) != "DESC"
    return frame.sort_values([field, "id"], ascending=ascending, kind="stable", na_position="last")


def page(query: Query) -> slice:
    """The ``offset``/``count`` slice of a collection."""
    offset = query_int(query, "offset", 0)
    return slice(offset, offset + min(query_int(query, "count", DEFAULT_COUNT), MAX_COUNT))


def project(body: dict, query: Query) -> dict:
    """``body`` with only the ``fields`` and without the ``exclude_fields`` (always a fresh copy)."""
    fields, excluded = _paths(query.get("fields", "")), _paths(query.get("exclude_fields", ""))
    kept = _keep(body, fields or None)
    return _drop(kept, excluded) if excluded else kept


def _paths(text: str) -> Paths:
    """``a.b,a.c,d`` as ``{"a": {"b": None, "c": None}, "d": None}``; a shorter path wins over a longer."""
    tree: Paths = {}
    for path in sorted({part.strip() for part in text.split(",") if part.strip()}, key=lambda p: p.count(".")):
        node = tree
        *parents, leaf = path.split(".")
        for name in parents:
            if name in node and node[name] is None:
                break
            node = node.setdefault(name, {})
        else:
            node[leaf] = None
    return tree


def _keep(value: object, paths: Paths | None) -> object:
    if isinstance(value, list):
        return [_keep(item, paths) for item in value]
    if isinstance(value, dict):
        return {k: _keep(v, paths[k] if paths else None) for k, v in value.items() if paths is None or k in paths}
    return value


def _drop(value: object, paths: Paths) -> object:
    if isinstance(value, list):
        return [_drop(item, paths) for item in value]
    if isinstance(value, dict):
        return {k: v if k not in paths else _drop(v, paths[k]) for k, v in value.items()
                if k not in paths or paths[k] is not None}
    return value
