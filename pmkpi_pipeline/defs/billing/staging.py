"""``stg_billing``: the billing staging views of ``staging.sql``; every plan and invoice currency needs a rate."""

from ..common.staging import build_staging_asset

stg_billing = build_staging_asset(
    "billing",
    date_columns={
        "stg_customers": "created_date", "stg_subscriptions": "started_date", "stg_invoices": "issued_date",
        "stg_refunds": "created_date", "stg_survey_responses": "responded_date",
        "stg_product_events": "occurred_date",
        "int_active_spans": None, "int_revenue_events": "day", "int_revenue_daily": "day",
        "int_new_customers_daily": "day",
    },
    currency_audits=[
        ("billing plans", "SELECT 'plan ' || id, currency FROM raw_billing_plans"),
        ("billing invoices", "SELECT 'invoice ' || id, currency FROM raw_billing_invoices"),
    ],
)
