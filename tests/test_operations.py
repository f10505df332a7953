"""Operations, end to end: the docker/ deployment's processes on loopback with PostgreSQL storage.

``dagster code-server start``, ``dagster-webserver`` and ``dagster-daemon`` run with
``docker/dagster.yaml`` (see ``tests/dagster_stack.py``); a backfill of a week is launched through
the webserver's GraphQL API, the daemon queues and launches it, and the test reads back from the
PostgreSQL-backed instance: the one run, the materialisations of every asset and partition,
and the check results. Also: the alert sensors and the schedules, evaluated in-process.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from dagster_stack import OPS_RANGE, release_stack, session_stack, wait_for_backfill

USES_DAGSTER_STACK = True  # see dagster_stack.release_stack


@pytest.fixture(scope="module")
def stack(sandbox, request, tmp_path_factory):
    yield session_stack(request, tmp_path_factory)
    release_stack(request)


@pytest.fixture(scope="module")
def backfill(stack):
    return wait_for_backfill(stack)


@pytest.fixture(scope="module")
def instance(stack):
    with stack.instance() as instance:
        yield instance


def _days(start: str, end: str) -> list[str]:
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return [date.fromordinal(d).isoformat() for d in range(first.toordinal(), last.toordinal() + 1)]


def test_backfill_through_graphql_completes_as_one_queued_run(stack, backfill, instance):
    from dagster import DagsterEventType, DagsterRunStatus, RunsFilter

    assert backfill.status == "COMPLETED_SUCCESS", stack.log_tail()
    runs = instance.get_runs(RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
    # Single-run backfill policy: a week of 13 assets and their checks is ONE run.
    assert len(runs) == 1, [r.run_id for r in runs]
    run = runs[0]
    assert run.status == DagsterRunStatus.SUCCESS
    assert run.tags["dagster/asset_partition_range_start"] == backfill.start
    assert run.tags["dagster/asset_partition_range_end"] == backfill.end
    assert run.tags["pmkpi/launched_by"] == "tests"
    # It went through the queued run coordinator (docker/dagster.yaml) and the daemon launched it.
    lifecycle = {DagsterEventType.RUN_ENQUEUED, DagsterEventType.RUN_STARTING, DagsterEventType.RUN_START,
                 DagsterEventType.RUN_SUCCESS}
    kinds = [r.event_log_entry.dagster_event.event_type for r in instance.get_records_for_run(
        run.run_id, of_type=lifecycle).records]
    assert kinds == [DagsterEventType.RUN_ENQUEUED, DagsterEventType.RUN_STARTING, DagsterEventType.RUN_START,
                     DagsterEventType.RUN_SUCCESS]
    print(f"\nbackfill {backfill.backfill_id}: {backfill.seconds:.1f}s from launch to COMPLETED_SUCCESS")


def test_every_asset_and_partition_is_materialised_in_postgres(stack, backfill, instance):
    from dagster import AssetKey

    days = set(_days(*OPS_RANGE))
    assert len(backfill.asset_keys) == 13
    for path in backfill.asset_keys:
        materialised = instance.get_materialized_partitions(AssetKey(path))
        assert materialised == days, (path, sorted(materialised))
    # The KPI values are materialisation metadata (what the UI plots), equal to the warehouse's.
    event = instance.get_latest_materialization_event(AssetKey("kpi_web"))
    metadata = event.asset_materialization.metadata
    assert metadata["partition_range"].value == f"{OPS_RANGE[0]}..{OPS_RANGE[1]}"
    import duckdb

    with duckdb.connect(stack.env["PMKPI_WAREHOUSE"], read_only=True) as con:
        bounce = con.execute("SELECT value FROM kpis WHERE kpi = 'bounce_rate' AND dimension IS NULL "
                             "AND date = ?", [date.fromisoformat(OPS_RANGE[1])]).fetchone()[0]
        days_landed = con.execute("SELECT count(DISTINCT date) FROM kpis").fetchone()[0]
    assert metadata["bounce_rate"].value == pytest.approx(bounce)
    assert days_landed == len(days)


def test_check_results_are_recorded_in_the_instance(stack, backfill, instance):
    from dagster import AssetCheckKey, AssetKey, RunsFilter
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

    [run] = instance.get_runs(RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
    run_id = run.run_id
    checks = stack.graphql("""{ assetNodes { assetKey { path } assetChecksOrError {
        ... on AssetChecks { checks { name } } } } }""")["assetNodes"]
    keys = [AssetCheckKey(AssetKey(n["assetKey"]["path"]), c["name"])
            for n in checks for c in n["assetChecksOrError"].get("checks", [])]
    assert len(keys) >= 80  # 26 KPIs × (bounds, anomaly, target) + the raw checks
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    assert set(latest) == set(keys), set(keys) - set(latest)
    for record in latest.values():
        assert record.run_id == run_id
        assert record.status in (AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED)
    def evaluation(asset: str, check: str):
        return latest[AssetCheckKey(AssetKey(asset), check)].event.dagster_event.event_specific_data

    bounds = {k: r for k, r in latest.items() if k.name.endswith("_bounds")}
    assert len(bounds) == 26
    failed = {k.to_user_string(): evaluation(k.asset_key.path[-1], k.name).description
              for k, r in bounds.items() if r.status != AssetCheckExecutionRecordStatus.SUCCEEDED}
    assert not failed, failed
    bounce = evaluation("kpi_web", "bounce_rate_bounds")
    assert bounce.passed and bounce.partition == OPS_RANGE[1]  # the latest of its seven per-day evaluations
    history = instance.event_log_storage.get_asset_check_execution_history(
        AssetCheckKey(AssetKey("kpi_web"), "bounce_rate_bounds"), limit=50)
    assert sorted(r.event.dagster_event.event_specific_data.partition for r in history
                  if r.run_id == run_id) == sorted(_days(*OPS_RANGE))
    rows = evaluation("raw_ga4", "rows_every_day")
    assert rows.passed and rows.metadata["empty_days"].value == {}


def test_pools_and_run_limits_come_from_the_docker_instance_config(instance):
    config = instance.get_concurrency_config()
    assert config.run_queue_config.max_concurrent_runs == 1
    assert [(limit["key"], limit["limit"]) for limit in config.run_queue_config.tag_concurrency_limits] == [
        ("dagster/backfill", 1)]
    assert config.pool_config.default_pool_limit == 1
    # raw_ga4 and raw_mailchimp claimed slots of their pools, which took the default limit.
    pools = {info.concurrency_key: info.slot_count for info in
             (instance.event_log_storage.get_concurrency_info(key) for key in ("ga4_api", "mailchimp_api"))}
    assert pools == {"ga4_api": 1, "mailchimp_api": 1}


# --- alert sensors and schedules, evaluated in-process ----------------------------------------


class _Sink(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook(monkeypatch):
    """A loopback HTTP server that records what is POSTed; PMKPI_ALERT_WEBHOOK_URL points at it."""
    _Sink.received, _Sink.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("PMKPI_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/hooks/secret-token")
    yield _Sink
    server.shutdown()
    server.server_close()


def _failed_run(code_location, instance, keys=("raw_ga4",), end=date(2025, 3, 2)):
    """A real failed run from 2025-03-01 to ``end``: raw_ga4 (and ``keys`` after it) against a GA4 endpoint where
    nothing listens."""
    from dagster import materialize
    from support import range_tags

    from pmkpi_pipeline.defs.ga4.resource import GA4Resource

    resources = {**code_location.build_resources(),
                 "ga4": GA4Resource(property_id="100000001", endpoint="http://127.0.0.1:9", max_attempts=1)}
    result = materialize([a for a in code_location.defs.assets if a.key.to_user_string() in keys],
                         resources=resources, instance=instance, raise_on_error=False,
                         tags=range_tags(date(2025, 3, 1), end))
    assert not result.success
    return instance.get_run_by_id(result.run_id)


def test_run_failure_sensor_posts_to_the_webhook(code_location, webhook, tmp_path):
    from dagster import DagsterEventType, DagsterInstance, build_run_status_sensor_context

    from pmkpi_pipeline.defs.operations.alerts import alert_on_run_failure

    with DagsterInstance.ephemeral() as instance:
        run = _failed_run(code_location, instance)
        failure = [r.event_log_entry.dagster_event for r in instance.get_records_for_run(
            run.run_id, of_type=DagsterEventType.RUN_FAILURE).records][0]
        context = build_run_status_sensor_context(sensor_name="alert_on_run_failure", dagster_event=failure,
                                                  dagster_instance=instance, dagster_run=run)
        alert_on_run_failure(context.for_run_failure())
    [payload] = webhook.received
    assert payload["event"] == "run_failure" and payload["run_id"] == run.run_id
    assert payload["partition_range"] == "2025-03-01..2025-03-02"
    assert payload["failed_steps"][0]["step"] == "raw_ga4"
    assert payload["text"].startswith(
        f"pmkpi run failure: run {run.run_id[:8]} of {run.job_name} (2025-03-01..2025-03-02): step raw_ga4 failed: "
        "pmkpi_pipeline.lib.retry.RetriesExhausted: GA4 properties/100000001:runReport")


def test_failed_range_run_shows_each_of_its_days_failed_with_one_planned_event_per_asset(
        code_location, webhook, tmp_path, monkeypatch):
    """DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=1 (one planned event per asset) hides a failed run's days;
    the failure sensor marks them failed per day again, as the UI's partition status reads them."""
    from dagster import AssetKey, DagsterEventType, DagsterInstance, build_run_status_sensor_context
    from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value

    from pmkpi_pipeline.defs.common.partitions import DAILY
    from pmkpi_pipeline.defs.operations.alerts import alert_on_run_failure

    monkeypatch.setenv("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "1")
    days = ["2025-03-01", "2025-03-02", "2025-03-03"]

    def failed_days(instance) -> dict[str, list[str]]:  # what the asset's partition bar shows as failed
        return {key: sorted(get_and_update_asset_status_cache_value(instance, AssetKey(key), DAILY)
                            .deserialize_failed_partition_subsets(DAILY).get_partition_keys())
                for key in ("raw_ga4", "stg_ga4")}

    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        run = _failed_run(code_location, instance, keys=("raw_ga4", "stg_ga4"), end=date(2025, 3, 3))
        planned = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
        assert len(planned.records) == 2  # one per asset for the three days: the setting is in effect
        assert failed_days(instance) == {"raw_ga4": [], "stg_ga4": []}  # the setting's known cost
        failure = [r.event_log_entry.dagster_event for r in instance.get_records_for_run(
            run.run_id, of_type=DagsterEventType.RUN_FAILURE).records][0]
        context = build_run_status_sensor_context(sensor_name="alert_on_run_failure", dagster_event=failure,
                                                  dagster_instance=instance, dagster_run=run)
        alert_on_run_failure(context.for_run_failure())
        assert failed_days(instance) == {"raw_ga4": days, "stg_ga4": days}
    [payload] = webhook.received
    assert payload["failed_days"] == {"raw_ga4": ["2025-03-01..2025-03-03"], "stg_ga4": ["2025-03-01..2025-03-03"]}
    assert payload["text"].endswith("; not materialised: 3 day(s) (2025-03-01..2025-03-03) of raw_ga4, stg_ga4")


def test_failed_webhook_fails_the_tick_with_a_masked_url(webhook):
    from pmkpi_pipeline.defs.operations import alerts

    webhook.status = 500
    expected = r"PMKPI_ALERT_WEBHOOK_URL \(http://127\.0\.0\.1:\d+/\*\*\*\) failed 3 times, last: HTTP 500"
    with pytest.raises(RuntimeError, match=expected) as failure:
        alerts.post_alert({"text": "x"}, log=_Log(), sleep=lambda s: None)
    assert "secret-token" not in str(failure.value)
    assert len(webhook.received) == 3


class _Log:
    def __init__(self):
        self.lines = []

    def error(self, message):
        self.lines.append(message)

    info = warning = error


def test_without_a_webhook_alerts_are_only_logged(monkeypatch):
    from pmkpi_pipeline.defs.operations import alerts

    monkeypatch.delenv("PMKPI_ALERT_WEBHOOK_URL", raising=False)
    log = _Log()
    assert alerts.post_alert({"text": "pmkpi run failure: …"}, log=log) is False
    assert log.lines[0] == "pmkpi run failure: …" and "not set" in log.lines[1]


def test_failed_error_checks_are_alerted_after_a_successful_run(code_location, webhook):
    from dagster import (
        AssetCheckResult,
        AssetCheckSeverity,
        DagsterEventType,
        DagsterInstance,
        asset,
        asset_check,
        build_run_status_sensor_context,
        materialize,
    )

    from pmkpi_pipeline.defs.operations.alerts import alert_on_failed_checks

    @asset(name="kpi_demo")
    def kpi_demo():
        return 1

    @asset_check(asset=kpi_demo, name="demo_bounds")
    def demo_bounds():
        return AssetCheckResult(passed=False, severity=AssetCheckSeverity.ERROR, description="120 is above 100")

    @asset_check(asset=kpi_demo, name="demo_anomaly")
    def demo_anomaly():
        return AssetCheckResult(passed=False, severity=AssetCheckSeverity.WARN, description="spike")

    with DagsterInstance.ephemeral() as instance:
        result = materialize([kpi_demo, demo_bounds, demo_anomaly], instance=instance)
        run = instance.get_run_by_id(result.run_id)
        success = [r.event_log_entry.dagster_event for r in instance.get_records_for_run(
            run.run_id, of_type=DagsterEventType.RUN_SUCCESS).records][0]
        context = build_run_status_sensor_context(sensor_name="alert_on_failed_checks", dagster_event=success,
                                                  dagster_instance=instance, dagster_run=run)
        alert_on_failed_checks(context)
    [payload] = webhook.received  # the WARN check is not alerted
    assert payload["event"] == "check_failure"
    assert payload["failed_checks"] == [
        {"asset": "kpi_demo", "check": "demo_bounds", "description": "120 is above 100"}]


def test_schedules_request_range_runs_over_yesterday_and_the_lookbacks(code_location):
    from dagster import AssetKey, build_schedule_context

    from pmkpi_pipeline.defs.operations.schedules import daily_checks, daily_refresh

    when = datetime(2025, 3, 15, 6, 0, tzinfo=UTC)
    refresh, mailchimp = daily_refresh(build_schedule_context(scheduled_execution_time=when))
    checks = daily_checks(build_schedule_context(scheduled_execution_time=when.replace(hour=9)))
    window = {"dagster/asset_partition_range_start": "2025-03-11", "dagster/asset_partition_range_end": "2025-03-14"}
    assert refresh.tags == window and refresh.run_key == "2025-03-14" and refresh.asset_selection is None
    # Mailchimp reports settle for 7 days: the older 4 days re-pull Mailchimp and what it feeds only.
    assert mailchimp.tags == {"dagster/asset_partition_range_start": "2025-03-07",
                              "dagster/asset_partition_range_end": "2025-03-10"}
    assert set(mailchimp.asset_selection) == {AssetKey(k) for k in (
        "raw_mailchimp", "stg_mailchimp", "kpi_email", "kpi_marketing", "kpi_dashboard")}
    assert checks.tags == window and checks.run_key == "checks-2025-03-14"
    assert {s.name: s.job_name for s in code_location.defs.schedules} == {
        "daily_refresh": "pmkpi_all", "daily_checks": "pmkpi_checks"}


# --- operations settings: owners, tags, webhook URL ---------------------------------------------


def test_owners_and_tags_from_config_reach_the_asset_specs(code_location, monkeypatch):
    from pmkpi_pipeline.defs.operations.ownership import annotate

    monkeypatch.setenv("PMKPI_ASSET_OWNERS",
                       "*=team:data; raw_ga4=team:web-analytics,ana@example.com;kpis=team:marketing")
    monkeypatch.setenv("PMKPI_ASSET_TAGS", "domain=marketing,tier=gold")
    specs = {s.key.to_user_string(): s for a in annotate(code_location.defs).assets for s in a.specs}
    assert specs["raw_ga4"].owners == ["team:data", "team:web-analytics", "ana@example.com"]
    assert specs["kpi_web"].owners == ["team:data", "team:marketing"]
    assert specs["stg_billing"].owners == ["team:data"]
    assert {k: v for k, v in specs["raw_ga4"].tags.items() if not k.startswith("dagster/")} == {
        "layer": "raw", "source": "ga4", "domain": "marketing", "tier": "gold"}
    assert specs["kpi_web"].tags["kpi_family"] == "web" and specs["stg_billing"].tags["source"] == "billing"
    assert specs["raw_ga4"].group_name == "raw_ga4" and "google_analytics" in specs["raw_ga4"].kinds


def test_ui_layout_groups_kinds_descriptions_and_a_job_per_layer(code_location):
    graph = code_location.defs.resolve_asset_graph()
    groups = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert set(groups.values()) == {"raw_ga4", "raw_mailchimp", "raw_billing", "raw_inputs", "staging", "kpis"}
    kinds = {k.to_user_string(): graph.get(k).kinds for k in graph.get_all_asset_keys()}
    assert {"google_analytics", "duckdb"} <= kinds["raw_ga4"] and "mailchimp" in kinds["raw_mailchimp"]
    assert "sql" in kinds["raw_billing"]
    assert "(sessions − engagedSessions) / sessions × 100" in graph.get(
        next(k for k in graph.get_all_asset_keys() if k.to_user_string() == "kpi_web")).description
    jobs = {j.name: j for j in code_location.defs.resolve_all_job_defs() if not j.name.startswith("__")}
    assert set(jobs) == {"pmkpi_all", "pmkpi_raw", "pmkpi_staging", "pmkpi_kpis", "pmkpi_checks"}
    selected = {name: {k.to_user_string() for k in job.asset_layer.selected_asset_keys} for name, job in jobs.items()}
    assert selected["pmkpi_raw"] == {"raw_ga4", "raw_mailchimp", "raw_billing", "raw_inputs"}
    assert selected["pmkpi_staging"] == {"stg_ga4", "stg_mailchimp", "stg_billing", "stg_inputs"}
    assert selected["pmkpi_kpis"] == {"kpi_web", "kpi_email", "kpi_customer", "kpi_revenue", "kpi_marketing",
                                      "kpi_dashboard"}
    assert selected["pmkpi_checks"] == set()
    assert len(jobs["pmkpi_checks"].asset_layer.asset_graph.asset_check_keys) >= 80


@pytest.mark.parametrize(("name", "value", "message"), [
    ("PMKPI_ASSET_OWNERS", "raw_gaa=team:web", "unknown asset group 'raw_gaa'; groups are kpis, raw_billing"),
    ("PMKPI_ASSET_OWNERS", "kpis=marketing", "'marketing' for group 'kpis' is not an owner"),
    ("PMKPI_ASSET_OWNERS", "kpis", "malformed entry 'kpis'"),
    ("PMKPI_ASSET_TAGS", "domain=market ing", "invalid entry 'domain=market ing'"),
    ("PMKPI_ASSET_TAGS", "dagster/kind/x=y", "invalid entry 'dagster/kind/x=y'"),
])
def test_bad_owners_and_tags_are_errors_naming_the_variable(code_location, monkeypatch, name, value, message):
    from pmkpi_pipeline.defs.operations.ownership import annotate
    from pmkpi_pipeline.lib.settings import ConfigError

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name) as error:
        annotate(code_location.defs)
    assert message in str(error.value)


@pytest.mark.parametrize("value", ["hooks.slack.com/services/T0/B0/secret", "ftp://example.com/x", "https://"])
def test_bad_webhook_url_is_an_error_naming_the_variable_without_its_secret(monkeypatch, value):
    from pmkpi_pipeline.lib.settings import ConfigError, load_settings

    monkeypatch.setenv("PMKPI_ALERT_WEBHOOK_URL", value)
    with pytest.raises(ConfigError, match="PMKPI_ALERT_WEBHOOK_URL=.* must be an http:// or https:// URL") as error:
        load_settings()
    assert "secret" not in str(error.value)


def test_code_location_refuses_to_load_with_a_bad_operations_setting(sandbox):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PMKPI_ASSET_OWNERS": "kpis=nobody", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, "-c", "from pmkpi_pipeline.definitions import defs; defs()"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "ConfigError: PMKPI_ASSET_OWNERS: 'nobody' for group 'kpis' is not an owner" in done.stderr


def test_checks_job_reevaluates_the_warehouse_and_catches_a_day_that_never_landed(code_location, warehouse):
    from dagster import DagsterInstance
    from support import range_tags

    resources = {**code_location.build_resources(), "warehouse": warehouse}
    with DagsterInstance.ephemeral() as instance:
        landed = code_location.defs.resolve_job_def("pmkpi_all").execute_in_process(
            instance=instance, resources=resources, tags=range_tags(date(2025, 3, 1), date(2025, 3, 7)))
        assert landed.success
        checks = code_location.defs.resolve_job_def("pmkpi_checks")
        again = checks.execute_in_process(instance=instance, resources=resources,
                                          tags=range_tags(date(2025, 3, 1), date(2025, 3, 7)))
        assert again.success and not again.get_asset_materialization_events()
        assert len(again.get_asset_check_evaluations()) == len(landed.get_asset_check_evaluations())
        # The watchdog: the refresh did not land 2025-03-08, so the blocking GA4 check fails the run.
        missed = checks.execute_in_process(instance=instance, resources=resources, raise_on_error=False,
                                           tags=range_tags(date(2025, 3, 6), date(2025, 3, 8)))
    assert not missed.success
    rows = {e.partition: e for e in missed.get_asset_check_evaluations()
            if e.asset_key.to_user_string() == "raw_ga4" and e.check_name == "rows_every_day"}
    assert set(rows) == {"2025-03-06", "2025-03-07", "2025-03-08"}  # a verdict per day, each on its day
    assert rows["2025-03-06"].passed and rows["2025-03-07"].passed
    assert not rows["2025-03-08"].passed and "2025-03-08" in json.dumps(rows["2025-03-08"].metadata["empty_days"].value)
