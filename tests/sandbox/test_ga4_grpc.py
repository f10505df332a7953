"""The GA4 sandbox over gRPC, exercised with the real client's gRPC transport against its REST answers."""

from __future__ import annotations

import socket
from datetime import timedelta

import grpc
import pandas as pd
import pytest
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.services.beta_analytics_data.transports import (
    BetaAnalyticsDataGrpcTransport,
)
from google.analytics.data_v1beta.types import OrderBy, RunReportResponse
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.rpc import error_details_pb2

# The REST test's company, reports and its sandbox fixtures (one sandbox per module, plan reset per test)
from test_servers import COMPANY, _expected, _request, _table, fresh_plan, sandbox  # noqa: F401

from pmkpi_sandbox.faults import Fault
from pmkpi_sandbox.ga4_grpc import RESPONSE, Ga4GrpcServer, connect, encode_rows
from pmkpi_sandbox.servers import start_sandbox

REPORTS = [
    ("ga4_traffic", ["date", "sessionDefaultChannelGroup"]),
    ("ga4_pages", ["date", "pagePath"]),
    ("ga4_events", ["date", "eventName"]),
    ("ga4_totals", ["date"]),
]


@pytest.fixture(scope="module")
def ga4(sandbox):
    """The real client on its gRPC transport, over a channel without the 4 MiB receive limit."""
    target = sandbox.ga4_grpc_endpoint.removeprefix("grpc://")
    channel = grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", -1)])
    client = BetaAnalyticsDataClient(transport=BetaAnalyticsDataGrpcTransport(channel=channel))
    yield client
    client.transport.close()


@pytest.fixture(scope="module")
def rest(sandbox):
    return BetaAnalyticsDataClient(
        transport="rest",
        client_options={"api_endpoint": sandbox.ga4_endpoint},
        credentials=AnonymousCredentials(),
    )


def _pb(response):
    return RunReportResponse.pb(response)


@pytest.mark.parametrize(("frame", "dimensions"), REPORTS)
def test_grpc_pages_each_report_exactly_as_rest(sandbox, ga4, rest, frame, dimensions):
    data = getattr(COMPANY, frame)
    metrics = [c for c in data.columns if c not in dimensions]
    pages, offset = [], 0
    while True:
        request = _request(dimensions, metrics, limit=3, offset=offset)
        response = ga4.run_report(request)
        assert _pb(response) == _pb(rest.run_report(request))
        pages.append(_table(response))
        offset += 3
        if offset >= response.row_count:
            break
    pd.testing.assert_frame_equal(pd.concat(pages, ignore_index=True),
                                  _expected(data, dimensions + metrics))
    assert response.metadata.currency_code == "USD" and response.metadata.time_zone == "Europe/Berlin"
    assert response.kind == "analyticsData#runReport"
    key = f"ga4.runReport[{','.join(sorted(dimensions))}]"
    assert sandbox.stats() == {"ga4.runReport": 2 * len(pages), key: 2 * len(pages)}  # REST + gRPC


@pytest.mark.parametrize(
    "options",
    [
        {"keep_empty_rows": True},
        {"order_bys": [OrderBy(metric=OrderBy.MetricOrderBy(metric_name="sessions"), desc=True)]},
        {"start": "2024-01-01", "end": "2024-01-02"},  # no rows: rows and rowCount left out
        {"return_property_quota": True},
        {"limit": 2, "offset": 9},
    ],
)
def test_grpc_options_answer_as_rest(sandbox, ga4, rest, options):
    request = _request(["date", "sessionDefaultChannelGroup"], ["sessions", "keyEvents"], **options)
    over_rest = rest.run_report(request)
    sandbox.faults.reset()  # the same quota use for both
    assert _pb(ga4.run_report(request)) == _pb(over_rest)


def test_grpc_metadata_flags_and_late_data(sandbox, ga4, rest):
    sandbox.faults.configure({"ga4_metadata": {"dataLossFromOtherRow": True},
                              "settling": {"as_of": "2025-03-04", "days": 2, "factor": 0.5}})
    request = _request(["date"], ["sessions", "averageSessionDuration"])
    response = ga4.run_report(request)
    assert _pb(response) == _pb(rest.run_report(request))
    assert response.metadata.data_loss_from_other_row
    assert not response.metadata.subject_to_thresholding
    full = COMPANY.ga4_totals["sessions"].tolist()
    assert _table(response)["sessions"].tolist()[2:] == [str(round(full[2] / 2)), str(round(full[3] / 2))]


def test_grpc_errors_carry_googles_codes_and_rests_messages(ga4, rest):
    for request in (_request(["date", "country"], ["sessions"]), _request(["date", "pagePath"], ["sessions"]),
                    _request(["date"], ["sessions"], start="2025-03-05", end="2025-03-01")):
        with pytest.raises(gexc.InvalidArgument) as bad:
            ga4.run_report(request)
        with pytest.raises(gexc.BadRequest) as bad_rest:
            rest.run_report(request)
        assert bad.value.message == bad_rest.value.response.json()["error"]["message"]
    wrong = _request(["date"], ["sessions"])
    wrong.property = "properties/1"
    with pytest.raises(gexc.PermissionDenied,
                       match=r"sufficient permissions for this property\. To learn more about Property ID") as denied:
        ga4.run_report(wrong)
    assert denied.value.grpc_status_code == grpc.StatusCode.PERMISSION_DENIED
    wrong.property = "424242"
    with pytest.raises(gexc.InvalidArgument, match="expected 'properties/"):
        ga4.run_report(wrong)


def test_grpc_429_burst_with_retry_info_then_success(sandbox, ga4):
    sandbox.faults.add(Fault("ga4", "status", status=429, times=2, retry_after=3, path=":runReport"))
    for _ in range(2):
        with pytest.raises(gexc.ResourceExhausted, match="Exhausted property tokens") as limited:
            ga4.run_report(_request(["date"], ["sessions"]))
        assert isinstance(limited.value, gexc.TooManyRequests)  # what the REST client raises
        (retry,) = limited.value.details
        assert isinstance(retry, error_details_pb2.RetryInfo)
        assert retry.retry_delay.ToTimedelta() == timedelta(seconds=3)
    assert ga4.run_report(_request(["date"], ["sessions"])).row_count == 4
    assert sandbox.stats()["ga4.runReport"] == 3


@pytest.mark.parametrize(("status", "error"), [(500, gexc.InternalServerError),
                                               (502, gexc.ServiceUnavailable),
                                               (503, gexc.ServiceUnavailable)])
def test_grpc_server_error_faults(sandbox, ga4, status, error):
    sandbox.faults.add(Fault("ga4", "status", status=status, message="try later"))
    with pytest.raises(error, match="try later"):
        ga4.run_report(_request(["date"], ["sessions"]))
    assert ga4.run_report(_request(["date"], ["sessions"])).row_count == 4


def test_grpc_token_quota_runs_out(sandbox, ga4):
    sandbox.faults.configure({"ga4_quota": {"tokensPerHour": 2}})
    first = ga4.run_report(_request(["date"], ["sessions"], return_property_quota=True))
    assert (first.property_quota.tokens_per_hour.consumed, first.property_quota.tokens_per_hour.remaining) == (1, 1)
    ga4.run_report(_request(["date"], ["sessions"]))
    with pytest.raises(gexc.ResourceExhausted,
                       match=r"^429 Exhausted property tokens per hour\. These quota tokens will return"):
        ga4.run_report(_request(["date"], ["sessions"]))


@pytest.mark.parametrize(
    ("kind", "field", "check"),
    [
        ("wrong_type", None, lambda r: r.rows[0].metric_values[0].value == "abc"),
        ("unknown_header", None, lambda r: r.metric_headers[0].name == "unknownMetric"),
        ("out_of_range_row", None, lambda r: r.rows[-1].dimension_values[0].value == "20250228"),
        ("duplicate_rows", None, lambda r: len(r.rows) == 5 and r.rows[-1] == r.rows[0]),
        ("inflated_row_count", None, lambda r: r.row_count == 5 and len(r.rows) == 4),
        ("missing_field", None, lambda r: len(r.rows) == 0 and r.row_count == 4),
        ("missing_field", "rowCount", lambda r: len(r.rows) == 4 and r.row_count == 0),
    ],
)
def test_grpc_malformed_bodies(sandbox, ga4, kind, field, check):
    sandbox.faults.add(Fault("ga4", kind, path=":runReport", field=field))
    assert check(ga4.run_report(_request(["date"], ["sessions"])))
    assert len(ga4.run_report(_request(["date"], ["sessions"])).rows) == 4  # used up


def test_grpc_truncated_message_fails_to_decode(sandbox, ga4):
    sandbox.faults.add(Fault("ga4", "truncate"))
    with pytest.raises(gexc.InternalServerError, match="deserializing"):
        ga4.run_report(_request(["date", "pagePath"], ["screenPageViews"]))


def test_encode_rows_is_the_protobuf_encoding():
    long = "/" + "é" * 150 + "x" * 20000  # lengths past one- and two-byte varints
    dimensions = [["20250301", "", long, "ü"], ["a", "b" * 127, "c" * 128, "d"]]
    metrics = [["1", "2.5", "", "-3"]]
    built = RESPONSE()
    for i in range(4):
        row = built.rows.add()
        for column in dimensions:
            row.dimension_values.add(value=column[i])
        for column in metrics:
            row.metric_values.add(value=column[i])
    assert encode_rows(dimensions, metrics) == built.SerializeToString()
    assert RESPONSE.FromString(encode_rows(dimensions, [])).rows[2].dimension_values[0].value == long
    assert encode_rows([[]], [[]]) == b""


def test_grpc_endpoint_connect_and_stop(sandbox):
    assert sandbox.ga4_grpc_endpoint.startswith("grpc://127.0.0.1:")
    assert "grpc" not in " ".join(sandbox.env().values())  # the pipeline is still pointed at REST
    with pytest.raises(OSError):  # a taken port is refused, not shared
        Ga4GrpcServer(sandbox.ga4_grpc.service, sandbox.faults, port=sandbox.ga4_grpc.port)
    with start_sandbox(COMPANY) as other:
        client = connect(other.ga4_grpc_endpoint)
        assert client.run_report(_request(["date"], ["sessions"])).row_count == 4
        client.transport.close()
        port = other.ga4_grpc.port
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
