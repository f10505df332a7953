"""Schemas of the raw tables: what each source lands, as received, one table per report/endpoint/table.

Event tables are partitioned by their date column (a local date in ``PMKPI_TIMEZONE``);
the billing state tables (customers, plans, subscriptions, invoices, refunds) are replaced whole
on each run, because their rows change after they are created (a subscription ends, an invoice
is paid) and a partition slice would keep stale copies.
"""

from __future__ import annotations

from .warehouse import TableSchema

_GA4_META = {
    "property_time_zone": "VARCHAR",
    "subject_to_thresholding": "BOOLEAN",
    "data_loss_from_other_row": "BOOLEAN",
    "sampled": "BOOLEAN",
}

GA4_TRAFFIC = TableSchema("raw_ga4_traffic", {
    "date": "DATE", "channel": "VARCHAR", "sessions": "BIGINT", "engaged_sessions": "BIGINT",
    "total_users": "BIGINT", "new_users": "BIGINT", "screen_page_views": "BIGINT",
    "average_session_duration": "DOUBLE", "user_engagement_duration": "DOUBLE",
    "key_events": "DOUBLE", **_GA4_META,
})
GA4_PAGES = TableSchema("raw_ga4_pages", {
    "date": "DATE", "page_path": "VARCHAR", "screen_page_views": "BIGINT", "total_users": "BIGINT",
    "user_engagement_duration": "DOUBLE", **_GA4_META,
})
GA4_EVENTS = TableSchema("raw_ga4_events", {
    "date": "DATE", "event_name": "VARCHAR", "event_count": "BIGINT", "total_users": "BIGINT",
    **_GA4_META,
})
GA4_TOTALS = TableSchema("raw_ga4_totals", {
    "date": "DATE", "total_users": "BIGINT", "new_users": "BIGINT", "sessions": "BIGINT",
    "engaged_sessions": "BIGINT", "screen_page_views": "BIGINT", **_GA4_META,
})

MAILCHIMP_CAMPAIGNS = TableSchema("raw_mailchimp_campaigns", {
    "send_date": "DATE", "campaign_id": "VARCHAR", "list_id": "VARCHAR", "send_time": "TIMESTAMP",
    "type": "VARCHAR", "title": "VARCHAR", "status": "VARCHAR",
}, partition_column="send_date")
MAILCHIMP_REPORTS = TableSchema("raw_mailchimp_reports", {
    "send_date": "DATE", "campaign_id": "VARCHAR", "list_id": "VARCHAR", "send_time": "TIMESTAMP",
    "emails_sent": "BIGINT", "unique_opens": "BIGINT", "opens_total": "BIGINT",
    "proxy_excluded_unique_opens": "BIGINT", "unique_subscriber_clicks": "BIGINT",
    "clicks_total": "BIGINT", "hard_bounces": "BIGINT", "soft_bounces": "BIGINT",
    "unsubscribed": "BIGINT", "abuse_reports": "BIGINT",
}, partition_column="send_date")
MAILCHIMP_LIST_ACTIVITY = TableSchema("raw_mailchimp_list_activity", {
    "date": "DATE", "list_id": "VARCHAR", "emails_sent": "BIGINT", "unique_opens": "BIGINT",
    "recipient_clicks": "BIGINT", "hard_bounce": "BIGINT", "soft_bounce": "BIGINT",
    "subs": "BIGINT", "unsubs": "BIGINT", "other_adds": "BIGINT", "other_removes": "BIGINT",
})

BILLING_CUSTOMERS = TableSchema("raw_billing_customers", {
    "id": "BIGINT", "email": "VARCHAR", "created_at": "TIMESTAMP", "activated_at": "TIMESTAMP",
    "acquisition_channel": "VARCHAR", "country": "VARCHAR",
}, partition_column=None)
BILLING_PLANS = TableSchema("raw_billing_plans", {
    "id": "BIGINT", "name": "VARCHAR", "billing_interval": "VARCHAR", "amount_cents": "BIGINT",
    "currency": "VARCHAR",
}, partition_column=None)
BILLING_SUBSCRIPTIONS = TableSchema("raw_billing_subscriptions", {
    "id": "BIGINT", "customer_id": "BIGINT", "plan_id": "BIGINT", "quantity": "BIGINT",
    "status": "VARCHAR", "started_at": "TIMESTAMP", "ended_at": "TIMESTAMP",
}, partition_column=None)
BILLING_INVOICES = TableSchema("raw_billing_invoices", {
    "id": "BIGINT", "customer_id": "BIGINT", "subscription_id": "BIGINT", "issued_at": "TIMESTAMP",
    "paid_at": "TIMESTAMP", "amount_cents": "BIGINT", "currency": "VARCHAR", "status": "VARCHAR",
}, partition_column=None)
BILLING_REFUNDS = TableSchema("raw_billing_refunds", {
    "id": "BIGINT", "invoice_id": "BIGINT", "created_at": "TIMESTAMP", "amount_cents": "BIGINT",
}, partition_column=None)
BILLING_SURVEY_RESPONSES = TableSchema("raw_billing_survey_responses", {
    "date": "DATE", "id": "BIGINT", "customer_id": "BIGINT", "survey": "VARCHAR", "score": "DOUBLE",
    "responded_at": "TIMESTAMP",
})
BILLING_PRODUCT_EVENTS = TableSchema("raw_billing_product_events", {
    "date": "DATE", "id": "BIGINT", "customer_id": "BIGINT", "event_name": "VARCHAR",
    "occurred_at": "TIMESTAMP",
})

INPUTS_MARKETING_SPEND = TableSchema("raw_inputs_marketing_spend", {
    "date": "DATE", "channel": "VARCHAR", "amount": "DOUBLE", "currency": "VARCHAR",
    "source_line": "BIGINT",
})
INPUTS_SOCIAL_MEDIA = TableSchema("raw_inputs_social_media", {
    "date": "DATE", "network": "VARCHAR", "impressions": "BIGINT", "engagements": "BIGINT",
    "source_line": "BIGINT",
})
INPUTS_INDUSTRY_SALES = TableSchema("raw_inputs_industry_sales", {
    "month": "VARCHAR", "market": "VARCHAR", "total_sales": "DOUBLE", "currency": "VARCHAR",
    "source_line": "BIGINT",
}, partition_column=None)
