"""The ``rows_every_day`` check factory: every day of the range landed rows in a raw asset's daily tables.

Each source's ``checks.py`` builds its own (GA4 has its own, which tells a day never pulled from a day GA4
had no rows for): days without list activity (Mailchimp serves only the last 180 days of it), product
events, spend or social stats are WARNs: such days can be real, or history the API no longer has.
"""

from collections.abc import Sequence

from dagster import AssetCheckExecutionContext, AssetCheckSeverity, AssetKey, MetadataValue, asset_check

from ...lib.warehouse import WarehouseResource, WarehouseTable, daily_row_counts
from .metadata import row_count_metadata
from .own_work import timed_body
from .partitions import DAILY, partition_dates
from .per_day import DayVerdict, check_outputs, daily_evaluations


def build_row_count_check(asset_name: str, tables: Sequence[WarehouseTable], blocking: bool = False):
    """``rows_every_day`` on a raw asset: each of its daily ``tables`` has rows on every day of the range.

    Each day gets its own verdict (:mod:`.per_day`), with that day's rows per table. ``blocking``
    makes an empty day an ERROR that stops downstream assets; otherwise a WARN.
    """
    severity = AssetCheckSeverity.ERROR if blocking else AssetCheckSeverity.WARN

    @asset_check(asset=asset_name, name="rows_every_day", partitions_def=DAILY, blocking=blocking,
                 description="Every day of the range has rows in " + ", ".join(t.name for t in tables)
                 + (" (ERROR, blocks staging)." if blocking else " (WARN)."))
    @timed_body
    def _check(context: AssetCheckExecutionContext, warehouse: WarehouseResource):
        start, end = partition_dates(context)
        with warehouse.connect() as con:
            counts = daily_row_counts(con, {t.name: t.partition_column for t in tables}, start, end)
        verdicts = []
        for day, by_table in counts.items():
            empty = [name for name, rows in by_table.items() if not rows]
            verdicts.append(DayVerdict(
                day=day, passed=not empty,
                description=f"no rows in {', '.join(empty)} on {day}" if empty else f"rows on {day}",
                metadata={**row_count_metadata(by_table),
                          "empty_days": MetadataValue.json({name: [str(day)] for name in empty})}))
        gaps = [v.day for v in verdicts if not v.passed]
        context.log.info(f"{asset_name} rows_every_day {start}..{end}: "
                         + (f"{len(gaps)} day(s) without rows, first {gaps[0]}" if gaps else "rows on every day"))
        yield from daily_evaluations(context, AssetKey(asset_name), "rows_every_day", verdicts, severity,
                                     blocking=blocking)
        yield from check_outputs(context)

    return _check
