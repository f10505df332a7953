"""``stg_inputs``: the marketing-input staging views of ``staging.sql``; every money row needs a rate."""

from ..common.staging import build_staging_asset

stg_inputs = build_staging_asset(
    "inputs",
    date_columns={"stg_marketing_spend": "date", "stg_social_media": "date", "stg_industry_sales_daily": "date",
                  "int_spend_daily": "day"},
    currency_audits=[
        ("marketing_spend.csv", "SELECT 'line ' || source_line, currency FROM raw_inputs_marketing_spend"),
        ("industry_sales.csv", "SELECT 'line ' || source_line, currency FROM raw_inputs_industry_sales"),
    ],
)
