"""Our own work in a Dagster instance's runs: the seconds spent inside our asset and check bodies.

Each body logs one line per step when it ends (``pmkpi_pipeline.defs.common.own_work``); this sums
those lines from the event log of one run, or of every run of the instance. Works for any instance
``dagster.yaml`` describes (the default SQLite one, or PostgreSQL).

    python benchmarks/own_work.py DAGSTER_HOME [RUN_ID]   # prints the seconds per step and the total as JSON
"""

from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict

from dagster import DagsterInstance

from pmkpi_pipeline.defs.common.own_work import own_seconds_in


def own_work_by_step(dagster_home: str | os.PathLike, run_id: str | None = None) -> dict[str, float]:
    """Seconds inside our bodies per step key, summed over ``run_id`` (or every run of the instance)."""
    by_step: dict[str, float] = defaultdict(float)
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        run_ids = [run_id] if run_id is not None else list(instance.get_run_ids())
        for rid in run_ids:
            for entry in instance.all_logs(rid):
                if entry.dagster_event is None and (seconds := own_seconds_in(entry.user_message)) is not None:
                    by_step[entry.step_key or ""] += seconds
    return dict(by_step)


def own_work_seconds(dagster_home: str | os.PathLike, run_id: str | None = None) -> float:
    """Seconds inside our bodies in ``run_id`` (or in every run of the instance)."""
    return sum(own_work_by_step(dagster_home, run_id).values())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dagster_home")
    parser.add_argument("run_id", nargs="?")
    args = parser.parse_args()
    steps = own_work_by_step(args.dagster_home, args.run_id)
    print(json.dumps({"steps": {k: round(v, 3) for k, v in sorted(steps.items(), key=lambda kv: -kv[1])},
                      "own_work_seconds": round(sum(steps.values()), 3)}, indent=1))
