"""Billing tables as Arrow: ADBC drivers stream the rows of a SQLite or PostgreSQL billing database as
Arrow record batches, which DuckDB scans directly (no Python object per value, memory bounded by a batch).

``sqlite:///PATH`` opens the file read-only with ``adbc-driver-sqlite``; ``postgresql[+driver]://...``
connects with ``adbc-driver-postgresql`` (libpq). Any other URL has no ADBC driver here:
:func:`adbc_target` returns None and the resource reads through SQLAlchemy instead.

The SQLite driver infers each column's Arrow type from the first batch, so a column NULL throughout it
would be typed as integers and fail on the first text value after it: the query starts with one
sentinel row typed like the warehouse columns, dropped before DuckDB sees it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import pyarrow as pa
import sqlalchemy as sa

BATCH_ROWS = 65_536
SENTINELS = {"BIGINT": "0", "DOUBLE": "0.5"}  # any other warehouse type arrives as text: ''


def adbc_target(url: str) -> tuple[str, str] | None:
    """(driver, URI) of the ADBC driver for a SQLAlchemy ``url``, or None when there is none."""
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return "sqlite", f"file:{parsed.database}?mode=ro"
    if backend == "postgresql":
        return "postgresql", parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return None


@contextmanager
def adbc_connection(driver: str, uri: str) -> Iterator:
    """A DB-API connection of the ADBC ``driver``, closed on exit."""
    if driver == "sqlite":
        import adbc_driver_sqlite.dbapi as dbapi
    else:
        import adbc_driver_postgresql.dbapi as dbapi
    con = dbapi.connect(uri)
    try:
        yield con
    finally:
        con.close()


def select_sql(driver: str, table: str, columns: Mapping[str, str], where: str = "") -> str:
    """The query of ``columns`` (name → warehouse type) of ``table``; ``where`` uses ``:lo``/``:hi``.

    On SQLite it starts with the typed sentinel row (see the module docstring), text columns read as text.
    """
    names = ", ".join(columns)
    if driver == "postgresql":
        return f"SELECT {names} FROM {table} {where.replace(':lo', '$1').replace(':hi', '$2')}"
    sentinel = ", ".join(f"{SENTINELS.get(kind, repr(''))} AS {name}" for name, kind in columns.items())
    typed = ", ".join(name if kind in SENTINELS else f"CAST({name} AS TEXT) AS {name}"
                      for name, kind in columns.items())
    return f"SELECT {sentinel} UNION ALL SELECT {typed} FROM {table} {where.replace(':lo', '?').replace(':hi', '?')}"


def arrow_batches(con, driver: str, sql: str, params: Sequence = ()) -> pa.RecordBatchReader:
    """The rows of ``sql`` as a stream of Arrow record batches (the SQLite sentinel row dropped); the cursor
    stays open while the stream is read."""
    cursor = con.cursor()
    if driver == "sqlite":
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
    cursor.execute(sql, list(params) or None)
    reader = cursor.fetch_record_batch()

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for index, batch in enumerate(reader):
                yield batch.slice(1) if index == 0 and driver == "sqlite" else batch
        finally:
            cursor.close()

    return pa.RecordBatchReader.from_batches(reader.schema, batches())
