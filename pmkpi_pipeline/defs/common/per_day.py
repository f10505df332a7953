"""Per-day results of a range run: each day's own materialisation metadata and its own check verdicts.

One run covers a range of daily partitions (single-run backfills). Dagster records one
materialisation per day, but a step's ``MaterializeResult`` metadata lands on every one of them,
and a check's ``AssetCheckResult`` is recorded once, without a partition. So:

- :func:`add_daily_metadata` gives each day's materialisation its own metadata with
  ``context.add_asset_metadata(..., partition_key=day)``: one call per day, no extra events;
- :func:`daily_evaluations` yields one ``AssetCheckEvaluation`` per day, on that day's partition
  and tied to that day's latest materialisation (``target_materialization_data``), so the UI shows
  the verdict as current rather than missing. A failed ERROR evaluation of a blocking check is
  marked blocking, which makes Dagster fail the check step and skip what is downstream;
- :func:`check_outputs` ends a check body: Dagster expects one (empty) output per check it declares.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dagster import AssetCheckEvaluation, AssetCheckSeverity, AssetKey, MetadataValue, Output
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from dagster._core.storage.event_log.base import AssetRecordsFilter

PAGE = 1000  # materialisation records fetched per query


@dataclass(frozen=True)
class DayVerdict:
    """One check's verdict on one day: passed or not, why, and the numbers behind it."""

    day: date
    passed: bool
    description: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


def verdict_metadata(day: date, detail: Mapping[str, Any]) -> dict:
    """A verdict's numbers as floats (plotted over the check's history), its words as text, and the
    whole verdict as JSON under ``verdict``; None is left out."""
    metadata: dict = {"verdict": MetadataValue.json({"date": day.isoformat(), **detail})}
    for key, value in detail.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)):
            metadata[key] = MetadataValue.float(float(value))
        elif isinstance(value, str):
            metadata[key] = MetadataValue.text(value)
        else:
            metadata[key] = MetadataValue.json(value)
    return metadata


def add_daily_metadata(context, daily: Mapping[date | str, Mapping[str, Any]]) -> None:
    """Give each day's materialisation its own metadata (``{day: {key: value}}``), one call per day."""
    for day, metadata in daily.items():
        key = day if isinstance(day, str) else day.isoformat()
        context.add_asset_metadata(dict(metadata), partition_key=key)


def latest_materializations(instance, asset_key: AssetKey, partition_keys: Iterable[str]
                            ) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """The latest materialisation of each of ``partition_keys``, as a check evaluation's target."""
    wanted = set(partition_keys)
    found: dict[str, AssetCheckEvaluationTargetMaterializationData] = {}
    cursor = None
    while wanted - found.keys():
        page = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=asset_key, asset_partitions=sorted(wanted - found.keys())),
            limit=PAGE, cursor=cursor, ascending=False)
        for record in page.records:  # newest first: the first record of a partition is its latest
            if record.partition_key in wanted and record.partition_key not in found:
                found[record.partition_key] = AssetCheckEvaluationTargetMaterializationData(
                    storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp)
        if not page.has_more:
            break
        cursor = page.cursor
    return found


def daily_evaluations(context, asset_key: AssetKey, check_name: str, verdicts: Iterable[DayVerdict],
                      severity: AssetCheckSeverity, blocking: bool = False,
                      targets: Mapping[str, AssetCheckEvaluationTargetMaterializationData] | None = None,
                      ) -> Iterator[AssetCheckEvaluation]:
    """One evaluation of ``check_name`` per verdict, on the verdict's day, tied to its materialisation.

    ``targets`` (from :func:`latest_materializations`) saves the lookup when several checks share it.
    """
    verdicts = list(verdicts)
    if targets is None:
        targets = latest_materializations(context.instance, asset_key, [v.day.isoformat() for v in verdicts])
    for verdict in verdicts:
        key = verdict.day.isoformat()
        yield AssetCheckEvaluation(
            asset_key=asset_key, check_name=check_name, passed=verdict.passed, severity=severity,
            description=verdict.description, metadata=dict(verdict.metadata), partition=key,
            target_materialization_data=targets.get(key),
            blocking=blocking and not verdict.passed and severity == AssetCheckSeverity.ERROR,
        )


def check_outputs(context) -> Iterator[Output]:
    """The empty output Dagster expects of each check a check body declares (verdicts are events)."""
    for output in context.op_def.output_defs:
        yield Output(None, output_name=output.name)
