"""GA4 Data API v1beta over REST/JSON, answered from a company's GA4 facts (see :mod:`.ga4_model`).

Methods, as Google serves them under ``/v1beta/properties/{id}``:

- ``:runReport`` and ``:batchRunReports`` — any dimensions and metrics the sandbox models
  (:mod:`.ga4_model`), ``dimensionFilter``/``metricFilter`` (:mod:`.ga4_filters`), ``orderBys``,
  ``limit``/``offset`` (default 10,000, at most 250,000), ``keepEmptyRows``, ``metricAggregations``
  and ``returnPropertyQuota``; one date range (``YYYY-MM-DD``, ``today``, ``yesterday``, ``NdaysAgo``).
  Values are strings, dates ``YYYYMMDD``; ``rows``/``rowCount`` are left out when zero, as protobuf
  JSON does;
- ``/metadata`` (``getMetadata``, also for property ``0``) and ``:checkCompatibility``;
- ``:runPivotReport``, ``:batchRunPivotReports``, ``:runRealtimeReport`` answer 501 ``UNIMPLEMENTED``
  (the sandbox does not model them); any other path answers 404.

Errors carry Google's body and words (:mod:`.ga4_errors`): 400 for an unknown field ("Field x is not
a valid dimension ...") or an incompatible combination, 401 without an accepted token (when the
plan requires sign-in, :mod:`.ga4_auth`), 403 ``SERVICE_DISABLED`` or no access to the property,
429 per exhausted property quota. Quota tokens are charged per request (1 + rows/1000).

The fault plan's GA4 switches shape the data (:data:`~pmkpi_sandbox.faults.GA4_SWITCHES`): days
without rows, rows folded into ``(other)`` (including a ``date`` of ``(other)``), rows withheld by
thresholding; plus metadata flags, late data and quota limits.

:meth:`Ga4Service.report` computes an answer as a wire-neutral :class:`Report`; this module renders it
as JSON and :mod:`pmkpi_sandbox.ga4_grpc` as the protobuf message of the gRPC API.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from pmkpi_sandbox._http import ApiError, Handler, Reply, Request, Service
from pmkpi_sandbox.faults import Fault, FaultPlan
from pmkpi_sandbox.ga4_auth import SandboxAuth
from pmkpi_sandbox.ga4_errors import (
    NO_ACCESS,
    GoogleError,
    error_body,
    quota_exhausted,
    service_disabled,
)
from pmkpi_sandbox.ga4_filters import Filter, enum_name, parse_filter
from pmkpi_sandbox.ga4_model import (
    DIMENSIONS,
    METRICS,
    SCHEMA_URL,
    Fact,
    aggregate,
    base_dimension,
    choose_fact,
    facts_of,
    incompatibility,
    served_fields,
    stored_metrics,
    with_date_parts,
)

METRIC_TYPES = {name: spec.type for name, spec in METRICS.items()}
DEFAULT_LIMIT = 10_000
MAX_LIMIT = 250_000
UNSUPPORTED_FIELDS = ("cohortSpec", "comparisons")
TOKEN_QUOTAS = ("tokensPerHour", "tokensPerProjectPerHour", "tokensPerDay")
COUNTED_ONLY = ("serverErrorsPerProjectPerHour", "potentiallyThresholdedRequestsPerHour")
"""Quotas counted (and reported) always but enforced only once ``ga4_quota`` sets them, so that the 5xx a long
test session injects never lock the property as Google would."""
OTHER = "(other)"
AGGREGATIONS = {"TOTAL": ("totals", "RESERVED_TOTAL"), "MAXIMUM": ("maximums", "RESERVED_MAX"),
                "MINIMUM": ("minimums", "RESERVED_MIN")}
AGGREGATION_NAMES = ("METRIC_AGGREGATION_UNSPECIFIED", "TOTAL", "", "", "COUNT", "MINIMUM", "MAXIMUM")
COMPATIBILITIES = ("COMPATIBILITY_UNSPECIFIED", "COMPATIBLE", "INCOMPATIBLE")
CORE_METHODS = ("runReport", "batchRunReports", "checkCompatibility")
UNSERVED_METHODS = ("runPivotReport", "batchRunPivotReports", "runRealtimeReport")
ROUTE = re.compile(r"^/v1beta/properties/([^/:]+)(?::(\w+)|/(metadata))$")
AUTH_ROUTES = {"/token": "token", "/v1/token": "sts"}
RELATIVE_DAYS = re.compile(r"^(\d+)daysAgo$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
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
    dimension_filter: Filter | None = None
    metric_filter: Filter | None = None
    aggregations: list[str] = field(default_factory=list)


@dataclass
class Report:
    """One computed ``runReport`` answer, before it is put into JSON or protobuf."""

    query: ReportQuery
    page: pd.DataFrame  # this page's rows: the dimensions, then the metrics, as requested
    row_count: int  # rows of the whole report, on every page
    metadata: dict[str, object]  # JSON form: currencyCode, timeZone and the plan's flags
    property_quota: dict | None  # JSON form, when the request asked for it
    aggregates: dict[str, pd.DataFrame] = field(default_factory=dict)  # "totals" etc. → one row
    kind: str = "analyticsData#runReport"

    def columns(self, frame: pd.DataFrame | None = None) -> tuple[list[list[str]], list[list[str]]]:
        """The page's (or ``frame``'s) dimension and metric values as the API's strings, column by column."""
        return _columns(self.page if frame is None else frame, self.query)


class Ga4Service(Service):
    """The Data API for one property, backed by the company's GA4 facts."""

    name = "ga4"
    default_missing_field = "rows"

    def __init__(self, company: object, plan: FaultPlan) -> None:
        self.plan = plan
        self.property_id = str(company.ga4_property_id)
        self.currency = company.ga4_currency
        self.timezone = company.timezone
        self.facts = facts_of(company)
        self.frames = {fact.name: _prepare(getattr(company, fact.name)) for fact in self.facts}
        totals = self.frames["ga4_totals"]
        users = totals["totalUsers"].where(totals["totalUsers"] > 0) if "totalUsers" in totals else None
        self.new_share = (pd.Series((totals["newUsers"] / users).fillna(0.0).to_numpy(), index=totals["date"])
                          if users is not None and "newUsers" in totals else pd.Series(dtype=float))
        self.auth = SandboxAuth()
        self._in_flight = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ HTTP

    def route(self, request: Request) -> tuple[list[str], Handler] | None:
        """The Data API methods (``runReport`` also counted as ``runReport[dim,dim]``) and sign-in endpoints."""
        if request.method == "POST" and request.path in AUTH_ROUTES:
            name = AUTH_ROUTES[request.path]
            return [name], getattr(self.auth, name)
        match = ROUTE.match(request.path)
        if match is None:
            return None
        property_id, method = match.group(1), match.group(2) or "getMetadata"
        if (request.method == "GET") != (method == "getMetadata"):
            return None
        if method == "runReport":
            return counter_keys(_requested_dimensions(request)), partial(self._answer, method, property_id)
        if method in (*CORE_METHODS, "getMetadata", *UNSERVED_METHODS):
            return [method], partial(self._answer, method, property_id)
        return None

    def authorize(self, request: Request) -> None:
        """With ``ga4_require_auth`` on, a Data API call needs an access token the sandbox accepts (401)."""
        if request.path not in AUTH_ROUTES and self.plan.ga4_switches.get("ga4_require_auth"):
            self.auth.check(request.headers.get("Authorization"))

    def error(self, status: int, message: str | None) -> Reply:
        """Google's JSON error body; a 5xx counts against ``serverErrorsPerProjectPerHour``."""
        if status >= 500:
            self.plan.count_ga4("serverErrorsPerProjectPerHour")
        return Reply(error_body(status, message), status=status)

    def corrupt(self, fault: Fault, reply: Reply, request: Request) -> None:
        """``wrong_type``, ``unknown_header`` and ``out_of_range_row`` on a report."""
        body, rows = reply.body, reply.body.get("rows")
        if fault.kind == "unknown_header" and body.get("metricHeaders"):
            body["metricHeaders"][0]["name"] = "unknownMetric"
        elif fault.kind == "wrong_type" and rows:
            names = [header["name"] for header in body["metricHeaders"]]
            column = names.index(fault.field) if fault.field in names else 0
            rows[0]["metricValues"][column]["value"] = "abc"
        elif fault.kind == "out_of_range_row" and rows:
            query = parse_query(request.json(), self._today())
            row = {key: [dict(v) for v in values] for key, values in rows[0].items()}
            before = query.start - timedelta(days=1)
            row["dimensionValues"][query.dimensions.index("date")]["value"] = f"{before:%Y%m%d}"
            rows.append(row)

    def _answer(self, method: str, property_id: str, request: Request) -> Reply:
        """One Data API call over REST; Google errors with details are answered here, with their details."""
        try:
            body = request.json() if request.method == "POST" else {}
        except ValueError as exc:
            raise ApiError(400, f"Invalid JSON payload received. {exc}") from None
        try:
            answer = self.call(method, property_id, body)
        except GoogleError as exc:
            return Reply(error_body(exc.status, exc.message, exc.details), status=exc.status)
        if method == "runReport":
            return Reply(answer, rows_key="rows", count_key="rowCount")
        return Reply(answer)

    # ------------------------------------------------------------------ the API, wire-neutral

    def call(self, method: str, property_id: str, body: dict) -> dict:
        """Answer one call in JSON form (REST and gRPC alike); raises :class:`ApiError` as Google answers."""
        self.admit(property_id, method)
        if method in UNSERVED_METHODS:
            raise ApiError(501, f"The pmkpi sandbox does not serve {method}.")
        if method == "getMetadata":
            return self.metadata(property_id)
        if method == "checkCompatibility":
            return self.compatibility(body)
        with self.in_flight():
            if method == "batchRunReports":
                requests = body.get("requests") or []
                if not 1 <= len(requests) <= 5:
                    raise ApiError(400, "Each batch request is allowed 1 to 5 requests.")
                return {"reports": [to_json(self.report(item)) for item in requests],
                        "kind": "analyticsData#batchRunReports"}
            return to_json(self.report(body))

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count a report being computed (the ``concurrentRequests`` quota)."""
        with self._lock:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def admit(self, property_id: str, method: str = "runReport") -> None:
        """Refuse as Google does, in its order: the API disabled (403), another property (403), a used-up
        property quota (429, core methods only)."""
        project = self.plan.ga4_switches.get("ga4_api_disabled")
        if project:
            raise service_disabled(str(project))
        if property_id != self.property_id and not (method == "getMetadata" and property_id == "0"):
            raise ApiError(403, NO_ACCESS)
        if method in ("runReport", "batchRunReports"):
            self._check_quota()

    def metadata(self, property_id: str) -> dict:
        """``getMetadata``: every dimension and metric the sandbox can answer."""
        dimensions, metrics = served_fields(self.facts)
        return {"name": f"properties/{property_id}/metadata",
                "dimensions": [_dimension_metadata(name) for name in dimensions],
                "metrics": [_metric_metadata(name) for name in metrics]}

    def compatibility(self, body: dict) -> dict:
        """``checkCompatibility``: which dimensions and metrics can join the request's and stay answerable."""
        dimensions = _names(body.get("dimensions", []), "dimensions")
        metrics = _names(body.get("metrics", []), "metrics")
        _check_known(dimensions, metrics)
        filters = [parse_filter(body[key], key) for key in ("dimensionFilter", "metricFilter") if body.get(key)]
        filtered = [name for f in filters for name in f.fields]
        wanted = enum_name(body.get("compatibilityFilter", "COMPATIBILITY_UNSPECIFIED"), COMPATIBILITIES)
        served_dimensions, served_metrics = served_fields(self.facts)

        def verdict(extra_dimensions: list[str], extra_metrics: list[str]) -> str:
            fits = choose_fact(self.facts, dimensions + extra_dimensions + [f for f in filtered if f in DIMENSIONS],
                               metrics + extra_metrics + [f for f in filtered if f in METRICS])
            return "COMPATIBLE" if fits else "INCOMPATIBLE"

        dims = [{"dimensionMetadata": _dimension_metadata(name), "compatibility": verdict([name], [])}
                for name in served_dimensions]
        mets = [{"metricMetadata": _metric_metadata(name), "compatibility": verdict([], [name])}
                for name in served_metrics]
        if wanted in ("COMPATIBLE", "INCOMPATIBLE"):
            dims = [d for d in dims if d["compatibility"] == wanted]
            mets = [m for m in mets if m["compatibility"] == wanted]
        return {"dimensionCompatibilities": dims, "metricCompatibilities": mets}

    def report(self, body: dict) -> Report:
        """Compute the answer to a ``RunReportRequest`` in its JSON form and charge its tokens."""
        query = parse_query(body, self._today())
        filter_fields = [name for f in (query.dimension_filter, query.metric_filter) if f for name in f.fields]
        fact = choose_fact(self.facts, query.dimensions + [f for f in filter_fields if f in DIMENSIONS],
                           query.metrics + [f for f in filter_fields if f in METRICS])
        if fact is None:
            raise ApiError(400, incompatibility(self.facts, query.dimensions, query.metrics))
        switches = self.plan.ga4_switches
        withheld = switches.get("ga4_withheld")
        extra = [m for m in (query.metric_filter.fields if query.metric_filter else ()) if m not in query.metrics]
        if withheld and "totalUsers" in fact.metrics and "totalUsers" not in query.metrics:
            extra.append("totalUsers")
        rows = self._rows(fact, query, query.metrics + extra, [f for f in filter_fields if f in DIMENSIONS])
        table = aggregate(rows, fact, list(query.dimensions), query.metrics + extra, self.new_share)
        if query.metric_filter is not None:
            table = table[query.metric_filter.mask(table)]
        if query.metrics and not query.keep_empty_rows:
            table = table[(table[query.metrics] != 0).any(axis=1)]
        thresholded = bool(withheld) and any(base_dimension(d) != "date" for d in query.dimensions)
        if thresholded and "totalUsers" in table:
            table = table[table["totalUsers"] >= withheld["min_users"]]
        folded = _fold(table, query, switches["ga4_other_rows"]) if switches.get("ga4_other_rows") else None
        other_row = folded is not None
        if other_row:
            table = folded
        table = _sorted(table[query.dimensions + query.metrics], query)
        page = table.iloc[query.offset : query.offset + query.limit]
        tokens = 1 + len(page) // 1000
        self.plan.use_ga4_tokens(tokens)
        if thresholded:
            self.plan.count_ga4("potentiallyThresholdedRequestsPerHour")
        flags = {name: SAMPLED if name == "samplingMetadatas" else True
                 for name, on in self.plan.ga4_metadata.items() if on}
        if thresholded:
            flags["subjectToThresholding"] = True
        if other_row:
            flags["dataLossFromOtherRow"] = True
        aggregates = {AGGREGATIONS[name][0]: self._aggregate(name, fact, query, rows, table)
                      for name in query.aggregations}
        return Report(
            query=query, page=page, row_count=len(table),
            metadata={"currencyCode": self.currency, "timeZone": switches.get("ga4_time_zone") or self.timezone,
                      **flags},
            property_quota=self._quota(tokens, thresholded) if query.return_property_quota else None,
            aggregates=aggregates,
        )

    def _rows(self, fact: Fact, query: ReportQuery, metrics: list[str], filtered: list[str]) -> pd.DataFrame:
        """The fact's rows in the date range, without the switched-off days, with date parts, filtered,
        late data scaled."""
        frame = self.frames[fact.name]
        days = frame["date"]
        keep = (days >= pd.Timestamp(query.start)) & (days <= pd.Timestamp(query.end))
        empty_days = self.plan.ga4_switches.get("ga4_empty_days")
        if empty_days:
            keep &= ~days.isin(pd.to_datetime(empty_days))
        stored = sorted(stored_metrics(metrics) | ({"totalUsers", "newUsers"} & fact.metrics))
        rows = with_date_parts(frame.loc[keep, sorted(fact.dimensions) + stored], query.dimensions + filtered)
        if query.dimension_filter is not None:
            view = rows.assign(date=rows["date"].dt.strftime("%Y%m%d")) if "date" in filtered else rows
            rows = rows[query.dimension_filter.mask(view)]
        settling = self.plan.settling
        if settling is not None:
            rows = settling.scale(rows, "date", [m for m in stored if m != "averageSessionDuration"])
        return rows

    def _aggregate(self, name: str, fact: Fact, query: ReportQuery, rows: pd.DataFrame,
                   table: pd.DataFrame) -> pd.DataFrame:
        """The ``TOTAL`` (all rows added up as the report adds them), ``MAXIMUM`` or ``MINIMUM`` row."""
        label = AGGREGATIONS[name][1]
        if name == "TOTAL":
            values = aggregate(rows, fact, [], query.metrics, self.new_share)
            values = values if len(values) else pd.DataFrame([dict.fromkeys(query.metrics, 0)])
        else:
            pick = table[query.metrics].max() if name == "MAXIMUM" else table[query.metrics].min()
            values = pick.to_frame().T if len(table) else pd.DataFrame([dict.fromkeys(query.metrics, 0)])
        return values[query.metrics].reset_index(drop=True).assign(**dict.fromkeys(query.dimensions, label))

    def _today(self) -> date:
        return datetime.now(ZoneInfo(self.timezone)).date()

    def _check_quota(self) -> None:
        limits = self.plan.ga4_quota_limits()
        with self._lock:
            in_flight = self._in_flight
        for quota, limit in limits.items():
            if quota in COUNTED_ONLY and quota not in self.plan.ga4_quota:
                continue
            used = in_flight if quota == "concurrentRequests" else self.plan.ga4_usage(quota)
            if used >= limit:
                raise quota_exhausted(quota)

    def _quota(self, tokens: int, thresholded: bool) -> dict:
        limits = self.plan.ga4_quota_limits()
        consumed = {**dict.fromkeys(TOKEN_QUOTAS, tokens), "potentiallyThresholdedRequestsPerHour": int(thresholded)}
        quota = {}
        for name, limit in limits.items():
            used = 0 if name == "concurrentRequests" else self.plan.ga4_usage(name)
            quota[name] = {"consumed": consumed.get(name, 0), "remaining": max(0, limit - used)}
        return quota


def _fold(table: pd.DataFrame, query: ReportQuery, switch: dict) -> pd.DataFrame | None:
    """Where a day (or, with ``fold_date``, the whole report) has more than ``max_rows`` rows, all but the
    ``max_rows - 1`` biggest folded into one ``(other)`` row; None when nothing is folded. Counts are
    summed, ``totalUsers`` is the largest of the folded rows', averages and ratios are the biggest row's."""
    keys = [d for d in query.dimensions if d != "date" or switch["fold_date"]]
    if not keys or not query.metrics:
        return None
    per = [] if switch["fold_date"] or "date" not in query.dimensions else ["date"]
    ranked = table.sort_values(query.metrics[0], ascending=False, kind="stable")
    groups = ranked.groupby(per, sort=False) if per else ranked.groupby(np.zeros(len(ranked), dtype=int))
    fold = (groups.cumcount() >= switch["max_rows"] - 1) & (groups[ranked.columns[0]].transform("size")
                                                            > switch["max_rows"])
    folded, kept = ranked[fold], ranked[~fold]
    if folded.empty:
        return None
    spec = {m: ("sum" if m in {"sessions", "engagedSessions", "newUsers", "screenPageViews", "eventCount",
                               "keyEvents", "userEngagementDuration"} else "max" if m == "totalUsers" else "first")
            for m in table.columns if m not in query.dimensions}
    grouper = per or np.zeros(len(folded), dtype=int)  # one (other) row per day, or one in all
    other = folded.groupby(grouper, sort=False).agg(spec).reset_index(drop=not per)
    other = other.assign(**dict.fromkeys(keys, OTHER))
    if "date" in query.dimensions:
        kept = kept.assign(date=_date_strings(kept["date"]) if len(kept) else kept["date"].astype(object))
        if per:
            other["date"] = _date_strings(other["date"])
    return pd.concat([kept, other[table.columns]], ignore_index=True)


def _sorted(table: pd.DataFrame, query: ReportQuery) -> pd.DataFrame:
    defaults = [name for name in ["date", *query.dimensions] if name in query.dimensions]
    keys = query.order_bys + [(name, False) for name in dict.fromkeys(defaults)]
    if not keys:
        return table.reset_index(drop=True)
    return table.sort_values(by=[name for name, _ in keys], ascending=[not desc for _, desc in keys],
                             kind="stable").reset_index(drop=True)


def _dimension_metadata(name: str) -> dict:
    spec = DIMENSIONS[name]
    return {"apiName": name, "uiName": spec.ui_name, "description": spec.description, "category": spec.category}


def _metric_metadata(name: str) -> dict:
    spec = METRICS[name]
    return {"apiName": name, "uiName": spec.ui_name, "description": spec.description, "type": spec.type,
            "category": spec.category}


def to_json(report: Report) -> dict:
    """The ``RunReportResponse`` JSON body, zero ``rows``/``rowCount`` left out as protobuf JSON does."""
    query = report.query
    answer: dict = {
        "dimensionHeaders": [{"name": name} for name in query.dimensions],
        "metricHeaders": [{"name": name, "type": METRIC_TYPES[name]} for name in query.metrics],
    }
    if len(report.page):
        answer["rows"] = rows_json(*report.columns())
    for key, frame in report.aggregates.items():
        answer[key] = rows_json(*report.columns(frame))
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
        if body.get(name):
            raise ApiError(400, f"The pmkpi sandbox does not support '{name}' in runReport.")
    dimensions = _names(body.get("dimensions", []), "dimensions")
    metrics = _names(body.get("metrics", []), "metrics")
    _check_known(dimensions, metrics)
    filters = {key: parse_filter(body[key], key) for key in ("dimensionFilter", "metricFilter") if body.get(key)}
    for key, kind in (("dimensionFilter", DIMENSIONS), ("metricFilter", METRICS)):
        for name in filters[key].fields if key in filters else ():
            if name not in kind:
                noun = "dimension" if kind is DIMENSIONS else "metric"
                raise ApiError(400, f"Field {name} is not a valid {noun}. For a list of valid dimensions and "
                               f"metrics, see {SCHEMA_URL}")
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
    aggregations = [_aggregation(item) for item in body.get("metricAggregations", [])]
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
        dimension_filter=filters.get("dimensionFilter"),
        metric_filter=filters.get("metricFilter"),
        aggregations=list(dict.fromkeys(aggregations)),
    )


def _check_known(dimensions: list[str], metrics: list[str]) -> None:
    for name in dimensions:
        if name not in DIMENSIONS:
            raise ApiError(400, f"Field {name} is not a valid dimension. For a list of "
                           f"valid dimensions and metrics, see {SCHEMA_URL}")
    for name in metrics:
        if name not in METRICS:
            raise ApiError(400, f"Field {name} is not a valid metric. For a list of "
                           f"valid dimensions and metrics, see {SCHEMA_URL}")
    for name in {n for n in dimensions + metrics if (dimensions + metrics).count(n) > 1}:
        raise ApiError(400, f"Field {name} is duplicated in the request.")


def _aggregation(item: object) -> str:
    name = enum_name(item, AGGREGATION_NAMES)
    if name not in AGGREGATIONS:
        raise ApiError(400, f"Invalid value at 'metric_aggregations' ({item!r}): expected TOTAL, MAXIMUM or "
                       "MINIMUM.")
    return name


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
        _date_strings(page[name]) if pd.api.types.is_datetime64_any_dtype(page[name])
        else page[name].astype(str).tolist()
        for name in query.dimensions
    ]
    metrics = [_metric_strings(page[name].astype(float), METRIC_TYPES[name]) for name in query.metrics]
    return dimensions, metrics


def rows_json(dimensions: list[list[str]], metrics: list[list[str]]) -> list[dict]:
    """``Row`` objects in JSON form from value columns."""
    count = len(dimensions[0]) if dimensions else len(metrics[0]) if metrics else 0
    return [
        {
            "dimensionValues": [{"value": column[i]} for column in dimensions],
            "metricValues": [{"value": column[i]} for column in metrics],
        }
        for i in range(count)
    ]


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
