"""GA4 as real accounts meet it, through the pipeline's resource and assets against the sandbox.

Credentials of every type google-auth loads (real files: a fresh RSA key, a refresh token, a subject token),
Application Default Credentials, Google's 403 reasons and quota errors, a day without rows in a range run, rows
GA4 folds into ``(other)`` or withholds, and a property whose time zone is not ``PMKPI_TIMEZONE``.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from dagster import AssetSelection

RANGE = (date(2025, 3, 3), date(2025, 3, 9))
FAST = {"max_attempts": 3, "base_delay_seconds": 0.01, "max_delay_seconds": 0.1, "timeout_seconds": 5.0}


@pytest.fixture
def plan(sandbox):
    """The session sandbox's fault plan, reset after the test."""
    yield sandbox.servers.faults
    sandbox.servers.faults.reset()


def _ga4(sandbox, **overrides):
    from pmkpi_pipeline.defs.ga4.resource import GA4Resource

    return GA4Resource(**{"property_id": sandbox.servers.property_id, "endpoint": sandbox.ga4_endpoint, **FAST,
                          **overrides})


def _totals(ga4, day: date = RANGE[0]):
    return ga4.run_report("totals", ["date"], ["sessions"], day, day)


def _auth(sandbox):
    return sandbox.servers.ga4.service.auth


@pytest.mark.parametrize("kind", ["service_account", "authorized_user", "external_account"])
def test_every_credentials_file_type_signs_in(sandbox, plan, tmp_path, kind):
    plan.configure({"ga4_require_auth": True})
    with pytest.raises(Exception, match=r"no access token for the credentials \(anonymous: no credentials set"):
        _totals(_ga4(sandbox))  # anonymous: refused once sign-in is required
    path = _auth(sandbox).write_credentials(kind, tmp_path, sandbox.ga4_endpoint)
    result = _totals(_ga4(sandbox, credentials_file=str(path)))
    assert len(result.frame) == 1 and result.property_quota["tokensPerDay"]["remaining"] > 0


def test_an_expired_user_token_is_refreshed_at_the_token_endpoint(sandbox, plan, tmp_path, monkeypatch):
    import google.oauth2.credentials

    plan.configure({"ga4_require_auth": True})
    path = _auth(sandbox).write_credentials("authorized_user", tmp_path, sandbox.ga4_endpoint)
    info = json.loads(path.read_text())
    path.write_text(json.dumps({k: v for k, v in info.items() if k not in ("token", "expiry")}))
    # google-auth always refreshes user credentials at Google's endpoint: point it at the sandbox's
    monkeypatch.setattr(google.oauth2.credentials, "_GOOGLE_OAUTH2_TOKEN_ENDPOINT", f"{sandbox.ga4_endpoint}/token")
    before = sandbox.stats().get("ga4.token", 0)
    assert len(_totals(_ga4(sandbox, credentials_file=str(path))).frame) == 1
    assert sandbox.stats()["ga4.token"] == before + 1


def test_application_default_credentials_are_found_when_nothing_is_set(sandbox, plan, tmp_path, monkeypatch):
    from google.analytics.data_v1beta import BetaAnalyticsDataClient
    from google.oauth2.credentials import Credentials

    plan.configure({"ga4_require_auth": True})
    (tmp_path / "gcloud").mkdir()
    adc = _auth(sandbox).write_credentials("authorized_user", tmp_path / "gcloud", sandbox.ga4_endpoint)
    adc.rename(tmp_path / "gcloud" / "application_default_credentials.json")  # where `gcloud auth login` puts it
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    credentials = _ga4(sandbox, endpoint=None)._credentials()  # Google's endpoint, no variable: ADC
    assert isinstance(credentials, Credentials)
    client = BetaAnalyticsDataClient(credentials=credentials, transport="rest",
                                     client_options={"api_endpoint": sandbox.ga4_endpoint})
    assert client.run_report(request={"property": f"properties/{sandbox.servers.property_id}",
                                      "date_ranges": [{"start_date": "2025-03-03", "end_date": "2025-03-03"}],
                                      "metrics": [{"name": "sessions"}]}).row_count == 1


def test_credential_failures_say_what_was_tried_and_never_the_content(sandbox, tmp_path, monkeypatch):
    from pmkpi_pipeline.defs.ga4.resource import GA4Error

    secret = "SECRET-refresh-token-0123456789"
    files = {"missing": (tmp_path / "nope.json", "no such file"),
             "not json": (tmp_path / "cut.json", "not a JSON file"),
             "unknown type": (tmp_path / "type.json", 'its "type" is none of service_account'),
             "incomplete": (tmp_path / "user.json", "cannot load these authorized user credentials")}
    files["not json"][0].write_text('{"refresh_token": "' + secret)
    files["unknown type"][0].write_text(json.dumps({"type": secret, "refresh_token": secret}))
    files["incomplete"][0].write_text(json.dumps({"type": "authorized_user", "refresh_token": secret}))
    for path, words in files.values():
        with pytest.raises(GA4Error) as failed:
            _ga4(sandbox, credentials_file=str(path)).client  # noqa: B018 - building the client loads them
        assert str(path) in str(failed.value) and words in str(failed.value) and secret not in str(failed.value)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "empty"))
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")  # no metadata server either
    with pytest.raises(GA4Error, match="Application Default Credentials found none .*gcloud auth application-default"):
        _ga4(sandbox, endpoint="https://analyticsdata.googleapis.com").client  # noqa: B018


def test_googles_403_reasons_are_kept(sandbox, plan):
    from pmkpi_pipeline.defs.ga4.resource import GA4Error

    plan.configure({"ga4_api_disabled": "987654321"})
    with pytest.raises(GA4Error, match=r"Data API is not enabled in Google Cloud project 987654321.*SERVICE_DISABLED"
                       r".*enable it at https://console.developers.google.com/apis/api/analyticsdata"):
        _totals(_ga4(sandbox))
    plan.configure({"ga4_api_disabled": None})
    with pytest.raises(GA4Error, match=r"have no access to GA4 property 7 \(HTTP 403 PERMISSION_DENIED: User does not "
                       r"have sufficient permissions.*Viewer role.*PMKPI_GA4_PROPERTY_ID"):
        _totals(_ga4(sandbox, property_id="7"))


@pytest.mark.parametrize(("quota", "resets"), [
    ("tokensPerDay", "resets at"), ("tokensPerHour", ":00 UTC"), ("tokensPerProjectPerHour", ":00 UTC"),
    ("serverErrorsPerProjectPerHour", ":00 UTC"), ("potentiallyThresholdedRequestsPerHour", ":00 UTC")])
def test_a_quota_that_wont_refill_in_the_run_fails_at_once_naming_it(sandbox, plan, quota, resets):
    from pmkpi_pipeline.defs.ga4.resource import GA4QuotaExhausted

    plan.configure({"ga4_quota": {quota: 0}})
    before = sandbox.stats().get("ga4.runReport", 0)
    with pytest.raises(GA4QuotaExhausted, match=f"GA4 quota {quota} of property .* is exhausted .*{resets}"):
        _totals(_ga4(sandbox))
    assert sandbox.stats()["ga4.runReport"] == before + 1  # not retried


def test_concurrent_requests_are_retried(sandbox, plan):
    from pmkpi_pipeline.lib.retry import RetriesExhausted

    plan.configure({"ga4_quota": {"concurrentRequests": 0}})
    before = sandbox.stats().get("ga4.runReport", 0)
    with pytest.raises(RetriesExhausted, match="still failing after 3 attempts; last error: HTTP 429 Exhausted concu"):
        _totals(_ga4(sandbox))
    assert sandbox.stats()["ga4.runReport"] == before + 3


WEB = AssetSelection.assets("raw_ga4", "stg_ga4", "kpi_web") | AssetSelection.checks_for_assets("raw_ga4")


def test_a_day_without_rows_leaves_the_rest_of_the_range_landed_and_correct(sandbox, plan, run_pipeline, warehouse):
    plan.configure({"ga4_empty_days": ["2025-03-03", "2025-03-06"]})
    result = run_pipeline(*RANGE, selection=WEB)
    assert result.success
    company = sandbox.company.ga4_totals.set_index("date")
    with warehouse.connect() as con:
        landed = dict(con.execute("SELECT date, sessions FROM raw_ga4_totals").fetchall())
        status = {d: (s, r) for d, s, r in con.execute("SELECT date, status, reason FROM stg_ga4_days").fetchall()}
        kpis = {(d, k): (v, r) for d, k, v, r in con.execute(
            "SELECT date, kpi, value, null_reason FROM kpi_values WHERE dimension IS NULL").fetchall()}
    others = [d for d in (date(2025, 3, i) for i in range(4, 10)) if d != date(2025, 3, 6)]
    assert landed == {d: company.loc[str(d), "sessions"] for d in others}
    assert status[date(2025, 3, 3)][0] == "before_first_data" and status[date(2025, 3, 6)][0] == "outage"
    for kpi in ("bounce_rate", "pages_per_session", "conversion_rate", "content_usage"):
        value, reason = kpis[(date(2025, 3, 6), kpi)]
        assert value is None and reason.startswith("GA4 tracking outage on D: no rows at all"), (kpi, reason)
        assert kpis[(date(2025, 3, 3), kpi)][1].startswith("no GA4 data on D: before the first day")
    for day in others:  # bounce rate from the company's own numbers
        traffic = sandbox.company.ga4_traffic[sandbox.company.ga4_traffic["date"] == str(day)]
        expected = (traffic["sessions"].sum() - traffic["engagedSessions"].sum()) / traffic["sessions"].sum() * 100
        assert kpis[(day, "bounce_rate")][0] == pytest.approx(expected)
    rows = {e.partition: e for e in result.get_asset_check_evaluations() if e.check_name == "rows_every_day"}
    assert not rows["2025-03-06"].passed and rows["2025-03-06"].severity.value == "WARN"
    assert "tracking outage" in rows["2025-03-06"].description and rows["2025-03-07"].passed
    quota = result.asset_materializations_for_node("raw_ga4")[0].metadata["ga4_property_quota"].value
    assert set(quota) == {"tokensPerDay", "tokensPerHour", "concurrentRequests", "serverErrorsPerProjectPerHour",
                          "potentiallyThresholdedRequestsPerHour", "tokensPerProjectPerHour"}
    assert quota["tokensPerDay"]["consumed_by_run"] >= 4 and quota["tokensPerDay"]["remaining"] > 0


def test_other_and_withheld_rows_are_flagged_and_a_foreign_time_zone_blocks_staging(sandbox, plan, run_pipeline,
                                                                                    warehouse):
    from pmkpi_pipeline.lib.settings import RunSettings

    traffic = sandbox.company.ga4_traffic
    smallest = traffic[traffic["date"] == str(RANGE[0])]["totalUsers"].min()
    plan.configure({"ga4_other_rows": {"max_rows": 2, "fold_date": True}, "ga4_withheld": {"min_users": smallest + 1}})
    result = run_pipeline(RANGE[0], RANGE[0], selection=WEB, raise_on_error=False,
                          resources={"settings": RunSettings(timezone="America/New_York")})
    assert not result.success
    quality = next(e for e in result.get_asset_check_evaluations() if e.check_name == "ga4_data_quality")
    assert not quality.passed and quality.severity.value == "ERROR"
    assert quality.description.startswith("GA4 property time zone UTC ≠ PMKPI_TIMEZONE America/New_York")
    problems = " ".join(quality.metadata["problems"].value)
    assert "dated '(other)' in the pull of 2025-03-03..2025-03-03" in problems
    assert "subject to thresholding" in problems and "sessions are in no channel row" in problems
    assert "stg_ga4" not in {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    with warehouse.connect() as con:
        undated = con.execute("SELECT report, count(*) FROM raw_ga4_other_dates GROUP BY ALL ORDER BY 1").fetchall()
    assert dict(undated).keys() == {"events", "pages"}  # more than 2 rows a day left after thresholding


@pytest.mark.parametrize(("spelling", "ours"), [("Etc/UTC", "UTC"), ("Asia/Calcutta", "Asia/Kolkata")])
def test_a_zone_google_spells_its_own_way_is_the_pipelines_zone(sandbox, plan, run_pipeline, spelling, ours):
    """The property reports an alias of PMKPI_TIMEZONE (a held-out backfill's property said Etc/UTC for UTC and
    every day failed as a blocking ERROR): the days land and stage; a real difference stays an ERROR (above)."""
    from pmkpi_pipeline.lib.settings import RunSettings

    plan.configure({"ga4_time_zone": spelling})
    result = run_pipeline(RANGE[0], RANGE[0], selection=WEB, raise_on_error=False,
                          resources={"settings": RunSettings(timezone=ours)})
    quality = next(e for e in result.get_asset_check_evaluations() if e.check_name == "ga4_data_quality")
    assert "time zone" not in quality.description.replace("time zone matches", ""), quality.description
    assert quality.severity.value == "WARN"
    landed = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"raw_ga4", "stg_ga4"} <= landed


def _response(rows):
    """A runReport page (date, pagePath; two metrics) as the client's protobuf message."""
    from google.analytics.data_v1beta.types import RunReportResponse

    pb = RunReportResponse.pb(RunReportResponse())
    for cells in rows:
        row = pb.rows.add()
        for value in cells[:2]:
            row.dimension_values.add().value = value
        for value in cells[2:]:
            row.metric_values.add().value = value
    return pb


def _decoded(rows, start=date(2025, 3, 1), end=date(2025, 3, 31)):
    from pmkpi_pipeline.defs.ga4.resource import GA4Error, _page_frame

    def fail(detail, field=None):
        return GA4Error("runReport", detail, partitions=f"{start}..{end}", field=field)

    return _page_frame(_response(rows), ["date", "pagePath"], ["screenPageViews", "userEngagementDuration"],
                       start, end, fail)


def test_a_page_is_typed_column_by_column_and_other_rows_kept_apart():
    frame, other = _decoded([("20250302", "/a", "3", "1.5"), ("(other)", "(other)", "7", "2"),
                             ("20250301", "/b", "4", "0")])
    assert frame["date"].tolist() == [date(2025, 3, 2), date(2025, 3, 1)]
    assert frame["pagePath"].tolist() == ["/a", "/b"]
    assert frame["screenPageViews"].tolist() == [3, 4] and str(frame["screenPageViews"].dtype) == "int64[pyarrow]"
    assert frame["userEngagementDuration"].tolist() == [1.5, 0.0]
    assert str(frame["userEngagementDuration"].dtype) == "double[pyarrow]"
    assert other.to_dict("records") == [{"date": "(other)", "pagePath": "(other)", "screenPageViews": 7,
                                         "userEngagementDuration": 2.0}]


@pytest.mark.parametrize(("rows", "message"), [
    ([("20250301", "/a", "1", "1"), ("2025-03-02", "/b", "1", "1")],
     "field date: value '2025-03-02' is not a YYYYMMDD date"),
    ([("20250301", "/a", "1", "1"), ("20250302", "/b", "1", "n/a")],
     "field userEngagementDuration: value 'n/a' is not a number"),
    ([("20250301", "/a", "1", "1"), ("20250401", "/b", "1", "1")],
     "field date: a row is dated 2025-04-01, outside the requested range"),
])
def test_a_bad_cell_is_named_with_its_field(rows, message):
    from pmkpi_pipeline.defs.ga4.resource import GA4Error

    with pytest.raises(GA4Error) as raised:
        _decoded(rows)
    assert message in str(raised.value)
