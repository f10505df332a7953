"""The Dagster environment settings that lower the bookkeeping floor of a run (DESIGN.md, "Measured facts").

Dagster reads both from the environment of the process doing the work (Dagster 1.13.27):

- ``DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS`` is read where a run is *created*
  (``EventLogStorage.supports_partition_subset_in_asset_materialization_planned_events``, used by
  ``RunDomain.create_run``): one "planned" event per asset for a run's whole partition range instead
  of one per asset and day. Failed days are then marked by
  :func:`pmkpi_pipeline.defs.operations.failed_days.mark_failed_days`.
- ``DAGSTER_EVENT_BATCH_SIZE`` is read by ``DagsterInstance.handle_new_event`` in every process that
  writes events: the run's own (the materialisations of a multi-partition step) and the one creating
  the run (its planned events). It batches those writes on a PostgreSQL event log; SQLite gains nothing.
  Check evaluations are never batched: one write each.

``pmkpi`` sets them as defaults of its own process (a value the user set wins); the docker
deployment sets them on every Dagster service (docker/docker-compose.yml).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

PLANNED_EVENTS_SETTINGS = {"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1"}
"""For every instance: one planned event per asset and run."""
POSTGRES_SETTINGS = {"DAGSTER_EVENT_BATCH_SIZE": "1000"}
"""For a PostgreSQL-backed instance: materialisation events written in batches of up to 1000."""


def set_floor_defaults(postgres: bool, environ: MutableMapping[str, str] = os.environ) -> None:
    """Set the floor settings in ``environ`` unless already set (``postgres``: the batch size too)."""
    for name, value in {**PLANNED_EVENTS_SETTINGS, **(POSTGRES_SETTINGS if postgres else {})}.items():
        environ.setdefault(name, value)


def is_postgres_instance(instance) -> bool:
    """Whether a Dagster instance keeps its event log in PostgreSQL (dagster-postgres)."""
    return type(instance.event_log_storage).__module__.startswith("dagster_postgres")
