"""The raw Mailchimp tables: campaigns and campaign reports by local send date, daily list activity, and
list members by the local day they became leads.
"""

from ...lib.warehouse import WarehouseTable

MAILCHIMP_CAMPAIGNS = WarehouseTable("raw_mailchimp_campaigns", {
    "send_date": "DATE", "campaign_id": "VARCHAR", "list_id": "VARCHAR", "send_time": "TIMESTAMP",
    "type": "VARCHAR", "title": "VARCHAR", "status": "VARCHAR", "parent_campaign_id": "VARCHAR",
}, partition_column="send_date")

MAILCHIMP_REPORTS = WarehouseTable("raw_mailchimp_reports", {
    "send_date": "DATE", "campaign_id": "VARCHAR", "list_id": "VARCHAR", "send_time": "TIMESTAMP",
    "emails_sent": "BIGINT", "unique_opens": "BIGINT", "opens_total": "BIGINT",
    "proxy_excluded_unique_opens": "BIGINT", "unique_subscriber_clicks": "BIGINT",
    "clicks_total": "BIGINT", "hard_bounces": "BIGINT", "soft_bounces": "BIGINT",
    "unsubscribed": "BIGINT", "abuse_reports": "BIGINT",
}, partition_column="send_date")

MAILCHIMP_LIST_ACTIVITY = WarehouseTable("raw_mailchimp_list_activity", {
    "date": "DATE", "list_id": "VARCHAR", "emails_sent": "BIGINT", "unique_opens": "BIGINT",
    "recipient_clicks": "BIGINT", "hard_bounce": "BIGINT", "soft_bounce": "BIGINT",
    "subs": "BIGINT", "unsubs": "BIGINT", "other_adds": "BIGINT", "other_removes": "BIGINT",
})


MAILCHIMP_MEMBERS = WarehouseTable("raw_mailchimp_members", {
    "date": "DATE", "list_id": "VARCHAR", "member_id": "VARCHAR", "status": "VARCHAR", "source": "VARCHAR",
    "timestamp_opt": "TIMESTAMP", "timestamp_signup": "TIMESTAMP", "last_changed": "TIMESTAMP",
})
"""One row per list member dated by the local day of ``timestamp_opt``, else ``timestamp_signup`` (KPI_SPEC
"Leads"); times naive UTC, NULL where Mailchimp has none. No e-mail address is landed (``member_id`` is its hash)."""
