"""The pull ledger: which days each raw table holds from which pull; re-pulls keep what an API stopped serving.

Some APIs serve only recent history: Mailchimp's list activity covers the 180 days before today.
Re-pulling an older range then gets nothing, and replacing the range would delete rows landed
while the API still served them. So a raw asset says which days of its range the API served
(a span of days, or none), :func:`replace_served` replaces only those days and keeps the others,
and every day asked for is recorded in ``landed_pulls`` — one row per table and day:

- ``served`` true: the pull (``run_id``, ``pulled_at`` in UTC) whose ``rows`` the table holds for
  that day; ``rows`` 0 means the API had nothing that day;
- ``served`` false: the latest pull asked for the day and the API no longer served it, and no
  pull ever landed it (a day landed earlier keeps the row of the pull that landed it);
- no row: the day was never asked for.

The ledger is written in the caller's transaction, with the rows it describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from .warehouse import WarehouseTable, ensure_table, registered, replace_rows

LANDED_PULLS = WarehouseTable("landed_pulls", {
    "table_name": "VARCHAR", "date": "DATE", "run_id": "VARCHAR", "pulled_at": "TIMESTAMP", "rows": "BIGINT",
    "served": "BOOLEAN",
})


@dataclass(frozen=True)
class Pull:
    """One pull of a source: the Dagster run that made it and when (naive UTC)."""

    run_id: str
    pulled_at: datetime


def served_span(start: date, end: date, served: tuple[date, date] | None) -> tuple[date, date] | None:
    """The days of ``start..end`` inside the span the API served (first and last day), or None."""
    if served is None:
        return None
    first, last = max(start, served[0]), min(end, served[1])
    return (first, last) if first <= last else None


def replace_served(con: duckdb.DuckDBPyConnection, schema: WarehouseTable, frame: pd.DataFrame, start: date,
                   end: date, served: tuple[date, date] | None, pull: Pull) -> int:
    """Replace the days of ``start..end`` that the API served (the span ``served``; None: none) with ``frame``'s
    rows, keep the table's rows of the other days, and record every day of the range in ``landed_pulls``.

    ``frame`` holds rows of served days only (a row outside the span is refused, as by
    :func:`~.warehouse.replace_rows`). Returns the number of rows inserted.
    """
    span = served_span(start, end, served)
    ensure_table(con, schema)
    inserted = replace_rows(con, schema, frame, *span) if span else 0
    days = pd.date_range(start, end, freq="D").date
    landed = pd.to_datetime(frame[schema.partition_column]).dt.date if len(frame) else pd.Series(dtype=object)
    counts = landed.value_counts()
    record = pd.DataFrame({
        "table_name": schema.name, "date": days, "run_id": pull.run_id, "pulled_at": pull.pulled_at,
        "rows": [int(counts.get(day, 0)) for day in days],
        "served": [span is not None and span[0] <= day <= span[1] for day in days],
    })
    ensure_table(con, LANDED_PULLS)
    with registered(con, "_pulls", LANDED_PULLS.conform(record, LANDED_PULLS.name)):
        # a served pull replaces the day's row; an unserved one only replaces an unserved one
        con.execute("""
            DELETE FROM landed_pulls WHERE EXISTS (
                SELECT 1 FROM _pulls p WHERE p.table_name = landed_pulls.table_name AND p.date = landed_pulls.date
                AND (p.served OR NOT landed_pulls.served))""")
        con.execute("""
            INSERT INTO landed_pulls SELECT * FROM _pulls p WHERE NOT EXISTS (
                SELECT 1 FROM landed_pulls l WHERE l.table_name = p.table_name AND l.date = p.date)""")
    return inserted


def served_pulls(con: duckdb.DuckDBPyConnection, table: str, start: date, end: date) -> dict[date, datetime]:
    """The days of ``start..end`` whose rows of ``table`` come from a pull the API served, with when it was."""
    ensure_table(con, LANDED_PULLS)
    return dict(con.execute("SELECT date, pulled_at FROM landed_pulls WHERE table_name = ? AND served "
                            "AND date BETWEEN ? AND ?", [table, start, end]).fetchall())
