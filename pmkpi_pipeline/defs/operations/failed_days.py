"""Failed days of a failed range run, marked failed per day in the Dagster UI again.

With ``DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=1`` (set where runs are created, see
:mod:`pmkpi_pipeline.lib.dagster_env`) a run records one "planned" event per asset for its whole
partition range instead of one per asset and day. That is most of the bookkeeping saved, but
Dagster then no longer marks the days of a failed run as failed: it finds failed days through
per-day planned events without a materialisation of the same run. :func:`mark_failed_days` writes
those per-day planned events into the failed run afterwards, for exactly the days and assets the
run planned and did not materialise, so the asset's partition bar and Partitions tab show each of
those days as failed, as without the setting. Only failed runs pay for it; a run that planned per
day already (setting off) is left as it is. Called by the run-failure alert sensor (the daemon) and
by ``pmkpi backfill`` after a failed run (no daemon there).
"""

from __future__ import annotations

from datetime import date, timedelta

from dagster import AssetKey, DagsterEventType, DagsterInstance
from dagster._core.events import (
    AssetMaterializationPlannedData,
    DagsterEvent,
    DagsterEventBatchMetadata,
    generate_event_batch_id,
)


def mark_failed_days(instance: DagsterInstance, run_id: str) -> dict[str, list[str]]:
    """Per asset, the days of failed run ``run_id`` planned as one range and not materialised, now marked failed.

    A day that a later run has materialised since the failure is not marked (the later run wins).
    Returns ``{asset: [day, ...]}`` of what was marked (empty when nothing needed marking).
    """
    planned: dict[AssetKey, tuple[str | None, set[str]]] = {}
    for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED).records:
        event = record.event_log_entry.dagster_event
        data = event.event_specific_data
        if data.partitions_subset is not None:  # one event for the whole range: the setting was on
            planned[data.asset_key] = (event.step_key, set(data.partitions_subset.get_partition_keys()))
    if not planned:
        return {}
    materialised = instance.get_asset_partitions_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
    [last] = instance.get_records_for_run(run_id, limit=1, ascending=False).records
    run = instance.get_run_by_id(run_id)
    marked: dict[str, list[str]] = {}
    for asset_key, (step_key, days) in planned.items():
        newer = instance.event_log_storage.get_latest_storage_id_by_partition(
            asset_key, DagsterEventType.ASSET_MATERIALIZATION, partitions=days, after_cursor=last.storage_id)
        failed = sorted(days - set(materialised.get(asset_key, ())) - set(newer))
        batch_id = generate_event_batch_id()  # one write per asset where DAGSTER_EVENT_BATCH_SIZE is set
        for index, day in enumerate(failed):
            instance.report_dagster_event(
                DagsterEvent.build_asset_materialization_planned_event(
                    run.job_name, step_key, AssetMaterializationPlannedData(asset_key, partition=day)),
                run_id, batch_metadata=DagsterEventBatchMetadata(batch_id, index == len(failed) - 1))
        if failed:
            marked[asset_key.to_user_string()] = failed
    return marked


def day_ranges(days: list[str]) -> list[str]:
    """Sorted ISO days as runs of consecutive days: ``["2025-03-01..2025-03-03", "2025-03-09"]``."""
    runs: list[list[date]] = []
    for day in sorted(date.fromisoformat(d) for d in days):
        if runs and day - runs[-1][-1] == timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return [f"{r[0]}..{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs]


def describe(marked: dict[str, list[str]]) -> str:
    """One line for what :func:`mark_failed_days` marked: how many days, which, of which assets."""
    days = sorted({day for asset_days in marked.values() for day in asset_days})
    return f"{len(days)} day(s) ({', '.join(day_ranges(days))}) of {', '.join(sorted(marked))}"
