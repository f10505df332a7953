"""``raw_inputs``: marketing spend, social media stats and industry sales from the inputs folder.

Spend and social rows replace the run's partitions by their date; industry sales (monthly) are
replaced whole. A bad file stops the run before anything is written.
"""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from ...lib.warehouse import WarehouseResource, replace_rows
from ..common.metadata import add_daily_row_counts, table_metadata
from ..common.own_work import timed_body
from ..common.partitions import DAILY, SINGLE_RUN, partition_dates
from .resource import INDUSTRY_SALES, MARKETING_SPEND, SOCIAL_MEDIA, InputsFolder
from .tables import INPUTS_INDUSTRY_SALES, INPUTS_MARKETING_SPEND, INPUTS_SOCIAL_MEDIA

TABLES = (INPUTS_MARKETING_SPEND, INPUTS_SOCIAL_MEDIA, INPUTS_INDUSTRY_SALES)

@asset(
    partitions_def=DAILY,
    backfill_policy=SINGLE_RUN,
    group_name="raw_inputs",
    tags={"layer": "raw", "source": "inputs"},
    kinds={"csv", "duckdb"},
    metadata=table_metadata(TABLES),
    description="Marketing-input CSVs from PMKPI_INPUTS_DIR: marketing_spend.csv (date, channel, "
    "amount[, currency]), social_media.csv (date, network, impressions, engagements) and "
    "industry_sales.csv (month, market, total_sales[, currency]).",
)
@timed_body
def raw_inputs(context: AssetExecutionContext, inputs: InputsFolder, warehouse: WarehouseResource):
    """Validate the three CSVs and land the run's range of them."""
    start, end = partition_dates(context)
    spend = inputs.read(MARKETING_SPEND)
    social = inputs.read(SOCIAL_MEDIA)
    industry = inputs.read(INDUSTRY_SALES)
    in_range = lambda f: f[(f["date"] >= start) & (f["date"] <= end)]  # noqa: E731
    with warehouse.transaction() as con:
        counts = {
            INPUTS_MARKETING_SPEND.name: replace_rows(con, INPUTS_MARKETING_SPEND, in_range(spend), start, end,
                                                      source=MARKETING_SPEND.file),
            INPUTS_SOCIAL_MEDIA.name: replace_rows(con, INPUTS_SOCIAL_MEDIA, in_range(social), start, end,
                                                   source=SOCIAL_MEDIA.file),
            INPUTS_INDUSTRY_SALES.name: replace_rows(con, INPUTS_INDUSTRY_SALES, industry,
                                                     source=INDUSTRY_SALES.file),
        }
        add_daily_row_counts(context, con, TABLES, start, end)
    context.log.info(f"raw_inputs {start}..{end}: landed {counts}")
    return MaterializeResult(metadata={
        "partition_range": f"{start}..{end}",
        "rows": MetadataValue.json(counts),
        "folder": inputs.path,
    })
