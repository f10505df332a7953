"""Mailchimp Marketing API 3.0 (the read endpoints the pipeline uses), from a company's frames.

Under ``/3.0``: ``GET /ping``, ``/lists``, ``/lists/{id}/activity`` (most recent day first, up
to 180 days as the real API), ``/campaigns`` and ``/campaigns/{id}``, ``/reports`` and
``/reports/{id}`` (sent campaigns only). Collections page with ``count`` (default 10, capped at
1000) and ``offset`` and report ``total_items``; campaigns and reports filter on
``since_send_time`` (inclusive), ``before_send_time`` (exclusive), ``status``, ``list_id``
and ``type``, ordered by send time. ``fields``/``exclude_fields`` are ignored. HTTP Basic
auth: any user name, the password must be the API key. Errors are ``application/problem+json``.

List members (``/lists/{id}/members`` and ``/lists/{id}/members/{subscriber_hash}``) are served by
:mod:`pmkpi_sandbox.mailchimp_members`, which also applies ``fields``/``exclude_fields`` to them.
The activity serves the 180 days before the plan's ``today`` (default: the day after the data
ends), so a later ``today`` moves old days out of reach as time does on the real API. OAuth: a
``Bearer`` access token the account was started with or issued is accepted instead of the key,
and ``/oauth2/metadata`` and ``/oauth2/token`` are served (:mod:`pmkpi_sandbox.oauth`).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import timedelta
from functools import partial

import pandas as pd

from pmkpi_sandbox._http import ApiError, Handler, Reply, Request, Service
from pmkpi_sandbox.faults import Fault, FaultPlan
from pmkpi_sandbox.mailchimp_members import MemberDirectory, select_fields
from pmkpi_sandbox.oauth import PREFIX as OAUTH_PREFIX
from pmkpi_sandbox.oauth import OAuthTokens

DEFAULT_COUNT = 10
MAX_COUNT = 1000
ACTIVITY_DAYS = 180
PROBLEM_TYPE = "https://mailchimp.com/developer/marketing/docs/errors/"
PROBLEMS = {
    400: ("Invalid Resource", "The resource submitted could not be validated."),
    401: (
        "API Key Invalid",
        "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
    ),
    403: ("Forbidden", "You don't have permission to access this resource."),
    404: ("Resource Not Found", "The requested resource could not be found."),
    429: ("Too Many Requests", "You have exceeded the limit of 10 simultaneous connections."),
    500: (
        "Internal Server Error",
        "An unexpected internal error has occurred. Please contact Support for more information.",
    ),
    502: ("Bad Gateway", "The server received an invalid response from an upstream server."),
    503: ("Service Unavailable", "The service is temporarily unavailable."),
}
ACTIVITY_FIELDS = (
    "emails_sent", "unique_opens", "recipient_clicks", "hard_bounce", "soft_bounce",
    "subs", "unsubs", "other_adds", "other_removes",
)
REPORT_COUNTS = (
    "unique_opens", "opens_total", "proxy_excluded_unique_opens", "unique_subscriber_clicks",
    "clicks_total", "hard_bounces", "soft_bounces", "unsubscribed", "abuse_reports",
)
CAMPAIGN_FILTERS = ("status", "list_id", "type")


class MailchimpService(Service):
    """The Marketing API for one account, backed by the company's ``mailchimp_*`` frames."""

    name = "mailchimp"
    default_missing_field = "total_items"

    def __init__(self, company: object, plan: FaultPlan, api_key: str, access_tokens: tuple[str, ...] = ()) -> None:
        self.plan = plan
        self.api_key = api_key
        lists = company.mailchimp_lists.sort_values(["date_created", "id"], kind="stable")
        self.lists = [_list_item(row) for row in lists.to_dict("records")]
        self.activity = _activity_by_list(company.mailchimp_list_activity, lists["id"])
        self.data_end = pd.to_datetime(company.mailchimp_list_activity["day"]).max().date()
        self.members = MemberDirectory(getattr(company, "mailchimp_members", None), list(lists["id"]))
        self.oauth = OAuthTokens(tuple(access_tokens), dc=api_key.rpartition("-")[2] or "us1")
        campaigns = company.mailchimp_campaigns.copy()
        campaigns["send_time"] = pd.to_datetime(campaigns["send_time"], utc=True)
        self.campaigns = campaigns.sort_values(["send_time", "id"], kind="stable")
        self.routes = [
            (re.compile(rf"/3\.0{pattern}/?"), key, handler)
            for pattern, key, handler in [
                (r"/ping", "/ping", self.ping),
                (r"/lists", "/lists", self.get_lists),
                (r"/lists/([^/]+)/activity", "/lists/{list_id}/activity", self.get_activity),
                (r"/lists/([^/]+)/members", "/lists/{list_id}/members", self.get_members),
                (r"/lists/([^/]+)/members/([^/]+)", "/lists/{list_id}/members/{subscriber_hash}",
                 self.get_member),
                (r"/campaigns", "/campaigns", self.get_campaigns),
                (r"/campaigns/([^/]+)", "/campaigns/{campaign_id}", self.get_campaign),
                (r"/reports", "/reports", self.get_reports),
                (r"/reports/([^/]+)", "/reports/{campaign_id}", self.get_report),
            ]
        ]

    def route(self, request: Request) -> tuple[list[str], Handler] | None:
        """Match ``GET /3.0/...``; the counter key is the route template, e.g. ``/reports``."""
        oauth = self.oauth.route(request)
        if oauth is not None:
            return [request.path], oauth
        if request.method != "GET":
            return None
        for pattern, key, handler in self.routes:
            match = pattern.fullmatch(request.path)
            if match:
                return [key], partial(handler, *match.groups())
        return None

    def error(self, status: int, message: str | None) -> Reply:
        """Mailchimp's ``application/problem+json`` body."""
        title, detail = PROBLEMS[status]
        body = {
            "type": PROBLEM_TYPE,
            "title": title,
            "status": status,
            "detail": message or detail,
            "instance": str(uuid.uuid4()),
        }
        return Reply(body, status=status, content_type="application/problem+json")

    def authorize(self, request: Request) -> None:
        """HTTP Basic: any user name, the API key as password; or an accepted OAuth ``Bearer`` token."""
        if request.path.startswith(OAUTH_PREFIX) or self.oauth.bearer(request):
            return  # the OAuth endpoints check their own credentials
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic" or not encoded:
            raise ApiError(401, "Your request did not include an API key.")
        try:
            password = base64.b64decode(encoded, validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            password = None
        if password != self.api_key:
            raise ApiError(401)

    def corrupt(self, fault: Fault, reply: Reply, request: Request) -> None:
        """``wrong_type``: a number of the first item (or of the resource) becomes ``"abc"``."""
        items = reply.body.get(reply.rows_key) if reply.rows_key else [reply.body]
        if not items:
            return
        item = items[0]
        numbers = [k for k, v in item.items() if isinstance(v, int) and not isinstance(v, bool)]
        key = fault.field if fault.field in item else (numbers[0] if numbers else None)
        if key is not None:
            item[key] = "abc"

    def ping(self, request: Request) -> Reply:
        """``GET /ping``."""
        return Reply({"health_status": "Everything's Chimpy!"})

    def get_lists(self, request: Request) -> Reply:
        """``GET /lists``."""
        return _collection("lists", self.lists, request)

    def get_activity(self, list_id: str, request: Request) -> Reply:
        """``GET /lists/{list_id}/activity``: daily stats, most recent first."""
        if list_id not in self.activity:
            raise ApiError(404)
        today = self.plan.today or self.data_end + timedelta(days=1)
        first = today - timedelta(days=ACTIVITY_DAYS)
        served = [day for day in self.activity[list_id] if f"{first}" <= day["day"] < f"{today}"]
        reply = _collection("activity", served, request)
        reply.body = {"list_id": list_id, **reply.body}
        return reply

    def get_members(self, list_id: str, request: Request) -> Reply:
        """``GET /lists/{list_id}/members`` (see :mod:`pmkpi_sandbox.mailchimp_members`)."""
        body = select_fields(self.members.page(list_id, request), request.query)
        return Reply(body, rows_key="members" if "members" in body else None, count_key="total_items")

    def get_member(self, list_id: str, subscriber_hash: str, request: Request) -> Reply:
        """``GET /lists/{list_id}/members/{subscriber_hash}``."""
        return Reply(select_fields(self.members.one(list_id, subscriber_hash, request), request.query))

    def get_campaigns(self, request: Request) -> Reply:
        """``GET /campaigns``."""
        campaigns = _filter(self.campaigns, request.query)
        return _collection("campaigns", _campaign_items(campaigns), request)

    def get_campaign(self, campaign_id: str, request: Request) -> Reply:
        """``GET /campaigns/{campaign_id}``."""
        return Reply(_campaign_items(self._one(self.campaigns, campaign_id))[0])

    def get_reports(self, request: Request) -> Reply:
        """``GET /reports``: reports of sent campaigns."""
        campaigns = _filter(self._sent(), request.query)
        return _collection("reports", self._reports(campaigns), request)

    def get_report(self, campaign_id: str, request: Request) -> Reply:
        """``GET /reports/{campaign_id}``."""
        return Reply(self._reports(self._one(self._sent(), campaign_id))[0])

    def _sent(self) -> pd.DataFrame:
        return self.campaigns[self.campaigns["status"] == "sent"]

    def _one(self, campaigns: pd.DataFrame, campaign_id: str) -> pd.DataFrame:
        found = campaigns[campaigns["id"] == campaign_id]
        if found.empty:
            raise ApiError(404)
        return found

    def _reports(self, campaigns: pd.DataFrame) -> list[dict]:
        """Report items, with late data scaled down for recently sent campaigns."""
        settling = self.plan.settling
        if settling is not None:
            campaigns = settling.scale(campaigns, "send_time", list(REPORT_COUNTS))
        return [_report_item(row) for row in campaigns.to_dict("records")]


def _collection(key: str, items: list[dict], request: Request) -> Reply:
    """One ``count``/``offset`` page of a collection, with ``total_items``."""
    offset = _query_int(request.query, "offset", 0)
    count = min(_query_int(request.query, "count", DEFAULT_COUNT), MAX_COUNT)
    body = {key: items[offset : offset + count], "total_items": len(items)}
    return Reply(body, rows_key=key, count_key="total_items")


def _query_int(query: dict[str, str], name: str, default: int) -> int:
    text = query.get(name, "")
    if text == "":
        return default
    if not text.isdigit():
        raise ApiError(400, f"Invalid value for '{name}': {text!r} is not a non-negative integer.")
    return int(text)


def _query_time(query: dict[str, str], name: str) -> pd.Timestamp | None:
    text = query.get(name, "")
    if text == "":
        return None
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text)  # an unescaped '+' arrives as a space
    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        raise ApiError(400, f"Invalid value for '{name}': {text!r} is not an ISO 8601 time.") from None
    return stamp.tz_localize("UTC") if stamp.tz is None else stamp


def _filter(campaigns: pd.DataFrame, query: dict[str, str]) -> pd.DataFrame:
    keep = pd.Series(True, index=campaigns.index)
    since, before = _query_time(query, "since_send_time"), _query_time(query, "before_send_time")
    if since is not None:
        keep &= campaigns["send_time"] >= since
    if before is not None:
        keep &= campaigns["send_time"] < before
    for name in CAMPAIGN_FILTERS:
        if query.get(name):
            keep &= campaigns[name] == query[name]
    return campaigns[keep]


def _iso(value: object) -> str:
    """Mailchimp's time format, ``2025-01-31T14:00:00+00:00``; ``""`` when there is none."""
    if pd.isna(value):
        return ""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _list_item(row: dict) -> dict:
    return {
        "id": row["id"],
        "name": row["name"],
        "date_created": _iso(row["date_created"]),
        "stats": {"member_count": int(row["member_count"])},
    }


def _activity_by_list(activity: pd.DataFrame, list_ids: pd.Series) -> dict[str, list[dict]]:
    """Per list, every day of its activity, most recent first (the horizon is applied per request)."""
    frame = activity.assign(day=pd.to_datetime(activity["day"])).sort_values("day", ascending=False)
    by_list = {list_id: [] for list_id in list_ids}
    for list_id, days in frame.groupby("list_id", sort=False):
        if list_id in by_list:
            by_list[list_id] = [
                {"day": f"{row['day']:%Y-%m-%d}", **{k: int(row[k]) for k in ACTIVITY_FIELDS}}
                for row in days.to_dict("records")
            ]
    return by_list


def _campaign_items(campaigns: pd.DataFrame) -> list[dict]:
    return [
        {
            "id": row["id"],
            "type": row["type"],
            "status": row["status"],
            "send_time": _iso(row["send_time"]),
            "emails_sent": int(row["emails_sent"]),
            "recipients": {"list_id": row["list_id"]},
            "settings": {"title": row["title"], "subject_line": row["subject_line"]},
        }
        for row in campaigns.to_dict("records")
    ]


def _report_item(row: dict) -> dict:
    """A report as ``/reports`` shows it; rates are fractions of delivered e-mails."""
    counts = {name: int(row[name]) for name in REPORT_COUNTS}
    delivered = int(row["emails_sent"]) - counts["hard_bounces"] - counts["soft_bounces"]

    def rate(count: int) -> float:
        return count / delivered if delivered > 0 else 0.0

    def last(count: int) -> str:  # synthetic: a day after sending, when anything happened
        return _iso(row["send_time"] + pd.Timedelta(days=1)) if count else ""

    unique_opens, proxy_unique = counts["unique_opens"], counts["proxy_excluded_unique_opens"]
    clickers = counts["unique_subscriber_clicks"]
    return {
        "id": row["id"],
        "campaign_title": row["title"],
        "type": row["type"],
        "list_id": row["list_id"],
        "subject_line": row["subject_line"],
        "emails_sent": int(row["emails_sent"]),
        "abuse_reports": counts["abuse_reports"],
        "unsubscribed": counts["unsubscribed"],
        "send_time": _iso(row["send_time"]),
        "bounces": {
            "hard_bounces": counts["hard_bounces"],
            "soft_bounces": counts["soft_bounces"],
            "syntax_errors": 0,
        },
        "opens": {
            "opens_total": counts["opens_total"],
            "unique_opens": unique_opens,
            "open_rate": rate(unique_opens),
            # estimated: total opens in the proportion of MPP-excluded unique opens
            "proxy_excluded_opens": (
                round(counts["opens_total"] * proxy_unique / unique_opens) if unique_opens else 0
            ),
            "proxy_excluded_unique_opens": proxy_unique,
            "proxy_excluded_open_rate": rate(proxy_unique),
            "last_open": last(unique_opens),
        },
        "clicks": {
            "clicks_total": counts["clicks_total"],
            "unique_clicks": clickers,
            "unique_subscriber_clicks": clickers,
            "click_rate": rate(clickers),
            "last_click": last(counts["clicks_total"]),
        },
    }
