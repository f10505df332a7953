-- Billing staging views: local dates in {timezone} (timestamps without a zone are UTC) and money in the
-- reporting currency (cents / 100 x the rate of its currency in stg_fx_rates; currency codes in any case, as
-- Stripe writes them in lower case, and a row without one in the reporting currency, as the currency audit reads them).
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
       p.billing_interval, COALESCE(NULLIF(upper(p.currency), ''), '{reporting_currency}') AS currency,
       p.amount_cents / 100.0 * fx.rate
         / CASE p.billing_interval WHEN 'month' THEN 1 WHEN 'quarter' THEN 3
                                 WHEN 'year' THEN 12 END
         * s.quantity AS mrr_amount
FROM raw_billing_subscriptions s
JOIN raw_billing_plans p ON p.id = s.plan_id
LEFT JOIN stg_fx_rates fx ON fx.currency = COALESCE(NULLIF(upper(p.currency), ''), '{reporting_currency}');

CREATE OR REPLACE VIEW stg_invoices AS
SELECT i.id AS invoice_id, i.customer_id, i.subscription_id, i.status,
       CAST(timezone('{timezone}', i.issued_at AT TIME ZONE 'UTC') AS DATE) AS issued_date,
       CAST(timezone('{timezone}', i.paid_at AT TIME ZONE 'UTC') AS DATE) AS paid_date,
       i.amount_cents / 100.0 * fx.rate AS amount,
       COALESCE(NULLIF(upper(i.currency), ''), '{reporting_currency}') AS currency
FROM raw_billing_invoices i
LEFT JOIN stg_fx_rates fx ON fx.currency = COALESCE(NULLIF(upper(i.currency), ''), '{reporting_currency}');

CREATE OR REPLACE VIEW stg_refunds AS
SELECT r.id AS refund_id, r.invoice_id, i.customer_id,
       CAST(timezone('{timezone}', r.created_at AT TIME ZONE 'UTC') AS DATE) AS created_date,
       r.amount_cents / 100.0 * fx.rate AS amount,
       COALESCE(NULLIF(upper(i.currency), ''), '{reporting_currency}') AS currency
FROM raw_billing_refunds r
JOIN raw_billing_invoices i ON i.id = r.invoice_id
LEFT JOIN stg_fx_rates fx ON fx.currency = COALESCE(NULLIF(upper(i.currency), ''), '{reporting_currency}');

CREATE OR REPLACE VIEW stg_survey_responses AS
SELECT id AS response_id, customer_id, survey, score, date AS responded_date
FROM raw_billing_survey_responses;

CREATE OR REPLACE VIEW stg_product_events AS
SELECT customer_id, event_name,
       CASE WHEN starts_with(event_name, 'feature_used:')
          THEN substr(event_name, 14) END AS feature,
       date AS occurred_date
FROM raw_billing_product_events;

-- Intermediate views: the billing building blocks the KPI formulas share, one concept each.

-- When each customer is active: D is in a span when span_start <= D < span_end ("active at the end of D").
-- A span is the union of the customer's overlapping or back-to-back subscriptions, so a customer's spans never
-- overlap; span_end is 9999-12-31 while a subscription is open.
CREATE OR REPLACE VIEW int_active_spans AS
WITH subscription_spans AS (
    SELECT customer_id, started_date AS span_start, coalesce(ended_date, DATE '9999-12-31') AS span_end
    FROM stg_subscriptions
    WHERE started_date IS NOT NULL AND coalesce(ended_date, DATE '9999-12-31') > started_date),
marked AS (
    -- a new span starts when no earlier subscription of the customer reaches this start
    SELECT *,
           CASE WHEN span_start <= max(span_end) OVER (
                    PARTITION BY customer_id ORDER BY span_start, span_end
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                THEN 0 ELSE 1 END AS opens_span
    FROM subscription_spans),
numbered AS (
    SELECT *, sum(opens_span) OVER (PARTITION BY customer_id ORDER BY span_start, span_end
                                    ROWS UNBOUNDED PRECEDING) AS span_no
    FROM marked)
SELECT customer_id, min(span_start) AS span_start, max(span_end) AS span_end
FROM numbered
GROUP BY customer_id, span_no;

-- Signed money events: a paid invoice counts +amount on its paid day, a refund -amount on its created day.
CREATE OR REPLACE VIEW int_revenue_events AS
SELECT customer_id, paid_date AS day, amount, 1 AS paid_invoices, 0 AS refunds
FROM stg_invoices
WHERE status = 'paid' AND paid_date IS NOT NULL
UNION ALL
SELECT customer_id, created_date AS day, -amount AS amount, 0 AS paid_invoices, 1 AS refunds
FROM stg_refunds;

-- Revenue per day (paid invoice amounts by paid day - refund amounts by refund day) and the counts behind it.
CREATE OR REPLACE VIEW int_revenue_daily AS
SELECT day, sum(amount) AS revenue, sum(paid_invoices) AS paid_invoices, sum(refunds) AS refunds
FROM int_revenue_events
GROUP BY day;

-- Customers created per local day.
CREATE OR REPLACE VIEW int_new_customers_daily AS
SELECT created_date AS day, count(*) AS new_customers
FROM stg_customers
GROUP BY created_date;
