"""Google's own words for the GA4 Data API's errors, as REST JSON bodies (the gRPC server reuses them).

Wordings come from answers seen from Google (the quota ones as third-party connectors record them,
e.g. Airbyte's source-google-analytics-data-api; the 401 and 403 ones as client-library issues quote
them). ``serverErrorsPerProjectPerHour``'s wording was not found anywhere public and follows its
siblings.
"""

from __future__ import annotations

from pmkpi_sandbox._http import ApiError

QUOTA_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/quotas"
PROPERTY_ID_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/property-id"
SERVICE = "analyticsdata.googleapis.com"
SERVICE_TITLE = "Google Analytics Data API"
GRPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
}
QUOTA_MESSAGES = {
    "tokensPerDay": "Exhausted property tokens per day. These quota tokens will return in under 24 hours.",
    "tokensPerHour": "Exhausted property tokens per hour. These quota tokens will return in under an hour.",
    "tokensPerProjectPerHour": "Exhausted property tokens for a project per hour. These quota tokens will "
                               "return in under an hour.",
    "concurrentRequests": "Exhausted concurrent requests quota.",
    "serverErrorsPerProjectPerHour": "Exhausted server errors per project per property per hour quota. This "
                                     "quota will refresh in under an hour.",
    "potentiallyThresholdedRequestsPerHour": "Exhausted potentially thresholded requests quota. This quota will "
                                             "refresh in under an hour.",
}
"""The 429 ``RESOURCE_EXHAUSTED`` message of each property quota (plus a link to the quota page)."""
NO_ACCESS = (f"User does not have sufficient permissions for this property. To learn more about Property ID, "
             f"see {PROPERTY_ID_URL}.")
INVALID_TOKEN = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                 "other valid authentication credential. See "
                 "https://developers.google.com/identity/sign-in/web/devconsole-project.")
MISSING_TOKEN = ("Request is missing required authentication credential. Expected OAuth 2 access token, login "
                 "cookie or other valid authentication credential. See "
                 "https://developers.google.com/identity/sign-in/web/devconsole-project.")
DEFAULT_MESSAGES = {
    401: INVALID_TOKEN,
    403: NO_ACCESS,
    404: "Requested entity was not found.",
    429: f"{QUOTA_MESSAGES['tokensPerHour']} To learn more, see {QUOTA_URL}",
    500: "Internal error encountered.",
    501: "Method not found.",
    502: "Bad gateway.",
    503: "The service is currently unavailable.",
}


class GoogleError(ApiError):
    """An error answered with ``google.rpc`` details (``ErrorInfo`` and friends) beside code and message."""

    def __init__(self, status: int, message: str, details: list[dict]) -> None:
        super().__init__(status, message)
        self.details = details


def error_body(status: int, message: str | None, details: list[dict] | None = None) -> dict:
    """Google's JSON error body ``{"error": {code, message, status[, details]}}``."""
    error = {"code": status, "message": message or DEFAULT_MESSAGES.get(status, "Unknown error."),
             "status": GRPC_STATUS[status]}
    if details:
        error["details"] = details
    return {"error": error}


def quota_exhausted(quota: str) -> ApiError:
    """The 429 of a used-up property quota, worded as Google words it."""
    return ApiError(429, f"{QUOTA_MESSAGES[quota]} To learn more, see {QUOTA_URL}")


def service_disabled(project: str) -> GoogleError:
    """The 403 ``SERVICE_DISABLED`` of a Cloud project that has not enabled the Data API."""
    url = f"https://console.developers.google.com/apis/api/{SERVICE}/overview?project={project}"
    message = (f"{SERVICE_TITLE} has not been used in project {project} before or it is disabled. Enable it by "
               f"visiting {url} then retry. If you enabled this API recently, wait a few minutes for the action "
               "to propagate to our systems and retry.")
    return GoogleError(403, message, [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
         "domain": "googleapis.com",
         "metadata": {"consumer": f"projects/{project}", "service": SERVICE, "activationUrl": url,
                      "serviceTitle": SERVICE_TITLE, "containerInfo": project}},
        {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": message},
        {"@type": "type.googleapis.com/google.rpc.Help",
         "links": [{"description": "Google developers console API activation", "url": url}]},
    ])


def unauthenticated(message: str) -> GoogleError:
    """The 401 of a missing or unknown access token (``CREDENTIALS_MISSING`` / ``ACCESS_TOKEN_TYPE_UNSUPPORTED``)."""
    reason = "CREDENTIALS_MISSING" if message == MISSING_TOKEN else "ACCESS_TOKEN_TYPE_UNSUPPORTED"
    return GoogleError(401, message, [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com",
         "metadata": {"service": SERVICE, "method": "google.analytics.data.v1beta.BetaAnalyticsData.RunReport"}},
    ])
