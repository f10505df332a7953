-- Billing staging views: local dates in {timezone} (timestamps without a zone are UTC) and money in the
-- reporting currency (cents / 100 x the rate of its currency in stg_fx_rates).
-- Placeholders filled in when the views are (re)created: {timezone} (PMKPI_TIMEZONE) and
-- {reporting_currency} (PMKPI_REPORTING_CURRENCY).

CREATE OR REPLACE VIEW stg_customers AS
SELECT id AS customer_id, email, created_at, CAST(timezone('{timezone}', created_at AT TIME ZONE 'UTC') AS DATE) AS created_date,
       activated_at, CAST(timezone('{timezone}', activated_at AT TIME ZONE 'UTC') AS DATE) AS activated_date,
       acquisition_channel, country
FROM raw_billing_customers;

CREATE OR REPLACE VIEW stg_subscriptions AS
SELECT s.id AS subscription_id, s.customer_id, s.plan_id, s.quantity, s.status,
       CAST(timezone('{timezone}', s.started_at AT TIME ZONE 'UTC') AS DATE) AS started_date,
       CAST(timezone('{timezone}', s.ended_at AT TIME ZONE 'UTC') AS DATE) AS ended_date,
       p.billing_interval, p.currency,
       p.amount_cents / 100.0 * fx.rate
         / CASE p.billing_interval WHEN 'month' THEN 1 WHEN 'quarter' THEN 3
                                 WHEN 'year' THEN 12 END
         * s.quantity AS mrr_amount
FROM raw_billing_subscriptions s
JOIN raw_billing_plans p ON p.id = s.plan_id
LEFT JOIN stg_fx_rates fx ON fx.currency = p.currency;

CREATE OR REPLACE VIEW stg_invoices AS
SELECT i.id AS invoice_id, i.customer_id, i.subscription_id, i.status,
       CAST(timezone('{timezone}', i.issued_at AT TIME ZONE 'UTC') AS DATE) AS issued_date,
       CAST(timezone('{timezone}', i.paid_at AT TIME ZONE 'UTC') AS DATE) AS paid_date,
       i.amount_cents / 100.0 * fx.rate AS amount, i.currency
FROM raw_billing_invoices i
LEFT JOIN stg_fx_rates fx ON fx.currency = i.currency;

CREATE OR REPLACE VIEW stg_refunds AS
SELECT r.id AS refund_id, r.invoice_id, i.customer_id,
       CAST(timezone('{timezone}', r.created_at AT TIME ZONE 'UTC') AS DATE) AS created_date,
       r.amount_cents / 100.0 * fx.rate AS amount, i.currency
FROM raw_billing_refunds r
JOIN raw_billing_invoices i ON i.id = r.invoice_id
LEFT JOIN stg_fx_rates fx ON fx.currency = i.currency;

CREATE OR REPLACE VIEW stg_survey_responses AS
SELECT id AS response_id, customer_id, survey, score, date AS responded_date
FROM raw_billing_survey_responses;

CREATE OR REPLACE VIEW stg_product_events AS
SELECT customer_id, event_name,
       CASE WHEN starts_with(event_name, 'feature_used:')
          THEN substr(event_name, 14) END AS feature,
       date AS occurred_date
FROM raw_billing_product_events;
