"""Jobs: one for everything, one per layer, and one for the checks alone.

Every job covers a range of daily partitions in ONE run (the assets' single-run backfill policy).
"""

from dagster import AssetSelection, define_asset_job

RAW_GROUPS = ("raw_ga4", "raw_mailchimp", "raw_billing", "raw_inputs")

everything_job = define_asset_job(
    "pmkpi_all", selection=AssetSelection.all(include_sources=False),
    description="Every raw, staging and KPI asset with their checks, for the selected partitions.",
)
raw_job = define_asset_job(
    "pmkpi_raw", selection=AssetSelection.groups(*RAW_GROUPS),
    description="Raw layer: pull every source for the selected partitions (with the raw checks).",
)
staging_job = define_asset_job(
    "pmkpi_staging", selection=AssetSelection.groups("staging"),
    description="Staging layer: refresh the typed views and validate the selected partitions "
    "(reads what the raw layer already holds).",
)
kpi_job = define_asset_job(
    "pmkpi_kpis", selection=AssetSelection.groups("kpis"),
    description="KPI layer: compute the KPI families (with their checks) from the staging views.",
)
checks_job = define_asset_job(
    "pmkpi_checks", selection=AssetSelection.all_asset_checks(),
    description="Every asset check, without materialising anything: re-evaluates what the warehouse "
    "holds for the selected partitions (raw rows every day, GA4 quality, KPI bounds/anomaly/target).",
)
