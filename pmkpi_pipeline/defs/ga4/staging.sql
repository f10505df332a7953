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

-- Intermediate view: traffic per day summed over channels (sessions and page views are additive over channels;
-- users are not, see stg_ga4_totals). session_seconds = sum of averageSessionDuration x sessions.
CREATE OR REPLACE VIEW int_ga4_traffic_daily AS
SELECT date AS day,
       sum(sessions) AS sessions,
       sum(engaged_sessions) AS engaged_sessions,
       sum(screen_page_views) AS screen_page_views,
       sum(average_session_duration * sessions) AS session_seconds
FROM stg_ga4_traffic
GROUP BY date;
