"""The KPI layer's warehouse tables: KPI values, per-day check verdicts, landed days, and the ``kpis`` view."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from .warehouse import WarehouseTable, append_rows, ensure_table

KPI_ROWS = WarehouseTable(
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

CHECK_ROWS = WarehouseTable(
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

LANDED_DAYS = WarehouseTable(
    name="landed_days",
    columns={"date": "DATE", "source": "VARCHAR"},
)
"""The days each source has been landed and staged: KPI windows over days missing here are NULL."""

KPIS_VIEW_SQL = (
    "CREATE OR REPLACE VIEW kpis AS SELECT date, kpi, value, numerator, denominator, unit, "
    "dimension, dimension_value FROM kpi_values"
)


def replace_family_rows(
    con: duckdb.DuckDBPyConnection, schema: WarehouseTable, family: str, frame: pd.DataFrame,
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

