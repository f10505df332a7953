"""Billing rows into the warehouse in DuckDB SQL: scanned pieces (Arrow streams or DataFrame chunks) are
inserted through one SELECT that types them, so no value passes through Python.

Timestamps land as naive UTC (text without an offset is UTC, as the warehouse keeps timestamps); the event
tables' ``date`` is the local date of their timestamp in PMKPI_TIMEZONE. A value that is no timestamp stops
the run naming the table, column, value and the row's id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb

from ...lib.warehouse import WarehouseTable, registered
from .resource import BillingError

SCANNED = "_billing"


def _parsed(column: str) -> str:
    return f'"__parsed_{column}"'


def _utc(column: str, table: str) -> str:
    """SQL: the parsed ``column`` as naive UTC (epoch arithmetic, no time zone lookup), or an error naming the
    value and its row's id when it is no timestamp."""
    # SQL text literals double a quote: the value is shown in quotes, as repr() shows text
    message = (f"'billing table {table} column {column}: value ''' || CAST(\"{column}\" AS VARCHAR) || "
               "''' (id ' || CAST(id AS VARCHAR) || ') is not a timestamp'")
    return (f'CASE WHEN "{column}" IS NOT NULL AND {_parsed(column)} IS NULL THEN error({message}) '
            f"ELSE make_timestamp(epoch_us({_parsed(column)})) END")


def landing_select(schema: WarehouseTable, table: str, timestamps: Sequence[str], tz: str,
                   dated_by: str | None = None) -> str:
    """SQL selecting ``schema``'s columns from the scanned rows: ``timestamps`` as naive UTC, ``date`` the
    local date in ``tz`` of the ``dated_by`` timestamp, every other column cast to its type.

    An inner SELECT parses each timestamp once (``TRY_CAST`` to TIMESTAMPTZ: text with an offset is
    converted, text without one is UTC in the UTC session).
    """
    zone = tz.replace("'", "")
    columns = []
    for column, kind in schema.columns.items():
        if column == "date" and dated_by is not None:
            local = (f"make_timestamp(epoch_us({_parsed(dated_by)}))" if zone == "UTC"
                     else f"timezone('{zone}', {_parsed(dated_by)})")
            columns.append(f"CAST({local} AS DATE)")
        elif column in timestamps:
            columns.append(_utc(column, table))
        else:
            columns.append(f'CAST("{column}" AS {kind})')
    parsed = "".join(f', TRY_CAST("{c}" AS TIMESTAMPTZ) AS {_parsed(c)}' for c in timestamps)
    return f"SELECT {', '.join(columns)} FROM (SELECT *{parsed} FROM {SCANNED})"


def land(con: duckdb.DuckDBPyConnection, schema: WarehouseTable, pieces: Iterable, select: str) -> int:
    """Insert the scanned ``pieces`` into ``schema``'s table through ``select``; the rows inserted.

    Runs on a connection whose session time zone is UTC (see :func:`utc_session`).
    """
    names = ", ".join(f'"{c}"' for c in schema.columns)
    inserted = 0
    for piece in pieces:
        with registered(con, SCANNED, piece):
            try:
                inserted += con.execute(f'INSERT INTO "{schema.name}" ({names}) {select}').fetchone()[0]
            except duckdb.InvalidInputException as exc:
                if "is not a timestamp" not in str(exc):
                    raise
                raise BillingError("billing table" + str(exc).split("billing table", 1)[1]) from None
    return inserted


def utc_session(con: duckdb.DuckDBPyConnection) -> None:
    """Make text timestamps without an offset parse as UTC on this connection."""
    con.execute("SET SESSION TimeZone = 'UTC'")
