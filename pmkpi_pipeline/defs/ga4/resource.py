"""The GA4 Data API resource: the official ``google-analytics-data`` client with paging and retries.

``run_report`` asks for one date range with a ``date`` dimension, pages by limit/offset until
``rowCount`` rows have arrived, validates every header and value, and returns a DataFrame plus
the response metadata that matters downstream (time zone, thresholding, "(other)" row loss,
sampling).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pandas as pd
from dagster import ConfigurableResource, get_dagster_logger
from google.api_core import exceptions as gexc
from pydantic import PrivateAttr

from ...lib.retry import Retryable, SourceError, call_with_retries, parse_retry_after
from ...lib.settings import GA4_SETTLING_DAYS


class GA4Error(SourceError):
    """A GA4 call failed or answered something unusable; the message names report, range and field."""

    source = "GA4"


class GA4QuotaExhausted(GA4Error):
    """An hourly or daily GA4 quota is spent: retrying now would not help.

    ``quota`` is the quota's name (e.g. ``tokensPerHour``) and ``resets_at`` when it refills (UTC).
    """


# GA4 Data API quotas that run out per hour or per day, by the words of the error message.
QUOTAS = (  # (camelCase name, words in the message, period)
    ("tokensPerDay", "tokens per day", "day"),
    ("tokensPerProjectPerHour", "tokens per project per hour", "hour"),
    ("tokensPerHour", "tokens per hour", "hour"),
    ("serverErrorsPerProjectPerHour", "server errors per project per hour", "hour"),
    ("potentiallyThresholdedRequestsPerHour", "potentially thresholded requests per hour", "hour"),
)
DAILY_QUOTA_ZONE = ZoneInfo("America/Los_Angeles")  # GA4 daily quotas refill at midnight Pacific time


def exhausted_quota(message: str, now: datetime) -> tuple[str, datetime] | None:
    """The exhausted hourly/daily quota a 429 message names and when it resets; None if transient."""
    lowered = message.lower()
    for name, words, period in QUOTAS:  # noqa: B007 - the matching quota's period is used after the loop
        if name.lower() in lowered or words in lowered:
            break
    else:
        if "per day" in lowered:
            name, period = "a daily quota", "day"
        elif "per hour" in lowered:
            name, period = "an hourly quota", "hour"
        else:
            return None  # e.g. "concurrent requests": transient, worth a retry
    if period == "hour":
        return name, now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    local = now.astimezone(DAILY_QUOTA_ZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), DAILY_QUOTA_ZONE)
    return name, midnight.astimezone(UTC)


@dataclass(frozen=True)
class ReportResult:
    """Rows of one report (columns named as the API names them) and its response metadata."""

    frame: pd.DataFrame
    time_zone: str
    subject_to_thresholding: bool
    data_loss_from_other_row: bool
    sampled: bool
    calls: int


def _is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class GA4Resource(ConfigurableResource):
    """Google Analytics 4 Data API v1beta (``PMKPI_GA4_*``, ``GOOGLE_APPLICATION_CREDENTIALS``).

    ``max_attempts`` / ``base_delay_seconds`` / ``max_delay_seconds`` bound the retries of a
    call on 429 (other than an exhausted hourly/daily quota), 5xx, timeouts and connection
    errors; ``settling_days`` is how long GA4 numbers keep changing (a re-pull that changes an
    older number is recorded as a settled-number change).
    """

    property_id: str
    endpoint: str | None = None
    credentials_file: str | None = None
    page_size: int = 250_000
    max_attempts: int = 6
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 60.0
    timeout_seconds: float = 120.0
    settling_days: int = GA4_SETTLING_DAYS
    _client: object = PrivateAttr(default=None)

    def _build_client(self):
        from google.analytics.data_v1beta import BetaAnalyticsDataClient
        from google.auth.credentials import AnonymousCredentials

        options = {"api_endpoint": self.endpoint} if self.endpoint else None
        if self.credentials_file:
            from google.oauth2 import service_account

            try:
                credentials = service_account.Credentials.from_service_account_file(
                    self.credentials_file,
                    scopes=["https://www.googleapis.com/auth/analytics.readonly"],
                )
            except (OSError, ValueError, KeyError) as exc:  # never echo the file's content
                raise GA4Error(
                    "credentials", f"GOOGLE_APPLICATION_CREDENTIALS={self.credentials_file!r} is not a "
                    f"readable service-account JSON file ({type(exc).__name__})"
                ) from None
        elif self.endpoint and _is_loopback(self.endpoint):
            credentials = AnonymousCredentials()
        else:
            raise GA4Error(
                "credentials", "GOOGLE_APPLICATION_CREDENTIALS is not set: point it at a service-account "
                "JSON with read access to the GA4 property, or set PMKPI_GA4_ENDPOINT to a local "
                "sandbox (`pmkpi sandbox`)"
            )
        if self.endpoint is None:  # Google's endpoint: the client's default transport, gRPC
            return BetaAnalyticsDataClient(credentials=credentials)
        if self.endpoint.startswith("grpc://"):
            return _plaintext_grpc_client(self.endpoint)
        return BetaAnalyticsDataClient(credentials=credentials, transport="rest", client_options=options)

    @property
    def client(self):
        """The Data API client, built once per resource instance."""
        if self._client is None:
            self._client = self._build_client()
        return self._client

    def _endpoint(self, report: str) -> str:
        return f"properties/{self.property_id}:runReport ({report} report)"

    def _classify(self, report: str, partitions: str):
        endpoint = self._endpoint(report)

        def fail(detail: str, error=GA4Error) -> GA4Error:
            return error(endpoint, detail, partitions=partitions)

        def classify(exc: Exception) -> Exception:
            from google.auth import exceptions as auth_exc

            message = _api_message(exc)
            if isinstance(exc, (gexc.TooManyRequests, gexc.ResourceExhausted)):
                quota = exhausted_quota(message, datetime.now(UTC))
                if quota is not None:
                    name, resets = quota
                    error = fail(
                        f"GA4 quota {name} of property {self.property_id} is exhausted ({message}); it "
                        f"resets at {resets:%Y-%m-%d %H:%M} UTC — re-run after that, retrying now would "
                        "not help", GA4QuotaExhausted)
                    error.quota, error.resets_at = name, resets
                    return error
                return Retryable(f"HTTP 429 {message}", parse_retry_after(_headers(exc)))
            if isinstance(exc, (gexc.Unauthenticated, gexc.PermissionDenied, gexc.Unauthorized,
                                gexc.Forbidden)):
                return fail(f"access to property {self.property_id} refused (HTTP {exc.code}): check "
                            "GOOGLE_APPLICATION_CREDENTIALS and PMKPI_GA4_PROPERTY_ID")
            if isinstance(exc, auth_exc.RefreshError):
                return fail("no access token for the service account of GOOGLE_APPLICATION_CREDENTIALS "
                            f"(the token endpoint refused it: {_first_arg(exc)})")
            if isinstance(exc, gexc.ServerError):
                return Retryable(f"HTTP {exc.code} {message}", parse_retry_after(_headers(exc)))
            if isinstance(exc, (ConnectionError, OSError, gexc.RetryError, auth_exc.TransportError)) \
                    or "Connection" in type(exc).__name__ or "Timeout" in type(exc).__name__:
                return Retryable(f"connection failed or timed out ({type(exc).__name__})")
            if isinstance(exc, gexc.GoogleAPICallError):
                return fail(f"HTTP {exc.code}: {message}")
            if isinstance(exc, GA4Error):
                return exc
            return fail(f"malformed response body ({type(exc).__name__}: {str(exc)[:200]})")

        return classify

    def run_report(
        self, report: str, dimensions: list[str], metrics: list[str], start: date, end: date
    ) -> ReportResult:
        """All rows of one report for ``start..end``, paged and validated."""
        from google.analytics.data_v1beta.types import (
            DateRange,
            Dimension,
            Metric,
            OrderBy,
            RunReportRequest,
            RunReportResponse,
        )

        log = get_dagster_logger()
        partitions = f"{start}..{end}"
        endpoint = self._endpoint(report)

        def fail(detail: str, field: str | None = None) -> GA4Error:
            return GA4Error(endpoint, detail, partitions=partitions, field=field)

        pages: list[pd.DataFrame] = []
        meta = None
        calls = 0
        offset = 0
        expected: int | None = None
        while expected is None or offset < expected:
            request = RunReportRequest(
                property=f"properties/{self.property_id}",
                date_ranges=[DateRange(start_date=start.isoformat(), end_date=end.isoformat())],
                dimensions=[Dimension(name=d) for d in dimensions],
                metrics=[Metric(name=m) for m in metrics],
                limit=self.page_size,
                offset=offset,
                order_bys=[OrderBy(dimension=OrderBy.DimensionOrderBy(dimension_name=d))
                           for d in dimensions],
            )
            response = call_with_retries(
                functools.partial(self.client.run_report, request=request, retry=None, timeout=self.timeout_seconds),
                self._classify(report, partitions),
                what=f"GA4 {endpoint} for partitions {partitions} (offset {offset})",
                max_attempts=self.max_attempts,
                base_delay=self.base_delay_seconds,
                max_delay=self.max_delay_seconds,
                log=log.warning,
            )
            calls += 1
            pb = RunReportResponse.pb(response)
            _validate_headers(pb, dimensions, metrics, fail)
            page = _page_frame(pb, dimensions, metrics, start, end, fail)  # typed per page: flat memory
            if expected is None:
                expected = pb.row_count
                meta = pb.metadata
            elif pb.row_count != expected:
                raise fail(f"rowCount changed between pages ({expected} → {pb.row_count}); the data "
                           "moved while paging — re-run", "rowCount")
            if page.empty and offset < expected:
                raise fail(f"promised rowCount={expected} but delivered {offset} rows (no rows at "
                           f"offset {offset})", "rows")
            pages.append(page)
            offset += len(page)
        log.info(f"GA4 {report} report {partitions}: {offset} rows in {calls} call(s)")
        frame = _combine(pages, dimensions, metrics, fail)  # names a duplicate first
        if offset != expected:
            raise fail(f"promised rowCount={expected} but delivered {offset} rows", "rows")
        return ReportResult(
            frame=frame,
            time_zone=meta.time_zone if meta is not None else "",
            subject_to_thresholding=bool(meta and meta.subject_to_thresholding),
            data_loss_from_other_row=bool(meta and meta.data_loss_from_other_row),
            sampled=bool(meta and len(meta.sampling_metadatas)),
            calls=calls,
        )


def _api_message(exc: Exception) -> str:
    """The API's own error text, without the client's ``POST <url>:`` prefix."""
    message = getattr(exc, "message", None) or str(exc)
    return re.sub(r"^(GET|POST) \S+: ", "", str(message))


def _headers(exc: Exception):
    """Retry-After as HTTP headers carry it: from the REST response, or gRPC's RetryInfo detail."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers:
        return headers
    for detail in getattr(exc, "details", None) or ():
        delay = getattr(detail, "retry_delay", None)
        if delay is not None and (delay.seconds or delay.nanos):
            return {"Retry-After": str(delay.seconds + delay.nanos / 1e9)}
    return None


def _plaintext_grpc_client(endpoint: str):
    """The real client's gRPC transport on a plaintext loopback channel (``grpc://host:port``)."""
    import grpc
    from google.analytics.data_v1beta import BetaAnalyticsDataClient
    from google.analytics.data_v1beta.services.beta_analytics_data.transports import (
        BetaAnalyticsDataGrpcTransport,
    )

    if not _is_loopback(endpoint):
        raise GA4Error("credentials", f"PMKPI_GA4_ENDPOINT={endpoint}: grpc:// is plaintext and only "
                       "allowed on loopback; use Google's endpoint (unset) or an https:// URL")
    channel = grpc.insecure_channel(endpoint[len("grpc://"):],
                                    options=[("grpc.max_receive_message_length", -1)])
    return BetaAnalyticsDataClient(transport=BetaAnalyticsDataGrpcTransport(channel=channel))


def _first_arg(exc: Exception) -> str:
    first = exc.args[0] if exc.args else ""
    return first[:200] if isinstance(first, str) else type(exc).__name__


def _validate_headers(pb, dimensions: list[str], metrics: list[str], fail) -> None:
    got = [h.name for h in pb.dimension_headers] + [h.name for h in pb.metric_headers]
    wanted = dimensions + metrics
    if got != wanted:
        unknown = [name for name in got if name not in wanted] or [name for name in wanted if name not in got]
        raise fail(f"response headers {got} do not match the requested {wanted}",
                   ", ".join(unknown) or "header order")


def _page_frame(pb, dimensions, metrics, start, end, fail) -> pd.DataFrame:
    """One response page as a typed frame (dates, numbers), built column by column."""
    rows = pb.rows
    columns = {name: [r.dimension_values[i].value for r in rows] for i, name in enumerate(dimensions)}
    columns.update({name: [r.metric_values[i].value for r in rows] for i, name in enumerate(metrics)})
    frame = pd.DataFrame(columns, columns=dimensions + metrics)
    if frame.empty:
        return frame
    dates = pd.to_datetime(frame["date"], format="%Y%m%d", errors="coerce")
    if dates.isna().any():
        raise fail(f"value {frame.loc[dates.isna(), 'date'].iloc[0]!r} is not a YYYYMMDD date", "date")
    frame["date"] = dates.dt.date
    outside = frame[(frame["date"] < start) | (frame["date"] > end)]
    if len(outside):
        raise fail(f"a row is dated {outside['date'].iloc[0]}, outside the requested range", "date")
    for metric in metrics:
        values = pd.to_numeric(frame[metric], errors="coerce")
        if values.isna().any():
            raise fail(f"value {frame.loc[values.isna(), metric].iloc[0]!r} is not a number", metric)
        frame[metric] = values
    return frame


def _combine(pages: list[pd.DataFrame], dimensions, metrics, fail) -> pd.DataFrame:
    """All pages in one frame; a dimension key delivered twice (in a page or across pages) is an error."""
    non_empty = [page for page in pages if len(page)]
    if not non_empty:
        return pd.DataFrame({name: pd.Series(dtype="object") for name in dimensions + metrics})
    frame = pd.concat(non_empty, ignore_index=True)
    duplicated = frame.duplicated(subset=dimensions)
    if duplicated.any():
        key = {k: str(v) for k, v in frame.loc[duplicated, dimensions].iloc[0].items()}
        raise fail(f"duplicate row for {key}", ",".join(dimensions))
    return frame
