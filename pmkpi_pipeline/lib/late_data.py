"""Late data: what a re-pull changed against what the warehouse holds, and when numbers count as settled."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
from dagster import MetadataValue

from .warehouse import WarehouseTable, ensure_table, registered


def changed_rows(
    con: duckdb.DuckDBPyConnection,
    schema: WarehouseTable,
    frame: pd.DataFrame,
    start: date,
    end: date,
    keys: Sequence[str],
    values: Sequence[str],
    settled_before: date,
    examples: int = 5,
) -> dict:
    """Compare re-pulled rows with what the table holds for ``start..end``, before replacing them.

    A row is changed when one of ``values`` differs for the same partition and ``keys``, or
    when it appeared or vanished on a day that had been landed before (days never landed are
    first pulls, not changes). Changes dated before ``settled_before`` are *settled* changes:
    numbers the source should no longer revise. One SQL comparison; returns
    ``{"changed": n, "settled": m, "examples": [...]}`` with up to ``examples`` settled
    changes (else the first changes), each ``{<partition>, <keys>, "changes": {column: [old, new]}}``.
    """
    ensure_table(con, schema)
    rows = schema.conform(frame, schema.name)
    part = schema.partition_column
    ids = [part, *keys]
    incoming = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in schema.columns.items())
    same_row = " AND ".join(f'o."{c}" IS NOT DISTINCT FROM n."{c}"' for c in ids)
    differs = " OR ".join([f'o."{part}" IS NULL', f'n."{part}" IS NULL',
                           *(f'o."{c}" IS DISTINCT FROM n."{c}"' for c in values)])
    key_cols = ", ".join(f'COALESCE(o."{c}", n."{c}") AS "{c}"' for c in ids)
    pairs = ", ".join(f'o."{c}" AS "old_{c}", n."{c}" AS "new_{c}"' for c in values)
    with registered(con, "_repulled", rows):
        found = con.execute(f"""
            WITH o AS (SELECT * FROM "{schema.name}" WHERE "{part}" BETWEEN $start AND $end),
                 n AS (SELECT {incoming} FROM _repulled),
                 d AS (SELECT {key_cols}, {pairs} FROM o FULL OUTER JOIN n ON {same_row} WHERE {differs})
            SELECT *, count(*) OVER () AS _changed,
                   sum(CASE WHEN "{part}" < $settled THEN 1 ELSE 0 END) OVER () AS _settled
            FROM d WHERE "{part}" IN (SELECT DISTINCT "{part}" FROM o)
            ORDER BY ("{part}" < $settled) DESC, {", ".join(f'"{c}"' for c in ids)}
            LIMIT {int(examples)}""", {"start": start, "end": end, "settled": settled_before}).fetchall()
    if not found:
        return {"changed": 0, "settled": 0, "examples": []}
    listed = []
    for row in found:
        record = dict(zip([*ids, *(f"{side}_{c}" for c in values for side in ("old", "new"))], row))
        listed.append({
            **{c: _plain(record[c]) for c in ids},
            "changes": {c: [_plain(record[f"old_{c}"]), _plain(record[f"new_{c}"])]
                        for c in values if record[f"old_{c}"] != record[f"new_{c}"]},
        })
    return {"changed": int(found[0][-2]), "settled": int(found[0][-1]), "examples": listed}


def settled_before(settling_days: int, tz: str, now: datetime | None = None) -> date:
    """The first day whose numbers may still change (today in ``tz`` − ``settling_days``).

    A day before it ended more than ``settling_days`` days ago: its numbers count as settled.
    """
    return (now or datetime.now(ZoneInfo(tz))).astimezone(ZoneInfo(tz)).date() - timedelta(days=settling_days)


def late_data_metadata(context, source: str, changes: dict[str, dict], settled: date, window: int) -> dict:
    """Materialisation metadata (and a warning) for numbers a re-pull changed.

    ``changed_rows`` counts changed rows per table; ``changed_settled_rows`` lists, per table
    with any, the count and a few examples of changes dated before ``settled`` (older than the
    ``window``-day settling time), which the schedule's lookback would not have re-pulled.
    """
    settled_changes = {table: {"count": c["settled"], "examples": c["examples"]}
                       for table, c in changes.items() if c["settled"]}
    if settled_changes:
        context.log.warning(
            f"{source}: re-pull changed numbers dated before {settled} (older than the {window}-day "
            f"settling window): " + ", ".join(f"{t} {c['count']} row(s)" for t, c in settled_changes.items()))
    return {
        "changed_rows": MetadataValue.json({table: c["changed"] for table, c in changes.items()}),
        "changed_settled_rows": MetadataValue.json(settled_changes),
        "settled_before": str(settled),
    }


def _plain(value):
    """A JSON-friendly form of a DuckDB value (dates and timestamps as ISO text)."""
    return value.isoformat() if hasattr(value, "isoformat") else value

