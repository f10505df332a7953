"""The bookkeeping floor: pmkpi's asset graph with no-op bodies, run as one single-run backfill.

Same asset keys, dependencies, partition mappings, backfill policy and checks as the real code
location, but every asset and check returns at once — so its wall time is what Dagster itself
spends recording the run on the instance. ``python benchmarks/floor.py START END`` runs it on
the ``DAGSTER_HOME`` instance and prints the wall time as JSON.
"""

from __future__ import annotations

import json
import sys
import time

from dagster import (
    AssetCheckResult,
    AssetsDefinition,
    DagsterInstance,
    Definitions,
    MaterializeResult,
    define_asset_job,
    in_process_executor,
    multi_asset,
    multi_asset_check,
)


def noop_definitions() -> Definitions:
    """A ``Definitions`` mirroring pmkpi's graph with no-op assets and checks."""
    from pmkpi_pipeline.definitions import defs as load_defs
    from pmkpi_pipeline.defs.common.partitions import SINGLE_RUN

    defs = load_defs()
    assets: list[AssetsDefinition] = []
    for spec in defs.resolve_all_asset_specs():
        @multi_asset(specs=[spec], name=f"noop_{spec.key.to_python_identifier()}", backfill_policy=SINGLE_RUN)
        def _noop():
            return MaterializeResult()

        assets.append(_noop)
    checks = [_noop_checks(index, list(checks_def.check_specs))
              for index, checks_def in enumerate(defs.asset_checks)]
    return Definitions(assets=assets, asset_checks=checks, jobs=[define_asset_job("noop_all")],
                       executor=in_process_executor)


def _noop_checks(index: int, specs: list):
    @multi_asset_check(specs=specs, name=f"noop_checks_{index}")
    def _checks():
        for spec in specs:
            yield AssetCheckResult(asset_key=spec.asset_key, check_name=spec.name, passed=True)

    return _checks


def run_floor(start: str, end: str) -> dict:
    """Run the no-op graph over start..end on the DAGSTER_HOME instance; wall seconds and counts."""
    job = noop_definitions().resolve_job_def("noop_all")
    began = time.monotonic()
    result = job.execute_in_process(
        instance=DagsterInstance.get(),
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    wall = time.monotonic() - began
    return {"floor_seconds": round(wall, 2), "success": result.success,
            "materializations": len(result.get_asset_materialization_events())}


if __name__ == "__main__":
    print(json.dumps(run_floor(sys.argv[1], sys.argv[2])))
