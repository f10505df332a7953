"""Every resource and the executor of the code location, built from the configuration contract.

Secrets that are set reach the resources as ``EnvVar`` (resolved at run time, never shown in run
config); everything else is the validated value of its ``PMKPI_*`` variable.
"""

import os

from dagster import Definitions, EnvVar, definitions, in_process_executor

from ..lib import settings
from ..lib.warehouse import WarehouseResource
from .billing.resource import BillingDatabase
from .ga4.resource import GA4Resource
from .inputs.resource import InputsFolder
from .mailchimp.resource import MailchimpResource


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


@definitions
def resources() -> Definitions:
    """The resources and the in-process executor (DuckDB allows one writer process per file)."""
    return Definitions(resources=build_resources(), executor=in_process_executor)
