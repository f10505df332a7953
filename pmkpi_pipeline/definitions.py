"""The code location: assets, checks, resources, jobs and schedules merged into one ``Definitions``.

Resources are configured from the ``PMKPI_*`` variables (``EnvVar`` for every secret that is
set, so its value never appears in run config); settings are validated as the location loads,
so a malformed variable fails here with its name rather than mid-run.
"""

import os

from dagster import (
    AssetSelection, DefaultScheduleStatus, Definitions, EnvVar, RunRequest, ScheduleEvaluationContext,
    define_asset_job, in_process_executor, schedule,
)

from . import settings
from .defs.billing.assets import raw_billing
from .defs.billing.resource import BillingDatabase
from .defs.ga4.assets import raw_ga4
from .defs.ga4.resource import GA4Resource
from .defs.inputs.assets import raw_inputs
from .defs.inputs.resource import InputsFolder
from .defs.mailchimp.assets import raw_mailchimp
from .defs.mailchimp.resource import MailchimpResource
from .defs.raw_checks import RAW_CHECKS
from .defs.staging.assets import STAGING_ASSETS
from .kpis.assets import KPI_ASSETS
from .kpis.checks import KPI_CHECKS
from .partitions import DAILY
from .warehouse import WarehouseResource

SCHEDULE_LOOKBACK_DAYS = 3


def _secret(name: str, default: str | None):
    """``EnvVar(name)`` when the variable is set (resolved at run time, never shown), else the default."""
    return EnvVar(name) if os.environ.get(name, "").strip() else default


def build_resources() -> dict:
    """Every resource, from the configuration contract (validated here)."""
    settings.billing_db_url()  # validate the URL's form now, with the variable's name
    return {
        "warehouse": WarehouseResource(path=str(settings.warehouse_path())),
        "ga4": GA4Resource(
            property_id=settings.ga4_property_id(),
            endpoint=settings.ga4_endpoint(),
            credentials_file=_secret("GOOGLE_APPLICATION_CREDENTIALS", None),
        ),
        "mailchimp": MailchimpResource(
            api_key=_secret("PMKPI_MAILCHIMP_API_KEY", settings.DEMO_MAILCHIMP_API_KEY),
            base_url=settings.mailchimp_base_url(),
        ),
        "billing": BillingDatabase(url=_secret("PMKPI_BILLING_DB_URL", settings.billing_db_url())),
        "inputs": InputsFolder(path=str(settings.inputs_dir())),
    }


everything_job = define_asset_job(
    "pmkpi_all", selection=AssetSelection.all(include_sources=False),
    description="Every raw, staging and KPI asset with their checks, for the selected partitions.",
)
raw_job = define_asset_job("pmkpi_raw", selection=AssetSelection.groups(
    "raw_ga4", "raw_mailchimp", "raw_billing", "raw_inputs"),
    description="Only the raw layer: pull every source for the selected partitions.")
kpi_job = define_asset_job("pmkpi_kpis", selection=AssetSelection.groups("staging", "kpis"),
                           description="Staging and KPIs (with checks) from what the raw layer already holds.")


@schedule(job=everything_job, cron_schedule="0 6 * * *", execution_timezone=settings.timezone(),
          default_status=DefaultScheduleStatus.STOPPED)
def daily_refresh(context: ScheduleEvaluationContext):
    """Every morning: yesterday's partition plus a lookback of days whose source numbers still settle."""
    keys = DAILY.get_partition_keys(current_time=context.scheduled_execution_time)
    if not keys:
        return
    window = keys[-SCHEDULE_LOOKBACK_DAYS - 1:]
    yield RunRequest(
        run_key=window[-1],
        tags={"dagster/asset_partition_range_start": window[0], "dagster/asset_partition_range_end": window[-1]},
    )


defs = Definitions(
    assets=[raw_ga4, raw_mailchimp, raw_billing, raw_inputs, *STAGING_ASSETS, *KPI_ASSETS],
    asset_checks=[*RAW_CHECKS, *KPI_CHECKS],
    jobs=[everything_job, raw_job, kpi_job],
    schedules=[daily_refresh],
    resources=build_resources(),
    executor=in_process_executor,
)
