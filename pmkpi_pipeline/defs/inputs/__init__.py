"""Marketing-input CSVs: the folder resource, CSV validation, the raw inputs asset and tables, staging SQL
and raw checks."""
