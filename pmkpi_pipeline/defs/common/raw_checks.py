"""The ``rows_every_day`` check factory: every day of the range landed rows in a raw asset's daily tables.

Each source's ``checks.py`` builds its own: a day without GA4 rows is an ERROR and blocks staging, so an
empty day never becomes a KPI of zero; days without list activity (Mailchimp serves only the last 180
days of it), product events, spend or social stats are WARNs: such days can be real, or history the API
no longer has.
"""

from collections.abc import Sequence

import pandas as pd
from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from ...lib.warehouse import WarehouseResource, WarehouseTable
from .partitions import DAILY, days, partition_dates


def empty_days(con, table: WarehouseTable, start, end) -> list:
    """Days of start..end on which ``table`` has no rows."""
    counts = con.execute(
        f'SELECT "{table.partition_column}" AS d, count(*) FROM "{table.name}" '
        f'WHERE "{table.partition_column}" BETWEEN ? AND ? GROUP BY 1', [start, end]).fetchall()
    present = {pd.Timestamp(d).date() for d, n in counts if n}
    return [d for d in days(start, end) if d not in present]


def build_row_count_check(asset_name: str, tables: Sequence[WarehouseTable], blocking: bool = False):
    """``rows_every_day`` on a raw asset: each of its daily ``tables`` has rows on every day of the range.

    ``blocking`` makes a gap an ERROR that stops downstream assets; otherwise a WARN.
    """
    severity = AssetCheckSeverity.ERROR if blocking else AssetCheckSeverity.WARN

    @asset_check(asset=asset_name, name="rows_every_day", partitions_def=DAILY, blocking=blocking,
                 description="Every day of the range has rows in " + ", ".join(t.name for t in tables)
                 + (" (ERROR, blocks staging)." if blocking else " (WARN)."))
    def _check(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
        start, end = partition_dates(context)
        with warehouse.connect() as con:
            missing = {t.name: empty_days(con, t, start, end) for t in tables}
            counts = {t.name: con.execute(
                f'SELECT count(*) FROM "{t.name}" WHERE "{t.partition_column}" BETWEEN ? AND ?',
                [start, end]).fetchone()[0] for t in tables}
        gaps = {name: [str(d) for d in ds[:20]] for name, ds in missing.items() if ds}
        return AssetCheckResult(
            passed=not gaps, severity=severity,
            metadata={"rows": MetadataValue.json(counts), "empty_days": MetadataValue.json(gaps)},
            description=f"days without rows: {gaps}" if gaps else f"rows on every day of {start}..{end}",
        )

    return _check
