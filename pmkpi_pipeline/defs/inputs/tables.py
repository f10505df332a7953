"""The raw marketing-input tables: spend and social stats by date, industry sales by month (replaced whole).
"""

from ...lib.warehouse import WarehouseTable

INPUTS_MARKETING_SPEND = WarehouseTable("raw_inputs_marketing_spend", {
    "date": "DATE", "channel": "VARCHAR", "amount": "DOUBLE", "currency": "VARCHAR",
    "source_line": "BIGINT",
})

INPUTS_SOCIAL_MEDIA = WarehouseTable("raw_inputs_social_media", {
    "date": "DATE", "network": "VARCHAR", "impressions": "BIGINT", "engagements": "BIGINT",
    "source_line": "BIGINT",
})

INPUTS_INDUSTRY_SALES = WarehouseTable("raw_inputs_industry_sales", {
    "month": "VARCHAR", "market": "VARCHAR", "total_sales": "DOUBLE", "currency": "VARCHAR",
    "source_line": "BIGINT",
}, partition_column=None)
