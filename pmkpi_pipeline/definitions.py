"""The code location: assets, checks, resources, jobs, schedules and sensors merged into one ``Definitions``.

Resources are configured from the ``PMKPI_*`` variables (``EnvVar`` for every secret that is
set, so its value never appears in run config); settings are validated as the location loads,
so a malformed variable fails here with its name rather than mid-run. Jobs, schedules, alert
sensors and the UI annotations (owners, tags) live in :mod:`pmkpi_pipeline.defs.operations`.
"""

import os

from dagster import Definitions, EnvVar, in_process_executor

from . import settings
from .defs.billing.assets import raw_billing
from .defs.billing.resource import BillingDatabase
from .defs.ga4.assets import raw_ga4
from .defs.ga4.resource import GA4Resource
from .defs.inputs.assets import raw_inputs
from .defs.inputs.resource import InputsFolder
from .defs.mailchimp.assets import raw_mailchimp
from .defs.mailchimp.resource import MailchimpResource
from .defs.operations.alerts import SENSORS
from .defs.operations.catalog_ui import annotate
from .defs.operations.config import alert_webhook_url
from .defs.operations.schedules import JOBS, SCHEDULES
from .defs.raw_checks import RAW_CHECKS
from .defs.staging.assets import STAGING_ASSETS
from .kpis.assets import KPI_ASSETS
from .kpis.checks import KPI_CHECKS
from .warehouse import WarehouseResource


def _secret(name: str, default: str | None):
    """``EnvVar(name)`` when the variable is set (resolved at run time, never shown), else the default."""
    return EnvVar(name) if os.environ.get(name, "").strip() else default


def build_resources() -> dict:
    """Every resource, from the configuration contract (validated here)."""
    settings.validate()  # every PMKPI_* variable, now, with its name in any error
    return {
        "warehouse": WarehouseResource(path=str(settings.warehouse_path())),
        "ga4": GA4Resource(
            property_id=settings.ga4_property_id(),
            endpoint=settings.ga4_endpoint(),
            credentials_file=_secret("GOOGLE_APPLICATION_CREDENTIALS", None),
            settling_days=settings.ga4_lookback_days(),
        ),
        "mailchimp": MailchimpResource(
            api_key=_secret("PMKPI_MAILCHIMP_API_KEY", settings.DEMO_MAILCHIMP_API_KEY),
            base_url=settings.mailchimp_base_url(),
            settling_days=settings.mailchimp_lookback_days(),
        ),
        "billing": BillingDatabase(url=_secret("PMKPI_BILLING_DB_URL", settings.billing_db_url())),
        "inputs": InputsFolder(path=str(settings.inputs_dir())),
    }


alert_webhook_url()  # validate PMKPI_ALERT_WEBHOOK_URL as the location loads (the sensors read it per alert)

defs = Definitions(
    assets=annotate([raw_ga4, raw_mailchimp, raw_billing, raw_inputs, *STAGING_ASSETS, *KPI_ASSETS]),
    asset_checks=[*RAW_CHECKS, *KPI_CHECKS],
    jobs=JOBS,
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources=build_resources(),
    executor=in_process_executor,
)
