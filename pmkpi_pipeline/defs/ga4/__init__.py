"""Google Analytics 4: the Data API resource, the raw report assets and tables, staging SQL and raw checks."""
