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


MPP_DAY = date(2025, 3, 12)
EMAIL = AssetSelection.assets("raw_mailchimp", "stg_mailchimp", "kpi_email")


def test_an_mpp_inflated_campaign_is_flagged_on_its_send_day_and_not_again(code_location, tmp_path):
    """The demo company with a campaign whose opens Apple Mail Privacy Protection inflated to 92 %, through the
    Mailchimp sandbox, raw → staging → kpi_email and its checks in one range run: the 7-day open rate is flagged on
    the send day only; the days it stays in the window, and the day it leaves, pass; days without history say so."""
    from pmkpi_pipeline.defs.mailchimp.resource import MailchimpResource
    from pmkpi_pipeline.lib.warehouse import WarehouseResource
    from pmkpi_sandbox.company import Event, generate_company
    from pmkpi_sandbox.servers import start_sandbox

    company = generate_company(seed=7, size="demo", start=TEST_START, end=MPP_DAY + timedelta(days=14),
                               events=[Event("mpp_campaign", MPP_DAY)])
    warehouse = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    with start_sandbox(company) as servers:
        mailchimp = MailchimpResource(api_key=servers.api_key, base_url=servers.mailchimp_base_url)
        result = materialize([*code_location.defs.assets, *code_location.defs.asset_checks],
                             selection=EMAIL | AssetSelection.checks_for_assets("kpi_email"),
                             resources={**code_location.build_resources(), "warehouse": warehouse,
                                        "mailchimp": mailchimp},
                             tags=range_tags(TEST_START, company.end), instance=DagsterInstance.ephemeral())
    assert result.success
    with warehouse.connect(read_only=True) as con:
        rows = con.execute("SELECT date, passed, description FROM kpi_check_results "
                           "WHERE check_name = 'email_open_rate_anomaly' ORDER BY date").fetchall()
    failed = [d for d, passed, _ in rows if passed is False]
    assert failed == [MPP_DAY], "\n".join(f"{d} {p} {t}" for d, p, t in rows if p is not None)
    verdicts = {d: (passed, text) for d, passed, text in rows}
    assert "above the" in verdicts[MPP_DAY][1] and "7-day window robust z" in verdicts[MPP_DAY][1]
    after = [verdicts[MPP_DAY + timedelta(days=k)] for k in range(1, 15)]
    assert all(passed is not False for passed, _ in after)
    assert any("still in the window" in text for _, text in after)
    unjudged = [text for passed, text in verdicts.values() if passed is None]
    assert unjudged and all(": not judged: " in text for text in unjudged)
