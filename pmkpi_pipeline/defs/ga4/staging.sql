-- GA4 staging views: the raw report tables without the response flags (those feed the raw checks).

CREATE OR REPLACE VIEW stg_ga4_traffic AS
SELECT date, channel, sessions, engaged_sessions, total_users, new_users,
       screen_page_views, average_session_duration, user_engagement_duration, key_events
FROM raw_ga4_traffic;

CREATE OR REPLACE VIEW stg_ga4_pages AS
SELECT date, page_path, screen_page_views, total_users, user_engagement_duration
FROM raw_ga4_pages;

CREATE OR REPLACE VIEW stg_ga4_events AS
SELECT date, event_name, event_count, total_users FROM raw_ga4_events;

CREATE OR REPLACE VIEW stg_ga4_totals AS
SELECT date, total_users, new_users, sessions, engaged_sessions, screen_page_views
FROM raw_ga4_totals;
