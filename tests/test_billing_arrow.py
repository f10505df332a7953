"""The billing tables read as Arrow (ADBC) land exactly what the SQLAlchemy path lands, and SQLite's
type inference cannot trip the Arrow path (PostgreSQL: tests/test_postgres.py)."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest
from support import land_billing

RANGE = date(2025, 2, 1), date(2025, 2, 7)


def test_sqlite_through_adbc_lands_what_sqlalchemy_lands(code_location, sandbox, tmp_path, monkeypatch):
    import pandas as pd

    from pmkpi_pipeline.defs.billing import resource

    url = sandbox.exported["PMKPI_BILLING_DB_URL"]
    assert resource.adbc_target(url)[0] == "sqlite"
    through_arrow = land_billing(code_location, url, tmp_path / "arrow.duckdb", *RANGE)
    monkeypatch.setattr(resource, "adbc_target", lambda url: None)
    through_sqlalchemy = land_billing(code_location, url, tmp_path / "rows.duckdb", *RANGE)
    assert set(through_arrow) == set(through_sqlalchemy) and len(through_arrow) == 7
    for name, frame in through_sqlalchemy.items():
        pd.testing.assert_frame_equal(through_arrow[name], frame, obj=name)
    assert len(through_arrow["raw_billing_product_events"]) > 0


@pytest.fixture
def customers_db(tmp_path):
    """A billing SQLite file with only a customers table, filled by the test."""
    path = tmp_path / "billing.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id INTEGER, email TEXT, created_at DATETIME, activated_at DATETIME, "
                "acquisition_channel TEXT, country TEXT)")

    def fill(rows):
        con.executemany("INSERT INTO customers VALUES (?, 'a@b.c', ?, ?, 'direct', 'DE')", rows)
        con.commit()
        return f"sqlite:///{path}"

    yield fill
    con.close()


def _land_customers(url: str) -> list[tuple]:
    import duckdb

    from pmkpi_pipeline.defs.billing.arrow import BATCH_ROWS
    from pmkpi_pipeline.defs.billing.landing import land, landing_select, utc_session
    from pmkpi_pipeline.defs.billing.resource import BillingDatabase
    from pmkpi_pipeline.defs.billing.tables import BILLING_CUSTOMERS
    from pmkpi_pipeline.lib.warehouse import ensure_table

    assert BATCH_ROWS < 70_000
    con = duckdb.connect()
    utc_session(con)
    ensure_table(con, BILLING_CUSTOMERS)
    with BillingDatabase(url=url).reading() as source:
        assert source.adbc is not None
        select = landing_select(BILLING_CUSTOMERS, "customers", ("created_at", "activated_at"), "UTC")
        land(con, BILLING_CUSTOMERS, source.scan("customers", BILLING_CUSTOMERS.columns), select)
    return con.execute("SELECT id, created_at, activated_at FROM raw_billing_customers ORDER BY id").fetchall()


def test_sqlite_column_null_throughout_the_first_batch(customers_db):
    """70,000 customers not activated, then one activated: the Arrow column is still a timestamp (text)."""
    from datetime import datetime

    url = customers_db([(i, "2025-01-01 10:00:00", None) for i in range(70_000)]
                       + [(70_000, "2025-01-02T10:00:00+02:00", "2025-01-03 09:30:00.250000")])
    landed = _land_customers(url)
    assert len(landed) == 70_001
    assert landed[-1] == (70_000, datetime(2025, 1, 2, 8), datetime(2025, 1, 3, 9, 30, 0, 250000))


def test_sqlite_value_that_is_no_timestamp_is_named(customers_db):
    from pmkpi_pipeline.defs.billing.resource import BillingError

    url = customers_db([(1, "2025-01-01 10:00:00", None), (2, "yesterday", None)])
    with pytest.raises(BillingError, match=r"^billing table customers column created_at: value 'yesterday' \(id 2\) "
                                           r"is not a timestamp$"):
        _land_customers(url)
