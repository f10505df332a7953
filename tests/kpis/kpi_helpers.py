"""Helpers of the KPI formula tests: empty ``stg_*`` tables, inserts, and running a family.

The tables have exactly the columns (and types) of the staging views, read from the views'
SQL, so a test inserts only the rows and columns its hand-made fixture needs; the ``int_*``
views of the staging SQL are created as views over those tables, so the formulas compute through
them as in the warehouse. :func:`run` computes a family and checks the shape every family must
have, whatever the data.
"""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import duckdb
import pandas as pd

from pmkpi_pipeline.defs.billing import tables as billing_tables
from pmkpi_pipeline.defs.common.staging import staging_views
from pmkpi_pipeline.defs.ga4 import tables as ga4_tables
from pmkpi_pipeline.defs.inputs import tables as inputs_tables
from pmkpi_pipeline.defs.kpis.catalog import BY_ID, FAMILIES
from pmkpi_pipeline.defs.kpis.formulas import FAMILY_FUNCTIONS, KPI_COLUMNS
from pmkpi_pipeline.defs.mailchimp import tables as mailchimp_tables
from pmkpi_pipeline.lib.settings import KpiSettings
from pmkpi_pipeline.lib.warehouse import WarehouseTable

SOURCES = ("ga4", "mailchimp", "billing", "inputs")
RAW_TABLE_MODULES = (ga4_tables, mailchimp_tables, billing_tables, inputs_tables)

SMALL = KpiSettings(window_days=3, email_window_days=2)


def empty_staging_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create every stg_* view's columns as an empty table (described through the raw tables), then the int_* views."""
    schemas = [s for s in (t for m in RAW_TABLE_MODULES for t in vars(m).values()) if isinstance(s, WarehouseTable)]
    for schema in schemas:
        con.execute(schema.ddl())
    con.execute("CREATE TABLE stg_fx_rates (currency VARCHAR, rate DOUBLE)")
    views = {name: sql for source in SOURCES for name, sql in staging_views(source, "UTC", "USD").items()}
    for name, sql in views.items():
        if name.startswith("int_"):
            con.execute(f"CREATE VIEW {name} AS {sql}")
            continue
        columns = con.execute(f"DESCRIBE {sql}").fetchall()
        con.execute(f"CREATE TABLE {name} ({', '.join(f'{c[0]} {c[1]}' for c in columns)})")
    for schema in schemas:
        con.execute(f"DROP TABLE {schema.name}")


def staging_db() -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB with empty stg_* tables and the int_* views over them."""
    con = duckdb.connect()
    empty_staging_tables(con)
    return con


def insert(con: duckdb.DuckDBPyConnection, table: str, columns: str, *rows: tuple) -> None:
    """Insert ``rows`` (tuples of values for ``columns``, e.g. "customer_id, started_date") into ``table``."""
    marks = ", ".join("?" for _ in columns.split(","))
    con.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", [list(r) for r in rows])


def run(con: duckdb.DuckDBPyConnection, family: str, start: str, end: str,
        cfg: KpiSettings = SMALL) -> pd.DataFrame:
    """Compute ``family`` for ``start..end`` and check the shape every family's rows must have."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    rows = FAMILY_FUNCTIONS[family](con, first, last, cfg)
    assert list(rows.columns) == list(KPI_COLUMNS)
    # one headline row per (day, KPI of the family), every day, nothing else in the family
    headline = rows[rows["dimension"].isna()]
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    expected = {(d, k.id) for d in days for k in FAMILIES[family]}
    assert sorted(zip(headline["date"], headline["kpi"])) == sorted(expected)
    assert all(isinstance(d, date) for d in rows["date"])
    assert (rows["unit"] == rows["kpi"].map(lambda k: BY_ID[k].unit)).all()
    # a NULL value always says why, a value never carries a reason
    assert (rows["value"].isna() == rows["null_reason"].notna()).all()
    for details in rows["details"].dropna():
        json.loads(details)
    return rows


def row(rows: pd.DataFrame, kpi: str, day: str, dimension_value: str | None = None) -> dict:
    """The one row of ``kpi`` on ``day`` (the headline row unless ``dimension_value`` is given)."""
    match = rows[(rows["kpi"] == kpi) & (rows["date"] == date.fromisoformat(day))]
    match = match[match["dimension_value"].isna()] if dimension_value is None else \
        match[match["dimension_value"] == dimension_value]
    assert len(match) == 1, f"{kpi} {day} {dimension_value}: {len(match)} rows"
    return match.iloc[0].to_dict()


def value(rows: pd.DataFrame, kpi: str, day: str, dimension_value: str | None = None) -> float | None:
    """The value of ``kpi`` on ``day``; None when NULL."""
    found = row(rows, kpi, day, dimension_value)["value"]
    return None if found is None or math.isnan(found) else found


def null_reason(rows: pd.DataFrame, kpi: str, day: str, dimension_value: str | None = None) -> str:
    """The reason ``kpi`` is NULL on ``day`` (fails when it is not NULL)."""
    found = row(rows, kpi, day, dimension_value)
    assert value(rows, kpi, day, dimension_value) is None, found
    return found["null_reason"]
