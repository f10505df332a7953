"""JSON Schemas of the Marketing API 3.0 responses the Mailchimp sandbox serves, written from Mailchimp's reference.

Sources: the API reference pages (https://mailchimp.com/developer/marketing/api/ping/,
.../lists/get-lists-info/, .../lists/get-list-info/, .../activity/list-recent-activity/,
.../campaigns/list-campaigns/, .../campaigns/get-campaign-info/, .../reports/list-campaign-reports/,
.../reports/get-campaign-report/, .../docs/errors/), which render the schemas of
https://api.mailchimp.com/schema/3.0/Swagger.json. That file is not vendored: its licence is
Mailchimp's and it is several megabytes; these schemas restate the part the sandbox serves.

They are strict both ways: ``required`` lists what the real API returns for every object of
that kind (the other properties are the ones it returns only when they apply, e.g.
``parent_campaign_id``, ``variate_settings``, ``rss_opts``, ``report_summary``), and
``additionalProperties`` is false, so a field the real API does not have fails too. Times are
Mailchimp's ``2025-01-31T14:00:00+00:00``; the fields that are ``""`` when there is no such time
allow that. :func:`relaxed` drops ``required`` for answers cut by ``fields``/``exclude_fields``.
"""

from __future__ import annotations

import copy

TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$"
STRING, INTEGER, NUMBER, BOOLEAN = ({"type": name} for name in ("string", "integer", "number", "boolean"))
TIME = {"type": "string", "pattern": TIME_PATTERN}
TIME_OR_EMPTY = {"type": "string", "pattern": f"^$|{TIME_PATTERN}"}
DAY = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
CAMPAIGN_TYPE = {"enum": ["regular", "plaintext", "absplit", "rss", "variate"]}
CAMPAIGN_STATUS = {"enum": ["save", "paused", "schedule", "sending", "sent", "canceled", "canceling", "archived"]}


def obj(required: dict, optional: dict | None = None) -> dict:
    """An object with exactly these properties, ``required`` ones always present."""
    return {"type": "object", "properties": {**required, **(optional or {})}, "required": list(required),
            "additionalProperties": False}


def array(items: dict) -> dict:
    """An array of ``items``."""
    return {"type": "array", "items": items}


def relaxed(schema: dict) -> dict:
    """``schema`` without any ``required``: what an answer cut by ``fields``/``exclude_fields`` must match."""
    schema = copy.deepcopy(schema)
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            node.pop("required", None)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return schema


LINKS = array(obj(
    {"rel": STRING, "href": STRING, "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]}},
    {"targetSchema": STRING, "schema": STRING},
))
PROBLEM = obj(
    {"type": STRING, "title": STRING, "status": INTEGER, "detail": STRING, "instance": STRING},
    {"errors": array(obj({"field": STRING, "message": STRING}))},
)
PING = obj({"health_status": STRING})

LIST_STATS = obj(
    {
        "member_count": INTEGER, "unsubscribe_count": INTEGER, "cleaned_count": INTEGER,
        "member_count_since_send": INTEGER, "unsubscribe_count_since_send": INTEGER,
        "cleaned_count_since_send": INTEGER, "campaign_count": INTEGER, "campaign_last_sent": TIME_OR_EMPTY,
        "merge_field_count": INTEGER, "avg_sub_rate": NUMBER, "avg_unsub_rate": NUMBER,
        "target_sub_rate": NUMBER, "open_rate": NUMBER, "click_rate": NUMBER,
        "last_sub_date": TIME_OR_EMPTY, "last_unsub_date": TIME_OR_EMPTY,
    },
    {"total_contacts": INTEGER},  # with include_total_contacts=true
)
LIST = obj({
    "id": STRING, "web_id": INTEGER, "name": STRING,
    "contact": obj({name: STRING for name in (
        "company", "address1", "address2", "city", "state", "zip", "country", "phone")}),
    "permission_reminder": STRING, "use_archive_bar": BOOLEAN,
    "campaign_defaults": obj({"from_name": STRING, "from_email": STRING, "subject": STRING, "language": STRING}),
    "notify_on_subscribe": STRING, "notify_on_unsubscribe": STRING, "date_created": TIME,
    "list_rating": INTEGER, "email_type_option": BOOLEAN, "subscribe_url_short": STRING,
    "subscribe_url_long": STRING, "beamer_address": STRING, "visibility": {"enum": ["pub", "prv"]},
    "double_optin": BOOLEAN, "has_welcome": BOOLEAN, "marketing_permissions": BOOLEAN,
    "modules": array(STRING), "stats": LIST_STATS, "_links": LINKS,
})
LISTS = obj({
    "lists": array(LIST), "total_items": INTEGER,
    "constraints": obj({"may_create": BOOLEAN, "max_instances": INTEGER, "current_total_instances": INTEGER}),
    "_links": LINKS,
})
ACTIVITY = obj({
    "list_id": STRING,
    "activity": array(obj({"day": DAY, **{name: INTEGER for name in (
        "emails_sent", "unique_opens", "recipient_clicks", "hard_bounce", "soft_bounce", "subs", "unsubs",
        "other_adds", "other_removes")}})),
    "total_items": INTEGER, "_links": LINKS,
})

ECOMMERCE = {"total_orders": INTEGER, "total_spent": NUMBER, "total_revenue": NUMBER}
CAMPAIGN = obj(
    {
        "id": STRING, "web_id": INTEGER, "type": CAMPAIGN_TYPE, "create_time": TIME, "archive_url": STRING,
        "long_archive_url": STRING, "status": CAMPAIGN_STATUS, "emails_sent": INTEGER, "send_time": TIME_OR_EMPTY,
        "content_type": {"enum": ["template", "html", "url", "multichannel"]}, "needs_block_refresh": BOOLEAN,
        "resendable": BOOLEAN,
        "recipients": obj(
            {"list_id": STRING, "list_is_active": BOOLEAN, "list_name": STRING, "segment_text": STRING,
             "recipient_count": INTEGER},
            {"segment_opts": obj({}, {
                "saved_segment_id": INTEGER, "prebuilt_segment_id": STRING, "match": {"enum": ["any", "all"]},
                "conditions": array({"type": "object", "required": ["condition_type"]}),
            })},
        ),
        "settings": obj(
            {"title": STRING, "use_conversation": BOOLEAN, "to_name": STRING, "folder_id": STRING,
             "authenticate": BOOLEAN, "auto_footer": BOOLEAN, "inline_css": BOOLEAN, "auto_tweet": BOOLEAN,
             "fb_comments": BOOLEAN, "timewarp": BOOLEAN, "template_id": INTEGER, "drag_and_drop": BOOLEAN},
            {"subject_line": STRING, "preview_text": STRING, "from_name": STRING, "reply_to": STRING,
             "auto_fb_post": array(STRING)},
        ),
        "tracking": obj(
            {"opens": BOOLEAN, "html_clicks": BOOLEAN, "text_clicks": BOOLEAN, "goal_tracking": BOOLEAN,
             "ecomm360": BOOLEAN, "google_analytics": STRING, "clicktale": STRING},
            {"salesforce": obj({}, {"campaign": BOOLEAN, "notes": BOOLEAN}), "capsule": obj({}, {"notes": BOOLEAN})},
        ),
        "delivery_status": obj({"enabled": BOOLEAN}, {
            "can_cancel": BOOLEAN, "status": {"enum": ["delivering", "delivered", "canceling", "canceled"]},
            "emails_sent": INTEGER, "emails_canceled": INTEGER}),
        "_links": LINKS,
    },
    {
        "parent_campaign_id": STRING,
        "has_logo_merge_tag": BOOLEAN,
        "variate_settings": obj({
            "winning_combination_id": STRING, "winning_campaign_id": STRING,
            "winner_criteria": {"enum": ["opens", "clicks", "manual", "total_revenue"]},
            "wait_time": INTEGER, "test_size": INTEGER, "subject_lines": array(STRING), "send_times": array(TIME),
            "from_names": array(STRING), "reply_to_addresses": array(STRING), "contents": array(STRING),
            "combinations": array(obj({name: STRING if name == "id" else INTEGER for name in (
                "id", "subject_line", "send_time", "from_name", "reply_to", "content_description", "recipients")})),
        }),
        "rss_opts": obj({
            "feed_url": STRING, "frequency": {"enum": ["daily", "weekly", "monthly"]},
            "schedule": obj({
                "hour": {"type": "integer", "minimum": 0, "maximum": 23},
                "daily_send": obj({day: BOOLEAN for day in (
                    "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")}),
                "weekly_send_day": {"enum": [
                    "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]},
                "monthly_send_date": {"type": "number", "minimum": 0, "maximum": 31},
            }),
            "last_sent": TIME_OR_EMPTY, "constrain_rss_img": BOOLEAN,
        }),
        "ab_split_opts": {"type": "object"},
        "social_card": obj({"image_url": STRING, "description": STRING, "title": STRING}),
        "report_summary": obj({
            "opens": INTEGER, "unique_opens": INTEGER, "open_rate": NUMBER, "clicks": INTEGER,
            "subscriber_clicks": INTEGER, "click_rate": NUMBER, "ecommerce": obj(ECOMMERCE),
        }),
        "resend_shortcut_eligibility": {"type": "object"},
        "resend_shortcut_usage": {"type": "object"},
    },
)
CAMPAIGNS = obj({"campaigns": array(CAMPAIGN), "total_items": INTEGER, "_links": LINKS})

REPORT = obj(
    {
        "id": STRING, "campaign_title": STRING, "type": CAMPAIGN_TYPE, "list_id": STRING, "list_is_active": BOOLEAN,
        "list_name": STRING, "subject_line": STRING, "preview_text": STRING, "emails_sent": INTEGER,
        "abuse_reports": INTEGER, "unsubscribed": INTEGER, "send_time": TIME,
        "bounces": obj({"hard_bounces": INTEGER, "soft_bounces": INTEGER, "syntax_errors": INTEGER}),
        "forwards": obj({"forwards_count": INTEGER, "forwards_opens": INTEGER}),
        "opens": obj(
            {"opens_total": INTEGER, "unique_opens": INTEGER, "open_rate": NUMBER, "last_open": TIME_OR_EMPTY},
            {"proxy_excluded_opens": INTEGER, "proxy_excluded_unique_opens": INTEGER,
             "proxy_excluded_open_rate": NUMBER},
        ),
        "clicks": obj({"clicks_total": INTEGER, "unique_clicks": INTEGER, "unique_subscriber_clicks": INTEGER,
                       "click_rate": NUMBER, "last_click": TIME_OR_EMPTY}),
        "facebook_likes": obj({"recipient_likes": INTEGER, "unique_likes": INTEGER, "facebook_likes": INTEGER}),
        "timeseries": array(obj({"timestamp": TIME, "emails_sent": INTEGER, "unique_opens": INTEGER,
                                 "recipients_clicks": INTEGER})),
        "ecommerce": obj({**ECOMMERCE, "currency_code": STRING}),
        "delivery_status": CAMPAIGN["properties"]["delivery_status"],
        "_links": LINKS,
    },
    {
        "rss_last_send": TIME_OR_EMPTY,
        "industry_stats": obj({"type": STRING, **{name: NUMBER for name in (
            "open_rate", "click_rate", "bounce_rate", "unopen_rate", "unsub_rate", "abuse_rate")}}),
        "list_stats": obj({name: NUMBER for name in ("sub_rate", "unsub_rate", "open_rate", "click_rate")}),
        "ab_split": {"type": "object"},
        "timewarp": array({"type": "object"}),
        "share_report": obj({"share_url": STRING, "share_password": STRING}),
    },
)
REPORTS = obj({"reports": array(REPORT), "total_items": INTEGER, "_links": LINKS})

# https://mailchimp.com/developer/marketing/api/list-members/list-members-info/ and .../get-member-info/
MEMBER_STATUS = {"enum": ["subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived"]}
MEMBER = obj(
    {
        "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"}, "email_address": STRING, "unique_email_id": STRING,
        "contact_id": STRING, "full_name": STRING, "web_id": INTEGER, "email_type": STRING, "status": MEMBER_STATUS,
        "consents_to_one_to_one_messaging": BOOLEAN,
        "merge_fields": {"type": "object", "additionalProperties": {"type": ["string", "number", "object"]}},
        "stats": obj({"avg_open_rate": NUMBER, "avg_click_rate": NUMBER},
                     {"ecommerce_data": obj({"total_revenue": NUMBER, "number_of_orders": NUMBER,
                                             "currency_code": STRING})}),
        "ip_signup": STRING, "timestamp_signup": TIME_OR_EMPTY, "ip_opt": STRING, "timestamp_opt": TIME_OR_EMPTY,
        "member_rating": INTEGER, "last_changed": TIME_OR_EMPTY, "language": STRING, "vip": BOOLEAN,
        "email_client": STRING,
        "location": obj({"latitude": NUMBER, "longitude": NUMBER, "gmtoff": INTEGER, "dstoff": INTEGER,
                         "country_code": STRING, "timezone": STRING, "region": STRING}),
        "source": STRING, "tags_count": INTEGER, "tags": array(obj({"id": INTEGER, "name": STRING})),
        "list_id": STRING, "_links": LINKS,
    },
    {"unsubscribe_reason": STRING, "interests": {"type": "object", "additionalProperties": BOOLEAN},
     "marketing_permissions": array({"type": "object"}), "last_note": {"type": "object"}},
)
MEMBERS = obj({"members": array(MEMBER), "list_id": STRING, "total_items": INTEGER, "_links": LINKS})
