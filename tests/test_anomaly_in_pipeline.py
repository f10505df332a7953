"""A sandbox company with a traffic spike injected on a known day: that day's partition is flagged."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from dagster import AssetCheckSeverity, AssetSelection, DagsterInstance, materialize
from support import TEST_START, range_tags

SPIKE = date(2025, 3, 12)
WEB = AssetSelection.assets("raw_ga4", "stg_ga4", "kpi_web")


@pytest.fixture(scope="module")
def spiked_ga4(code_location):
    """A second sandbox serving the test company's GA4 with traffic ×4 on SPIKE."""
    from pmkpi_pipeline.defs.ga4.resource import GA4Resource
    from pmkpi_sandbox.company import Anomaly, generate_company
    from pmkpi_sandbox.servers import start_sandbox

    company = generate_company(seed=11, size="tiny", start=TEST_START, end=SPIKE,
                               anomalies=[Anomaly("ga4_traffic", SPIKE, 4.0)])
    with start_sandbox(company) as servers:
        yield GA4Resource(property_id=company.ga4_property_id, endpoint=servers.ga4_endpoint)


def test_spike_day_partition_is_flagged_and_the_day_before_is_not(code_location, warehouse, spiked_ga4):
    resources = {**code_location.build_resources(), "warehouse": warehouse, "ga4": spiked_ga4}
    assets = [*code_location.defs.assets, *code_location.defs.asset_checks]
    history = materialize(assets, selection=WEB | AssetSelection.checks_for_assets("kpi_web"),
                          resources=resources, tags=range_tags(TEST_START, SPIKE - timedelta(days=1)),
                          instance=DagsterInstance.ephemeral())
    before = {e.check_name: e for e in history.get_asset_check_evaluations()}
    assert before["content_usage_anomaly"].passed, before["content_usage_anomaly"].description

    daily = materialize(assets, selection=WEB | AssetSelection.checks_for_assets("kpi_web"),
                        resources=resources, partition_key=SPIKE.isoformat(), instance=DagsterInstance.ephemeral())
    verdicts = {e.check_name: e for e in daily.get_asset_check_evaluations()}
    flagged = verdicts["content_usage_anomaly"]
    assert not flagged.passed and flagged.severity == AssetCheckSeverity.WARN
    assert flagged.partition == SPIKE.isoformat()
    detail = flagged.metadata["verdict"].value
    assert detail["date"] == SPIKE.isoformat() and detail["value"] > detail["upper"]
    assert detail["score"] > 3 and detail["history_size"] >= 28
    # The ratios whose numerator and denominator both scale stay quiet: no alarm on pages per session.
    assert verdicts["pages_per_session_anomaly"].passed

    with warehouse.connect() as con:
        rows = con.execute("SELECT date, passed, metadata FROM kpi_check_results "
                           "WHERE check_name = 'content_usage_anomaly' AND date >= ? ORDER BY date",
                           [SPIKE - timedelta(days=1)]).fetchall()
    assert [(d, p) for d, p, _ in rows] == [(SPIKE - timedelta(days=1), True), (SPIKE, False)]
    assert json.loads(rows[1][2])["expected"] < json.loads(rows[1][2])["value"]
