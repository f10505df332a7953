"""The KPI layer: the catalog, the formulas per family, and the assets and checks built from them."""
