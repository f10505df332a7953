"""The GA4 sandbox is the real Data API: every REST answer fits Google's discovery document, the official client
reads every method over REST and gRPC, any modeled combination adds up, filters apply, and the switches and
errors speak as Google does."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import jsonschema
import pytest
import requests
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import (
    BatchRunReportsRequest,
    CheckCompatibilityRequest,
    Dimension,
    Filter,
    FilterExpression,
    FilterExpressionList,
    GetMetadataRequest,
    RunPivotReportRequest,
    RunReportRequest,
)
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials

# The REST test's company, reports and its sandbox fixtures (one sandbox per module, plan reset per test)
from test_servers import COMPANY, PROPERTY, _request, _table, fresh_plan, sandbox  # noqa: F401

from pmkpi_sandbox.ga4_grpc import connect

DISCOVERY = json.loads((Path(__file__).parent / "data" / "analyticsdata.v1beta.json").read_text())
QUOTAS = ["tokensPerDay", "tokensPerHour", "concurrentRequests", "serverErrorsPerProjectPerHour",
          "potentiallyThresholdedRequestsPerHour", "tokensPerProjectPerHour"]


def _json_schema(schema: dict) -> dict:
    """A discovery-document schema as JSON Schema: no property besides the declared ones, int64 as strings."""
    if "$ref" in schema:
        return {"$ref": f"#/definitions/{schema['$ref']}"}
    kind = schema.get("type")
    if kind == "object":
        out: dict = {"type": "object"}
        if "properties" in schema:
            out["properties"] = {name: _json_schema(p) for name, p in schema["properties"].items()}
            out["additionalProperties"] = False
        elif "additionalProperties" in schema:
            out["additionalProperties"] = _json_schema(schema["additionalProperties"])
        return out
    if kind == "array":
        return {"type": "array", "items": _json_schema(schema["items"])}
    if kind == "string":
        return {"type": "string", **({"enum": schema["enum"]} if "enum" in schema else {})}
    return {"integer": {"type": "integer"}, "number": {"type": "number"}, "boolean": {"type": "boolean"}}.get(kind, {})


DEFINITIONS = {name: _json_schema(schema) for name, schema in DISCOVERY["schemas"].items()}


def valid(body: dict, schema: str) -> dict:
    """``body`` after validating it strictly against the discovery document's schema ``schema``."""
    jsonschema.validate(body, {"$ref": f"#/definitions/{schema}", "definitions": DEFINITIONS})
    return body


def _post(sandbox, method: str, body: dict, property_id: str = PROPERTY) -> requests.Response:
    return requests.post(f"{sandbox.ga4_endpoint}/v1beta/properties/{property_id}:{method}", json=body, timeout=5)


REPORT = {"dimensions": [{"name": "yearMonth"}, {"name": "sessionDefaultChannelGroup"}],
          "metrics": [{"name": "sessions"}, {"name": "totalUsers"}, {"name": "bounceRate"}],
          "dateRanges": [{"startDate": "2025-03-01", "endDate": "2025-03-04"}],
          "dimensionFilter": {"notExpression": {"filter": {"fieldName": "sessionDefaultChannelGroup",
                                                           "stringFilter": {"matchType": "EXACT", "value": "email"}}}},
          "metricAggregations": ["TOTAL", "MAXIMUM"], "returnPropertyQuota": True, "keepEmptyRows": True}


def test_every_rest_answer_fits_the_discovery_document(sandbox):
    report = valid(_post(sandbox, "runReport", REPORT).json(), "RunReportResponse")
    assert [r["dimensionValues"][1]["value"] for r in report["rows"]] == ["Direct", "Organic Search"]
    assert set(report["propertyQuota"]) == set(QUOTAS) and report["totals"][0]["dimensionValues"][0]["value"] == \
        "RESERVED_TOTAL"
    batch = valid(_post(sandbox, "batchRunReports", {"requests": [REPORT, REPORT]}).json(), "BatchRunReportsResponse")
    assert len(batch["reports"]) == 2
    metadata = valid(requests.get(f"{sandbox.ga4_endpoint}/v1beta/properties/0/metadata", timeout=5).json(),
                     "Metadata")
    assert {"date", "yearMonth", "pagePath", "eventName"} <= {d["apiName"] for d in metadata["dimensions"]}
    compatibility = valid(_post(sandbox, "checkCompatibility", {"dimensions": [{"name": "pagePath"}]}).json(),
                          "CheckCompatibilityResponse")
    verdicts = {m["metricMetadata"]["apiName"]: m["compatibility"] for m in compatibility["metricCompatibilities"]}
    assert verdicts["screenPageViews"] == "COMPATIBLE" and verdicts["sessions"] == "INCOMPATIBLE"
    sandbox.faults.configure({"ga4_other_rows": {"max_rows": 1, "fold_date": True},
                              "ga4_withheld": {"min_users": 9}, "ga4_metadata": {"samplingMetadatas": True}})
    flagged = valid(_post(sandbox, "runReport", REPORT).json(), "RunReportResponse")
    assert flagged["metadata"]["subjectToThresholding"] and flagged["metadata"]["dataLossFromOtherRow"]


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_the_official_client_reads_every_method(sandbox, transport):
    client = (connect(sandbox.ga4_grpc_endpoint) if transport == "grpc" else BetaAnalyticsDataClient(
        transport="rest", client_options={"api_endpoint": sandbox.ga4_endpoint}, credentials=AnonymousCredentials()))
    request = RunReportRequest.from_json(json.dumps({**REPORT, "property": f"properties/{PROPERTY}"}))
    report = client.run_report(request)
    assert report.row_count == 2 and len(report.totals) == 1 and report.property_quota.tokens_per_day.remaining
    batch = client.batch_run_reports(BatchRunReportsRequest(property=f"properties/{PROPERTY}",
                                                            requests=[request, request]))
    assert [r.row_count for r in batch.reports] == [2, 2]
    metadata = client.get_metadata(GetMetadataRequest(name=f"properties/{PROPERTY}/metadata"))
    assert "sessions" in [m.api_name for m in metadata.metrics]
    compatible = client.check_compatibility(CheckCompatibilityRequest(
        property=f"properties/{PROPERTY}", dimensions=[Dimension(name="eventName")], compatibility_filter=1))
    assert {m.metric_metadata.api_name for m in compatible.metric_compatibilities} == {
        "eventCount", "totalUsers", "eventCountPerUser"}
    with pytest.raises((gexc.MethodNotImplemented, gexc.NotFound)):
        client.run_pivot_report(RunPivotReportRequest(property=f"properties/{PROPERTY}"))
    client.transport.close()


def test_rolled_up_rows_add_up_by_the_documented_rule(sandbox):
    rows = _table(_rest(sandbox).run_report(_request(["sessionDefaultChannelGroup"], ["sessions", "totalUsers",
                                                                                          "newUsers"])))
    direct = rows[rows["sessionDefaultChannelGroup"] == "Direct"].iloc[0]
    traffic = COMPANY.ga4_traffic[COMPANY.ga4_traffic["sessionDefaultChannelGroup"] == "Direct"]
    assert int(direct["sessions"]) == traffic["sessions"].sum()  # counts add up
    returning = traffic["totalUsers"] - traffic["newUsers"]
    assert int(direct["totalUsers"]) == traffic["newUsers"].sum() + returning.max()  # users do not
    by_date = _table(_rest(sandbox).run_report(_request(["date"], ["totalUsers"])))
    assert by_date["totalUsers"].astype(int).tolist() == COMPANY.ga4_totals["totalUsers"].tolist()  # the property's
    week = _table(_rest(sandbox).run_report(_request(["dayOfWeekName", "isoYearIsoWeek"], ["eventCount"])))
    assert ["Saturday", "202509"] in week.iloc[:, :2].values.tolist()  # 2025-03-01
    assert week["eventCount"].astype(int).sum() == COMPANY.ga4_events["eventCount"].sum()


def _rest(sandbox) -> BetaAnalyticsDataClient:
    return BetaAnalyticsDataClient(transport="rest", client_options={"api_endpoint": sandbox.ga4_endpoint},
                                   credentials=AnonymousCredentials())


def _filter(name: str, **kind) -> FilterExpression:
    return FilterExpression(filter=Filter(field_name=name, **kind))


def test_dimension_and_metric_filters(sandbox):
    client = _rest(sandbox)
    prefix = _filter("pagePath", string_filter=Filter.StringFilter(match_type=2, value="/pri"))
    pages = _table(client.run_report(_request(["date", "pagePath"], ["screenPageViews"], dimension_filter=prefix)))
    assert set(pages["pagePath"]) == {"/pricing"}
    either = FilterExpression(or_group=FilterExpressionList(expressions=[
        _filter("sessionDefaultChannelGroup", in_list_filter=Filter.InListFilter(values=["direct", "EMAIL"])),
        FilterExpression(not_expression=_filter("date", numeric_filter=Filter.NumericFilter(
            operation=4, value={"int64_value": 20250301})))]))
    sessions = _table(client.run_report(_request(["date"], ["sessions"], dimension_filter=either)))
    traffic = COMPANY.ga4_traffic
    chosen = traffic[traffic["sessionDefaultChannelGroup"].isin(["Direct", "Email"])
                     | (traffic["date"] <= "2025-03-01")]
    assert sessions["sessions"].astype(int).tolist() == chosen.groupby("date")["sessions"].sum().tolist()
    many = _filter("sessions", between_filter=Filter.BetweenFilter(from_value={"int64_value": 20},
                                                                  to_value={"double_value": 31.5}))
    kept = _table(client.run_report(_request(["date", "sessionDefaultChannelGroup"], ["sessions"], metric_filter=many)))
    assert kept["sessions"].astype(int).between(20, 31).all() and len(kept) == 5
    with pytest.raises(gexc.BadRequest, match="Field bogus is not a valid dimension"):
        client.run_report(_request(["date"], ["sessions"], dimension_filter=_filter(
            "bogus", empty_filter=Filter.EmptyFilter())))


def test_unmodeled_requests_answer_as_google(sandbox):
    client = _rest(sandbox)
    with pytest.raises(gexc.BadRequest, match=r"^400 .*Field sessionsX is not a valid metric\. For a list"):
        client.run_report(_request(["date"], ["sessionsX"]))
    with pytest.raises(gexc.BadRequest, match="The request's dimensions & metrics are incompatible"):
        client.run_report(_request(["pagePath", "sessionDefaultChannelGroup"], ["screenPageViews"]))
    wrong = _post(sandbox, "runReport", REPORT, property_id="1")
    assert wrong.status_code == 403 and wrong.json() == {"error": {
        "code": 403, "status": "PERMISSION_DENIED", "message": "User does not have sufficient permissions for this "
        "property. To learn more about Property ID, see "
        "https://developers.google.com/analytics/devguides/reporting/data/v1/property-id."}}
    assert _post(sandbox, "runRealtimeReport", {}).json()["error"]["status"] == "UNIMPLEMENTED"
    assert _post(sandbox, "runSomething", {}).json()["error"]["status"] == "NOT_FOUND"


def test_data_switches_empty_days_other_rows_and_withheld_rows(sandbox):
    client = _rest(sandbox)
    sandbox.faults.configure({"ga4_empty_days": ["2025-03-02"]})
    assert _table(client.run_report(_request(["date"], ["sessions"])))["date"].tolist() == [
        "20250301", "20250303", "20250304"]
    sandbox.faults.configure({"ga4_empty_days": None, "ga4_other_rows": {"max_rows": 2}})
    folded = client.run_report(_request(["date", "sessionDefaultChannelGroup"], ["sessions"]))
    table = _table(folded)
    assert folded.metadata.data_loss_from_other_row and (table.groupby("date").size() == 2).all()
    assert table[table["sessionDefaultChannelGroup"] == "(other)"]["date"].tolist() == [
        "20250301", "20250302", "20250303"]  # 2025-03-04 has two channels only: nothing to fold
    sandbox.faults.configure({"ga4_other_rows": {"max_rows": 1, "fold_date": True}})
    (row,) = _table(client.run_report(_request(["date", "pagePath"], ["screenPageViews"]))).values.tolist()
    assert row[:2] == ["(other)", "(other)"] and int(row[2]) == COMPANY.ga4_pages["screenPageViews"].sum()
    sandbox.faults.configure({"ga4_other_rows": None, "ga4_withheld": {"min_users": 10}})
    withheld = client.run_report(_request(["date", "sessionDefaultChannelGroup"], ["sessions"],
                                          return_property_quota=True))
    assert withheld.metadata.subject_to_thresholding and len(withheld.rows) == 5  # 10 and 11 users: 3rd and 4th
    assert withheld.property_quota.potentially_thresholded_requests_per_hour.consumed == 1


@pytest.mark.parametrize("quota", QUOTAS)
def test_each_exhausted_quota_is_worded_as_google_words_it(sandbox, quota):
    sandbox.faults.configure({"ga4_quota": {quota: 0}})
    answer = _post(sandbox, "runReport", REPORT)
    assert answer.status_code == 429 and answer.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    words = {"tokensPerDay": "Exhausted property tokens per day.", "tokensPerHour": "Exhausted property tokens per "
             "hour.", "tokensPerProjectPerHour": "Exhausted property tokens for a project per hour.",
             "concurrentRequests": "Exhausted concurrent requests quota.",
             "serverErrorsPerProjectPerHour": "Exhausted server errors",
             "potentiallyThresholdedRequestsPerHour": "Exhausted potentially thresholded requests quota."}
    assert answer.json()["error"]["message"].startswith(words[quota])


def test_service_disabled_carries_googles_error_info_over_rest_and_grpc(sandbox):
    sandbox.faults.configure({"ga4_api_disabled": "987654321"})
    with pytest.raises(gexc.Forbidden, match="Data API has not been used in project 987654321 before") as rest:
        _rest(sandbox).run_report(_request(["date"], ["sessions"]))
    grpc_client = connect(sandbox.ga4_grpc_endpoint)
    with pytest.raises(gexc.PermissionDenied) as over_grpc:
        grpc_client.get_metadata(GetMetadataRequest(name=f"properties/{PROPERTY}/metadata"))
    grpc_client.transport.close()
    for error in (rest.value, over_grpc.value):
        assert error.reason == "SERVICE_DISABLED" and error.domain == "googleapis.com"
        assert error.metadata["consumer"] == "projects/987654321"
    assert over_grpc.value.grpc_status_code == grpc.StatusCode.PERMISSION_DENIED
