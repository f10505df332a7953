"""The Marketing API 3.0 objects the Mailchimp sandbox serves: lists, campaigns, reports and their ``_links``.

Names, types and presence of the fields follow Mailchimp's API reference (e.g.
https://mailchimp.com/developer/marketing/api/campaigns/get-campaign-info/, .../lists/get-list-info/,
.../reports/get-campaign-report/, .../activity/list-recent-activity/): a field the real API leaves
out when it does not apply is left out here too (``parent_campaign_id`` of a campaign that is no
child, ``variate_settings`` and ``rss_opts`` of other kinds, ``report_summary`` of an unsent
campaign, ``list_stats`` of a deleted audience). Times are ``2025-01-31T14:00:00+00:00``, ``""``
when there is none. Every number comes from the company's frames: a campaign's
``report_summary`` is its report's counts, a list's ``stats`` are its activity and campaigns.
What the company does not model (contact address, from name, e-commerce, forwards, Facebook
likes) is a fixed, plausible value. Each object and collection carries ``_links`` whose ``href``
is on the host the request was addressed to.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

REPORT_COUNTS = (
    "unique_opens", "opens_total", "proxy_excluded_unique_opens", "unique_subscriber_clicks",
    "clicks_total", "hard_bounces", "soft_bounces", "unsubscribed", "abuse_reports",
)
ACCOUNT_HASH = "5f3c2d1e0a9b8c7d6e5f4a3b2"  # the account's ``u=`` in archive and sign-up URLs
FROM_NAME, REPLY_TO = "Demo SaaS", "news@demo-saas.example"
CONTACT = {
    "company": "Demo SaaS Inc.", "address1": "1 Market Street", "address2": "", "city": "Springfield",
    "state": "IL", "zip": "62701", "country": "US", "phone": "",
}
INDUSTRY_STATS = {  # "Software and Web App" benchmarks, as fractions
    "type": "Software and Web App", "open_rate": 0.2199, "click_rate": 0.0254, "bounce_rate": 0.0087,
    "unopen_rate": 0.7801, "unsub_rate": 0.0035, "abuse_rate": 0.0002,
}
MERGE_FIELDS = 2  # FNAME and LNAME besides EMAIL
TIMESERIES_HOURS = 24
FIRST_DAY_OPEN_SHARE = 0.85  # of a campaign's unique opens and clicks, in its first 24 hours


@dataclass(frozen=True)
class Host:
    """Where the request was addressed (``http://HOST:PORT/3.0``) and the account's data centre."""

    base: str
    dc: str

    @property
    def root(self) -> str:
        """The server root, ``http://HOST:PORT``, under which ``/schema/3.0/...`` lives."""
        return self.base.removesuffix("/3.0")

    def link(self, rel: str, path: str, method: str = "GET", target: str | None = None,
             schema: str | None = None) -> dict:
        """One ``_links`` item; ``target``/``schema`` name a JSON schema, e.g. ``Campaigns/Response``."""
        item = {"rel": rel, "href": f"{self.base}{path}", "method": method}
        if target:
            item["targetSchema"] = f"{self.root}/schema/3.0/Definitions/{target}.json"
        if schema:
            item["schema"] = f"{self.root}/schema/3.0/{schema}.json"
        return item

    def collection_links(self, path: str, schema: str, parent: str = "/", creatable: bool = False) -> list[dict]:
        """``_links`` of a collection at ``path`` whose items are ``schema`` (e.g. ``Campaigns``)."""
        links = [
            self.link("parent", parent),
            self.link("self", path, target=f"{schema}/CollectionResponse", schema=f"Paths/{schema}/Collection"),
        ]
        if creatable:
            links.append(self.link("create", path, "POST", f"{schema}/Response", f"Definitions/{schema}/POST"))
        return links


def iso(value: object) -> str:
    """Mailchimp's time format, ``2025-01-31T14:00:00+00:00``; ``""`` when there is none."""
    if pd.isna(value):
        return ""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def web_id(object_id: str) -> int:
    """The object's stable numeric id in the Mailchimp web application."""
    return zlib.crc32(object_id.encode()) % 90_000_000 + 10_000_000


def _short_url(object_id: str) -> str:
    return f"http://eepurl.com/{zlib.crc32(object_id[::-1].encode()):08x}"


def _rate(count: float, delivered: float) -> float:
    return float(count / delivered) if delivered > 0 else 0.0


def campaign_frame(campaigns: pd.DataFrame, lists: pd.DataFrame) -> pd.DataFrame:
    """The company's campaigns with what their objects show of their audience and RSS parent.

    Adds ``list_name``, ``list_is_active`` (False when the audience no longer exists),
    ``segment_text`` (a resend's "non-openers" segment) and ``rss_last_sent`` (an RSS campaign's
    last send, its children's included); ``create_time`` defaults to ``send_time``.
    """
    frame = campaigns.copy()
    frame["send_time"] = pd.to_datetime(frame["send_time"], utc=True)
    frame["create_time"] = pd.to_datetime(frame.get("create_time", frame["send_time"]), utc=True)
    if "parent_campaign_id" not in frame:
        frame["parent_campaign_id"] = ""
    names = dict(zip(lists["id"], lists["name"]))
    frame["list_is_active"] = frame["list_id"].isin(names)
    frame["list_name"] = frame["list_id"].map(names).fillna("")
    titles = dict(zip(frame["id"], frame["title"]))
    resend = (frame["type"] != "rss") & (frame["parent_campaign_id"] != "")
    frame["segment_text"] = [
        f"Non-openers of <strong>{titles.get(parent, parent)}</strong>" if is_resend else ""
        for parent, is_resend in zip(frame["parent_campaign_id"], resend)
    ]
    family = frame["parent_campaign_id"].where(frame["parent_campaign_id"] != "", frame["id"])
    frame["rss_last_sent"] = frame["send_time"].where(frame["type"] == "rss").groupby(family).transform("max")
    return frame


def list_stats(lists: pd.DataFrame, activity: pd.DataFrame, campaigns: pd.DataFrame, timezone: str) -> dict:
    """Per list id, its ``stats`` object: counts from its daily activity, rates from its sent campaigns."""
    days = activity.assign(day=pd.to_datetime(activity["day"]))
    sent = campaigns[campaigns["status"] == "sent"]
    stats = {}
    for row in lists.to_dict("records"):
        own = days[days["list_id"] == row["id"]].sort_values("day")
        mine = sent[sent["list_id"] == row["id"]]
        last_sent = mine["send_time"].max()
        since = own[own["day"] > pd.Timestamp(last_sent).tz_convert(timezone).tz_localize(None)] \
            if not pd.isna(last_sent) else own
        delivered = mine["emails_sent"] - mine["hard_bounces"] - mine["soft_bounces"]
        months = max(len(own) / 30.4375, 1.0)

        def last_day(column: str, days: pd.DataFrame = own) -> str:
            active = days.loc[days[column] > 0, "day"]
            return iso(active.max().tz_localize(timezone)) if len(active) else ""

        unsubs, cleaned = int(own["unsubs"].sum()), int(own["other_removes"].sum())
        stats[row["id"]] = {
            "member_count": int(row["member_count"]),
            "total_contacts": int(row["member_count"]) + unsubs + cleaned,
            "unsubscribe_count": unsubs,
            "cleaned_count": cleaned,
            "member_count_since_send": int((since["subs"] + since["other_adds"]).sum()),
            "unsubscribe_count_since_send": int(since["unsubs"].sum()),
            "cleaned_count_since_send": int(since["other_removes"].sum()),
            "campaign_count": int((campaigns["list_id"] == row["id"]).sum()),
            "campaign_last_sent": iso(last_sent),
            "merge_field_count": MERGE_FIELDS,
            "avg_sub_rate": round((own["subs"] + own["other_adds"]).sum() / months, 2),
            "avg_unsub_rate": round(unsubs / months, 2),
            "target_sub_rate": round((unsubs + cleaned) / months, 2),
            "open_rate": float((mine["unique_opens"] / delivered).mean() * 100) if len(mine) else 0.0,
            "click_rate": float((mine["unique_subscriber_clicks"] / delivered).mean() * 100) if len(mine) else 0.0,
            "last_sub_date": last_day("subs"),
            "last_unsub_date": last_day("unsubs"),
        }
    return stats


def list_object(row: dict, stats: dict, host: Host, total_contacts: bool) -> dict:
    """A list (audience) as ``/lists`` and ``/lists/{list_id}`` show it."""
    list_id = row["id"]
    path = f"/lists/{list_id}"
    shown = {k: v for k, v in stats.items() if total_contacts or k != "total_contacts"}
    return {
        "id": list_id,
        "web_id": web_id(list_id),
        "name": row["name"],
        "contact": dict(CONTACT),
        "permission_reminder": "You are receiving this email because you signed up on our website.",
        "use_archive_bar": True,
        "campaign_defaults": {"from_name": FROM_NAME, "from_email": REPLY_TO, "subject": "", "language": "en"},
        "notify_on_subscribe": "",
        "notify_on_unsubscribe": "",
        "date_created": iso(row["date_created"]),
        "list_rating": 3,
        "email_type_option": False,
        "subscribe_url_short": _short_url(list_id),
        "subscribe_url_long": f"https://demo-saas.{host.dc}.list-manage.com/subscribe?u={ACCOUNT_HASH}&id={list_id}",
        "beamer_address": f"{host.dc}-{ACCOUNT_HASH[:10]}-{list_id}@inbound.mailchimp.com",
        "visibility": "prv",
        "double_optin": False,
        "has_welcome": False,
        "marketing_permissions": False,
        "modules": [],
        "stats": shown,
        "_links": [
            host.link("self", path, target="Lists/Response"),
            host.link("parent", "/lists", target="Lists/CollectionResponse", schema="Paths/Lists/Collection"),
            host.link("update", path, "PATCH", "Lists/Response", "Definitions/Lists/PATCH"),
            host.link("delete", path, "DELETE"),
            host.link("activity", f"{path}/activity", target="Lists/Activity/Response"),
            host.link("members", f"{path}/members", target="Lists/Members/CollectionResponse"),
            host.link("growth_history", f"{path}/growth-history", target="Lists/Growth/CollectionResponse"),
            host.link("segments", f"{path}/segments", target="Lists/Segments/CollectionResponse"),
            host.link("merge_fields", f"{path}/merge-fields", target="Lists/MergeFields/CollectionResponse"),
        ],
    }


def campaign_object(row: dict, host: Host) -> dict:
    """A campaign as ``/campaigns`` and ``/campaigns/{campaign_id}`` show it."""
    campaign_id, kind, status = row["id"], row["type"], row["status"]
    path = f"/campaigns/{campaign_id}"
    sent = not pd.isna(row["send_time"])
    item = {
        "id": campaign_id,
        "web_id": web_id(campaign_id),
        **({"parent_campaign_id": row["parent_campaign_id"]} if row["parent_campaign_id"] else {}),
        "type": kind,
        "create_time": iso(row["create_time"]),
        "archive_url": _short_url(campaign_id),
        "long_archive_url": f"https://{host.dc}.campaign-archive.com/?u={ACCOUNT_HASH}&id={campaign_id}",
        "status": status,
        "emails_sent": int(row["emails_sent"]),
        "send_time": iso(row["send_time"]),
        "content_type": "template" if kind in ("rss", "plaintext") else "multichannel",
        "needs_block_refresh": False,
        "resendable": status == "sent" and kind == "regular" and not row["parent_campaign_id"],
        "has_logo_merge_tag": False,
        "recipients": {
            "list_id": row["list_id"],
            "list_is_active": bool(row["list_is_active"]),
            "list_name": row["list_name"],
            "segment_text": row["segment_text"],
            "recipient_count": int(row["emails_sent"]) if row["list_is_active"] else 0,
            **({"segment_opts": _non_openers(row["parent_campaign_id"])} if row["segment_text"] else {}),
        },
        "settings": {
            "subject_line": row["subject_line"],
            "preview_text": f"{row['subject_line']} - read on for the details",
            "title": row["title"],
            "from_name": FROM_NAME,
            "reply_to": REPLY_TO,
            "use_conversation": False,
            "to_name": "*|FNAME|*",
            "folder_id": "",
            "authenticate": True,
            "auto_footer": False,
            "inline_css": False,
            "auto_tweet": False,
            "fb_comments": True,
            "timewarp": False,
            "template_id": 0 if kind == "plaintext" else 10_001,
            "drag_and_drop": kind in ("regular", "variate"),
        },
        **({"variate_settings": _variate_settings(row)} if kind == "variate" else {}),
        "tracking": {
            "opens": kind != "plaintext",
            "html_clicks": kind != "plaintext",
            "text_clicks": kind == "plaintext",
            "goal_tracking": False,
            "ecomm360": False,
            "google_analytics": "",
            "clicktale": "",
        },
        **({"rss_opts": _rss_opts(row)} if kind == "rss" else {}),
        "social_card": {"image_url": "", "description": row["subject_line"], "title": row["title"]},
        **({"report_summary": _report_summary(row)} if sent else {}),
        "delivery_status": _delivery_status(row),
        "_links": [
            host.link("parent", "/campaigns", target="Campaigns/CollectionResponse",
                      schema="Paths/Campaigns/Collection"),
            host.link("self", path, target="Campaigns/Response"),
            host.link("update", path, "PATCH", "Campaigns/Response", "Definitions/Campaigns/PATCH"),
            host.link("delete", path, "DELETE"),
            host.link("send", f"{path}/actions/send", "POST"),
            host.link("cancel_send", f"{path}/actions/cancel-send", "POST"),
            host.link("feedback", f"{path}/feedback", target="Campaigns/Feedback/CollectionResponse"),
            host.link("content", f"{path}/content", target="Campaigns/Content/Response"),
            host.link("send_checklist", f"{path}/send-checklist", target="Campaigns/Checklist/Response"),
            *([host.link("pause", f"{path}/actions/pause", "POST"),
               host.link("resume", f"{path}/actions/resume", "POST")] if kind == "rss" else []),
            host.link("replicate", f"{path}/actions/replicate", "POST"),
        ],
    }
    return item


def _non_openers(campaign_id: str) -> dict:
    """The segment of a resend: who did not open ``campaign_id`` (an "Aim" condition)."""
    return {"match": "all", "conditions": [
        {"condition_type": "Aim", "field": "aim", "op": "noopen", "value": campaign_id}]}


def _delivered(row: dict) -> int:
    return int(row["emails_sent"]) - int(row["hard_bounces"]) - int(row["soft_bounces"])


def _report_summary(row: dict) -> dict:
    delivered = _delivered(row)
    return {
        "opens": int(row["opens_total"]),
        "unique_opens": int(row["unique_opens"]),
        "open_rate": _rate(row["unique_opens"], delivered),
        "clicks": int(row["clicks_total"]),
        "subscriber_clicks": int(row["unique_subscriber_clicks"]),
        "click_rate": _rate(row["unique_subscriber_clicks"], delivered),
        "ecommerce": {"total_orders": 0, "total_spent": 0, "total_revenue": 0},
    }


def _delivery_status(row: dict) -> dict:
    """Campaign Delivery Status: enabled while a campaign with a send time is still sending."""
    if row["status"] != "sending" or pd.isna(row["send_time"]):
        return {"enabled": False}
    return {"enabled": True, "can_cancel": True, "status": "delivering",
            "emails_sent": int(row["emails_sent"]), "emails_canceled": 0}


def _variate_settings(row: dict) -> dict:
    """Two subject lines tested on the whole audience, half each; the first one won on opens."""
    subjects = [row["subject_line"], f"Last chance: {row['subject_line']}"]
    half = int(row["emails_sent"]) // 2
    ids = [f"{row['id'][:8]}{n:02d}" for n in range(len(subjects))]
    return {
        "winning_combination_id": ids[0],
        "winning_campaign_id": row["id"],
        "winner_criteria": "opens",
        "wait_time": 240,
        "test_size": 100,
        "subject_lines": subjects,
        "send_times": [],
        "from_names": [],
        "reply_to_addresses": [],
        "contents": [],
        "combinations": [
            {"id": combination, "subject_line": n, "send_time": 0, "from_name": 0, "reply_to": 0,
             "content_description": 0, "recipients": half if n == 0 else int(row["emails_sent"]) - half}
            for n, combination in enumerate(ids)
        ],
    }


def _rss_opts(row: dict) -> dict:
    """A weekly feed, sent on Fridays at 8."""
    return {
        "feed_url": "https://demo-saas.example/blog/feed.xml",
        "frequency": "weekly",
        "schedule": {
            "hour": 8,
            "daily_send": {day: day == "friday" for day in (
                "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")},
            "weekly_send_day": "friday",
            "monthly_send_date": 0,
        },
        "last_sent": iso(row["rss_last_sent"]),
        "constrain_rss_img": True,
    }


def report_object(row: dict, list_stats_of: dict | None, host: Host) -> dict:
    """A campaign report as ``/reports`` and ``/reports/{campaign_id}`` show it; rates are fractions."""
    campaign_id = row["id"]
    path = f"/reports/{campaign_id}"
    counts = {name: int(row[name]) for name in REPORT_COUNTS}
    delivered = _delivered(row)
    unique_opens, proxy_unique = counts["unique_opens"], counts["proxy_excluded_unique_opens"]
    clickers = counts["unique_subscriber_clicks"]

    def last(count: int) -> str:  # synthetic: a day after sending, when anything happened
        return iso(row["send_time"] + pd.Timedelta(days=1)) if count else ""

    report = {
        "id": campaign_id,
        "campaign_title": row["title"],
        "type": row["type"],
        "list_id": row["list_id"],
        "list_is_active": bool(row["list_is_active"]),
        "list_name": row["list_name"],
        "subject_line": row["subject_line"],
        "preview_text": f"{row['subject_line']} - read on for the details",
        "emails_sent": int(row["emails_sent"]),
        "abuse_reports": counts["abuse_reports"],
        "unsubscribed": counts["unsubscribed"],
        "send_time": iso(row["send_time"]),
        **({"rss_last_send": iso(row["rss_last_sent"])} if row["type"] == "rss" else {}),
        "bounces": {"hard_bounces": counts["hard_bounces"], "soft_bounces": counts["soft_bounces"],
                    "syntax_errors": 0},
        "forwards": {"forwards_count": 0, "forwards_opens": 0},
        "opens": {
            "opens_total": counts["opens_total"],
            # estimated: total opens in the proportion of MPP-excluded unique opens
            "proxy_excluded_opens": round(counts["opens_total"] * proxy_unique / unique_opens) if unique_opens else 0,
            "unique_opens": unique_opens,
            "proxy_excluded_unique_opens": proxy_unique,
            "open_rate": _rate(unique_opens, delivered),
            "proxy_excluded_open_rate": _rate(proxy_unique, delivered),
            "last_open": last(unique_opens),
        },
        "clicks": {
            "clicks_total": counts["clicks_total"],
            "unique_clicks": clickers,
            "unique_subscriber_clicks": clickers,
            "click_rate": _rate(clickers, delivered),
            "last_click": last(counts["clicks_total"]),
        },
        "facebook_likes": {"recipient_likes": 0, "unique_likes": 0, "facebook_likes": 0},
        "industry_stats": dict(INDUSTRY_STATS),
        **({"list_stats": {
            "sub_rate": list_stats_of["avg_sub_rate"], "unsub_rate": list_stats_of["avg_unsub_rate"],
            "open_rate": list_stats_of["open_rate"], "click_rate": list_stats_of["click_rate"],
        }} if list_stats_of else {}),
        "timeseries": _timeseries(row["send_time"], int(row["emails_sent"]), unique_opens, clickers),
        "share_report": {"share_url": f"https://{host.dc}.campaign-archive.com/vip-report?u={ACCOUNT_HASH}"
                                      f"&id={campaign_id}", "share_password": ""},
        "ecommerce": {"total_orders": 0, "total_spent": 0, "total_revenue": 0, "currency_code": "USD"},
        "delivery_status": _delivery_status(row),
        "_links": [
            host.link("parent", "/reports", target="Reports/CollectionResponse", schema="Paths/Reports/Collection"),
            host.link("self", path, target="Reports/Response"),
            host.link("campaign", f"/campaigns/{campaign_id}", target="Campaigns/Response"),
            host.link("sent_to", f"{path}/sent-to", target="Reports/SentTo/CollectionResponse"),
            host.link("click_details", f"{path}/click-details", target="Reports/ClickDetails/CollectionResponse"),
            host.link("open_details", f"{path}/open-details", target="Reports/OpenDetails/CollectionResponse"),
            host.link("email_activity", f"{path}/email-activity", target="Reports/EmailActivity/CollectionResponse"),
            host.link("unsubscribed", f"{path}/unsubscribed", target="Reports/Unsubs/CollectionResponse"),
        ],
    }
    return report


def _timeseries(send_time: pd.Timestamp, emails_sent: int, unique_opens: int, clicks: int) -> list[dict]:
    """The first 24 hours by the hour: every e-mail in the first, opens and clicks decaying after it."""
    start = pd.Timestamp(send_time).floor("h")
    weights = np.exp(-np.arange(TIMESERIES_HOURS) / 3)
    shares = np.cumsum(weights) / weights.sum()

    def hourly(total: int) -> np.ndarray:
        return np.diff(np.round(shares * round(total * FIRST_DAY_OPEN_SHARE)), prepend=0).astype(int)

    opens, clickers = hourly(unique_opens), hourly(clicks)
    return [
        {"timestamp": iso(start + pd.Timedelta(hours=hour)), "emails_sent": emails_sent if hour == 0 else 0,
         "unique_opens": int(opens[hour]), "recipients_clicks": int(clickers[hour])}
        for hour in range(TIMESERIES_HOURS)
    ]
