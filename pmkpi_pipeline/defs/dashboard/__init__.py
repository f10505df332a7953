"""The KPI dashboard: one self-contained HTML file a product marketer opens offline (asset ``kpi_dashboard``)."""
