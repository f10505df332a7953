"""GA4 Data API v1beta ``runReport`` over REST/JSON, answered from a company's GA4 frames.

``POST /v1beta/properties/{id}:runReport`` as Google answers it: the dimension set picks the
frame ({date, sessionDefaultChannelGroup} → ``ga4_traffic``, {date, pagePath} → ``ga4_pages``,
{date, eventName} → ``ga4_events``, {date} → ``ga4_totals``); values are strings, dates
``YYYYMMDD``; ``rows``/``rowCount`` are omitted when zero, as protobuf JSON does; limit
(default 10,000, capped at 250,000) and offset page the rows; all-zero rows are dropped
unless ``keepEmptyRows``. Errors carry Google's body ``{"error": {code, message, status}}``.
Quota tokens are charged per request and a used-up token quota answers 429
``RESOURCE_EXHAUSTED``; the fault plan lowers limits, sets metadata flags and scales late data.

:meth:`Ga4Service.report` computes an answer as a wire-neutral :class:`Report` (headers, the
page of rows, ``rowCount``, metadata); this module renders it as JSON and
:mod:`pmkpi_sandbox.ga4_grpc` as the protobuf message of the gRPC API.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from pmkpi_sandbox._http import ApiError, Handler, Reply, Request, Service
from pmkpi_sandbox.faults import Fault, FaultPlan

DATASETS = {
    frozenset({"date", "sessionDefaultChannelGroup"}): "ga4_traffic",
    frozenset({"date", "pagePath"}): "ga4_pages",
    frozenset({"date", "eventName"}): "ga4_events",
    frozenset({"date"}): "ga4_totals",
}
METRIC_TYPES = {
    "sessions": "TYPE_INTEGER",
    "engagedSessions": "TYPE_INTEGER",
    "totalUsers": "TYPE_INTEGER",
    "newUsers": "TYPE_INTEGER",
    "screenPageViews": "TYPE_INTEGER",
    "eventCount": "TYPE_INTEGER",
    "averageSessionDuration": "TYPE_SECONDS",
    "userEngagementDuration": "TYPE_SECONDS",
    "keyEvents": "TYPE_FLOAT",
}
AVERAGES = frozenset({"averageSessionDuration"})  # not scaled by late data
DEFAULT_LIMIT = 10_000
MAX_LIMIT = 250_000
UNSUPPORTED_FIELDS = ("dimensionFilter", "metricFilter", "metricAggregations", "cohortSpec")
# Token quotas in the order they run out (per hour before per day); all reset with the plan.
TOKEN_QUOTAS = {
    "tokensPerHour": "property tokens per hour",
    "tokensPerProjectPerHour": "property tokens per project per hour",
    "tokensPerDay": "property tokens per day",
}
GRPC_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
}
SCHEMA_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
QUOTA_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/quotas"
ROUTE = re.compile(r"^/v1beta/properties/([^/:]+):runReport$")
RELATIVE_DAYS = re.compile(r"^(\d+)daysAgo$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _exhausted(quota: str) -> str:
    return f"Exhausted {TOKEN_QUOTAS[quota]} ({quota}). See {QUOTA_URL}"


DEFAULT_MESSAGES = {
    403: "User does not have sufficient permissions for this property.",
    404: "Requested entity was not found.",
    429: _exhausted("tokensPerHour"),
    500: "Internal error encountered.",
    502: "Bad gateway.",
    503: "The service is currently unavailable.",
}


SAMPLED = [{"samplesReadCount": "250000", "samplingSpaceSize": "1000000"}]
"""What GA4 reports when a response was computed from a sample of the events (the ``samplingMetadatas`` switch)."""


@dataclass(frozen=True)
class ReportQuery:
    """The parts of a ``RunReportRequest`` the sandbox honours, validated."""

    dimensions: list[str]
    metrics: list[str]
    start: date
    end: date
    limit: int
    offset: int
    keep_empty_rows: bool
    return_property_quota: bool
    order_bys: list[tuple[str, bool]]  # (column, descending)


@dataclass
class Report:
    """One computed ``runReport`` answer, before it is put into JSON or protobuf."""

    query: ReportQuery
    page: pd.DataFrame  # this page's rows: the dimensions, then the metrics, as requested
    row_count: int  # rows of the whole report, on every page
    metadata: dict[str, object]  # JSON form: currencyCode, timeZone and the plan's flags
    property_quota: dict | None  # JSON form, when the request asked for it
    kind: str = "analyticsData#runReport"

    def columns(self) -> tuple[list[list[str]], list[list[str]]]:
        """The page's dimension and metric values as the API's strings, column by column."""
        return _columns(self.page, self.query)


class Ga4Service(Service):
    """The Data API for one property, backed by the company's ``ga4_*`` frames."""

    name = "ga4"
    default_missing_field = "rows"

    def __init__(self, company: object, plan: FaultPlan) -> None:
        self.plan = plan
        self.property_id = str(company.ga4_property_id)
        self.currency = company.ga4_currency
        self.timezone = company.timezone
        self.frames = {dims: _prepare(getattr(company, attr)) for dims, attr in DATASETS.items()}

    def route(self, request: Request) -> tuple[list[str], Handler] | None:
        """``runReport``, counted also as ``runReport[dim,dim]`` by its sorted dimensions."""
        match = ROUTE.match(request.path)
        if request.method != "POST" or match is None:
            return None
        return counter_keys(_requested_dimensions(request)), partial(self.run_report, match.group(1))

    def error(self, status: int, message: str | None) -> Reply:
        """Google's JSON error body."""
        text = message or DEFAULT_MESSAGES.get(status, "Unknown error.")
        body = {"error": {"code": status, "message": text, "status": GRPC_STATUS[status]}}
        return Reply(body, status=status)

    def corrupt(self, fault: Fault, reply: Reply, request: Request) -> None:
        """``wrong_type``, ``unknown_header`` and ``out_of_range_row`` on a report."""
        body, rows = reply.body, reply.body.get("rows")
        if fault.kind == "unknown_header" and body["metricHeaders"]:
            body["metricHeaders"][0]["name"] = "unknownMetric"
        elif fault.kind == "wrong_type" and rows:
            names = [header["name"] for header in body["metricHeaders"]]
            column = names.index(fault.field) if fault.field in names else 0
            rows[0]["metricValues"][column]["value"] = "abc"
        elif fault.kind == "out_of_range_row" and rows:
            query = parse_query(request.json(), self._today())
            row = copy.deepcopy(rows[0])
            before = query.start - timedelta(days=1)
            row["dimensionValues"][query.dimensions.index("date")]["value"] = f"{before:%Y%m%d}"
            rows.append(row)

    def run_report(self, property_id: str, request: Request) -> Reply:
        """Answer one ``runReport``."""
        self.admit(property_id)
        try:
            body = request.json()
        except ValueError as exc:
            raise ApiError(400, f"Invalid JSON payload received. {exc}") from None
        return Reply(to_json(self.report(body)), rows_key="rows", count_key="rowCount")

    def admit(self, property_id: str) -> None:
        """Refuse another property (403) and a used-up token quota (429), before the body is read."""
        if property_id != self.property_id:
            raise ApiError(403, f"{DEFAULT_MESSAGES[403]} (property {property_id})")
        self._check_quota()

    def report(self, body: dict) -> Report:
        """Compute the answer to a ``RunReportRequest`` in its JSON form and charge its tokens."""
        query = parse_query(body, self._today())
        frame = self.frames[frozenset(query.dimensions)]
        for name in query.metrics:
            if name not in frame.columns:
                served = [column for column in frame.columns if column in METRIC_TYPES]
                raise ApiError(400, f"Field {name} is not a valid metric with dimensions "
                               f"{query.dimensions} in the pmkpi sandbox; it serves {served}.")
        table = self._table(frame, query)
        page = table.iloc[query.offset : query.offset + query.limit]
        tokens = 1 + len(page) // 1000
        self.plan.use_ga4_tokens(tokens)
        flags = {name: SAMPLED if name == "samplingMetadatas" else True
                 for name, on in self.plan.ga4_metadata.items() if on}
        return Report(
            query=query,
            page=page,
            row_count=len(table),
            metadata={"currencyCode": self.currency, "timeZone": self.timezone, **flags},
            property_quota=self._quota(tokens) if query.return_property_quota else None,
        )

    def _today(self) -> date:
        return datetime.now(ZoneInfo(self.timezone)).date()

    def _check_quota(self) -> None:
        used, limits = self.plan.ga4_tokens_used(), self.plan.ga4_quota_limits()
        for quota in TOKEN_QUOTAS:
            if used >= limits[quota]:
                raise ApiError(429, _exhausted(quota))

    def _quota(self, tokens: int) -> dict:
        used, limits = self.plan.ga4_tokens_used(), self.plan.ga4_quota_limits()
        return {
            name: {
                "consumed": tokens if name in TOKEN_QUOTAS else 0,
                "remaining": max(0, limit - used) if name in TOKEN_QUOTAS else limit,
            }
            for name, limit in limits.items()
        }

    def _table(self, frame: pd.DataFrame, query: ReportQuery) -> pd.DataFrame:
        """The requested rows: date-filtered, late data scaled, empty rows dropped, sorted."""
        in_range = (frame["date"] >= pd.Timestamp(query.start)) & (
            frame["date"] <= pd.Timestamp(query.end)
        )
        table = frame.loc[in_range, query.dimensions + query.metrics]
        settling = self.plan.settling
        if settling is not None:
            sums = [name for name in query.metrics if name not in AVERAGES]
            table = settling.scale(table, "date", sums)
        if query.metrics and not query.keep_empty_rows:
            table = table[(table[query.metrics] != 0).any(axis=1)]
        defaults = ["date"] + [name for name in query.dimensions if name != "date"]
        keys = query.order_bys + [(name, False) for name in defaults]
        return table.sort_values(
            by=[name for name, _ in keys],
            ascending=[not desc for _, desc in keys],
            kind="stable",
        )


def to_json(report: Report) -> dict:
    """The ``RunReportResponse`` JSON body, zero ``rows``/``rowCount`` left out as protobuf JSON does."""
    query = report.query
    answer: dict = {
        "dimensionHeaders": [{"name": name} for name in query.dimensions],
        "metricHeaders": [{"name": name, "type": METRIC_TYPES[name]} for name in query.metrics],
    }
    if len(report.page):
        answer["rows"] = _rows(*report.columns())
    if report.row_count:
        answer["rowCount"] = report.row_count
    answer["metadata"] = dict(report.metadata)
    if report.property_quota is not None:
        answer["propertyQuota"] = report.property_quota
    answer["kind"] = report.kind
    return answer


def counter_keys(dimensions: list[str]) -> list[str]:
    """The stats keys of one ``runReport`` (without the ``ga4.`` prefix)."""
    keys = ["runReport"]
    if dimensions:
        keys.append(f"runReport[{','.join(sorted(dimensions))}]")
    return keys


def parse_query(body: dict, today: date) -> ReportQuery:
    """Validate a ``RunReportRequest`` JSON body; raises :class:`ApiError` 400 like Google."""
    for name in UNSUPPORTED_FIELDS:
        if name in body:
            raise ApiError(400, f"The pmkpi sandbox does not support '{name}' in runReport.")
    dimensions = _names(body.get("dimensions", []), "dimensions")
    metrics = _names(body.get("metrics", []), "metrics")
    known_dimensions = set().union(*DATASETS)
    for name in dimensions:
        if name not in known_dimensions:
            raise ApiError(400, f"Field {name} is not a valid dimension. For a list of "
                           f"valid dimensions and metrics, see {SCHEMA_URL}")
    for name in metrics:
        if name not in METRIC_TYPES:
            raise ApiError(400, f"Field {name} is not a valid metric. For a list of "
                           f"valid dimensions and metrics, see {SCHEMA_URL}")
    if frozenset(dimensions) not in DATASETS:
        served = [sorted(dims) for dims in DATASETS]
        raise ApiError(400, f"The pmkpi sandbox serves the dimension sets {served}; "
                       f"got {dimensions}.")
    ranges = body.get("dateRanges") or []
    if len(ranges) != 1:
        raise ApiError(400, "The pmkpi sandbox needs exactly one entry in dateRanges.")
    start = _date(ranges[0].get("startDate"), today, "startDate")
    end = _date(ranges[0].get("endDate"), today, "endDate")
    if start > end:
        raise ApiError(400, f"Invalid date range: startDate {start} is after endDate {end}.")
    limit = _int64(body.get("limit", 0), "limit")
    offset = _int64(body.get("offset", 0), "offset")
    requested = set(dimensions) | set(metrics)
    order_bys = [_order_by(item, requested) for item in body.get("orderBys", [])]
    return ReportQuery(
        dimensions=dimensions,
        metrics=metrics,
        start=start,
        end=end,
        limit=min(limit or DEFAULT_LIMIT, MAX_LIMIT),
        offset=offset,
        keep_empty_rows=bool(body.get("keepEmptyRows", False)),
        return_property_quota=bool(body.get("returnPropertyQuota", False)),
        order_bys=order_bys,
    )


def _names(items: object, field: str) -> list[str]:
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and isinstance(item.get("name"), str) for item in items
    ):
        raise ApiError(400, f"Invalid value at '{field}': expected a list of {{name}} objects.")
    return [item["name"] for item in items]


def _date(text: object, today: date, field: str) -> date:
    if text == "today":
        return today
    if text == "yesterday":
        return today - timedelta(days=1)
    relative = RELATIVE_DAYS.match(text) if isinstance(text, str) else None
    if relative:
        return today - timedelta(days=int(relative.group(1)))
    if isinstance(text, str) and ISO_DATE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise ApiError(400, f"Invalid {field} {text!r}: expected YYYY-MM-DD, 'today', "
                   "'yesterday' or 'NdaysAgo'.")


def _int64(value: object, field: str) -> int:
    try:
        number = int(value)  # int64 arrives as a JSON string from protobuf clients
    except (TypeError, ValueError):
        raise ApiError(400, f"Invalid value at '{field}' (TYPE_INT64), {value!r}") from None
    if number < 0:
        raise ApiError(400, f"{field} must be positive, got {number}.")
    return number


def _order_by(item: dict, requested: set[str]) -> tuple[str, bool]:
    if "dimension" in item:
        name = item["dimension"].get("dimensionName")
    elif "metric" in item:
        name = item["metric"].get("metricName")
    else:
        raise ApiError(400, "The pmkpi sandbox orders by a dimension or a metric only.")
    if name not in requested:
        raise ApiError(400, f"orderBys refers to '{name}', which the request does not select.")
    return name, bool(item.get("desc", False))


def _requested_dimensions(request: Request) -> list[str]:
    try:
        return [item["name"] for item in request.json().get("dimensions", [])]
    except (ValueError, TypeError, KeyError, AttributeError):
        return []


def _prepare(frame: pd.DataFrame) -> pd.DataFrame:
    prepared = frame.copy()
    prepared["date"] = pd.to_datetime(prepared["date"]).dt.normalize()
    return prepared


def _columns(page: pd.DataFrame, query: ReportQuery) -> tuple[list[list[str]], list[list[str]]]:
    dimensions = [
        _date_strings(page[name]) if name == "date" else page[name].astype(str).tolist()
        for name in query.dimensions
    ]
    metrics = [_metric_strings(page[name], METRIC_TYPES[name]) for name in query.metrics]
    return dimensions, metrics


def _rows(dimensions: list[list[str]], metrics: list[list[str]]) -> list[dict]:
    count = len(dimensions[0]) if dimensions else len(metrics[0]) if metrics else 0
    return [
        {
            "dimensionValues": [{"value": column[i]} for column in dimensions],
            "metricValues": [{"value": column[i]} for column in metrics],
        }
        for i in range(count)
    ]


def _date_strings(dates: pd.Series) -> list[str]:
    """``YYYYMMDD`` of each date, formatting each distinct day once (``strftime`` is slow)."""
    codes, days = pd.factorize(dates)  # the page's dates come from a range filter: no NaT
    return np.asarray(days.strftime("%Y%m%d"), dtype=object)[codes].tolist()


def _metric_strings(values: pd.Series, metric_type: str) -> list[str]:
    if metric_type == "TYPE_INTEGER":
        return values.round().astype("int64").astype(str).tolist()
    # whole numbers as integers ("61"), others as Python's shortest repr ("61.25")
    numbers = values.to_numpy(dtype=float)
    whole = (numbers == np.round(numbers)) & (np.abs(numbers) < 2**62)  # int64-safe, not inf/nan
    if whole.all():
        return numbers.astype(np.int64).astype(str).tolist()
    strings = np.empty(len(numbers), dtype=object)
    strings[whole] = numbers[whole].astype(np.int64).astype(str).tolist()
    strings[~whole] = [
        str(int(number)) if number.is_integer() else repr(number)
        for number in numbers[~whole].tolist()
    ]
    return strings.tolist()
