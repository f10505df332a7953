"""The DuckDB warehouse: table schemas, atomic partition replacement and the ``kpis`` view.

Every write goes through :meth:`WarehouseResource.transaction`: a range of partitions of one
or more tables is deleted and re-inserted inside one DuckDB transaction, so a re-run never
duplicates rows and a failed or killed run leaves the previous rows in place.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
from dagster import ConfigurableResource, MetadataValue


class SchemaDriftError(RuntimeError):
    """A landed frame or an existing table does not have the columns its schema declares."""


@dataclass(frozen=True)
class TableSchema:
    """A warehouse table: its columns (name → DuckDB type) and the column that holds its partition date.

    ``partition_column=None`` marks a state table that is replaced whole on every write.
    """

    name: str
    columns: Mapping[str, str]
    partition_column: str | None = "date"

    def ddl(self) -> str:
        cols = ", ".join(f'"{name}" {kind}' for name, kind in self.columns.items())
        return f'CREATE TABLE IF NOT EXISTS "{self.name}" ({cols})'

    def conform(self, frame: pd.DataFrame, source: str) -> pd.DataFrame:
        """Return ``frame`` with exactly this schema's columns, in order; name any missing column."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise SchemaDriftError(
                f"{source}: rows for table {self.name} lack column(s) {', '.join(missing)}"
            )
        return frame[list(self.columns)]


class WarehouseResource(ConfigurableResource):
    """The DuckDB file every asset reads and writes (``PMKPI_WAREHOUSE``)."""

    path: str
    memory_limit: str = "512MB"
    """DuckDB's buffer limit (it spills to disk beyond it), so a two-year backfill stays within ~1 GiB."""

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the warehouse file, closed on exit."""
        if not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.path, read_only=read_only, config={"memory_limit": self.memory_limit})
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside one transaction: committed on success, rolled back on any error."""
        with self.connect() as con:
            con.begin()
            try:
                yield con
            except BaseException:
                con.rollback()
                raise
            con.commit()


def ensure_table(con: duckdb.DuckDBPyConnection, schema: TableSchema) -> None:
    """Create ``schema``'s table if absent; fail with the differing columns if it has drifted."""
    con.execute(schema.ddl())
    existing = [row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position", [schema.name]).fetchall()]
    if existing != list(schema.columns):
        raise SchemaDriftError(
            f"warehouse table {schema.name} has columns {existing}, expected {list(schema.columns)}; "
            f"drop it (DROP TABLE {schema.name}) and re-run the backfill to rebuild it"
        )


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    schema: TableSchema,
    frame: pd.DataFrame,
    start: date | None = None,
    end: date | None = None,
    source: str = "",
) -> int:
    """Replace the rows of partitions ``start..end`` (inclusive) of a table with ``frame``.

    State tables (no partition column) are replaced whole. Runs on the caller's connection so
    several tables can be replaced inside one transaction. A row dated outside ``start..end``
    is refused (it would survive the next re-run's delete and be duplicated). Returns the
    number of rows inserted.
    """
    ensure_table(con, schema)
    rows = schema.conform(frame, source or schema.name)
    if schema.partition_column is None:
        con.execute(f'DELETE FROM "{schema.name}"')
    else:
        _refuse_rows_outside(rows, schema, start, end, source or schema.name)
        con.execute(
            f'DELETE FROM "{schema.name}" WHERE "{schema.partition_column}" BETWEEN ? AND ?',
            [start, end],
        )
    return append_rows(con, schema, rows)


def _refuse_rows_outside(rows: pd.DataFrame, schema: TableSchema, start, end, source: str) -> None:
    if start is None or end is None:
        raise ValueError(f"{source}: replacing partitions of {schema.name} needs start and end")
    if not len(rows):
        return
    days = pd.to_datetime(rows[schema.partition_column], errors="coerce")
    outside = days.isna() | (days < pd.Timestamp(start)) | (days > pd.Timestamp(end))
    if outside.any():
        raise SchemaDriftError(
            f"{source}: {int(outside.sum())} row(s) for table {schema.name} have "
            f"{schema.partition_column} {rows[schema.partition_column][outside].iloc[0]!r}, outside "
            f"the partitions {start}..{end} being replaced"
        )


def changed_rows(
    con: duckdb.DuckDBPyConnection,
    schema: TableSchema,
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
    with _registered(con, "_repulled", rows):
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


KPI_ROWS = TableSchema(
    name="kpi_values",
    columns={
        "date": "DATE",
        "kpi": "VARCHAR",
        "value": "DOUBLE",
        "numerator": "DOUBLE",
        "denominator": "DOUBLE",
        "unit": "VARCHAR",
        "dimension": "VARCHAR",
        "dimension_value": "VARCHAR",
        "null_reason": "VARCHAR",
        "details": "VARCHAR",
        "family": "VARCHAR",
    },
)

CHECK_ROWS = TableSchema(
    name="kpi_check_results",
    columns={
        "date": "DATE",
        "kpi": "VARCHAR",
        "check_name": "VARCHAR",
        "passed": "BOOLEAN",
        "severity": "VARCHAR",
        "description": "VARCHAR",
        "metadata": "VARCHAR",
        "family": "VARCHAR",
    },
)

LANDED_DAYS = TableSchema(
    name="landed_days",
    columns={"date": "DATE", "source": "VARCHAR"},
)
"""The days each source has been landed and staged: KPI windows over days missing here are NULL."""

KPIS_VIEW_SQL = (
    "CREATE OR REPLACE VIEW kpis AS SELECT date, kpi, value, numerator, denominator, unit, "
    "dimension, dimension_value FROM kpi_values"
)


def replace_family_rows(
    con: duckdb.DuckDBPyConnection, schema: TableSchema, family: str, frame: pd.DataFrame,
    start: date, end: date, key_column: str = "family",
) -> int:
    """Replace one owner's rows of ``start..end`` in a shared table: a KPI family's in ``kpi_values``
    or ``kpi_check_results``, a source's in ``landed_days`` (``key_column`` names the owner column)."""
    ensure_table(con, schema)
    con.execute(
        f'DELETE FROM "{schema.name}" WHERE "{key_column}" = ? AND date BETWEEN ? AND ?', [family, start, end]
    )
    frame = frame.assign(**{key_column: family})
    inserted = append_rows(con, schema, frame)
    if schema is KPI_ROWS:
        con.execute(KPIS_VIEW_SQL)
    return inserted


def append_rows(con: duckdb.DuckDBPyConnection, schema: TableSchema, frame: pd.DataFrame) -> int:
    """Append ``frame`` to an existing table, cast to its schema; returns the row count."""
    rows = schema.conform(frame, schema.name)
    if len(rows):
        cols = ", ".join(f'"{c}"' for c in schema.columns)
        casts = ", ".join(f'CAST("{c}" AS {t})' for c, t in schema.columns.items())
        with _registered(con, "_incoming", rows):
            con.execute(f'INSERT INTO "{schema.name}" ({cols}) SELECT {casts} FROM _incoming')
    return len(rows)


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> Iterator[None]:
    """``frame`` visible to SQL as ``name`` for the block.

    When the block fails, the transaction may be aborted and even unregistering would raise,
    hiding the real error: the registration is then left to the rollback / closing connection.
    """
    con.register(name, frame)
    try:
        yield
    except BaseException:
        try:
            con.unregister(name)
        except duckdb.Error:
            pass
        raise
    con.unregister(name)
