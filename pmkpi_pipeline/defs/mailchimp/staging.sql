-- Mailchimp staging views: campaign reports, daily list activity and list members, typed as landed.

CREATE OR REPLACE VIEW stg_mailchimp_reports AS
SELECT campaign_id, list_id, send_date, send_time, emails_sent, unique_opens,
       opens_total, proxy_excluded_unique_opens, unique_subscriber_clicks,
       clicks_total, hard_bounces, soft_bounces, unsubscribed, abuse_reports
FROM raw_mailchimp_reports;

CREATE OR REPLACE VIEW stg_mailchimp_list_activity AS
SELECT date, list_id, subs, other_adds, unsubs, other_removes, emails_sent,
       unique_opens, recipient_clicks, hard_bounce, soft_bounce
FROM raw_mailchimp_list_activity;

-- One row per list member, dated by the local day they became a lead (timestamp_opt, else
-- timestamp_signup); opted_in is false for sign-ups never confirmed (the activity does not count them).
CREATE OR REPLACE VIEW stg_mailchimp_members AS
SELECT date, list_id, member_id, status, source, timestamp_opt, timestamp_signup, last_changed,
       timestamp_opt IS NOT NULL AS opted_in
FROM raw_mailchimp_members;

-- Intermediate view: new leads per day (KPI_SPEC "Leads"): members of every list by the local day of
-- their opt-in or sign-up, whatever their status now.
CREATE OR REPLACE VIEW int_leads_daily AS
SELECT date AS day, count(*) AS leads
FROM stg_mailchimp_members
GROUP BY date;
