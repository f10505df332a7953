"""The GA4 Data API resource: the official ``google-analytics-data`` client with paging and retries.

``run_report`` asks for one date range with a ``date`` dimension, pages by limit/offset until
``rowCount`` rows have arrived, validates every header and value, and returns a DataFrame plus
the response metadata that matters downstream (time zone, thresholding, "(other)" row loss,
sampling).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlparse

import pandas as pd
from dagster import ConfigurableResource, get_dagster_logger
from google.api_core import exceptions as gexc
from pydantic import PrivateAttr

from ...retry import Retryable, call_with_retries


class GA4Error(RuntimeError):
    """A GA4 call failed or answered something unusable; the message names report and field."""


class GA4QuotaExhausted(GA4Error):
    """An hourly or daily GA4 token quota is spent: retrying now would not help."""


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
    """Google Analytics 4 Data API v1beta (``PMKPI_GA4_*``, ``GOOGLE_APPLICATION_CREDENTIALS``)."""

    property_id: str
    endpoint: str | None = None
    credentials_file: str | None = None
    page_size: int = 250_000
    max_attempts: int = 6
    base_delay_seconds: float = 1.0
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
            except (OSError, ValueError) as exc:
                raise GA4Error(
                    f"GOOGLE_APPLICATION_CREDENTIALS={self.credentials_file!r} is not a readable "
                    f"service-account JSON file ({type(exc).__name__})"
                ) from None
        elif self.endpoint and _is_loopback(self.endpoint):
            credentials = AnonymousCredentials()
        else:
            raise GA4Error(
                "GOOGLE_APPLICATION_CREDENTIALS is not set: point it at a service-account JSON with "
                "read access to the GA4 property, or set PMKPI_GA4_ENDPOINT to a local sandbox "
                "(`pmkpi sandbox`)"
            )
        return BetaAnalyticsDataClient(
            credentials=credentials, transport="rest", client_options=options
        )

    @property
    def client(self):
        """The Data API client, built once per resource instance."""
        if self._client is None:
            self._client = self._build_client()
        return self._client

    def _classify(self, report: str):
        def classify(exc: Exception) -> Exception:
            message = getattr(exc, "message", None) or str(exc)
            if isinstance(exc, (gexc.TooManyRequests, gexc.ResourceExhausted)):
                lowered = message.lower()
                if "per day" in lowered or "per hour" in lowered or "tokens" in lowered:
                    resets = "at midnight Pacific time" if "per day" in lowered else "at the top of the hour"
                    return GA4QuotaExhausted(
                        f"GA4 {report} report: property {self.property_id} quota exhausted "
                        f"({message}); it resets {resets} — re-run then"
                    )
                return Retryable(f"GA4 {report} report: HTTP 429 {message}")
            if isinstance(exc, gexc.ServerError):
                return Retryable(f"GA4 {report} report: server error {exc.code}: {message}")
            if isinstance(exc, (ConnectionError, OSError, gexc.RetryError)) or "Connection" in type(exc).__name__:
                return Retryable(f"GA4 {report} report: connection failed ({type(exc).__name__})")
            if isinstance(exc, (gexc.Unauthenticated, gexc.PermissionDenied, gexc.Unauthorized, gexc.Forbidden)):
                return GA4Error(
                    f"GA4 {report} report: access to property {self.property_id} refused "
                    f"(HTTP {exc.code}): check GOOGLE_APPLICATION_CREDENTIALS and PMKPI_GA4_PROPERTY_ID"
                )
            if isinstance(exc, gexc.GoogleAPICallError):
                return GA4Error(f"GA4 {report} report: HTTP {exc.code}: {message}")
            if isinstance(exc, GA4Error):
                return exc
            return GA4Error(f"GA4 {report} report: unusable response ({type(exc).__name__}: {exc})")

        return classify

    def run_report(
        self, report: str, dimensions: list[str], metrics: list[str], start: date, end: date
    ) -> ReportResult:
        """All rows of one report for ``start..end``, paged and validated."""
        from google.analytics.data_v1beta.types import (
            DateRange, Dimension, Metric, OrderBy, RunReportRequest, RunReportResponse,
        )

        log = get_dagster_logger()
        rows: list[list[str]] = []
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
                lambda: self.client.run_report(request=request),
                self._classify(report),
                what=f"GA4 {report} report (offset {offset})",
                max_attempts=self.max_attempts,
                base_delay=self.base_delay_seconds,
                log=log.warning,
            )
            calls += 1
            pb = RunReportResponse.pb(response)
            self._validate_headers(report, pb, dimensions, metrics)
            page = [[v.value for v in r.dimension_values] + [v.value for v in r.metric_values]
                    for r in pb.rows]
            if expected is None:
                expected = pb.row_count
                meta = pb.metadata
            elif pb.row_count != expected:
                raise GA4Error(
                    f"GA4 {report} report: rowCount changed between pages ({expected} → {pb.row_count}); "
                    "the data moved while paging — re-run"
                )
            if not page and offset < expected:
                raise GA4Error(
                    f"GA4 {report} report for {start}..{end}: promised rowCount={expected} but delivered "
                    f"{offset} rows (empty page at offset {offset})"
                )
            rows.extend(page)
            offset += len(page)
            log.info(f"GA4 {report} report {start}..{end}: {offset}/{expected} rows ({calls} call(s))")
        if offset != expected:
            raise GA4Error(
                f"GA4 {report} report for {start}..{end}: promised rowCount={expected}, got {offset} rows"
            )
        frame = self._to_frame(report, rows, dimensions, metrics, start, end)
        return ReportResult(
            frame=frame,
            time_zone=meta.time_zone if meta is not None else "",
            subject_to_thresholding=bool(meta and meta.subject_to_thresholding),
            data_loss_from_other_row=bool(meta and meta.data_loss_from_other_row),
            sampled=bool(meta and len(meta.sampling_metadatas)),
            calls=calls,
        )

    @staticmethod
    def _validate_headers(report, pb, dimensions, metrics) -> None:
        got_dims = [h.name for h in pb.dimension_headers]
        got_metrics = [h.name for h in pb.metric_headers]
        if got_dims != dimensions or got_metrics != metrics:
            raise GA4Error(
                f"GA4 {report} report: response headers {got_dims + got_metrics} do not match the "
                f"requested {dimensions + metrics}"
            )

    @staticmethod
    def _to_frame(report, rows, dimensions, metrics, start, end) -> pd.DataFrame:
        frame = pd.DataFrame(rows, columns=dimensions + metrics)
        if frame.empty:
            frame["date"] = pd.Series(dtype="object")
            return frame
        dates = pd.to_datetime(frame["date"], format="%Y%m%d", errors="coerce")
        if dates.isna().any():
            bad = frame.loc[dates.isna(), "date"].iloc[0]
            raise GA4Error(f"GA4 {report} report: field date has a value {bad!r} that is not YYYYMMDD")
        frame["date"] = dates.dt.date
        outside = frame[(frame["date"] < start) | (frame["date"] > end)]
        if len(outside):
            raise GA4Error(
                f"GA4 {report} report: row dated {outside['date'].iloc[0]} is outside the requested "
                f"range {start}..{end}"
            )
        for metric in metrics:
            values = pd.to_numeric(frame[metric], errors="coerce")
            if values.isna().any():
                bad = frame.loc[values.isna(), metric].iloc[0]
                raise GA4Error(f"GA4 {report} report: metric {metric} has a non-numeric value {bad!r}")
            frame[metric] = values
        duplicated = frame.duplicated(subset=dimensions)
        if duplicated.any():
            key = frame.loc[duplicated, dimensions].iloc[0].to_dict()
            raise GA4Error(f"GA4 {report} report: duplicate row for {key}")
        return frame

