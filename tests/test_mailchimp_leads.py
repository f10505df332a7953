"""Leads from Mailchimp list members, as real accounts serve them: all of history, an activity horizon, OAuth and
an edge that answers without a body or with HTML.

- A two-year backfill, with the sandbox's "today" a year after the data ends (so no list activity is
  served at all), logged in with an OAuth access token and hit by bodyless 429s and HTML 503s, gives
  ``lead_conversion_rate`` and ``cost_per_lead`` equal to an independent computation from the company.
- Re-running a range after it left the 180-day activity horizon keeps every landed row and KPI value.
- The activity reconciles the leads (``leads_match_activity``), and the resource tells Mailchimp's edge
  answers apart without ever parsing them as data.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
import requests
from dagster import AssetCheckKey, AssetKey, AssetSelection, DagsterInstance, materialize
from spec_kpis import leads_per_day
from support import TEST_END, TEST_START, range_tags
from test_secrets import event_texts, find

from pmkpi_sandbox.faults import Fault

LEAD_CHAIN = ["raw_mailchimp", "raw_billing", "raw_inputs", "stg_mailchimp", "stg_billing", "stg_inputs",
              "kpi_marketing", "kpi_email"]
LEAD_KPIS = ("lead_conversion_rate", "cost_per_lead")
RANGE = (date(2025, 2, 12), date(2025, 3, 14))  # its last two days have landed 30-day windows
FAST = {"base_delay_seconds": 0.01, "max_delay_seconds": 0.5}


def run(code_location, warehouse, start: date, end: date, selection, resources: dict | None = None,
        raise_on_error: bool = True):
    """One run of ``selection`` (asset names: without their checks; or an ``AssetSelection``) for start..end."""
    defs = code_location.defs
    if isinstance(selection, list):
        selection = AssetSelection.assets(*selection).without_checks()
    return materialize([*defs.assets, *defs.asset_checks], selection=selection,
                       resources={**code_location.build_resources(), "warehouse": warehouse, **(resources or {})},
                       tags=range_tags(start, end), instance=DagsterInstance.ephemeral(), raise_on_error=raise_on_error)


def rows(warehouse, sql: str) -> list[tuple]:
    with warehouse.connect(read_only=True) as con:
        return con.execute(sql).fetchall()


def lead_kpis(warehouse) -> pd.DataFrame:
    with warehouse.connect(read_only=True) as con:
        found = con.execute("SELECT date, kpi, value FROM kpis WHERE kpi IN ? AND dimension IS NULL",
                            [list(LEAD_KPIS)]).df()
    return found.assign(date=pd.to_datetime(found["date"]).dt.date).pivot(index="date", columns="kpi", values="value")


def expected_lead_kpis(company, first: date, last: date, window: int = 30) -> pd.DataFrame:
    """KPI_SPEC's two lead KPIs straight from the company's frames: leads from its members, customers by their UTC
    creation day, spend by its date; 30-day windows."""
    days = pd.date_range(first - timedelta(days=window - 1), last).date
    daily = pd.DataFrame({
        "leads": leads_per_day(company),
        "new": company.customers["created_at"].dt.date.value_counts(),
        "spend": company.marketing_spend.groupby(company.marketing_spend["date"].dt.date)["amount"].sum(),
    }).reindex(days, fill_value=0).fillna(0).rolling(window).sum().loc[first:]
    leads = daily["leads"].where(daily["leads"] > 0)
    return pd.DataFrame({"lead_conversion_rate": daily["new"] / leads * 100, "cost_per_lead": daily["spend"] / leads})


def email_kpis(warehouse) -> pd.DataFrame:
    with warehouse.connect(read_only=True) as con:
        found = con.execute("SELECT date, kpi, value FROM kpis WHERE kpi IN ('email_open_rate', 'email_click_rate') "
                            "AND dimension IS NULL").df()
    return found.assign(date=pd.to_datetime(found["date"]).dt.date).pivot(index="date", columns="kpi", values="value")


def expected_email_kpis(sent: pd.DataFrame, first: date, last: date, window: int = 7) -> pd.DataFrame:
    """KPI_SPEC's open and click rates from the sent campaigns of the company (UTC days), 7-day windows."""
    days = pd.date_range(first - timedelta(days=window - 1), last).date
    counts = sent.assign(day=sent["send_time"].dt.tz_convert("UTC").dt.date,
                         delivered=sent["emails_sent"] - sent["hard_bounces"] - sent["soft_bounces"])
    daily = counts.groupby("day")[["delivered", "unique_opens", "unique_subscriber_clicks"]].sum()
    daily = daily.reindex(days, fill_value=0).rolling(window).sum().loc[first:]
    delivered = daily["delivered"].where(daily["delivered"] > 0)
    return pd.DataFrame({"email_open_rate": daily["unique_opens"] / delivered * 100,
                         "email_click_rate": daily["unique_subscriber_clicks"] / delivered * 100})


@pytest.fixture(scope="module")
def two_years(tmp_path_factory):
    """A small company over (up to) two years, served with "today" a year after its data ends."""
    from pmkpi_sandbox.company import SIZES, generate_company
    from pmkpi_sandbox.demo import write_company
    from pmkpi_sandbox.servers import start_sandbox

    start = TEST_START
    end = min(start + timedelta(days=729), datetime.now(UTC).date() - timedelta(days=1))  # partitions end yesterday
    # every kind of campaign: variate, RSS parent and items, plain-text, resends, one still sending, one audience-less
    company = generate_company(seed=23, size=replace(SIZES["tiny"], campaign_kinds=True), start=start, end=end)
    folder = tmp_path_factory.mktemp("two-years")
    exported = write_company(company, folder)
    with start_sandbox(company) as servers:
        servers.faults.today = end + timedelta(days=365)
        yield company, servers, exported, folder


def test_two_year_backfill_with_oauth_and_edge_faults_gives_the_companys_lead_kpis(
        code_location, two_years, monkeypatch):
    from pmkpi_pipeline.lib.warehouse import WarehouseResource

    company, servers, exported, folder = two_years
    start, end = company.start, company.end
    for name, value in {**exported, "PMKPI_MAILCHIMP_ACCESS_TOKEN": servers.access_token,
                        "PMKPI_MAILCHIMP_OAUTH_METADATA_URL": servers.mailchimp_oauth_metadata_url}.items():
        monkeypatch.setenv(name, value)
    for name in ("PMKPI_MAILCHIMP_API_KEY", "PMKPI_MAILCHIMP_BASE_URL"):  # the token alone, its DC from metadata
        monkeypatch.delenv(name)
    monkeypatch.setattr("pmkpi_pipeline.defs.mailchimp.members.CHUNK", 7)  # members typed across many runs
    servers.faults.add(
        Fault("mailchimp", "status", status=429, body="none", times=2, retry_after=0.01),  # the metadata call
        Fault("mailchimp", "status", status=503, body="html", times=2, path="/members", retry_after=0.01),
        Fault("mailchimp", "status", status=429, body="none", path="/activity", retry_after=0.01),
        Fault("mailchimp", "status", status=502, body="html", path="/reports", retry_after=0.01),
    )
    warehouse = WarehouseResource(path=str(folder / "warehouse.duckdb"))
    instance = DagsterInstance.ephemeral()
    defs = code_location.defs
    result = materialize(list(defs.assets), selection=LEAD_CHAIN, instance=instance, tags=range_tags(start, end),
                         resources={**code_location.build_resources(), "warehouse": warehouse})
    assert result.success and servers.faults.pending() == []
    assert servers.stats()["mailchimp./oauth2/metadata"] == 3

    got, want = lead_kpis(warehouse), expected_lead_kpis(company, start + timedelta(days=29), end)
    assert len(want) >= 600 and want.notna().all().all()
    for kpi in LEAD_KPIS:
        assert got.loc[want.index, kpi].to_numpy() == pytest.approx(want[kpi].to_numpy(), rel=1e-9), kpi
    # no activity was served (all of it is older than 180 days before "today"): nothing landed, the ledger says so
    assert rows(warehouse, "SELECT count(*) FROM raw_mailchimp_list_activity") == [(0,)]
    assert rows(warehouse, "SELECT served, count(*) FROM landed_pulls WHERE table_name = "
                "'raw_mailchimp_list_activity' GROUP BY ALL") == [(False, (end - start).days + 1)]
    metadata = result.asset_materializations_for_node("raw_mailchimp")[0].metadata
    assert metadata["undated_members"].value == int((company.mailchimp_members["status"] == "transactional").sum())
    assert find({"access token": servers.access_token}, event_texts(instance, result.run_id)) == []

    # campaign kinds: every sent campaign counts on its send date, whatever its kind; none fails the run
    sent = company.mailchimp_campaigns[company.mailchimp_campaigns["status"] == "sent"]
    kinds = {kind: int((sent["type"] == kind).sum()) for kind in sent["type"].unique()}
    assert {"regular", "variate", "rss", "plaintext"} <= set(kinds) and (sent["list_id"] == "").sum() == 1
    assert metadata["campaign_kinds"].value == {**kinds, "children": int((sent["parent_campaign_id"] != "").sum()),
                                                "without_audience": 1}
    got, want = email_kpis(warehouse), expected_email_kpis(sent, start + timedelta(days=6), end)
    assert len(want) >= 600
    for kpi in want.columns:
        assert got.loc[want.index, kpi].to_numpy() == pytest.approx(want[kpi].to_numpy(), rel=1e-9, nan_ok=True), kpi


def test_rerun_after_the_activity_horizon_keeps_every_landed_row_and_kpi(code_location, sandbox, warehouse):
    plan = sandbox.servers.faults
    first = run(code_location, warehouse, *RANGE, LEAD_CHAIN)
    tables = ("raw_mailchimp_list_activity", "raw_mailchimp_members", "raw_mailchimp_reports",
              "raw_mailchimp_campaigns", "kpi_values")
    before = {t: rows(warehouse, f"SELECT * FROM {t} ORDER BY ALL") for t in tables}
    assert all(before.values())
    assert lead_kpis(warehouse).loc[date(2025, 3, 13):].notna().all().all()
    try:
        plan.today = TEST_END + timedelta(days=365)
        again = run(code_location, warehouse, *RANGE, ["raw_mailchimp", "stg_mailchimp", "kpi_marketing"])
    finally:
        plan.today = None
    assert {t: rows(warehouse, f"SELECT * FROM {t} ORDER BY ALL") for t in tables} == before
    metadata = again.asset_materializations_for_node("raw_mailchimp")[0].metadata
    assert metadata["activity_days_kept"].value == 31 and metadata["activity_served"].value.startswith("none")
    # the activity's days still come from the first pull; the other tables' from the second
    pulls = dict(rows(warehouse, "SELECT table_name, list(DISTINCT run_id) FROM landed_pulls GROUP BY 1"))
    assert pulls["raw_mailchimp_list_activity"] == [first.run_id]
    assert pulls["raw_mailchimp_members"] == [again.run_id]


def test_leads_match_activity_warns_on_the_day_they_differ(code_location, warehouse):
    check = AssetCheckKey(AssetKey("raw_mailchimp"), "leads_match_activity")
    with_check = AssetSelection.assets("raw_mailchimp").without_checks() | AssetSelection.checks(check)
    clean = run(code_location, warehouse, date(2025, 3, 10), date(2025, 3, 12), with_check)
    verdicts = clean.get_asset_check_evaluations()
    assert len(verdicts) == 3 and all(v.passed and "match" in v.description for v in verdicts)
    with warehouse.connect() as con:  # a member lost from the landed rows of the 11th
        con.execute("DELETE FROM raw_mailchimp_members WHERE rowid = (SELECT min(rowid) FROM raw_mailchimp_members "
                    "WHERE date = DATE '2025-03-11' AND timestamp_opt IS NOT NULL)")
    flagged = run(code_location, warehouse, date(2025, 3, 10), date(2025, 3, 12), AssetSelection.checks(check))
    failed = [v for v in flagged.get_asset_check_evaluations() if not v.passed]
    assert [(v.partition, v.severity.value) for v in failed] == [("2025-03-11", "WARN")]
    (differences,) = failed[0].metadata["differences"].value.values()
    assert differences["activity_adds"] == differences["opt_ins"] + 1


def test_every_call_asks_only_for_its_fields_within_mailchimps_timeout(code_location, warehouse, monkeypatch):
    calls = []
    get = requests.get

    def recording(url, params=None, **kwargs):
        calls.append((url, dict(params or []), kwargs.get("timeout")))
        return get(url, params=params, **kwargs)

    monkeypatch.setattr(requests, "get", recording)
    run(code_location, warehouse, date(2025, 3, 10), date(2025, 3, 10), ["raw_mailchimp"])
    assert {url.rsplit("/", 1)[-1] for url, _, _ in calls} >= {"campaigns", "reports", "lists", "activity", "members"}
    assert all("fields" in params and "total_items" in params["fields"] for _, params, _ in calls), calls
    assert all(timeout >= 120 for _, _, timeout in calls)


@pytest.mark.parametrize("fault, expect", [
    (Fault("mailchimp", "status", status=403, body="none"),
     "HTTP 403 without a problem body (without a body): Mailchimp's edge refused the request (rate limiting or a "
     "blocked IP), not a bad API key"),
    (Fault("mailchimp", "status", status=403, body="html"), 'HTTP 403 without a problem body (with an HTML page '
     '"Access Denied")'),
    (Fault("mailchimp", "status", status=503, body="html", times=2), "still failing after 2 attempts; last error: "
     'HTTP 503 with an HTML page "Service Unavailable"'),
], ids=["bodyless_403", "html_403", "html_503_beyond_the_retries"])
def test_edge_answers_are_named_for_what_they_are(sandbox, fault, expect):
    from pmkpi_pipeline.defs.mailchimp.resource import MailchimpResource
    from pmkpi_pipeline.lib.retry import SourceError

    servers = sandbox.servers
    mailchimp = MailchimpResource(api_key=servers.api_key, base_url=servers.mailchimp_base_url, max_attempts=2, **FAST)
    servers.faults.add(Fault("mailchimp", "status", status=429, body="none"), fault)
    try:
        with pytest.raises((SourceError, RuntimeError)) as failed:
            mailchimp.get("/lists", mailchimp.client.lists.get_all_lists)
    finally:
        servers.faults.reset()
    assert expect in str(failed.value)
    if fault.status == 403:
        assert "PMKPI_MAILCHIMP_API_KEY" not in str(failed.value)


def test_an_oauth_token_gets_its_data_centre_from_the_metadata_and_a_wrong_one_is_named(sandbox):
    from pmkpi_pipeline.defs.mailchimp.resource import MailchimpError, MailchimpResource

    servers = sandbox.servers
    good = MailchimpResource(access_token=servers.access_token, oauth_metadata_url=servers.mailchimp_oauth_metadata_url)
    assert good.client.api_client.host == f"{servers.mailchimp.url}/3.0" and good.client.api_client.timeout == 120
    good.ping()
    wrong = "0ddba11c0ffee0ddba11c0ffee0ddba1"
    with pytest.raises(MailchimpError) as refused:
        _ = MailchimpResource(access_token=wrong, oauth_metadata_url=servers.mailchimp_oauth_metadata_url).client
    message = str(refused.value)
    assert "HTTP 401 invalid_token" in message and "PMKPI_MAILCHIMP_ACCESS_TOKEN" in message
    assert wrong[:12] not in message
