"""Marketing-input CSVs: the folder resource, CSV validation and the raw inputs asset."""
