"""The raw GA4 tables: one per report, as received, partitioned by ``date`` (the property's day), with the
response flags (time zone, thresholding, "(other)"-row loss, sampling) on every row.
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

