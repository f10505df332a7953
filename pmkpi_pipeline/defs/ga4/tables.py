"""The raw GA4 tables: one per report, as received, partitioned by ``date`` (the property's day), with the
response flags (time zone, thresholding, "(other)"-row loss, sampling) on every row; the days each pull
covered (``raw_ga4_days``) and the rows GA4 dated ``(other)`` (``raw_ga4_other_dates``).
"""

from ...lib.warehouse import WarehouseTable

_GA4_META = {
    "property_time_zone": "VARCHAR",
    "subject_to_thresholding": "BOOLEAN",
    "data_loss_from_other_row": "BOOLEAN",
    "sampled": "BOOLEAN",
}

GA4_TRAFFIC = WarehouseTable("raw_ga4_traffic", {
    "date": "DATE", "channel": "VARCHAR", "sessions": "BIGINT", "engaged_sessions": "BIGINT",
    "total_users": "BIGINT", "new_users": "BIGINT", "screen_page_views": "BIGINT",
    "average_session_duration": "DOUBLE", "user_engagement_duration": "DOUBLE",
    "key_events": "DOUBLE", **_GA4_META,
})
GA4_PAGES = WarehouseTable("raw_ga4_pages", {
    "date": "DATE", "page_path": "VARCHAR", "screen_page_views": "BIGINT", "total_users": "BIGINT",
    "user_engagement_duration": "DOUBLE", **_GA4_META,
})
GA4_EVENTS = WarehouseTable("raw_ga4_events", {
    "date": "DATE", "event_name": "VARCHAR", "event_count": "BIGINT", "total_users": "BIGINT",
    **_GA4_META,
})
GA4_TOTALS = WarehouseTable("raw_ga4_totals", {
    "date": "DATE", "total_users": "BIGINT", "new_users": "BIGINT", "sessions": "BIGINT",
    "engaged_sessions": "BIGINT", "screen_page_views": "BIGINT", **_GA4_META,
})

GA4_DAYS = WarehouseTable("raw_ga4_days", {
    "date": "DATE", "property_time_zone": "VARCHAR", "traffic_rows": "BIGINT", "pages_rows": "BIGINT",
    "events_rows": "BIGINT", "totals_rows": "BIGINT",
})
"""Every day a pull covered, with GA4's time zone and its rows per report — also a day GA4 had no rows for,
so that a day without data and a day never pulled differ (``stg_ga4_days`` says why a day is empty)."""
GA4_OTHER_DATES = WarehouseTable("raw_ga4_other_dates", {
    "range_start": "DATE", "range_end": "DATE", "report": "VARCHAR", "dimensions": "VARCHAR", "metrics": "VARCHAR",
    "property_time_zone": "VARCHAR",
}, partition_column=None)
"""Rows GA4 folded into a ``date`` of ``(other)``: they belong to the pulled range, not to a day, so they are
kept apart (dimensions and metrics as JSON) and replaced by the next pull whose range overlaps theirs. The
table exists once GA4 first sent such a row."""
