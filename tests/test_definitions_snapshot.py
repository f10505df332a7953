"""A snapshot of the graph's specs: an unintended change to an asset, check, job, schedule or sensor shows as a diff.

After an intended change, rewrite the snapshot with ``PMKPI_TEST_UPDATE_SNAPSHOT=1 python -m pytest
tests/test_definitions_snapshot.py`` and commit ``tests/snapshots/definitions.json`` with it.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def _partitions(definition) -> str | None:
    return None if definition is None else f"{type(definition).__name__}({definition.start:%Y-%m-%d}, " \
        f"{definition.timezone})"


def specs_of(defs) -> dict:
    """What the UI and the daemon see of the code location, as plain JSON."""
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "tags": {k: v for k, v in sorted(node.tags.items()) if not k.startswith("dagster/")},
            "deps": sorted(d.to_user_string() for d in node.parent_keys),
            "partitions": _partitions(node.partitions_def),
            "backfill_policy": str(node.backfill_policy.policy_type) if node.backfill_policy else None,
            "pools": sorted(node.pools or ()),
        }
    checks = {}
    for check_key in sorted(graph.asset_check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        spec = graph.get_check_spec(check_key)
        checks[f"{check_key.asset_key.to_user_string()}:{check_key.name}"] = {
            "blocking": spec.blocking, "partitions": _partitions(spec.partitions_def)}
    jobs = {}
    for job in sorted(defs.resolve_all_job_defs(), key=lambda j: j.name):
        if job.name.startswith("__"):
            continue
        jobs[job.name] = {
            "assets": sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys),
            "checks": len(job.asset_layer.asset_graph.asset_check_keys),
        }
    schedules = {s.name: {"cron": s.cron_schedule, "job": s.job_name, "timezone": s.execution_timezone,
                          "default_status": str(s.default_status)} for s in defs.schedules}
    sensors = {s.name: {"type": type(s).__name__, "default_status": str(s.default_status)} for s in defs.sensors}
    return {"assets": assets, "checks": checks, "jobs": jobs, "schedules": schedules, "sensors": sensors,
            "resources": sorted(defs.resources)}


def test_definitions_match_the_snapshot(code_location):
    current = json.dumps(specs_of(code_location.defs), indent=1, sort_keys=True) + "\n"
    if os.environ.get("PMKPI_TEST_UPDATE_SNAPSHOT"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(current)
    recorded = SNAPSHOT.read_text()
    diff = "".join(difflib.unified_diff(recorded.splitlines(True), current.splitlines(True), "snapshot", "now"))
    assert not diff, f"the definitions changed (PMKPI_TEST_UPDATE_SNAPSHOT=1 to accept):\n{diff}"
