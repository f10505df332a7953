-- Mailchimp staging views: campaign reports and daily list activity, typed as landed.

CREATE OR REPLACE VIEW stg_mailchimp_reports AS
SELECT campaign_id, list_id, send_date, send_time, emails_sent, unique_opens,
       opens_total, proxy_excluded_unique_opens, unique_subscriber_clicks,
       clicks_total, hard_bounces, soft_bounces, unsubscribed, abuse_reports
FROM raw_mailchimp_reports;

CREATE OR REPLACE VIEW stg_mailchimp_list_activity AS
SELECT date, list_id, subs, other_adds, unsubs, other_removes, emails_sent,
       unique_opens, recipient_clicks, hard_bounce, soft_bounce
FROM raw_mailchimp_list_activity;

-- Intermediate view: new leads (subs + other_adds) per day, all lists.
CREATE OR REPLACE VIEW int_leads_daily AS
SELECT date AS day, sum(coalesce(subs, 0) + coalesce(other_adds, 0)) AS leads
FROM stg_mailchimp_list_activity
GROUP BY date;
