"""The KPI layer: the catalog, one SQL formula module per family, the family assets and their checks."""
