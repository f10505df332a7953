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

-- Every GA4 day pulled (raw_ga4_days) and what its rows say. A day without any row is one of:
-- 'no_traffic'        GA4 writes no row for a day without a single event: its counts are a true 0;
-- 'outage'            but when the 7 days with data before it had a median of 20 sessions or more, a day
--                     without one session is implausible (P(0) of a Poisson count of mean 20 is 2e-9): it is
--                     a tracking outage, and its numbers are unknown (GA4 KPIs NULL, with this reason);
-- 'before_first_data' before the first day GA4 has any row for: the property did not collect yet (unknown).
-- Days with rows are 'data'. typical_sessions is that median (NULL before the first day with data).
CREATE OR REPLACE VIEW stg_ga4_days AS
WITH pulled AS (
    SELECT d.date, d.property_time_zone,
           d.traffic_rows + d.pages_rows + d.events_rows + d.totals_rows AS rows,
           coalesce(t.sessions, 0) AS sessions
    FROM raw_ga4_days d
    LEFT JOIN (SELECT date, sum(sessions) AS sessions FROM raw_ga4_totals GROUP BY date) t ON t.date = d.date),
first_data AS (SELECT min(date) FILTER (WHERE rows > 0) AS first_day FROM pulled),
judged AS (
    SELECT p.date, p.property_time_zone, p.rows, p.sessions, f.first_day,
           (SELECT median(b.sessions) FROM (SELECT x.sessions FROM pulled x WHERE x.rows > 0 AND x.date < p.date
                                            ORDER BY x.date DESC LIMIT 7) b) AS typical_sessions
    FROM pulled p CROSS JOIN first_data f)
SELECT date, property_time_zone, rows, sessions, typical_sessions,
       CASE WHEN rows > 0 THEN 'data'
            WHEN first_day IS NULL OR date < first_day THEN 'before_first_data'
            WHEN typical_sessions >= 20 THEN 'outage'
            ELSE 'no_traffic' END AS status,
       CASE WHEN rows > 0 THEN NULL
            WHEN first_day IS NULL OR date < first_day
                THEN 'no GA4 data on D: before the first day GA4 has data for (' || coalesce(CAST(first_day AS VARCHAR),
                     'none yet') || '), the property did not collect yet'
            WHEN typical_sessions >= 20
                THEN 'GA4 tracking outage on D: no rows at all, while the 7 days with data before it had a median of '
                     || CAST(round(typical_sessions) AS BIGINT) || ' sessions'
       END AS reason
FROM judged;
