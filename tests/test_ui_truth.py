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


def test_the_anomaly_checks_partitions_tab_shows_the_spike_as_failed(web_run, tmp_path):
    """The Dagster UI, served on the run's instance: ``content_usage_anomaly``'s Partitions tab counts the failed
    days, and opening the spike shows its own verdict in words; the screenshot is kept in ``test-artifacts/``."""
    import asyncio
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    import requests
    from dagster_stack import free_port, require
    from test_browser import DevToolsPage, artifact_dir, chromium_binary, open_check_partition

    binary = chromium_binary()
    require(binary is not None, "no chromium binary (Debian package 'chromium'; .ci/run installs it)")
    instance, _, _ = web_run
    anomaly = _evaluations(instance, "kpi_web", "content_usage_anomaly")
    failed = sorted(day for day, e in anomaly.items() if not e.passed)
    assert SPIKE.isoformat() in failed and len(failed) <= 2, failed  # the spike (and a young series' high day)
    port, repo = free_port(), Path(__file__).resolve().parents[1]
    log = tmp_path / "webserver.log"
    with log.open("wb") as out:
        webserver = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port),
             "-w", str(repo / "workspace.yaml")], cwd=repo, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "DAGSTER_HOME": instance.root_directory})
    url = f"http://127.0.0.1:{port}"
    shot = artifact_dir() / "kpi_web_content_usage_anomaly_partitions.png"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{url}/server_info", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert webserver.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        requests.post(f"{url}/graphql", json={"query": "mutation { setNuxSeen }"}, timeout=30)

        async def look() -> tuple[str, str]:
            async with DevToolsPage(binary, tmp_path / "profile") as page:
                await page.call("Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1,
                                mobile=False)
                return await open_check_partition(
                    page, f"{url}/assets/kpi_web?view=checks&checkDetail=content_usage_anomaly",
                    f"Failed ({len(failed)})", SPIKE.isoformat(), shot)

        counts, day = asyncio.run(look())
    finally:
        webserver.terminate()
        webserver.wait(timeout=30)
    judged = sum(1 for e in anomaly.values() if "not judged" not in (e.description or ""))
    assert f"Passed ({len(anomaly) - len(failed)})" in counts, counts[:3000]
    assert judged < len(anomaly)  # the first days were not judged, and say so (the evaluation passes)
    assert "Content usage" in day and "a one-day jump" in day and "expected" in day, day[:3000]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    print(f"\nscreenshot kept at {shot}")
