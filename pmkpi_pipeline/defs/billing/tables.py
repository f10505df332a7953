"""The raw billing tables. The state tables (customers, plans, subscriptions, invoices, refunds) are
replaced whole on each run, because their rows change after they are created (a subscription ends,
an invoice is paid) and a partition slice would keep stale copies; the event tables are partitioned
by the local date of their timestamp.
"""

from ...lib.warehouse import WarehouseTable

BILLING_CUSTOMERS = WarehouseTable("raw_billing_customers", {
    "id": "BIGINT", "email": "VARCHAR", "created_at": "TIMESTAMP", "activated_at": "TIMESTAMP",
    "acquisition_channel": "VARCHAR", "country": "VARCHAR",
}, partition_column=None)

BILLING_PLANS = WarehouseTable("raw_billing_plans", {
    "id": "BIGINT", "name": "VARCHAR", "billing_interval": "VARCHAR", "amount_cents": "BIGINT",
    "currency": "VARCHAR",
}, partition_column=None)

BILLING_SUBSCRIPTIONS = WarehouseTable("raw_billing_subscriptions", {
    "id": "BIGINT", "customer_id": "BIGINT", "plan_id": "BIGINT", "quantity": "BIGINT",
    "status": "VARCHAR", "started_at": "TIMESTAMP", "ended_at": "TIMESTAMP",
}, partition_column=None)

BILLING_INVOICES = WarehouseTable("raw_billing_invoices", {
    "id": "BIGINT", "customer_id": "BIGINT", "subscription_id": "BIGINT", "issued_at": "TIMESTAMP",
    "paid_at": "TIMESTAMP", "amount_cents": "BIGINT", "currency": "VARCHAR", "status": "VARCHAR",
}, partition_column=None)

BILLING_REFUNDS = WarehouseTable("raw_billing_refunds", {
    "id": "BIGINT", "invoice_id": "BIGINT", "created_at": "TIMESTAMP", "amount_cents": "BIGINT",
}, partition_column=None)

BILLING_SURVEY_RESPONSES = WarehouseTable("raw_billing_survey_responses", {
    "date": "DATE", "id": "BIGINT", "customer_id": "BIGINT", "survey": "VARCHAR", "score": "DOUBLE",
    "responded_at": "TIMESTAMP",
})

BILLING_PRODUCT_EVENTS = WarehouseTable("raw_billing_product_events", {
    "date": "DATE", "id": "BIGINT", "customer_id": "BIGINT", "event_name": "VARCHAR",
    "occurred_at": "TIMESTAMP",
})

