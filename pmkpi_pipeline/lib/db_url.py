"""SQLAlchemy database URLs in messages: shown with the password masked, never whole.

Used by every resource that takes a database URL from a secret setting (``PMKPI_BILLING_DB_URL``,
``PMKPI_PUBLISH_URL``): SQLAlchemy's ``render_as_string(hide_password=True)`` form is the only one
that appears in errors, logs and metadata.
"""

from __future__ import annotations

import sqlalchemy as sa


def masked_url(url: str, setting: str) -> str:
    """``url`` with its password shown as ``***``; a placeholder naming ``setting`` when it does not parse."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return f"<unparseable {setting}>"


def scrub(text: str, url: str, setting: str) -> str:
    """``text`` with ``url`` replaced by its masked form and any other occurrence of its password by ``***``."""
    text = text.replace(url, masked_url(url, setting))
    try:
        password = sa.make_url(url).password
    except sa.exc.ArgumentError:
        password = None
    return text.replace(password, "***") if password else text


def is_sqlalchemy_url(url: str) -> bool:
    """Whether ``url`` parses as a SQLAlchemy URL (``dialect[+driver]://…``)."""
    try:
        sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return False
    return "://" in url
