"""Fixtures of the KPI formula tests (helpers in ``kpi_helpers.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest
from kpi_helpers import staging_db


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with empty stg_* tables of the staging views' columns and the int_* views over them."""
    connection = staging_db()
    yield connection
    connection.close()
