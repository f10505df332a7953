"""The billing database resource: any SQLAlchemy URL, read-only use, tables checked before use.

Tables are read as Arrow record batches through ADBC when the URL is SQLite or PostgreSQL
(:mod:`.arrow`), otherwise as DataFrame chunks through SQLAlchemy; either way DuckDB scans them directly.
Errors never show the URL's password: its masked form (:mod:`pmkpi_pipeline.lib.db_url`) is the only
one that appears in messages.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from dagster import ConfigurableResource
from pydantic import PrivateAttr

from ...lib.db_url import masked_url, scrub
from .arrow import adbc_connection, adbc_target, arrow_batches, select_sql

SETTING = "PMKPI_BILLING_DB_URL"

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("id", "email", "created_at", "activated_at", "acquisition_channel", "country"),
    "plans": ("id", "name", "billing_interval", "amount_cents", "currency"),
    "subscriptions": ("id", "customer_id", "plan_id", "quantity", "status", "started_at", "ended_at"),
    "invoices": ("id", "customer_id", "subscription_id", "issued_at", "paid_at", "amount_cents",
                 "currency", "status"),
    "refunds": ("id", "invoice_id", "created_at", "amount_cents"),
    "survey_responses": ("id", "customer_id", "survey", "score", "responded_at"),
    "product_events": ("id", "customer_id", "event_name", "occurred_at"),
}
"""The billing tables and the columns the pipeline reads (KPI_SPEC.md)."""


class BillingError(RuntimeError):
    """The billing database is unreachable or lacks a table or column; names which."""


class BillingDatabase(ConfigurableResource):
    """The billing/application database (``PMKPI_BILLING_DB_URL``); table names are configurable."""

    url: str
    table_names: dict[str, str] = {}
    _engine: object = PrivateAttr(default=None)

    def table(self, logical: str) -> str:
        """The physical name of a logical billing table (``customers`` → configured name)."""
        return self.table_names.get(logical, logical)

    @property
    def safe_url(self) -> str:
        """The URL with its password masked, for messages."""
        return masked_url(self.url, SETTING)

    def _mask(self, text: str) -> str:
        """``text`` with the URL and its password replaced by the masked URL / ``***``."""
        return scrub(text, self.url, SETTING)

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine, created once."""
        if self._engine is None:
            try:
                self._engine = sa.create_engine(self.url)
            except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
                raise BillingError(
                    f"PMKPI_BILLING_DB_URL ({self.safe_url}) cannot be used: {type(exc).__name__}"
                ) from None
        return self._engine

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        """A connection, with an unreachable database reported by its masked URL."""
        try:
            con = self.engine.connect()
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise BillingError(
                f"billing database {self.safe_url} cannot be reached or refused the connection "
                f"(PMKPI_BILLING_DB_URL): {self._mask(reason)}"
            ) from None
        try:
            yield con
        finally:
            con.close()

    def verify(self, con: sa.Connection, logicals: Sequence[str]) -> None:
        """Fail naming the table and column when the database lacks something the pipeline reads."""
        inspector = sa.inspect(con)
        for logical in logicals:
            name = self.table(logical)
            if not inspector.has_table(name):
                raise BillingError(f"billing database {self.safe_url} has no table {name}")
            present = {c["name"] for c in inspector.get_columns(name)}
            missing = [c for c in TABLE_COLUMNS[logical] if c not in present]
            if missing:
                raise BillingError(
                    f"billing table {name} lacks column(s) {', '.join(missing)} "
                    f"(database {self.safe_url})"
                )

    def read_chunks(self, con: sa.Connection, logical: str, where: str = "", params: dict | None = None,
                    chunk_rows: int = 500_000) -> Iterator[pd.DataFrame]:
        """Rows of one billing table (the documented columns only), optionally filtered, in chunks.

        Tuples come straight from the DB-API cursor (SQLAlchemy's per-row objects cost ~5× more
        on millions of rows), so memory stays flat however long the history.
        """
        columns = list(TABLE_COLUMNS[logical])
        sql = f"SELECT {', '.join(columns)} FROM {self.table(logical)} {where}"
        cursor = con.execute(sa.text(sql), params or {}).cursor
        while rows := cursor.fetchmany(chunk_rows):
            yield pd.DataFrame(rows, columns=columns)

    @contextmanager
    def reading(self) -> Iterator[BillingReader]:
        """The open database, its tables verified by :meth:`BillingReader.verify`; ADBC as well when it has a driver."""
        target = adbc_target(self.url)
        with self.connect() as con, ExitStack() as stack:
            adbc = None
            if target is not None:
                try:
                    adbc = (target[0], stack.enter_context(adbc_connection(*target)))
                except Exception as exc:  # any driver error, reported by the masked URL
                    raise BillingError(f"billing database {self.safe_url} refused the ADBC connection "
                                       f"(PMKPI_BILLING_DB_URL): {self._mask(str(exc).splitlines()[0])}") from None
            yield BillingReader(self, con, adbc)


@dataclass
class BillingReader:
    """An open billing database: SQLAlchemy for its catalog, ADBC (driver, connection) for Arrow reads if any."""

    db: BillingDatabase
    con: sa.Connection
    adbc: tuple[str, object] | None

    def verify(self, logicals: Sequence[str]) -> None:
        """Fail naming the table and column when the database lacks something the pipeline reads."""
        self.db.verify(self.con, logicals)

    def scan(self, logical: str, types: Mapping[str, str], where: str = "",
             params: dict | None = None) -> Iterator[pa.RecordBatchReader | pd.DataFrame]:
        """One billing table's documented columns (``types``: column → warehouse type), filtered by ``where``
        with ``:lo``/``:hi``: one Arrow stream through ADBC, else DataFrame chunks; DuckDB scans either."""
        if self.adbc is None:
            yield from self.db.read_chunks(self.con, logical, where, params)
            return
        driver, con = self.adbc
        values = list((params or {}).values())
        if driver == "sqlite":  # what SQLAlchemy's sqlite3 binds for a datetime: compared as text
            values = [v.isoformat(" ") for v in values]
        columns = {name: types[name] for name in TABLE_COLUMNS[logical]}
        yield arrow_batches(con, driver, select_sql(driver, self.db.table(logical), columns, where), values)
