"""Shared fixtures: a sandbox company on loopback, the code location loaded against it, fresh warehouses."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from support import DATA_DIR, TEST_END, TEST_START, range_tags


@pytest.fixture(scope="session")
def sandbox():
    """The tiny sandbox company, its billing DB and CSVs, and both API servers, for the whole session."""
    from pmkpi_sandbox.demo import prepare_sandbox

    with prepare_sandbox(seed=11, size="tiny", start=TEST_START, end=TEST_END, data_dir=DATA_DIR) as running:
        yield running


@pytest.fixture(scope="session")
def code_location(sandbox):
    """The code location loaded with the sandbox's settings exported: ``.defs`` and ``.build_resources()``."""
    from types import SimpleNamespace

    from pmkpi_pipeline import definitions
    from pmkpi_pipeline.defs.resources import build_resources

    return SimpleNamespace(defs=definitions.defs(), build_resources=build_resources)


@pytest.fixture
def warehouse(tmp_path):
    """A fresh, empty DuckDB warehouse resource."""
    from pmkpi_pipeline.lib.warehouse import WarehouseResource

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


@pytest.fixture(scope="session")
def full_run(code_location, sandbox, tmp_path_factory):
    """One run of everything over the whole test range into a session-wide warehouse (read it, don't change it)."""
    from dagster import DagsterInstance, materialize

    from pmkpi_pipeline.lib.warehouse import WarehouseResource

    warehouse = WarehouseResource(path=str(tmp_path_factory.mktemp("full") / "warehouse.duckdb"))
    before = dict(sandbox.stats())
    result = materialize(
        [*code_location.defs.assets, *code_location.defs.asset_checks],
        resources={**code_location.build_resources(), "warehouse": warehouse},
        tags=range_tags(TEST_START, TEST_END), instance=DagsterInstance.ephemeral(),
    )
    calls = {k: v - before.get(k, 0) for k, v in sandbox.stats().items()}
    return result, warehouse, calls
