"""Google Analytics 4: the Data API resource and the raw GA4 report assets."""
