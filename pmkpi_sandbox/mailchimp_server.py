"""Mailchimp Marketing API 3.0 (the read endpoints the pipeline uses), from a company's frames.

Under ``/3.0``: ``GET /ping``, ``/lists`` and ``/lists/{id}``, ``/lists/{id}/activity`` (most
recent day first, up to 180 days as the real API), ``/campaigns`` and ``/campaigns/{id}``,
``/reports`` and ``/reports/{id}``. The objects are the real API's, field for field
(:mod:`pmkpi_sandbox.mailchimp_objects`), and the endpoints take the real query parameters
(:mod:`pmkpi_sandbox.mailchimp_query`): ``count``/``offset``, ``fields``/``exclude_fields``;
campaigns ``since_``/``before_`` ``send_time`` and ``create_time``, ``status``, ``type``,
``list_id`` and ``sort_field`` (``create_time``, ``send_time``)/``sort_dir``; reports the
send-time window and ``type``; lists ``since_``/``before_`` ``date_created`` and
``campaign_last_sent``, ``sort_field=date_created`` and ``include_total_contacts``. Without
``sort_field`` campaigns and reports come in send-time order, lists in creation order.

Campaign kinds, as the generated company has them (see ``pmkpi_sandbox.company.campaign_kinds``;
all but ``regular`` only with ``Size.campaign_kinds``): ``regular``, ``variate`` (A/B, with
``variate_settings``), ``rss`` (the parent: status ``sending``, never sent itself, with
``rss_opts``; its children: ``parent_campaign_id`` set), ``plaintext``, resends to non-openers
(``regular`` with ``parent_campaign_id`` and a segment), a campaign still ``sending`` (with its
counts so far and an enabled ``delivery_status``), and one whose audience was deleted
(``recipients.list_id`` and the report's ``list_id`` are ``""``, ``list_is_active`` false).
``/reports`` lists the reports of ``sent`` campaigns only ("campaigns marked as Sent", as the
reference says); ``/reports/{id}`` also answers for a campaign still sending, with its partial
report. HTTP Basic auth: any user name, the password must be the API key. Errors are
``application/problem+json`` (``type``, ``title``, ``status``, ``detail``, ``instance``); what
the sandbox does not model (another path under ``/3.0``, an unknown id, another method) answers
404 "Resource Not Found" as the real API answers an unknown resource.

List members (``/lists/{id}/members`` and ``/lists/{id}/members/{subscriber_hash}``) come from
:mod:`pmkpi_sandbox.mailchimp_members` (``status``, ``since_``/``before_`` ``timestamp_opt`` and
``last_changed``). The activity serves the 180 days before the plan's ``today`` (default: the day
after the data ends), so a later ``today`` moves old days out of reach as time does on the real
API. OAuth: a ``Bearer`` access token the account was started with or issued is accepted instead
of the key, and ``/oauth2/metadata`` and ``/oauth2/token`` are served (:mod:`pmkpi_sandbox.oauth`).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import timedelta
from functools import partial

import pandas as pd

from pmkpi_sandbox import mailchimp_objects as objects
from pmkpi_sandbox._http import ApiError, Handler, Reply, Request, Service
from pmkpi_sandbox.faults import Fault, FaultPlan
from pmkpi_sandbox.mailchimp_members import MemberDirectory
from pmkpi_sandbox.mailchimp_query import (
    CAMPAIGN_STATUSES,
    CAMPAIGN_TYPES,
    equal_to,
    in_window,
    ordered,
    page,
    project,
)
from pmkpi_sandbox.oauth import PREFIX as OAUTH_PREFIX
from pmkpi_sandbox.oauth import OAuthTokens

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
CAMPAIGN_CHOICES = {"status": CAMPAIGN_STATUSES, "type": CAMPAIGN_TYPES, "list_id": None}
MAX_LISTS = 5  # the account's plan allows this many audiences


class MailchimpService(Service):
    """The Marketing API for one account, backed by the company's ``mailchimp_*`` frames."""

    name = "mailchimp"
    default_missing_field = "total_items"

    def __init__(self, company: object, plan: FaultPlan, api_key: str, access_tokens: tuple[str, ...] = ()) -> None:
        self.plan = plan
        self.api_key = api_key
        self.dc = api_key.rpartition("-")[2] or "us1"
        lists = company.mailchimp_lists
        campaigns = objects.campaign_frame(company.mailchimp_campaigns, lists)
        self.list_stats = objects.list_stats(lists, company.mailchimp_list_activity, campaigns, company.timezone)
        self.lists = lists.assign(
            date_created=pd.to_datetime(lists["date_created"], utc=True),
            campaign_last_sent=pd.to_datetime([self.list_stats[i]["campaign_last_sent"] for i in lists["id"]],
                                              utc=True),
        )
        self.activity = _activity_by_list(company.mailchimp_list_activity, lists["id"])
        self.campaigns = campaigns
        self.data_end = pd.to_datetime(company.mailchimp_list_activity["day"]).max().date()
        self.members = MemberDirectory(getattr(company, "mailchimp_members", None), list(lists["id"]))
        self.oauth = OAuthTokens(tuple(access_tokens), dc=self.dc)
        self.routes = [
            (re.compile(rf"/3\.0{pattern}/?"), key, handler)
            for pattern, key, handler in [
                (r"/ping", "/ping", self.ping),
                (r"/lists", "/lists", self.get_lists),
                (r"/lists/([^/]+)", "/lists/{list_id}", self.get_list),
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
        query, host = request.query, _host(request, self.dc)
        lists = self.lists[in_window(self.lists, query, "date_created")
                           & in_window(self.lists, query, "campaign_last_sent")]
        rows = ordered(lists, query, ("date_created",), "date_created")[page(query)]
        return _reply(request, {
            "lists": [self._list(row, request, host) for row in rows.to_dict("records")],
            "total_items": len(lists),
            "constraints": {"may_create": len(self.lists) < MAX_LISTS, "max_instances": MAX_LISTS,
                            "current_total_instances": len(self.lists)},
            "_links": host.collection_links("/lists", "Lists", creatable=True),
        }, "lists")

    def get_list(self, list_id: str, request: Request) -> Reply:
        """``GET /lists/{list_id}``."""
        return _reply(request, self._list(self._one(self.lists, list_id).iloc[0].to_dict(), request,
                                          _host(request, self.dc)))

    def get_activity(self, list_id: str, request: Request) -> Reply:
        """``GET /lists/{list_id}/activity``: daily stats, most recent first."""
        if list_id not in self.activity:
            raise ApiError(404)
        today = self.plan.today or self.data_end + timedelta(days=1)
        first = today - timedelta(days=ACTIVITY_DAYS)
        days = [day for day in self.activity[list_id] if f"{first}" <= day["day"] < f"{today}"]
        host = _host(request, self.dc)
        return _reply(request, {
            "list_id": list_id,
            "activity": days[page(request.query)],
            "total_items": len(days),
            "_links": host.collection_links(f"/lists/{list_id}/activity", "Lists/Activity",
                                            parent=f"/lists/{list_id}"),
        }, "activity")

    def get_members(self, list_id: str, request: Request) -> Reply:
        """``GET /lists/{list_id}/members`` (see :mod:`pmkpi_sandbox.mailchimp_members`)."""
        return _reply(request, self.members.page(list_id, request), "members")

    def get_member(self, list_id: str, subscriber_hash: str, request: Request) -> Reply:
        """``GET /lists/{list_id}/members/{subscriber_hash}``."""
        return _reply(request, self.members.one(list_id, subscriber_hash, request))

    def get_campaigns(self, request: Request) -> Reply:
        """``GET /campaigns``."""
        query, host = request.query, _host(request, self.dc)
        campaigns = self.campaigns[in_window(self.campaigns, query, "send_time")
                                   & in_window(self.campaigns, query, "create_time")
                                   & equal_to(self.campaigns, query, CAMPAIGN_CHOICES)]
        rows = self._settled(ordered(campaigns, query, ("create_time", "send_time"), "send_time")[page(query)])
        return _reply(request, {
            "campaigns": [objects.campaign_object(row, host) for row in rows.to_dict("records")],
            "total_items": len(campaigns),
            "_links": host.collection_links("/campaigns", "Campaigns", creatable=True),
        }, "campaigns")

    def get_campaign(self, campaign_id: str, request: Request) -> Reply:
        """``GET /campaigns/{campaign_id}``."""
        row = self._settled(self._one(self.campaigns, campaign_id)).iloc[0].to_dict()
        return _reply(request, objects.campaign_object(row, _host(request, self.dc)))

    def get_reports(self, request: Request) -> Reply:
        """``GET /reports``: reports of sent campaigns."""
        query, host = request.query, _host(request, self.dc)
        sent = self.campaigns[self.campaigns["status"] == "sent"]
        sent = sent[in_window(sent, query, "send_time") & equal_to(sent, query, {"type": CAMPAIGN_TYPES})]
        rows = self._settled(ordered(sent, query, (), "send_time")[page(query)])
        return _reply(request, {
            "reports": [self._report(row, host) for row in rows.to_dict("records")],
            "total_items": len(sent),
            "_links": host.collection_links("/reports", "Reports"),
        }, "reports")

    def get_report(self, campaign_id: str, request: Request) -> Reply:
        """``GET /reports/{campaign_id}``: a sent campaign's report, or the partial one of a campaign still sending."""
        started = self.campaigns[self.campaigns["status"].isin(("sent", "sending"))
                                 & self.campaigns["send_time"].notna()]
        row = self._settled(self._one(started, campaign_id)).iloc[0].to_dict()
        return _reply(request, self._report(row, _host(request, self.dc)))

    def _list(self, row: dict, request: Request, host: objects.Host) -> dict:
        total_contacts = request.query.get("include_total_contacts", "").lower() == "true"
        return objects.list_object(row, self.list_stats[row["id"]], host, total_contacts)

    def _report(self, row: dict, host: objects.Host) -> dict:
        return objects.report_object(row, self.list_stats.get(row["list_id"]), host)

    def _one(self, frame: pd.DataFrame, object_id: str) -> pd.DataFrame:
        found = frame[frame["id"] == object_id]
        if found.empty:
            raise ApiError(404)
        return found

    def _settled(self, campaigns: pd.DataFrame) -> pd.DataFrame:
        """Campaigns with late data scaled down for recently sent ones (report counts and report summaries)."""
        settling = self.plan.settling
        if settling is None:
            return campaigns
        return settling.scale(campaigns, "send_time", list(objects.REPORT_COUNTS))


def _host(request: Request, dc: str) -> objects.Host:
    """Where the client addressed the request: the ``_links`` point there."""
    return objects.Host(f"http://{request.headers.get('Host') or '127.0.0.1'}/3.0", dc)


def _reply(request: Request, body: dict, rows_key: str | None = None) -> Reply:
    """``body`` cut to the request's ``fields``/``exclude_fields``."""
    return Reply(project(body, request.query), rows_key=rows_key, count_key="total_items" if rows_key else None)


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
