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


def _timestamp(column: str, table: str) -> str:
    """SQL: ``column`` as TIMESTAMPTZ, or an error naming the value and its row's id."""
    parsed = f'TRY_CAST("{column}" AS TIMESTAMPTZ)'
    # SQL text literals double a quote: the value is shown in quotes, as repr() shows text
    message = (f"'billing table {table} column {column}: value ''' || CAST(\"{column}\" AS VARCHAR) || "
               "''' (id ' || CAST(id AS VARCHAR) || ') is not a timestamp'")
    return f'CASE WHEN "{column}" IS NOT NULL AND {parsed} IS NULL THEN error({message}) ELSE {parsed} END'


def landing_select(schema: WarehouseTable, table: str, timestamps: Sequence[str], tz: str,
                   dated_by: str | None = None) -> str:
    """SQL selecting ``schema``'s columns from the scanned rows: ``timestamps`` as naive UTC, ``date`` the
    local date in ``tz`` of the ``dated_by`` timestamp, every other column cast to its type."""
    zone = tz.replace("'", "")
    columns = []
    for column, kind in schema.columns.items():
        if column == "date" and dated_by is not None:
            columns.append(f"CAST(timezone('{zone}', {_timestamp(dated_by, table)}) AS DATE)")
        elif column in timestamps:
            columns.append(f"timezone('UTC', {_timestamp(column, table)})")
        else:
            columns.append(f'CAST("{column}" AS {kind})')
    return f"SELECT {', '.join(columns)} FROM {SCANNED}"


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
