"""The DuckDB warehouse: its connection, table definitions and atomic partition replacement.

Every write goes through :meth:`WarehouseResource.transaction`: a range of partitions of one
or more tables is deleted and re-inserted inside one DuckDB transaction, so a re-run never
duplicates rows and a failed or killed run leaves the previous rows in place.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
from dagster import ConfigurableResource, TableColumn, TableSchema


class SchemaDriftError(RuntimeError):
    """A landed frame or an existing table does not have the columns its schema declares."""


@dataclass(frozen=True)
class WarehouseTable:
    """A warehouse table (not Dagster's ``TableSchema``): columns (name → DuckDB type) and its partition date column.

    ``partition_column=None`` marks a state table that is replaced whole on every write.
    """

    name: str
    columns: Mapping[str, str]
    partition_column: str | None = "date"

    def column_schema(self) -> TableSchema:
        """The columns as Dagster's ``TableSchema`` (shown on the asset page as ``dagster/column_schema``)."""
        return TableSchema(columns=[TableColumn(name, kind) for name, kind in self.columns.items()])

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
    memory_limit: str = "256MB"
    """DuckDB's buffer limit (it spills to disk beyond it). It is most of a large step's peak memory: on the
    reference company (two years) ``kpi_customer`` peaks at 572 MiB of process RSS with 256MB, 820 MiB with
    512MB, in about the same time."""

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


def ensure_table(con: duckdb.DuckDBPyConnection, schema: WarehouseTable) -> None:
    """Create ``schema``'s table if absent; fail with the differing columns if it has drifted.

    Columns a newer version appends to a schema are added to an existing table (NULL in its old rows),
    so an upgrade keeps what was landed; any other difference is drift.
    """
    con.execute(schema.ddl())
    existing = [row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position", [schema.name]).fetchall()]
    wanted = list(schema.columns)
    if existing == wanted[: len(existing)]:
        for name in wanted[len(existing):]:
            con.execute(f'ALTER TABLE "{schema.name}" ADD COLUMN "{name}" {schema.columns[name]}')
        existing = wanted
    if existing != wanted:
        raise SchemaDriftError(
            f"warehouse table {schema.name} has columns {existing}, expected {list(schema.columns)}; "
            f"drop it (DROP TABLE {schema.name}) and re-run the backfill to rebuild it"
        )


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    schema: WarehouseTable,
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
    rows = schema.conform(frame, source or schema.name)
    if schema.partition_column is not None:
        _refuse_rows_outside(rows, schema, start, end, source or schema.name)
    clear_rows(con, schema, start, end)
    return append_rows(con, schema, rows)


def clear_rows(con: duckdb.DuckDBPyConnection, schema: WarehouseTable, start: date | None = None,
               end: date | None = None) -> None:
    """Delete what a replace of partitions ``start..end`` (inclusive) replaces: the whole table for a state
    table. Creates the table when missing; for a caller that inserts the new rows in SQL itself."""
    ensure_table(con, schema)
    if schema.partition_column is None:
        con.execute(f'DELETE FROM "{schema.name}"')
    else:
        con.execute(
            f'DELETE FROM "{schema.name}" WHERE "{schema.partition_column}" BETWEEN ? AND ?',
            [start, end],
        )


def _refuse_rows_outside(rows: pd.DataFrame, schema: WarehouseTable, start, end, source: str) -> None:
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


def append_rows(con: duckdb.DuckDBPyConnection, schema: WarehouseTable, frame: pd.DataFrame) -> int:
    """Append ``frame`` to an existing table, cast to its schema; returns the row count."""
    rows = schema.conform(frame, schema.name)
    if len(rows):
        cols = ", ".join(f'"{c}"' for c in schema.columns)
        casts = ", ".join(f'CAST("{c}" AS {t})' for c, t in schema.columns.items())
        with registered(con, "_incoming", rows):
            con.execute(f'INSERT INTO "{schema.name}" ({cols}) SELECT {casts} FROM _incoming')
    return len(rows)


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> Iterator[None]:
    """``frame`` visible to SQL as ``name`` for the block.

    When the block fails, the transaction may be aborted and even unregistering would raise,
    hiding the real error: the registration is then left to the rollback / closing connection.
    """
    con.register(name, frame)
    try:
        yield
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.unregister(name)
        raise
    con.unregister(name)


def daily_row_counts(con: duckdb.DuckDBPyConnection, date_columns: Mapping[str, str], start: date,
                     end: date) -> dict[date, dict[str, int]]:
    """Rows per day of ``start..end`` in each table or view (name → its date column; 0 on a day without
    rows): one query per table."""
    counts = {start + timedelta(days=i): dict.fromkeys(date_columns, 0) for i in range((end - start).days + 1)}
    for name, column in date_columns.items():
        for day, rows in con.execute(f'SELECT "{column}", count(*) FROM "{name}" '
                                     f'WHERE "{column}" BETWEEN ? AND ? GROUP BY 1', [start, end]).fetchall():
            counts[day][name] = rows
    return counts
