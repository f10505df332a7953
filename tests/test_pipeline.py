"""End to end on the sandbox: raw landing equals what was served, re-runs are idempotent, KPIs match
independent pandas computations from the company's own frames, and checks are recorded."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from dagster import AssetKey, Definitions
from support import TEST_END, TEST_START, table_counts

RANGE = (date(2025, 2, 1), date(2025, 3, 31))


def _kpi(warehouse, kpi: str) -> pd.DataFrame:
    with warehouse.connect() as con:
        frame = con.execute(
            "SELECT date, value, numerator, denominator FROM kpis WHERE kpi = ? AND dimension IS NULL "
            "ORDER BY date", [kpi]).df()
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    return frame.set_index("date")


def test_definitions_load(code_location):
    Definitions.validate_loadable(code_location.defs)
    keys = {k.to_user_string() for k in code_location.defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"raw_ga4", "raw_mailchimp", "raw_billing", "raw_inputs", "stg_ga4", "kpi_web", "kpi_revenue"} <= keys


def test_raw_ga4_equals_what_the_sandbox_served(full_run, sandbox):
    _, warehouse, calls = full_run
    served = sandbox.company.ga4_traffic
    with warehouse.connect() as con:
        landed = con.execute("SELECT count(*), sum(sessions), sum(engaged_sessions) FROM raw_ga4_traffic").fetchone()
        pages = con.execute("SELECT count(*), sum(screen_page_views) FROM raw_ga4_pages").fetchone()
    assert landed == (len(served), served["sessions"].sum(), served["engagedSessions"].sum())
    assert pages == (len(sandbox.company.ga4_pages), sandbox.company.ga4_pages["screenPageViews"].sum())
    # 90 days of four reports: one runReport call each (a page holds 250,000 rows).
    ga4_calls = {k: v for k, v in calls.items() if k.startswith("ga4.runReport[")}
    assert len(ga4_calls) == 4 and set(ga4_calls.values()) == {1}, calls


def test_raw_billing_and_mailchimp_land_everything(full_run, sandbox):
    _, warehouse, _ = full_run
    company = sandbox.company
    counts = table_counts(warehouse)
    assert counts["raw_billing_customers"] == len(company.customers)
    assert counts["raw_billing_subscriptions"] == len(company.subscriptions)
    assert counts["raw_billing_invoices"] == len(company.invoices)
    in_range = company.product_events["occurred_at"].between(
        pd.Timestamp(TEST_START), pd.Timestamp(TEST_END + timedelta(days=1)), inclusive="left")
    assert counts["raw_billing_product_events"] == int(in_range.sum())
    sent = company.mailchimp_campaigns
    assert counts["raw_mailchimp_reports"] == len(sent)
    with warehouse.connect() as con:
        opens = con.execute("SELECT sum(unique_opens) FROM raw_mailchimp_reports").fetchone()[0]
    assert opens == sent["unique_opens"].sum()


def test_rerun_leaves_identical_row_counts(run_pipeline, warehouse):
    run_pipeline(*RANGE)
    first = table_counts(warehouse)
    run_pipeline(*RANGE)
    assert table_counts(warehouse) == first
    assert first["raw_ga4_traffic"] > 0 and first["kpi_values"] > 0


def test_bounce_rate_and_pages_per_session_match_the_served_traffic(full_run, sandbox):
    _, warehouse, _ = full_run
    traffic = sandbox.company.ga4_traffic.assign(date=lambda f: pd.to_datetime(f["date"]).dt.date)
    day = traffic.groupby("date")[["sessions", "engagedSessions", "screenPageViews"]].sum()
    bounce = _kpi(warehouse, "bounce_rate")
    pages = _kpi(warehouse, "pages_per_session")
    for d in (date(2025, 1, 5), date(2025, 3, 31)):
        s, e, v = day.loc[d]
        assert bounce.loc[d, "value"] == pytest.approx((s - e) / s * 100)
        assert pages.loc[d, "value"] == pytest.approx(v / s)


def test_mrr_and_nps_match_an_independent_computation(full_run, sandbox):
    _, warehouse, _ = full_run
    company = sandbox.company
    d = date(2025, 3, 15)
    end_of_day = pd.Timestamp(d + timedelta(days=1))
    subs = company.subscriptions.merge(company.plans, left_on="plan_id", right_on="id", suffixes=("", "_plan"))
    active = subs[(subs["started_at"] < end_of_day) & (subs["ended_at"].isna() | (subs["ended_at"] >= end_of_day))]
    months = active["billing_interval"].map({"month": 1, "quarter": 3, "year": 12})
    expected_mrr = (active["amount_cents"] / 100 / months * active["quantity"]).sum()
    assert _kpi(warehouse, "mrr").loc[d, "value"] == pytest.approx(expected_mrr)

    responses = company.survey_responses
    window = responses[(responses["survey"] == "nps")
                       & (responses["responded_at"] >= pd.Timestamp(d - timedelta(days=29)))
                       & (responses["responded_at"] < end_of_day)]
    promoters, detractors = (window["score"] >= 9).sum(), (window["score"] <= 6).sum()
    assert _kpi(warehouse, "nps").loc[d, "value"] == pytest.approx((promoters - detractors) / len(window) * 100)


def test_every_kpi_has_a_row_for_every_day(full_run):
    _, warehouse, _ = full_run
    with warehouse.connect() as con:
        per_day = con.execute(
            "SELECT date, count(DISTINCT kpi) FROM kpis WHERE dimension IS NULL GROUP BY date").fetchall()
    assert len(per_day) == (TEST_END - TEST_START).days + 1
    assert {n for _, n in per_day} == {26}


def test_checks_are_recorded_for_every_kpi(full_run):
    result, warehouse, _ = full_run
    evaluations = result.get_asset_check_evaluations()
    names = {e.check_name for e in evaluations}
    assert {"nps_bounds", "nps_anomaly", "nps_target", "mrr_bounds", "rows_every_day"} <= names
    bounds = [e for e in evaluations if e.check_name.endswith("_bounds")]
    days = (TEST_END - TEST_START).days + 1
    # One evaluation per KPI per day, each on its own partition: none for the range as a whole.
    assert len(bounds) == 26 * days and all(e.passed for e in bounds)
    assert all(e.partition is not None for e in evaluations)
    assert {e.partition for e in bounds} == {str(TEST_START + timedelta(days=i)) for i in range(days)}
    with warehouse.connect() as con:
        per_day = con.execute("SELECT count(DISTINCT date) FROM kpi_check_results").fetchone()[0]
    assert per_day == (TEST_END - TEST_START).days + 1
    assert result.success
    assert AssetKey("kpi_web") in {e.asset_key for e in result.get_asset_materialization_events()}


def test_target_check_warns_off_track_and_report_shows_the_target(full_run, code_location, tmp_path,
                                                                  monkeypatch, capsys):
    import json

    from dagster import AssetCheckSeverity

    from pmkpi_pipeline import cli

    _, warehouse, _ = full_run
    targets = tmp_path / "targets.yaml"
    targets.write_text("bounce_rate: {target: 1}\npages_per_session: {target: 1}\n")  # unmeetable / met
    monkeypatch.setenv("PMKPI_TARGETS_FILE", str(targets))
    monkeypatch.setenv("PMKPI_WAREHOUSE", warehouse.path)
    day = date(2025, 3, 31)
    from dagster import AssetSelection, DagsterInstance, materialize
    from support import range_tags

    result = materialize([*code_location.defs.assets, *code_location.defs.asset_checks],
                         selection=AssetSelection.checks_for_assets("kpi_web"),
                         resources={**code_location.build_resources(), "warehouse": warehouse},
                         tags=range_tags(day, day), instance=DagsterInstance.ephemeral())
    verdicts = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not verdicts["bounce_rate_target"].passed
    assert verdicts["bounce_rate_target"].severity == AssetCheckSeverity.WARN
    assert verdicts["pages_per_session_target"].passed

    assert cli.main(["report", day.isoformat(), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    bounce = next(r for r in rows if r["kpi"] == "bounce_rate")
    assert bounce["target"] == 1.0 and bounce["date"] == "2025-03-31"
    assert len({r["kpi"] for r in rows if r["dimension"] is None}) == 26
    assert {"date", "kpi", "value", "numerator", "denominator", "unit", "dimension", "dimension_value"} <= set(bounce)
    assert cli.main(["report", day.isoformat()]) == 0
    table = capsys.readouterr().out
    assert "bounce_rate" in table and "WARN  bounce_rate_target" in table


def test_ga4_over_grpc_lands_the_same_rows_as_rest(full_run, sandbox, run_pipeline, warehouse):
    from dagster import AssetSelection

    from pmkpi_pipeline.defs.ga4.resource import GA4Resource

    _, rest_warehouse, _ = full_run
    grpc = GA4Resource(property_id=sandbox.company.ga4_property_id, endpoint=sandbox.servers.ga4_grpc_endpoint)
    run_pipeline(TEST_START, TEST_END, selection=AssetSelection.assets("raw_ga4"), resources={"ga4": grpc})
    query = ("SELECT * EXCLUDE (property_time_zone) FROM {} ORDER BY ALL")
    for table in ("raw_ga4_traffic", "raw_ga4_pages", "raw_ga4_events", "raw_ga4_totals"):
        with rest_warehouse.connect() as con:
            rest = con.execute(query.format(table)).fetchall()
        with warehouse.connect() as con:
            over_grpc = con.execute(query.format(table)).fetchall()
        assert over_grpc == rest and len(rest) > 0, table
