"""PostgreSQL for real: the billing source read from a PostgreSQL server lands exactly what the SQLite
one lands, and the pipeline runs with Dagster's instance storage in PostgreSQL (dagster-postgres).

Each test gets a fresh database on the server of ``PMKPI_TEST_PG_URL`` (``.ci/run`` starts one on
loopback); without it the tests skip, or fail when ``PMKPI_REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import shutil
from datetime import date

import pytest
from dagster_stack import DOCKER, PG_URL, fresh_database, require
from support import land_billing, range_tags

RANGE = date(2025, 2, 1), date(2025, 2, 28)


@pytest.fixture
def pg_database():
    require(bool(PG_URL), "PMKPI_TEST_PG_URL is not set: no PostgreSQL server")
    with fresh_database(PG_URL, "pmkpi_pg") as url:
        yield url


def test_billing_source_on_postgresql_lands_what_sqlite_lands(code_location, sandbox, pg_database, tmp_path,
                                                              monkeypatch):
    """Arrow through ADBC from either database, and rows through SQLAlchemy (the path of other URLs)."""
    import pandas as pd

    from pmkpi_pipeline.defs.billing import resource
    from pmkpi_sandbox.writers import write_billing_db

    counts = write_billing_db(sandbox.company, pg_database)
    assert pg_database.startswith("postgresql+psycopg2://")
    from_postgres = land_billing(code_location, pg_database, tmp_path / "pg.duckdb", *RANGE)
    from_sqlite = land_billing(code_location, sandbox.exported["PMKPI_BILLING_DB_URL"], tmp_path / "sqlite.duckdb",
                               *RANGE)
    assert sandbox.exported["PMKPI_BILLING_DB_URL"].startswith("sqlite:///")
    assert set(from_postgres) == set(from_sqlite) and len(from_postgres) == 7
    monkeypatch.setattr(resource, "adbc_target", lambda url: None)
    through_sqlalchemy = land_billing(code_location, pg_database, tmp_path / "pg-rows.duckdb", *RANGE)
    for name, frame in from_sqlite.items():
        pd.testing.assert_frame_equal(from_postgres[name], frame, check_dtype=False, obj=name)
        pd.testing.assert_frame_equal(through_sqlalchemy[name], frame, check_dtype=False, obj=name)
    assert len(from_postgres["raw_billing_customers"]) == counts["customers"] > 0
    assert len(from_postgres["raw_billing_product_events"]) > 0


def test_pipeline_runs_with_dagster_instance_storage_in_postgresql(code_location, sandbox, pg_database, tmp_path,
                                                                   monkeypatch):
    from dagster import AssetCheckKey, AssetKey, DagsterInstance, DagsterRunStatus
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    from pmkpi_pipeline.lib.warehouse import WarehouseResource

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DOCKER / "dagster.yaml", home / "dagster.yaml")  # the deployment's instance config
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", pg_database)
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")
    start, end = date(2025, 3, 1), date(2025, 3, 7)
    job = code_location.defs.resolve_job_def("pmkpi_all")
    resources_warehouse = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    with DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        result = job.execute_in_process(
            instance=instance, tags=range_tags(start, end),
            resources={**code_location.build_resources(), "warehouse": resources_warehouse},
        )
        assert result.success
    # A new instance on the same database sees the run, every partition and every check result.
    with DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_run_by_id(result.run_id)
        assert run.status == DagsterRunStatus.SUCCESS and run.job_name == "pmkpi_all"
        days = {date(2025, 3, d).isoformat() for d in range(1, 8)}
        for key in ("raw_ga4", "raw_billing", "stg_billing", "kpi_revenue", "kpi_web"):
            assert days <= instance.get_materialized_partitions(AssetKey(key)), key
        checks = [AssetCheckKey(AssetKey("kpi_revenue"), "mrr_bounds"),
                  AssetCheckKey(AssetKey("raw_ga4"), "rows_every_day")]
        latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(checks)
        assert {k: r.status for k, r in latest.items()} == {
            k: AssetCheckExecutionRecordStatus.SUCCEEDED for k in checks}
        mrr = instance.get_latest_materialization_event(AssetKey("kpi_revenue")).asset_materialization
        assert mrr.metadata["mrr"].value > 0
