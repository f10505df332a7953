"""Dagster's standard metadata for our warehouse tables: table name, column schema and per-day row counts.

An asset that lands several tables (``raw_ga4`` lands four) names its first table in
``dagster/table_name`` and ``dagster/column_schema`` and lists every table's columns under
``columns/<table>``; each day's ``dagster/row_count`` is the sum over the asset's daily tables,
with ``rows/<table>`` per table beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

from dagster import (
    CodeReferencesMetadataValue,
    LocalFileCodeReference,
    MetadataValue,
    TableColumn,
    TableSchema,
)

from ...lib.warehouse import WarehouseTable, daily_row_counts
from .per_day import add_daily_metadata


def code_references(*files: Path, label: str = "SQL") -> dict:
    """``dagster/code_references`` to files behind an asset besides its body (its SQL), for the UI's links."""
    return {"dagster/code_references": CodeReferencesMetadataValue(code_references=[
        LocalFileCodeReference(file_path=str(f), label=f"{label}: {f.name}") for f in files])}


def table_metadata(tables: Sequence[WarehouseTable]) -> dict:
    """Definition metadata of an asset that writes ``tables``: name and columns of each."""
    first = tables[0]
    return {
        "dagster/table_name": f"warehouse.main.{first.name}",
        "dagster/column_schema": first.column_schema(),
        **{f"columns/{t.name}": MetadataValue.table_schema(t.column_schema()) for t in tables[1:]},
    }


def view_metadata(con, views: Sequence[str]) -> dict:
    """Name and columns of each view (as DuckDB describes it), in the same shape as :func:`table_metadata`."""
    schemas = {view: TableSchema(columns=[TableColumn(name, kind) for name, kind, *_ in
                                          con.execute(f'DESCRIBE "{view}"').fetchall()]) for view in views}
    first, *rest = views
    return {"dagster/table_name": f"warehouse.main.{first}", "dagster/column_schema": schemas[first],
            **{f"columns/{view}": MetadataValue.table_schema(schemas[view]) for view in rest}}


def row_count_metadata(counts: Mapping[str, int]) -> dict:
    """``dagster/row_count`` (sum over ``counts``) and ``rows/<table>`` per table."""
    return {"dagster/row_count": MetadataValue.int(int(sum(counts.values()))),
            **{f"rows/{name}": MetadataValue.int(int(n)) for name, n in counts.items()}}


def add_daily_row_counts(context, con, tables: Sequence[WarehouseTable] | Mapping[str, str], start: date,
                         end: date) -> dict[date, dict[str, int]]:
    """Give each day of ``start..end`` its own row counts of the partitioned ``tables`` (or of views: name →
    date column); returns the counts."""
    date_columns = tables if isinstance(tables, Mapping) else {
        t.name: t.partition_column for t in tables if t.partition_column is not None}
    counts = daily_row_counts(con, date_columns, start, end)
    add_daily_metadata(context, {day: row_count_metadata(by_table) for day, by_table in counts.items()})
    return counts
