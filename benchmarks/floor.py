"""The bookkeeping floor: pmkpi's asset graph with no-op bodies, run as one single-run backfill.

Same asset keys, dependencies, partition mappings, backfill policy and checks as the real code
location, but the bodies compute nothing — so the wall time is what Dagster itself spends recording
the run on the instance. By default the bodies record what the real ones record per day: each
day's own materialisation metadata (``add_asset_metadata(partition_key=...)``, as many keys as a
KPI family plots) and one check evaluation per check per day, tied to that day's materialisation.
``--without-per-day`` gives the older floor (one ``MaterializeResult`` and one ``AssetCheckResult``
per check for the whole range), so the difference is the price of the per-day results.

    python benchmarks/floor.py START END [--without-per-day]

runs it on the ``DAGSTER_HOME`` instance and prints the wall time and the event counts as JSON.
"""

from __future__ import annotations

import argparse
import json
import time

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetsDefinition,
    DagsterInstance,
    Definitions,
    MaterializeResult,
    define_asset_job,
    in_process_executor,
    multi_asset,
    multi_asset_check,
)

PLOTTED_KEYS = 8  # floats per day and asset, as many as a KPI family plots


def noop_definitions(per_day: bool) -> Definitions:
    """A ``Definitions`` mirroring pmkpi's graph with no-op assets and checks."""
    from pmkpi_pipeline.definitions import defs as load_defs
    from pmkpi_pipeline.defs.common.partitions import SINGLE_RUN
    from pmkpi_pipeline.defs.common.per_day import add_daily_metadata

    defs = load_defs()
    assets: list[AssetsDefinition] = []
    for spec in defs.resolve_all_asset_specs():
        @multi_asset(specs=[spec], name=f"noop_{spec.key.to_python_identifier()}", backfill_policy=SINGLE_RUN)
        def _noop(context):
            if per_day and context.assets_def.partitions_def is not None:  # not the unpartitioned dashboard
                add_daily_metadata(context, {key: {f"value_{i}": float(i) for i in range(PLOTTED_KEYS)}
                                             for key in context.partition_keys})
            return MaterializeResult()

        assets.append(_noop)
    checks = [_noop_checks(index, list(checks_def.check_specs), per_day)
              for index, checks_def in enumerate(defs.asset_checks)]
    return Definitions(assets=assets, asset_checks=checks, jobs=[define_asset_job("noop_all")],
                       executor=in_process_executor)


def _noop_checks(index: int, specs: list, per_day: bool):
    from datetime import date

    from pmkpi_pipeline.defs.common.per_day import (
        DayVerdict,
        check_outputs,
        daily_evaluations,
        latest_materializations,
    )

    @multi_asset_check(specs=specs, name=f"noop_checks_{index}")
    def _checks(context):
        if not per_day:
            for spec in specs:
                yield AssetCheckResult(asset_key=spec.asset_key, check_name=spec.name, passed=True)
            return
        keys = list(context.partition_keys)
        for asset_key in {spec.asset_key for spec in specs}:
            targets = latest_materializations(context.instance, asset_key, keys)
            for spec in (s for s in specs if s.asset_key == asset_key):
                verdicts = [DayVerdict(day=date.fromisoformat(k), passed=True, description="no-op",
                                       metadata={"value": 1.0}) for k in keys]
                yield from daily_evaluations(context, asset_key, spec.name, verdicts, AssetCheckSeverity.WARN,
                                             targets=targets)
        yield from check_outputs(context)

    return _checks


def run_floor(start: str, end: str, per_day: bool = True) -> dict:
    """Run the no-op graph over start..end on the DAGSTER_HOME instance; wall seconds and counts."""
    job = noop_definitions(per_day).resolve_job_def("noop_all")
    began = time.monotonic()
    result = job.execute_in_process(
        instance=DagsterInstance.get(),
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    wall = time.monotonic() - began
    return {"floor_seconds": round(wall, 2), "success": result.success, "per_day": per_day,
            "materializations": len(result.get_asset_materialization_events()),
            "check_evaluations": len(result.get_asset_check_evaluations())}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("start")
    parser.add_argument("end")
    parser.add_argument("--without-per-day", action="store_true",
                        help="one result per asset and check for the whole range (the floor before per-day results)")
    args = parser.parse_args()
    print(json.dumps(run_floor(args.start, args.end, per_day=not args.without_per_day)))
