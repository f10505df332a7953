"""The GA4 Data API resource: the official ``google-analytics-data`` client with paging and retries.

``run_report`` asks for one date range with a ``date`` dimension, pages by limit/offset until
``rowCount`` rows have arrived, validates every header and value, and returns a DataFrame plus
the response metadata that matters downstream (time zone, thresholding, "(other)" row loss,
sampling), the rows GA4 folded into a ``date`` of ``(other)`` (kept apart: they belong to no day)
and the property quota GA4 reports left (``returnPropertyQuota``).

Credentials are whatever ``google-auth`` accepts: the file ``GOOGLE_APPLICATION_CREDENTIALS`` names
(service account, authorized user, external account, impersonated service account, ...), else
Application Default Credentials (``gcloud auth application-default login``, workload identity, the
metadata server); none at all only for a loopback sandbox. Errors keep Google's reason: the Data API
not enabled in the Cloud project (``SERVICE_DISABLED``), no access to the property, and which quota
ran out and when it refills.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import warnings
from dataclasses import dataclass, field
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


# GA4 Data API quotas that do not refill within a run, by the words of Google's 429 message (as
# Google words them, e.g. "Exhausted property tokens for a project per hour. These quota tokens will
# return in under an hour."); "Exhausted concurrent requests quota." is transient and retried.
QUOTAS = (  # (name, words in the message, period)
    ("tokensPerDay", "tokens per day", "day"),
    ("tokensPerProjectPerHour", "tokens for a project per hour", "hour"),
    ("tokensPerProjectPerHour", "tokens per project per hour", "hour"),
    ("tokensPerHour", "tokens per hour", "hour"),
    ("tokensPerHour", "tokens for a property per hour", "hour"),
    ("serverErrorsPerProjectPerHour", "server errors", "hour"),
    ("potentiallyThresholdedRequestsPerHour", "potentially thresholded requests", "hour"),
    ("clientErrors", "client errors", "15 minutes"),
)
SCOPES = ["https://www.googleapis.com/auth/analytics.readonly"]
OTHER = "(other)"  # GA4's value of every dimension of the row it folds other rows into
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
    if period == "15 minutes":
        return name, now.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=15)
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
    other_dates: pd.DataFrame = field(default_factory=pd.DataFrame)  # rows GA4 dated "(other)"
    property_quota: dict = field(default_factory=dict)  # quota → {"consumed": by these calls, "remaining"}


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

        options = {"api_endpoint": self.endpoint} if self.endpoint else None
        credentials = self._credentials()
        if self.endpoint is None:  # Google's endpoint: the client's default transport, gRPC
            return BetaAnalyticsDataClient(credentials=credentials)
        if self.endpoint.startswith("grpc://"):
            return _plaintext_grpc_client(self.endpoint)
        return BetaAnalyticsDataClient(credentials=credentials, transport="rest", client_options=options)

    def _credentials(self):
        """The credentials google-auth finds: the GOOGLE_APPLICATION_CREDENTIALS file, else Application Default
        Credentials; anonymous only for a loopback sandbox. A failure says what was tried, never the file's content."""
        import google.auth
        from google.auth import exceptions as auth_exc
        from google.auth.credentials import AnonymousCredentials

        if self.credentials_file:
            try:
                with warnings.catch_warnings():  # the operator's own file, as google.auth.default() reads it
                    warnings.simplefilter("ignore", DeprecationWarning)
                    credentials, _ = google.auth.load_credentials_from_file(self.credentials_file, scopes=SCOPES)
            except (auth_exc.GoogleAuthError, OSError, ValueError, KeyError, TypeError) as exc:
                raise GA4Error("credentials", f"GOOGLE_APPLICATION_CREDENTIALS={self.credentials_file!r}: "
                               f"{credentials_file_problem(exc)}") from None
            return credentials
        if self.endpoint and _is_loopback(self.endpoint):
            return AnonymousCredentials()
        try:
            credentials, _ = google.auth.default(scopes=SCOPES)
        except auth_exc.GoogleAuthError as exc:
            raise GA4Error("credentials", f"GOOGLE_APPLICATION_CREDENTIALS is not set and Application Default "
                           f"Credentials found none ({type(exc).__name__}; tried gcloud's "
                           "application_default_credentials.json, App Engine and the Compute Engine metadata "
                           "server): run `gcloud auth application-default login`, point GOOGLE_APPLICATION_CREDENTIALS "
                           "at a service-account, authorized-user or external-account JSON with read access to the "
                           "GA4 property, or set PMKPI_GA4_ENDPOINT to a local sandbox (`pmkpi sandbox`)") from None
        return credentials

    @property
    def client(self):
        """The Data API client, built once per resource instance."""
        if self._client is None:
            self._client = self._build_client()
        return self._client

    def _principal(self) -> str:
        """Who the credentials are, in words that are never a secret (a service account's e-mail, a kind)."""
        if self._client is None:
            return "not built yet"
        credentials = getattr(getattr(self._client, "transport", None), "_credentials", None)
        return describe_credentials(credentials, self.credentials_file)

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
            if isinstance(exc, (gexc.PermissionDenied, gexc.Forbidden)):
                return fail(refusal(exc, message, self.property_id, self._principal()))
            if isinstance(exc, (gexc.Unauthenticated, gexc.Unauthorized)):
                return fail(f"the credentials ({self._principal()}) were refused (HTTP {exc.code} UNAUTHENTICATED: "
                            f"{message}): check GOOGLE_APPLICATION_CREDENTIALS or Application Default Credentials")
            if isinstance(exc, (auth_exc.RefreshError, auth_exc.InvalidOperation)):
                return fail(f"no access token for the credentials ({self._principal()}): the token endpoint "
                            f"refused them ({_first_arg(exc)})")
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
        other_dates: list[pd.DataFrame] = []
        quota: dict[str, dict[str, int]] = {}
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
                return_property_quota=True,
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
            page, undated = _page_frame(pb, dimensions, metrics, start, end, fail)  # typed per page: flat memory
            quota = _tally_quota(quota, pb)
            if expected is None:
                expected = pb.row_count
                meta = type(pb.metadata)()
                meta.CopyFrom(pb.metadata)
            elif pb.row_count != expected:
                raise fail(f"rowCount changed between pages ({expected} → {pb.row_count}); the data "
                           "moved while paging — re-run", "rowCount")
            del response, pb  # this page's message (~100 MB for 250,000 rows) is not alive while the next arrives
            if page.empty and undated.empty and offset < expected:
                raise fail(f"promised rowCount={expected} but delivered {offset} rows (no rows at "
                           f"offset {offset})", "rows")
            pages.append(page)
            other_dates.append(undated)
            offset += len(page) + len(undated)
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
            other_dates=pd.concat(other_dates, ignore_index=True),
            property_quota=quota,
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


def _page_frame(pb, dimensions, metrics, start, end, fail) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One response page as a typed frame with Arrow-backed columns (``date32`` dates, numbers), and apart from
    it the rows GA4 folded into a ``date`` of ``(other)`` (numbers typed, dimensions as sent).

    Read column by column straight into Arrow arrays: one Python list of one column alive at a time (a page is
    up to 250,000 rows; the whole page as Python rows was ~80 MB more), each cell read once, and the dates
    parsed once per distinct day rather than once per row. The pages of a long range are then held compactly
    and joined without a copy (a two-year pages report is millions of rows).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = pb.rows
    columns = {name: pa.array([r.dimension_values[i].value for r in rows], pa.large_string())
               for i, name in enumerate(dimensions)}
    columns.update({name: _number_column([r.metric_values[i].value for r in rows], name, fail)
                    for i, name in enumerate(metrics)})
    page = pa.table(columns)
    undated = pc.equal(page.column("date"), OTHER)
    other = page.filter(undated).to_pandas()
    page = page.filter(pc.invert(undated))
    if page.num_rows == 0:  # every row dated "(other)", or none: _combine leaves empty pages out
        return page.to_pandas(), other
    dates = _date_column(page.column("date"), fail)
    first, last = pc.min_max(dates).values()
    if first.as_py() < start or last.as_py() > end:
        outside = first.as_py() if first.as_py() < start else last.as_py()
        raise fail(f"a row is dated {outside}, outside the requested range", "date")
    return page.set_column(0, "date", dates).to_pandas(types_mapper=pd.ArrowDtype), other


def _number_column(values: list[str], metric: str, fail):
    """A metric's values as Arrow numbers: integers when every value is one, else floats (as
    ``pd.to_numeric`` types them); the first value that is no number is named."""
    import pyarrow as pa

    text = pa.array(values, pa.string())
    for kind in (pa.int64(), pa.float64()):
        try:
            return text.cast(kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    numbers = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce")
    bad = values[int(numbers.isna().to_numpy().argmax())]
    raise fail(f"value {bad!r} is not a number", metric)


def _date_column(text, fail):
    """GA4's ``YYYYMMDD`` dates as ``date32``, each distinct day parsed once; the first malformed one named."""
    import pyarrow as pa

    encoded = text.combine_chunks().dictionary_encode()
    days = pd.to_datetime(pd.Series(encoded.dictionary.to_pylist(), dtype="object"), format="%Y%m%d",
                          errors="coerce")
    if days.isna().any():
        raise fail(f"value {encoded.dictionary[int(days.isna().to_numpy().argmax())].as_py()!r} is not a "
                   "YYYYMMDD date", "date")
    return pa.array(days.dt.date, pa.date32()).take(encoded.indices)


def _tally_quota(quota: dict[str, dict[str, int]], pb) -> dict[str, dict[str, int]]:
    """The property quota after one more call: tokens consumed added up, the latest remaining kept."""
    from google.protobuf import json_format

    if not pb.HasField("property_quota"):
        return quota
    latest = json_format.MessageToDict(pb.property_quota)
    return {name: {"consumed": quota.get(name, {}).get("consumed", 0) + int(status.get("consumed", 0)),
                   "remaining": int(status.get("remaining", 0))} for name, status in latest.items()}


def credentials_file_problem(exc: Exception) -> str:
    """What is wrong with a credentials file, from google-auth's error, without repeating any of its content."""
    text = str(exc)
    if "was not found" in text or isinstance(exc, FileNotFoundError):
        return "no such file"
    if "is not a valid json file" in text:
        return "not a JSON file"
    if "does not have a valid type" in text:
        return ("its \"type\" is none of service_account, authorized_user, external_account, "
                "external_account_authorized_user, impersonated_service_account, gdch_service_account")
    kind = re.search(r"Failed to load ([\w ]+?) credentials", text)
    what = f"{kind.group(1)} credentials" if kind else "credentials"
    return f"google-auth cannot load these {what} (a field is missing or malformed; {type(exc).__name__})"


def describe_credentials(credentials, credentials_file: str | None) -> str:
    """Who signs the calls, in words that are never a secret."""
    module = type(credentials).__module__ if credentials is not None else ""
    if module == "google.auth.credentials" or credentials is None:
        return "anonymous: no credentials set, as for a loopback sandbox"
    email = getattr(credentials, "service_account_email", None)
    kinds = {"google.oauth2.credentials": "the Google user of the authorized-user credentials",
             "google.auth.identity_pool": "the external account (workload identity federation)",
             "google.auth.aws": "the external account (AWS workload identity federation)",
             "google.auth.pluggable": "the external account (executable-sourced)",
             "google.auth.impersonated_credentials": "the impersonated service account"}
    who = email if isinstance(email, str) and "@" in email else kinds.get(module, f"{module} credentials")
    source = f"GOOGLE_APPLICATION_CREDENTIALS={credentials_file}" if credentials_file else \
        "Application Default Credentials"
    return f"{who}, from {source}"


def refusal(exc, message: str, property_id: str, who: str) -> str:
    """Google's 403 in words: the Data API not enabled in the Cloud project, or no access to the property."""
    reason = getattr(exc, "reason", None)
    metadata = dict(getattr(exc, "metadata", None) or {})
    if reason == "SERVICE_DISABLED":
        project = metadata.get("consumer", "").removeprefix("projects/") or "of the credentials"
        url = metadata.get("activationUrl", "https://console.cloud.google.com/apis/library/analyticsdata.googleapis.com")
        return (f"the Google Analytics Data API is not enabled in Google Cloud project {project}, the project of "
                f"the credentials ({who}) — HTTP 403 SERVICE_DISABLED: enable it at {url}, wait a few minutes "
                "and re-run")
    if "sufficient permissions for this property" in message:
        return (f"the credentials ({who}) have no access to GA4 property {property_id} (HTTP 403 PERMISSION_DENIED: "
                f"{message}): grant them the Viewer role in GA4 Admin > Property access management, or correct "
                "PMKPI_GA4_PROPERTY_ID")
    detail = f" {reason}" if reason else ""
    return (f"access to property {property_id} refused (HTTP {exc.code}{detail}: {message}): check the "
            f"credentials ({who}) and PMKPI_GA4_PROPERTY_ID")


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
