"""Shared fixtures: a sandbox company on loopback, the code location loaded against it, fresh warehouses.

The ``PMKPI_*`` settings that shape the asset graph are read when the code location is
imported, so they are fixed here, before anything of ours is imported.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

import pytest

for _name in [n for n in os.environ if n.startswith("PMKPI_") and not n.startswith("PMKPI_TEST_")
              and n != "PMKPI_REQUIRE_POSTGRES"]:
    del os.environ[_name]
os.environ.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
DATA_DIR = Path(tempfile.mkdtemp(prefix="pmkpi-tests-"))
TEST_START = date(2025, 1, 1)
TEST_END = date(2025, 3, 31)
os.environ.update({"PMKPI_DATA_DIR": str(DATA_DIR), "PMKPI_START_DATE": TEST_START.isoformat(),
                   "PMKPI_TIMEZONE": "UTC"})

RANGE_TAGS = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def range_tags(start: date, end: date) -> dict[str, str]:
    """Run tags that make one run cover partitions start..end."""
    return {RANGE_TAGS[0]: start.isoformat(), RANGE_TAGS[1]: end.isoformat()}


@pytest.fixture(scope="session")
def sandbox():
    """The tiny sandbox company, its billing DB and CSVs, and both API servers, for the whole session."""
    from pmkpi_pipeline.sandbox.demo import prepare_sandbox

    with prepare_sandbox(seed=11, size="tiny", start=TEST_START, end=TEST_END, data_dir=DATA_DIR) as running:
        yield running


@pytest.fixture(scope="session")
def code_location(sandbox):
    """The ``pmkpi_pipeline.definitions`` module, imported with the sandbox's settings exported."""
    from pmkpi_pipeline import definitions

    return definitions


@pytest.fixture
def warehouse(tmp_path):
    """A fresh, empty DuckDB warehouse resource."""
    from pmkpi_pipeline.warehouse import WarehouseResource

    return WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))


@pytest.fixture
def run_pipeline(code_location, warehouse):
    """Materialise a selection (default: everything, with checks) for start..end as one run."""
    from dagster import DagsterInstance, materialize

    def run(start: date, end: date, selection=None, resources=None, raise_on_error=True, instance=None):
        defs = code_location.defs
        return materialize(
            [*defs.assets, *defs.asset_checks],
            selection=selection,
            resources={**code_location.build_resources(), "warehouse": warehouse, **(resources or {})},
            tags=range_tags(start, end),
            instance=instance or DagsterInstance.ephemeral(),
            raise_on_error=raise_on_error,
        )

    return run


def table_counts(warehouse) -> dict[str, int]:
    """Row counts of every table of a warehouse."""
    with warehouse.connect() as con:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in sorted(names)}
