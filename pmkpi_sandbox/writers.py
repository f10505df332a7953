"""Write a :class:`Company` where the pipeline reads it: a billing database and the input CSVs.

``write_billing_db`` creates the seven billing tables of KPI_SPEC.md with SQLAlchemy Core in any
database (dropping tables of the same names first) and bulk-loads them in one transaction the
fastest way the driver allows: ``executemany`` on the raw ``sqlite3`` connection, ``COPY`` for
``postgresql+psycopg2``, and SQLAlchemy's executemany for anything else. SQLite stores
timestamps as text in SQLAlchemy's own ``YYYY-MM-DD HH:MM:SS.ffffff`` form, so SQLAlchemy reads
them back as datetimes and text comparisons order them correctly.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
)

from pmkpi_sandbox.company import Company

INPUT_FRAMES = ("marketing_spend", "social_media", "industry_sales")
_CHUNK_ROWS = 250_000


def billing_metadata() -> MetaData:
    """The billing tables of KPI_SPEC.md (timestamps are naive UTC; NULL where the spec says so)."""
    metadata = MetaData()

    def key(big: bool = False) -> Column:
        kind = BigInteger().with_variant(Integer(), "sqlite") if big else Integer()
        return Column("id", kind, primary_key=True, autoincrement=False)

    def required(name: str, kind) -> Column:
        return Column(name, kind, nullable=False)

    Table(
        "customers", metadata, key(),
        required("email", String(255)),
        required("created_at", DateTime()),
        Column("activated_at", DateTime(), nullable=True),
        required("acquisition_channel", String(64)),
        required("country", String(2)),
    )
    Table(
        "plans", metadata, key(),
        required("name", String(64)),
        required("billing_interval", String(8)),
        required("amount_cents", BigInteger()),
        required("currency", String(3)),
        CheckConstraint(
            "billing_interval IN ('month', 'quarter', 'year')", name="ck_plans_billing_interval"
        ),
    )
    Table(
        "subscriptions", metadata, key(),
        required("customer_id", Integer()),
        required("plan_id", Integer()),
        required("quantity", Integer()),
        required("status", String(16)),
        required("started_at", DateTime()),
        Column("ended_at", DateTime(), nullable=True),
    )
    Table(
        "invoices", metadata, key(),
        required("customer_id", Integer()),
        Column("subscription_id", Integer(), nullable=True),
        required("issued_at", DateTime()),
        Column("paid_at", DateTime(), nullable=True),
        required("amount_cents", BigInteger()),
        required("currency", String(3)),
        required("status", String(16)),
    )
    Table(
        "refunds", metadata, key(),
        required("invoice_id", Integer()),
        required("created_at", DateTime()),
        required("amount_cents", BigInteger()),
    )
    Table(
        "survey_responses", metadata, key(),
        Column("customer_id", Integer(), nullable=True),
        required("survey", String(8)),
        required("score", Integer()),
        required("responded_at", DateTime()),
        CheckConstraint("survey IN ('nps', 'csat')", name="ck_survey_responses_survey"),
    )
    Table(
        "product_events", metadata, key(big=True),
        required("customer_id", Integer()),
        required("event_name", String(64)),
        required("occurred_at", DateTime()),
    )
    return metadata


def _indexes(metadata: MetaData) -> list[Index]:
    """The time-window indexes, created after the load (cheaper than maintaining them)."""
    indexed = {
        "customers": ("created_at",),
        "subscriptions": ("started_at",),
        "invoices": ("issued_at", "paid_at"),
        "refunds": ("created_at",),
        "survey_responses": ("responded_at",),
        "product_events": ("occurred_at",),
    }
    return [
        Index(f"ix_{table}_{column}", metadata.tables[table].c[column])
        for table, columns in indexed.items()
        for column in columns
    ]


def write_billing_db(company: Company, url: str) -> dict[str, int]:
    """Create the billing tables at SQLAlchemy ``url`` (replacing existing ones) and load the
    company's rows; returns the row count per table."""
    engine = create_engine(url)
    metadata = billing_metadata()
    driver = f"{engine.dialect.name}+{engine.dialect.driver}"
    load = _LOADERS.get(driver, _load_with_sqlalchemy)
    counts = {}
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":  # a 256 MB page cache: faster inserts and indexes
                connection.exec_driver_sql("PRAGMA cache_size = -262144")
            metadata.drop_all(connection)
            metadata.create_all(connection)
            for name, frame in company.billing_tables().items():
                table = metadata.tables[name]
                load(connection, table, frame[[column.name for column in table.columns]])
                counts[name] = len(frame)
            for index in _indexes(metadata):
                index.create(connection)
    finally:
        engine.dispose()
    return counts


def write_inputs(company: Company, folder: Path) -> list[Path]:
    """Write ``marketing_spend.csv``, ``social_media.csv`` and ``industry_sales.csv`` (ISO dates,
    money with two decimals) into ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in INPUT_FRAMES:
        path = folder / f"{name}.csv"
        frame = getattr(company, name)
        frame.to_csv(path, index=False, date_format="%Y-%m-%d", float_format="%.2f")
        paths.append(path)
    return paths


# --- loaders ---------------------------------------------------------------------------------


def _chunks(frame: pd.DataFrame) -> Iterator[pd.DataFrame]:
    for begin in range(0, len(frame), _CHUNK_ROWS):
        yield frame.iloc[begin: begin + _CHUNK_ROWS]


def _column_list(connection: Connection, table: Table) -> str:
    quote = connection.dialect.identifier_preparer.quote
    return ", ".join(quote(column.name) for column in table.columns)


_DIGIT_PAIRS = np.array(  # code points of the tens (row 0) and units (row 1) digits of 0..99
    [[ord("0") + n // 10 for n in range(100)], [ord("0") + n % 10 for n in range(100)]],
    dtype=np.uint32,
)


def _sqlite_timestamps(values: np.ndarray) -> np.ndarray:
    """Naive timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff`` text (NaT as ``None``), assembled from
    two-digit codes: ``numpy.datetime_as_string`` is several times slower."""
    missing = np.isnat(values)
    micros = np.where(missing, 0, values.astype("datetime64[us]").astype(np.int64))
    days = micros // 86_400_000_000
    seconds = (micros - days * 86_400_000_000) // 1_000_000
    fraction = (micros % 1_000_000).astype(np.int32)
    months = days.astype("datetime64[D]").astype("datetime64[M]")
    year = (months.astype("datetime64[Y]").astype(np.int64) + 1970).astype(np.int32)
    seconds = seconds.astype(np.int32)
    parts = (
        year // 100, year % 100, "-", (months.astype(np.int64) % 12 + 1).astype(np.int32), "-",
        (days - months.astype("datetime64[D]").astype(np.int64) + 1).astype(np.int32), " ",
        seconds // 3600, ":", seconds // 60 % 60, ":", seconds % 60, ".",
        fraction // 10_000, fraction // 100 % 100, fraction % 100,
    )
    codes = np.empty((26, len(values)), dtype=np.uint32)  # one row per character
    position = 0
    for part in parts:
        if isinstance(part, str):
            codes[position] = ord(part)
            position += 1
        else:
            codes[position: position + 2] = np.take(_DIGIT_PAIRS, part, axis=1)
            position += 2
    text = np.ascontiguousarray(codes.T).view("<U26").ravel().astype(object)
    text[missing] = None
    return text


def _python_values(series: pd.Series) -> list:
    """A column as plain Python values for a DB-API driver, missing values as ``None``;
    timestamps as SQLAlchemy's SQLite text form."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return _sqlite_timestamps(series.to_numpy("datetime64[us]")).tolist()
    if series.hasnans:
        return series.astype(object).where(series.notna(), None).tolist()
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.astype(object).tolist()
    return series.tolist()


def _load_sqlite(connection: Connection, table: Table, frame: pd.DataFrame) -> None:
    marks = ", ".join("?" * len(frame.columns))
    sql = f"INSERT INTO {connection.dialect.identifier_preparer.format_table(table)} " \
          f"({_column_list(connection, table)}) VALUES ({marks})"
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        for chunk in _chunks(frame):
            cursor.executemany(sql, zip(*(_python_values(chunk[name]) for name in chunk.columns)))
    finally:
        cursor.close()


def _load_postgres_copy(connection: Connection, table: Table, frame: pd.DataFrame) -> None:
    sql = (
        f"COPY {connection.dialect.identifier_preparer.format_table(table)} "
        f"({_column_list(connection, table)}) FROM STDIN WITH (FORMAT csv)"
    )
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        for chunk in _chunks(frame):
            buffer = io.StringIO()
            chunk.to_csv(buffer, header=False, index=False, date_format="%Y-%m-%d %H:%M:%S.%f")
            buffer.seek(0)
            cursor.copy_expert(sql, buffer)
    finally:
        cursor.close()


def _load_with_sqlalchemy(connection: Connection, table: Table, frame: pd.DataFrame) -> None:
    for chunk in _chunks(frame):
        rows = chunk.astype(object).where(chunk.notna(), None)
        connection.execute(table.insert(), rows.to_dict("records"))


_LOADERS: dict[str, Callable[[Connection, Table, pd.DataFrame], None]] = {
    "sqlite+pysqlite": _load_sqlite,
    "postgresql+psycopg2": _load_postgres_copy,
}
