"""Code that defines no Dagster object: settings, the warehouse, retries, the anomaly detector, targets."""
