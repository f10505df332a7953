"""The KPI layer's warehouse tables: KPI values, per-day check verdicts, landed days, and the ``kpis`` view."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    columns={"date": "DATE", "source": "VARCHAR", "landed_at": "TIMESTAMP", "settles_at": "TIMESTAMP"},
)
"""The days each source has been landed and staged: KPI windows over days missing here are NULL.

``landed_at`` is when the day was last landed (UTC) and ``settles_at`` when the source's numbers for that
day become final (UTC); a day landed before it settled makes the KPIs whose window holds it provisional.
"""


def kpis_view_sql(kpi_windows: Mapping[str, tuple[int, Sequence[str]]]) -> str:
    """The ``kpis`` view: KPI rows, each marked ``provisional`` when a day of its window was landed from a
    source before that source settled; ``provisional_sources`` names those sources.

    ``kpi_windows`` maps each KPI id to its window in days and its sources.
    """
    pairs = ", ".join(f"('{kpi}', '{source}', {window})" for kpi, (window, sources) in sorted(kpi_windows.items())
                      for source in sources)
    return f"""CREATE OR REPLACE VIEW kpis AS
WITH kpi_sources(kpi, source, window_days) AS (VALUES {pairs}),
unsettled AS (SELECT date, source FROM landed_days WHERE landed_at < settles_at),
provisional AS (
    SELECT k.date, k.kpi, string_agg(DISTINCT s.source, ',' ORDER BY s.source) AS sources
    FROM (SELECT DISTINCT date, kpi FROM kpi_values) k
    JOIN kpi_sources s ON s.kpi = k.kpi
    JOIN unsettled u ON u.source = s.source AND u.date BETWEEN k.date - (s.window_days - 1) AND k.date
    GROUP BY k.date, k.kpi)
SELECT v.date, v.kpi, v.value, v.numerator, v.denominator, v.unit, v.dimension, v.dimension_value,
       p.sources IS NOT NULL AS provisional, p.sources AS provisional_sources
FROM kpi_values v LEFT JOIN provisional p ON p.date = v.date AND p.kpi = v.kpi"""


def provisional_rows(con: duckdb.DuckDBPyConnection, kpis: list[str], start, end) -> pd.DataFrame:
    """``date, kpi, provisional_sources`` of the rows of ``kpis`` in ``start..end`` that are provisional
    (none before the first KPI materialisation has made the view)."""
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'kpis'").fetchone()[0]:
        return pd.DataFrame({"date": [], "kpi": [], "provisional_sources": []})
    frame = con.execute(
        "SELECT DISTINCT date, kpi, provisional_sources FROM kpis WHERE provisional AND date BETWEEN ? AND ? "
        "AND list_contains(?, kpi) ORDER BY date, kpi", [start, end, kpis]).df()
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    return frame


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
    return append_rows(con, schema, frame)

