"""Staging: typed, renamed views over the raw tables — the only input of the KPI formulas.

After staging nobody parses a timestamp again: every event carries a local ``*_date`` in
``PMKPI_TIMEZONE`` (billing timestamps without a zone are UTC), and every money column is an
amount in the reporting currency (cents ÷ 100 × the configured rate of its currency, from the
``stg_fx_rates`` table).
"""

from __future__ import annotations


def _local_date(column: str, tz: str) -> str:
    return f"CAST(timezone('{tz}', {column} AT TIME ZONE 'UTC') AS DATE)"


def staging_views(tz: str, reporting_currency: str) -> dict[str, dict[str, str]]:
    """SQL of every staging view by source then view name; days bucketed in ``tz``.

    Input rows without a currency are in ``reporting_currency``.
    """
    tz = tz.replace("'", "")
    default_ccy = reporting_currency.replace("'", "")
    return {"ga4": {
        "stg_ga4_traffic": """
            SELECT date, channel, sessions, engaged_sessions, total_users, new_users,
                   screen_page_views, average_session_duration, user_engagement_duration, key_events
            FROM raw_ga4_traffic""",
        "stg_ga4_pages": """
            SELECT date, page_path, screen_page_views, total_users, user_engagement_duration
            FROM raw_ga4_pages""",
        "stg_ga4_events": "SELECT date, event_name, event_count, total_users FROM raw_ga4_events",
        "stg_ga4_totals": """
            SELECT date, total_users, new_users, sessions, engaged_sessions, screen_page_views
            FROM raw_ga4_totals""",
    }, "mailchimp": {
        "stg_mailchimp_reports": """
            SELECT campaign_id, list_id, send_date, send_time, emails_sent, unique_opens,
                   opens_total, proxy_excluded_unique_opens, unique_subscriber_clicks,
                   clicks_total, hard_bounces, soft_bounces, unsubscribed, abuse_reports
            FROM raw_mailchimp_reports""",
        "stg_mailchimp_list_activity": """
            SELECT date, list_id, subs, other_adds, unsubs, other_removes, emails_sent,
                   unique_opens, recipient_clicks, hard_bounce, soft_bounce
            FROM raw_mailchimp_list_activity""",
    }, "billing": {
        "stg_customers": f"""
            SELECT id AS customer_id, email, created_at, {_local_date('created_at', tz)} AS created_date,
                   activated_at, {_local_date('activated_at', tz)} AS activated_date,
                   acquisition_channel, country
            FROM raw_billing_customers""",
        "stg_subscriptions": f"""
            SELECT s.id AS subscription_id, s.customer_id, s.plan_id, s.quantity, s.status,
                   {_local_date('s.started_at', tz)} AS started_date,
                   {_local_date('s.ended_at', tz)} AS ended_date,
                   p.billing_interval, p.currency,
                   p.amount_cents / 100.0 * fx.rate
                     / CASE p.billing_interval WHEN 'month' THEN 1 WHEN 'quarter' THEN 3
                                               WHEN 'year' THEN 12 END
                     * s.quantity AS mrr_amount
            FROM raw_billing_subscriptions s
            JOIN raw_billing_plans p ON p.id = s.plan_id
            LEFT JOIN stg_fx_rates fx ON fx.currency = p.currency""",
        "stg_invoices": f"""
            SELECT i.id AS invoice_id, i.customer_id, i.subscription_id, i.status,
                   {_local_date('i.issued_at', tz)} AS issued_date,
                   {_local_date('i.paid_at', tz)} AS paid_date,
                   i.amount_cents / 100.0 * fx.rate AS amount, i.currency
            FROM raw_billing_invoices i
            LEFT JOIN stg_fx_rates fx ON fx.currency = i.currency""",
        "stg_refunds": f"""
            SELECT r.id AS refund_id, r.invoice_id, i.customer_id,
                   {_local_date('r.created_at', tz)} AS created_date,
                   r.amount_cents / 100.0 * fx.rate AS amount, i.currency
            FROM raw_billing_refunds r
            JOIN raw_billing_invoices i ON i.id = r.invoice_id
            LEFT JOIN stg_fx_rates fx ON fx.currency = i.currency""",
        "stg_survey_responses": """
            SELECT id AS response_id, customer_id, survey, score, date AS responded_date
            FROM raw_billing_survey_responses""",
        "stg_product_events": """
            SELECT customer_id, event_name,
                   CASE WHEN starts_with(event_name, 'feature_used:')
                        THEN substr(event_name, 14) END AS feature,
                   date AS occurred_date
            FROM raw_billing_product_events""",
    }, "inputs": {
        "stg_marketing_spend": f"""
            SELECT s.date, s.channel, s.amount * fx.rate AS amount
            FROM raw_inputs_marketing_spend s
            LEFT JOIN stg_fx_rates fx ON fx.currency = COALESCE(NULLIF(upper(s.currency), ''), '{default_ccy}')""",
        "stg_social_media": """
            SELECT date, network, impressions, engagements FROM raw_inputs_social_media""",
        "stg_industry_sales_daily": f"""
            WITH months AS (
                SELECT CAST(strptime(month, '%Y-%m') AS DATE) AS month_start, market,
                       total_sales * fx.rate AS total_sales
                FROM raw_inputs_industry_sales s
                LEFT JOIN stg_fx_rates fx
                  ON fx.currency = COALESCE(NULLIF(upper(s.currency), ''), '{default_ccy}'))
            SELECT CAST(d.day AS DATE) AS date, m.market,
                   m.total_sales / day(last_day(m.month_start)) AS daily_sales
            FROM months m,
                 LATERAL generate_series(m.month_start, last_day(m.month_start), INTERVAL 1 DAY)
                   AS d(day)""",
    }}
