"""Google Analytics 4: the Data API resource and the raw GA4 report assets."""

LOOKBACK_DAYS = 3
"""GA4 numbers settle for about 72 hours: the daily schedule re-pulls this many days before
yesterday, and a re-pull that changes a number older than this is recorded as a settled change."""
