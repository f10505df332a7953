"""The sandbox servers, exercised with the real google-analytics-data and mailchimp-marketing clients."""

from __future__ import annotations

import json
import socket
from datetime import date
from types import SimpleNamespace

import mailchimp_marketing
import pandas as pd
import pytest
import requests
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import (
    DateRange,
    Dimension,
    Metric,
    OrderBy,
    RunReportRequest,
)
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.protobuf.json_format import ParseError
from mailchimp_marketing.api_client import ApiClientError

from pmkpi_sandbox._http import ApiError
from pmkpi_sandbox.credentials import DEMO_MAILCHIMP_API_KEY
from pmkpi_sandbox.faults import Fault, FaultPlan
from pmkpi_sandbox.ga4_server import parse_query
from pmkpi_sandbox.servers import start_sandbox

PROPERTY = "424242"
DAYS = pd.date_range("2025-03-01", periods=4)
CHANNELS = ["Direct", "Email", "Organic Search"]


def _company() -> SimpleNamespace:
    traffic = pd.DataFrame(
        [
            {
                "date": day,
                "sessionDefaultChannelGroup": channel,
                "sessions": 10 * (d + 1) + c,
                "engagedSessions": 5 + c,
                "totalUsers": 8 + d,
                "newUsers": 3,
                "screenPageViews": 20 + d + c,
                "averageSessionDuration": 61.25 + c,
                "userEngagementDuration": 300 + d,
                "keyEvents": c,
            }
            for d, day in enumerate(DAYS)
            for c, channel in enumerate(CHANNELS)
        ]
    )
    traffic.loc[(traffic["date"] == DAYS[3]) & (traffic["sessionDefaultChannelGroup"] == "Email"),
                ["sessions", "engagedSessions", "totalUsers", "newUsers", "screenPageViews",
                 "averageSessionDuration", "userEngagementDuration", "keyEvents"]] = 0
    pages = pd.DataFrame(
        [
            {"date": day, "pagePath": path, "screenPageViews": 7 + d, "totalUsers": 5,
             "userEngagementDuration": 90 + d}
            for d, day in enumerate(DAYS)
            for path in ["/", "/pricing"]
        ]
    )
    events = pd.DataFrame(
        [{"date": day, "eventName": "sign_up", "eventCount": 2 + d, "totalUsers": 2}
         for d, day in enumerate(DAYS)]
    )
    totals = traffic.drop(columns="sessionDefaultChannelGroup").groupby("date", as_index=False).sum()
    campaigns = pd.DataFrame(
        {
            "id": ["c1", "c2", "c3", "c4"],
            "list_id": ["l1", "l1", "l2", "l1"],
            "send_time": pd.to_datetime(
                ["2025-03-01T14:00Z", "2025-03-02T09:30Z", "2025-03-03T14:00Z", pd.NaT], utc=True
            ),
            "create_time": pd.to_datetime(
                ["2025-02-27T10:00Z", "2025-02-28T10:00Z", "2025-03-01T10:00Z", "2025-03-02T10:00Z"], utc=True
            ),
            "parent_campaign_id": "",
            "type": "regular",
            "title": ["March A", "March B", "March C", "Draft"],
            "subject_line": ["Hello", "News", "Offer", "tbd"],
            "status": ["sent", "sent", "sent", "save"],
            "emails_sent": [1000, 800, 500, 0],
            "unique_opens": [400, 300, 100, 0],
            "opens_total": [600, 450, 150, 0],
            "proxy_excluded_unique_opens": [200, 150, 50, 0],
            "unique_subscriber_clicks": [50, 40, 10, 0],
            "clicks_total": [80, 60, 12, 0],
            "hard_bounces": [10, 5, 0, 0],
            "soft_bounces": [10, 5, 0, 0],
            "unsubscribed": [3, 2, 1, 0],
            "abuse_reports": [0, 1, 0, 0],
        }
    )
    activity = pd.DataFrame(
        [
            {"list_id": list_id, "day": day.date(), "emails_sent": 100 * d, "unique_opens": 40,
             "recipient_clicks": 5, "hard_bounce": 1, "soft_bounce": 0, "subs": 3 + d,
             "unsubs": 1, "other_adds": 0, "other_removes": 0}
            for list_id in ["l1", "l2"]
            for d, day in enumerate(DAYS)
        ]
    )
    return SimpleNamespace(
        ga4_traffic=traffic,
        ga4_pages=pages,
        ga4_events=events,
        ga4_totals=totals,
        ga4_property_id=PROPERTY,
        ga4_currency="USD",
        timezone="Europe/Berlin",
        mailchimp_lists=pd.DataFrame(
            {"id": ["l1", "l2"], "name": ["Newsletter", "Leads"],
             "date_created": pd.to_datetime(["2024-01-01", "2024-06-01"]),
             "member_count": [1200, 300]}
        ),
        mailchimp_campaigns=campaigns,
        mailchimp_list_activity=activity,
    )


COMPANY = _company()


@pytest.fixture(scope="module")
def sandbox():
    with start_sandbox(COMPANY) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh_plan(sandbox):
    sandbox.faults.reset()


@pytest.fixture
def ga4(sandbox):
    return BetaAnalyticsDataClient(
        transport="rest",
        client_options={"api_endpoint": sandbox.ga4_endpoint},
        credentials=AnonymousCredentials(),
    )


@pytest.fixture
def chimp(sandbox):
    client = mailchimp_marketing.Client()
    client.set_config({"api_key": sandbox.env()["PMKPI_MAILCHIMP_API_KEY"], "server": "us1"})
    client.api_client.host = sandbox.mailchimp_base_url
    return client


def _request(dimensions, metrics, start="2025-03-01", end="2025-03-04", **kwargs):
    return RunReportRequest(
        property=f"properties/{PROPERTY}",
        dimensions=[Dimension(name=name) for name in dimensions],
        metrics=[Metric(name=name) for name in metrics],
        date_ranges=[DateRange(start_date=start, end_date=end)],
        **kwargs,
    )


def _table(response) -> pd.DataFrame:
    names = [h.name for h in response.dimension_headers] + [h.name for h in response.metric_headers]
    return pd.DataFrame(
        [[v.value for v in row.dimension_values] + [v.value for v in row.metric_values]
         for row in response.rows],
        columns=names,
    )


def _expected(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    metrics = [c for c in columns if c not in ("date", "sessionDefaultChannelGroup", "pagePath",
                                                "eventName")]
    kept = frame[(frame[metrics] != 0).any(axis=1)]
    out = kept[columns].copy()
    out["date"] = out["date"].dt.strftime("%Y%m%d")
    for metric in metrics:
        out[metric] = [str(int(v)) if float(v).is_integer() else repr(float(v)) for v in out[metric]]
    return out.reset_index(drop=True)


@pytest.mark.parametrize(
    ("frame", "dimensions"),
    [
        ("ga4_traffic", ["date", "sessionDefaultChannelGroup"]),
        ("ga4_pages", ["date", "pagePath"]),
        ("ga4_events", ["date", "eventName"]),
        ("ga4_totals", ["date"]),
    ],
)
def test_ga4_pages_through_each_report_with_the_real_client(sandbox, ga4, frame, dimensions):
    data = getattr(COMPANY, frame)
    metrics = [c for c in data.columns if c not in dimensions]
    pages, offset = [], 0
    while True:
        response = ga4.run_report(_request(dimensions, metrics, limit=3, offset=offset))
        pages.append(_table(response))
        offset += 3
        if offset >= response.row_count:
            break
    got = pd.concat(pages, ignore_index=True)
    pd.testing.assert_frame_equal(got, _expected(data, dimensions + metrics))
    assert response.metadata.currency_code == "USD"
    assert response.metadata.time_zone == "Europe/Berlin"
    assert response.kind == "analyticsData#runReport"
    types = {h.name: h.type_.name for h in response.metric_headers}
    assert types.get("totalUsers") == "TYPE_INTEGER"
    assert sandbox.stats()[f"ga4.runReport[{','.join(sorted(dimensions))}]"] == len(pages)


def test_ga4_drops_empty_rows_unless_asked_and_orders_by_date(ga4):
    dims, metrics = ["date", "sessionDefaultChannelGroup"], ["sessions"]
    assert len(ga4.run_report(_request(dims, metrics)).rows) == 11
    kept = ga4.run_report(_request(dims, metrics, keep_empty_rows=True))
    assert kept.row_count == 12
    desc = ga4.run_report(_request(dims, metrics, order_bys=[
        OrderBy(dimension=OrderBy.DimensionOrderBy(dimension_name="date"), desc=True)]))
    assert [r.dimension_values[0].value for r in desc.rows][:2] == ["20250304", "20250304"]
    empty = ga4.run_report(_request(["date"], ["sessions"], start="2024-01-01", end="2024-01-02"))
    assert (len(empty.rows), empty.row_count) == (0, 0)


def test_ga4_accepts_int64_strings_over_raw_http(sandbox):
    body = {"dimensions": [{"name": "date"}], "metrics": [{"name": "sessions"}],
            "dateRanges": [{"startDate": "2025-03-01", "endDate": "2025-03-04"}],
            "limit": "2", "offset": "1"}
    answer = requests.post(f"{sandbox.ga4_endpoint}/v1beta/properties/{PROPERTY}:runReport",
                           json=body, timeout=5).json()
    assert [r["dimensionValues"][0]["value"] for r in answer["rows"]] == ["20250302", "20250303"]
    assert answer["rowCount"] == 4


def test_parse_query_dates_and_limits():
    body = {"dimensions": [{"name": "date"}], "metrics": [{"name": "sessions"}],
            "dateRanges": [{"startDate": "7daysAgo", "endDate": "yesterday"}], "limit": "999999"}
    query = parse_query(body, today=date(2025, 3, 10))
    assert (query.start, query.end, query.limit, query.offset) == (
        date(2025, 3, 3), date(2025, 3, 9), 250_000, 0)
    assert parse_query({**body, "limit": 0}, date(2025, 3, 10)).limit == 10_000
    with pytest.raises(ApiError, match="Invalid startDate"):
        parse_query({**body, "dateRanges": [{"startDate": "03/01/2025", "endDate": "today"}]},
                    date(2025, 3, 10))


def test_ga4_errors_are_googles(ga4):
    with pytest.raises(gexc.BadRequest, match="Field country is not a valid dimension") as bad:
        ga4.run_report(_request(["date", "country"], ["sessions"]))
    assert bad.value.response.json()["error"]["status"] == "INVALID_ARGUMENT"
    with pytest.raises(gexc.BadRequest, match="Please remove sessions to make the request compatible"):
        ga4.run_report(_request(["date", "pagePath"], ["sessions"]))
    wrong = _request(["date"], ["sessions"])
    wrong.property = "properties/1"
    with pytest.raises(gexc.Forbidden) as denied:
        ga4.run_report(wrong)
    assert denied.value.response.json()["error"]["status"] == "PERMISSION_DENIED"


def test_ga4_429_burst_then_success(sandbox, ga4):
    sandbox.faults.add(Fault("ga4", "status", status=429, times=2, retry_after=3))
    for _ in range(2):
        with pytest.raises(gexc.TooManyRequests, match="Exhausted property tokens") as limited:
            ga4.run_report(_request(["date"], ["sessions"]))
        assert limited.value.response.headers["Retry-After"] == "3"
        assert limited.value.response.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert ga4.run_report(_request(["date"], ["sessions"])).row_count == 4
    assert sandbox.stats()["ga4.runReport"] == 3


def test_ga4_token_quota_runs_out(sandbox, ga4):
    sandbox.faults.configure({"ga4_quota": {"tokensPerHour": 2}})
    first = ga4.run_report(_request(["date"], ["sessions"], return_property_quota=True))
    assert first.property_quota.tokens_per_hour.consumed == 1
    assert first.property_quota.tokens_per_hour.remaining == 1
    ga4.run_report(_request(["date"], ["sessions"]))
    with pytest.raises(gexc.TooManyRequests, match="property tokens per hour"):
        ga4.run_report(_request(["date"], ["sessions"]))


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        ("wrong_type", lambda r: r.rows[0].metric_values[0].value == "abc"),
        ("unknown_header", lambda r: r.metric_headers[0].name == "unknownMetric"),
        ("out_of_range_row", lambda r: r.rows[-1].dimension_values[0].value == "20250228"),
        ("duplicate_rows", lambda r: len(r.rows) == 5 and r.rows[-1] == r.rows[0]),
        ("inflated_row_count", lambda r: r.row_count == 5 and len(r.rows) == 4),
        ("missing_field", lambda r: len(r.rows) == 0 and r.row_count == 4),
    ],
)
def test_ga4_malformed_bodies(sandbox, ga4, kind, check):
    sandbox.faults.add(Fault("ga4", kind, path=":runReport"))
    assert check(ga4.run_report(_request(["date"], ["sessions"])))
    assert len(ga4.run_report(_request(["date"], ["sessions"])).rows) == 4  # used up


def test_ga4_truncated_body_fails_to_parse(sandbox, ga4):
    sandbox.faults.add(Fault("ga4", "truncate"))
    with pytest.raises(ParseError):
        ga4.run_report(_request(["date"], ["sessions"]))


def test_ga4_metadata_flags_and_late_data_over_http(sandbox, ga4):
    control = f"{sandbox.ga4_endpoint}/_sandbox/faults"
    plan = {"ga4_metadata": {"subjectToThresholding": True},
            "settling": {"as_of": "2025-03-04", "days": 2, "factor": 0.5}}
    assert requests.post(control, json=plan, timeout=5).json() == {"pending": 0}
    response = ga4.run_report(_request(["date"], ["sessions", "averageSessionDuration"]))
    assert response.metadata.subject_to_thresholding
    assert not response.metadata.data_loss_from_other_row
    got = _table(response)
    full = COMPANY.ga4_totals["sessions"].tolist()
    assert got["sessions"].tolist() == [str(full[0]), str(full[1]), str(round(full[2] / 2)),
                                        str(round(full[3] / 2))]
    assert got["averageSessionDuration"].tolist() == _expected(
        COMPANY.ga4_totals, ["date", "averageSessionDuration"])["averageSessionDuration"].tolist()


def test_mailchimp_ping_lists_and_activity_paging(sandbox, chimp):
    assert chimp.ping.get() == {"health_status": "Everything's Chimpy!"}
    lists = chimp.lists.get_all_lists()
    assert [(item["id"], item["stats"]["member_count"]) for item in lists["lists"]] == [
        ("l1", 1200), ("l2", 300)]
    assert lists["lists"][0]["date_created"] == "2024-01-01T00:00:00+00:00"
    days = []
    while True:
        page = chimp.lists.get_list_recent_activity("l2", count=3, offset=len(days))
        days += page["activity"]
        if len(days) >= page["total_items"]:
            break
    assert page["list_id"] == "l2"
    assert [d["day"] for d in days] == ["2025-03-04", "2025-03-03", "2025-03-02", "2025-03-01"]
    assert days[0]["emails_sent"] == 300 and days[0]["subs"] == 6
    assert sandbox.stats()["mailchimp./lists/{list_id}/activity"] == 2


def test_mailchimp_campaigns_and_reports_filter_and_page(chimp):
    window = {"since_send_time": "2025-03-01T14:00:00+00:00",
              "before_send_time": "2025-03-03T14:00:00+00:00"}
    campaigns = chimp.campaigns.list(**window)
    assert [c["id"] for c in campaigns["campaigns"]] == ["c1", "c2"]
    first = campaigns["campaigns"][1]
    assert first["send_time"] == "2025-03-02T09:30:00+00:00"
    assert first["recipients"]["list_id"] == "l1"
    assert {k: first["settings"][k] for k in ("title", "subject_line")} == {"title": "March B", "subject_line": "News"}
    assert [c["id"] for c in chimp.campaigns.list(status="save")["campaigns"]] == ["c4"]
    reports = chimp.reports.get_all_campaign_reports(count=1, offset=1)
    assert reports["total_items"] == 3 and [r["id"] for r in reports["reports"]] == ["c2"]
    report = reports["reports"][0]
    assert report["campaign_title"] == "March B" and report["abuse_reports"] == 1
    assert report["bounces"] == {"hard_bounces": 5, "soft_bounces": 5, "syntax_errors": 0}
    assert report["opens"]["proxy_excluded_unique_opens"] == 150
    assert report["opens"]["open_rate"] == pytest.approx(300 / 790)
    assert report["clicks"]["unique_subscriber_clicks"] == 40
    since = chimp.reports.get_all_campaign_reports(since_send_time="2025-03-02T00:00:00+00:00")
    assert [r["id"] for r in since["reports"]] == ["c2", "c3"]
    assert chimp.reports.get_campaign_report("c3")["list_id"] == "l2"
    assert chimp.campaigns.get("c4")["send_time"] == ""


def test_mailchimp_errors_are_problem_json(sandbox, chimp):
    wrong = mailchimp_marketing.Client()
    wrong.set_config({"api_key": "ffffffffffffffffffffffffffffffff-us1"})
    wrong.api_client.host = sandbox.mailchimp_base_url
    with pytest.raises(ApiClientError) as refused:
        wrong.ping.get()
    assert refused.value.status_code == 401
    problem = json.loads(refused.value.text)  # problem+json reaches the caller as a raw string
    assert problem["title"] == "API Key Invalid" and problem["status"] == 401
    assert set(problem) == {"type", "title", "status", "detail", "instance"}
    with pytest.raises(ApiClientError) as missing:
        chimp.reports.get_campaign_report("c4")  # never sent: no report
    assert missing.value.status_code == 404
    answer = requests.get(f"{sandbox.mailchimp_base_url}/lists/nope/activity",
                          auth=("any", DEMO_MAILCHIMP_API_KEY), timeout=5)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("application/problem+json")


def test_mailchimp_429_burst_then_success_and_malformed(sandbox, chimp):
    sandbox.faults.add(
        Fault("mailchimp", "status", status=429, times=2, path="/reports"),
        Fault("mailchimp", "wrong_type", path="/reports", field="emails_sent"),
        Fault("mailchimp", "truncate", path="/lists"),
    )
    for _ in range(2):
        with pytest.raises(ApiClientError) as limited:
            chimp.reports.get_all_campaign_reports()
        assert limited.value.status_code == 429
    assert chimp.reports.get_all_campaign_reports()["reports"][0]["emails_sent"] == "abc"
    assert chimp.reports.get_all_campaign_reports()["reports"][0]["emails_sent"] == 1000
    truncated = chimp.lists.get_all_lists()  # the client returns the raw response, no error
    assert isinstance(truncated, requests.Response)
    with pytest.raises(ValueError):
        truncated.json()
    assert sandbox.stats()["mailchimp./reports"] == 4


def test_mailchimp_late_data_scales_recent_reports(sandbox, chimp):
    sandbox.faults.configure({"settling": {"as_of": "2025-03-03", "days": 1, "factor": 0.5}})
    reports = {r["id"]: r for r in chimp.reports.get_all_campaign_reports()["reports"]}
    assert reports["c2"]["opens"]["unique_opens"] == 300
    assert reports["c3"]["opens"]["unique_opens"] == 50
    assert reports["c3"]["emails_sent"] == 500


def test_stats_and_control_endpoints_over_http(sandbox, ga4, chimp):
    chimp.ping.get()
    ga4.run_report(_request(["date", "pagePath"], ["screenPageViews"]))
    mailchimp_root = sandbox.mailchimp_base_url.removesuffix("/3.0")
    stats = requests.get(f"{mailchimp_root}/_sandbox/stats", timeout=5).json()
    assert stats == {"ga4.runReport": 1, "ga4.runReport[date,pagePath]": 1, "mailchimp./ping": 1}
    posted = requests.post(f"{mailchimp_root}/_sandbox/faults", timeout=5,
                           json={"faults": [{"kind": "status", "status": 503, "times": 2}]})
    assert posted.json() == {"pending": 1}
    assert sandbox.faults.pending()[0].server == "mailchimp"
    bad = requests.post(f"{mailchimp_root}/_sandbox/faults", json={"faults": [{"kind": "nope"}]},
                        timeout=5)
    assert bad.status_code == 400
    requests.post(f"{sandbox.ga4_endpoint}/_sandbox/reset", timeout=5)
    assert sandbox.stats() == {} and sandbox.faults.pending() == []


def test_fault_plan_is_fifo_and_validates():
    plan = FaultPlan()
    plan.add(Fault("ga4", "status", status=500, times=2, path="pages"),
             Fault("ga4", "slow", seconds=0.1))
    kinds = frozenset({"status", "slow"})
    assert plan.take("mailchimp", "/pages", kinds) is None
    assert plan.take("ga4", "/x", kinds).kind == "slow"
    assert [plan.take("ga4", "/pages", kinds).status for _ in range(2)] == [500, 500]
    assert plan.take("ga4", "/pages", kinds) is None
    with pytest.raises(ValueError, match="ga4 server only"):
        Fault("mailchimp", "unknown_header")
    with pytest.raises(ValueError, match="status"):
        Fault("ga4", "status", status=404)


def test_env_and_stop(sandbox):
    env = sandbox.env()
    assert env["PMKPI_GA4_PROPERTY_ID"] == PROPERTY
    assert env["PMKPI_TIMEZONE"] == "Europe/Berlin"
    assert env["PMKPI_MAILCHIMP_BASE_URL"].endswith("/3.0")
    with start_sandbox(COMPANY, api_key="k-us9") as other:
        port = int(other.ga4_endpoint.rsplit(":", 1)[1])
        assert other.env()["PMKPI_MAILCHIMP_API_KEY"] == "k-us9"
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
