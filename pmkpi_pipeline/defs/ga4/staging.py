"""``stg_ga4``: the GA4 staging views of ``staging.sql``, refreshed and counted per range."""

from ..common.staging import build_staging_asset

stg_ga4 = build_staging_asset("ga4", date_columns={
    "stg_ga4_traffic": "date", "stg_ga4_pages": "date", "stg_ga4_events": "date", "stg_ga4_totals": "date",
    "int_ga4_traffic_daily": "day", "stg_ga4_days": "date",
})
