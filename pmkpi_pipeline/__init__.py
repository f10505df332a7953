"""pmkpi_pipeline: product-marketing KPIs from GA4, Mailchimp, billing and marketing CSVs, on Dagster."""
