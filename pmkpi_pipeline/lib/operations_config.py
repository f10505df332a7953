"""The operations settings (``PMKPI_ALERT_WEBHOOK_URL``, ``PMKPI_ASSET_OWNERS``, ``PMKPI_ASSET_TAGS``).

Same contract as :mod:`pmkpi_pipeline.settings`: each reader returns a typed value or raises
:class:`~pmkpi_pipeline.settings.ConfigError` naming the variable and what is wrong with it.
They are read when the code location loads, so a malformed value stops the location there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from .settings import ConfigError

# Dagster's own rules: an owner is an e-mail address or "team:<name>"; a tag value is at most 63
# characters of [A-Za-z0-9_.-]; a tag key is an optional "prefix/" and a name of the same characters.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,7}")
_TAG_KEY = re.compile(r"^([A-Za-z0-9_.-]{1,63}/)?[A-Za-z0-9_.-]{1,63}$")
_TAG_VALUE = re.compile(r"^[A-Za-z0-9_.-]{0,63}$")
ALL_GROUPS = "*"


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value is not None and value.strip() else None


def alert_webhook_url() -> str | None:
    """``PMKPI_ALERT_WEBHOOK_URL``: where run-failure and failed-check alerts are POSTed (JSON).

    Unset means alerts are only logged (sensor tick logs in the Dagster UI and the daemon's log).
    """
    value = _raw("PMKPI_ALERT_WEBHOOK_URL")
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"PMKPI_ALERT_WEBHOOK_URL={mask_url(value)!r} must be an http:// or https:// URL with a host, "
            "e.g. https://hooks.slack.com/services/T000/B000/XXXX"
        )
    return value


def mask_url(url: str) -> str:
    """The URL with its path and query hidden: webhook URLs carry their secret in the path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/***" if parts.netloc else "***"


def is_valid_owner(owner: str) -> bool:
    return bool(_EMAIL.fullmatch(owner)) or (owner.startswith("team:") and len(owner) > 5)


def asset_owners(groups: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """``PMKPI_ASSET_OWNERS``: owners per asset group, ``group=owner,owner;group=owner``.

    ``*`` names every group, e.g. ``*=team:data;raw_ga4=team:web-analytics,ana@example.com``.
    An owner is an e-mail address or ``team:<name>``. Returns group → owners (``*`` owners first).
    """
    known = sorted(set(groups))
    value = _raw("PMKPI_ASSET_OWNERS")
    owners: dict[str, list[str]] = {}
    if value is None:
        return {}
    for entry in (e.strip() for e in value.split(";")):
        if not entry:
            continue
        group, sep, names = entry.partition("=")
        group = group.strip()
        listed = [n.strip() for n in names.split(",") if n.strip()]
        if not sep or not group or not listed:
            raise ConfigError(
                f"PMKPI_ASSET_OWNERS has a malformed entry {entry!r}; expected GROUP=OWNER[,OWNER] entries "
                "separated by ';', e.g. '*=team:data;raw_ga4=team:web-analytics,ana@example.com'"
            )
        if group != ALL_GROUPS and group not in known:
            raise ConfigError(
                f"PMKPI_ASSET_OWNERS names the unknown asset group {group!r}; groups are "
                f"{', '.join(known)} (or '*' for all)"
            )
        bad = [n for n in listed if not is_valid_owner(n)]
        if bad:
            raise ConfigError(
                f"PMKPI_ASSET_OWNERS: {', '.join(repr(b) for b in bad)} for group {group!r} is not an owner; "
                "an owner is an e-mail address or a team name prefixed with 'team:'"
            )
        owners.setdefault(group, []).extend(n for n in listed if n not in owners.get(group, []))
    common = owners.pop(ALL_GROUPS, [])
    return {g: tuple(dict.fromkeys([*common, *owners.get(g, [])])) for g in known if common or g in owners}


def asset_tags() -> dict[str, str]:
    """``PMKPI_ASSET_TAGS``: tags put on every asset, ``key=value,key=value`` (e.g. ``domain=marketing``)."""
    value = _raw("PMKPI_ASSET_TAGS")
    tags: dict[str, str] = {}
    if value is None:
        return tags
    for item in (i.strip() for i in value.split(",")):
        if not item:
            continue
        key, sep, tag_value = (part.strip() for part in item.partition("="))
        if not sep or not _TAG_KEY.match(key) or not _TAG_VALUE.match(tag_value) or key.startswith("dagster/"):
            raise ConfigError(
                f"PMKPI_ASSET_TAGS has an invalid entry {item!r}; expected KEY=VALUE pairs separated by ',', "
                "keys and values of letters, digits, '_', '-', '.' (at most 63 characters; a key may have "
                "one 'prefix/'; the 'dagster/' prefix is reserved), e.g. 'domain=marketing,tier=gold'"
            )
        tags[key] = tag_value
    return tags
