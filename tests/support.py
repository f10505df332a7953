"""Shared test constants and helpers (importable as ``support``; fixtures live in conftest.py).

The ``PMKPI_*`` settings that shape the asset graph are read when the code location is
imported, so they are fixed here, before anything of ours is imported.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

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


def table_counts(warehouse) -> dict[str, int]:
    """Row counts of every table of a warehouse."""
    with warehouse.connect() as con:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in sorted(names)}


def land_billing(code_location, billing_url: str, warehouse_path, start: date, end: date) -> dict:
    """Run raw_billing over start..end from ``billing_url``; every raw_billing_* table as a sorted DataFrame."""
    from dagster import DagsterInstance, materialize

    from pmkpi_pipeline.defs.billing.resource import BillingDatabase
    from pmkpi_pipeline.lib.warehouse import WarehouseResource

    warehouse = WarehouseResource(path=str(warehouse_path))
    [raw_billing] = [a for a in code_location.defs.assets if a.key.to_user_string() == "raw_billing"]
    result = materialize([raw_billing], instance=DagsterInstance.ephemeral(), tags=range_tags(start, end),
                         resources={"billing": BillingDatabase(url=billing_url), "warehouse": warehouse,
                                    "settings": code_location.build_resources()["settings"]})
    assert result.success
    with warehouse.connect(read_only=True) as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_name LIKE 'raw_billing_%' ORDER BY 1").fetchall()]
        return {name: con.execute(f'SELECT * FROM "{name}" ORDER BY ALL').df() for name in names}
