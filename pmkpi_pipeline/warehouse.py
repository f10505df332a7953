"""The DuckDB warehouse: table schemas, atomic partition replacement and the ``kpis`` view.

Every write goes through :meth:`WarehouseResource.transaction`: a range of partitions of one
or more tables is deleted and re-inserted inside one DuckDB transaction, so a re-run never
duplicates rows and a failed or killed run leaves the previous rows in place.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
from dagster import ConfigurableResource


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

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the warehouse file, closed on exit."""
        if not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.path, read_only=read_only)
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
    several tables can be replaced inside one transaction. Returns the number of rows inserted.
    """
    ensure_table(con, schema)
    rows = schema.conform(frame, source or schema.name)
    if schema.partition_column is None:
        con.execute(f'DELETE FROM "{schema.name}"')
    else:
        con.execute(
            f'DELETE FROM "{schema.name}" WHERE "{schema.partition_column}" BETWEEN ? AND ?',
            [start, end],
        )
    return append_rows(con, schema, rows)


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

KPIS_VIEW_SQL = (
    "CREATE OR REPLACE VIEW kpis AS SELECT date, kpi, value, numerator, denominator, unit, "
    "dimension, dimension_value FROM kpi_values"
)


def replace_family_rows(
    con: duckdb.DuckDBPyConnection, schema: TableSchema, family: str, frame: pd.DataFrame,
    start: date, end: date,
) -> int:
    """Replace one KPI family's rows of ``start..end`` in a shared table (``kpi_values`` or checks)."""
    ensure_table(con, schema)
    con.execute(
        f'DELETE FROM "{schema.name}" WHERE family = ? AND date BETWEEN ? AND ?', [family, start, end]
    )
    frame = frame.assign(family=family)
    inserted = append_rows(con, schema, frame)
    if schema is KPI_ROWS:
        con.execute(KPIS_VIEW_SQL)
    return inserted


def append_rows(con: duckdb.DuckDBPyConnection, schema: TableSchema, frame: pd.DataFrame) -> int:
    """Append ``frame`` to an existing table, cast to its schema; returns the row count."""
    rows = schema.conform(frame, schema.name)
    if len(rows):
        con.register("_incoming", rows)
        try:
            cols = ", ".join(f'"{c}"' for c in schema.columns)
            casts = ", ".join(f'CAST("{c}" AS {t})' for c, t in schema.columns.items())
            con.execute(f'INSERT INTO "{schema.name}" ({cols}) SELECT {casts} FROM _incoming')
        finally:
            con.unregister("_incoming")
    return len(rows)
