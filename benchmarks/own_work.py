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

import sqlalchemy as sa
from dagster import DagsterInstance, EventLogEntry, deserialize_value
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

from pmkpi_pipeline.defs.common.own_work import PREFIX, own_seconds_in


def own_work_entries(instance: DagsterInstance, run_id: str) -> list[EventLogEntry]:
    """The run's own-work log lines, picked out in SQL (a backfill run holds ~10⁵ events, these ~40)."""
    storage = instance.event_log_storage
    if not isinstance(storage, SqlEventLogStorage):
        return [entry for entry in instance.all_logs(run_id) if entry.dagster_event is None]
    table = SqlEventLogStorageTable
    query = sa.select(table.c.event).where(table.c.run_id == run_id, table.c.dagster_event_type.is_(None),
                                           table.c.event.contains(PREFIX))
    with storage.run_connection(run_id) as con:
        return [deserialize_value(event, EventLogEntry) for (event,) in con.execute(query).fetchall()]


def own_work_by_step(dagster_home: str | os.PathLike, run_id: str | None = None) -> dict[str, float]:
    """Seconds inside our bodies per step key, summed over ``run_id`` (or every run of the instance)."""
    by_step: dict[str, float] = defaultdict(float)
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        for rid in [run_id] if run_id is not None else list(instance.get_run_ids()):
            for entry in own_work_entries(instance, rid):
                if (seconds := own_seconds_in(entry.user_message)) is not None:
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
