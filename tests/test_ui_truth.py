"""What the Dagster UI shows after a range run: each day's own KPI values and each day's own check verdicts.

One run over 74 days of the web KPIs (a traffic spike injected on one day), recorded in a SQLite
instance as ``dagster dev`` would. The assertions read the instance, as the UI does.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dagster import AssetCheckKey, AssetKey, AssetSelection, DagsterEventType, DagsterInstance, materialize
from support import TEST_START, range_tags

SPIKE = date(2025, 3, 12)
END = date(2025, 3, 15)
WEB = AssetSelection.assets("raw_ga4", "stg_ga4", "kpi_web")


@pytest.fixture(scope="module")
def web_run(code_location, tmp_path_factory):
    """One range run of raw_ga4 → stg_ga4 → kpi_web with their checks, in a SQLite instance."""
    from pmkpi_pipeline.defs.ga4.resource import GA4Resource
    from pmkpi_pipeline.lib.warehouse import WarehouseResource
    from pmkpi_sandbox.company import Anomaly, generate_company
    from pmkpi_sandbox.servers import start_sandbox

    company = generate_company(seed=11, size="tiny", start=TEST_START, end=END,
                               anomalies=[Anomaly("ga4_traffic", SPIKE, 4.0)])
    warehouse = WarehouseResource(path=str(tmp_path_factory.mktemp("ui") / "warehouse.duckdb"))
    with start_sandbox(company) as servers, DagsterInstance.local_temp(
            str(tmp_path_factory.mktemp("dagster_home"))) as instance:
        ga4 = GA4Resource(property_id=company.ga4_property_id, endpoint=servers.ga4_endpoint)
        result = materialize(
            [*code_location.defs.assets, *code_location.defs.asset_checks],
            selection=WEB | AssetSelection.checks_for_assets("raw_ga4", "stg_ga4", "kpi_web"),
            resources={**code_location.build_resources(), "warehouse": warehouse, "ga4": ga4},
            tags=range_tags(TEST_START, END), instance=instance)
        assert result.success
        yield instance, result, warehouse


def _materialization(instance, asset: str, day: date):
    from dagster._core.storage.event_log.base import AssetRecordsFilter

    [record] = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=[day.isoformat()]), limit=1).records
    return record


def _evaluations(instance, asset: str, check: str) -> dict:
    """The check's evaluations in the instance, by partition."""
    history = instance.event_log_storage.get_asset_check_execution_history(
        AssetCheckKey(AssetKey(asset), check), limit=1000)
    return {r.event.dagster_event.event_specific_data.partition: r.event.dagster_event.event_specific_data
            for r in history}


def test_each_day_carries_its_own_kpi_values(web_run):
    instance, _, warehouse = web_run
    days = [date(2025, 2, 3), date(2025, 3, 5)]
    with warehouse.connect(read_only=True) as con:
        expected = {d: dict(con.execute("SELECT kpi, value FROM kpi_values WHERE date = ? AND dimension IS NULL "
                                        "AND family = 'web'", [d]).fetchall()) for d in days}
        ga4_rows = {d: con.execute("SELECT count(*) FROM raw_ga4_traffic WHERE date = ?", [d]).fetchone()[0]
                    for d in days}
    seen = {}
    for day in days:
        metadata = _materialization(instance, "kpi_web", day).asset_materialization.metadata
        assert "values_as_of" not in metadata
        seen[day] = {kpi: metadata[kpi].value for kpi in expected[day]}
        assert seen[day] == pytest.approx(expected[day]), day
        raw = _materialization(instance, "raw_ga4", day).asset_materialization.metadata
        assert raw["rows/raw_ga4_traffic"].value == ga4_rows[day]
    assert seen[days[0]]["bounce_rate"] != seen[days[1]]["bounce_rate"]
    assert seen[days[0]]["content_usage"] != seen[days[1]]["content_usage"]


def test_the_spike_fails_on_its_own_partition_and_its_neighbours_pass(web_run):
    instance, _, _ = web_run
    anomaly = _evaluations(instance, "kpi_web", "content_usage_anomaly")
    assert len(anomaly) == (END - TEST_START).days + 1
    assert not anomaly[SPIKE.isoformat()].passed
    assert anomaly[(SPIKE - timedelta(days=1)).isoformat()].passed
    assert anomaly[(SPIKE + timedelta(days=1)).isoformat()].passed
    detail = anomaly[SPIKE.isoformat()].metadata
    assert detail["value"].value > detail["upper"].value and detail["history_size"].value >= 28
    # Tied to that day's materialisation, so the UI shows the verdict as current.
    target = anomaly[SPIKE.isoformat()].target_materialization_data
    assert target.storage_id == _materialization(instance, "kpi_web", SPIKE).storage_id


def test_no_evaluation_of_the_range_run_lacks_a_partition(web_run):
    instance, result, _ = web_run
    records = instance.get_records_for_run(result.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION,
                                           limit=100_000).records
    evaluations = [r.event_log_entry.dagster_event.event_specific_data for r in records]
    assert len(evaluations) == ((END - TEST_START).days + 1) * (7 * 3 + 2)  # 7 web KPIs × 3 checks + 2 raw_ga4
    assert all(e.partition is not None and e.target_materialization_data is not None for e in evaluations)
