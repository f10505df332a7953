"""Every resource and the executor of the code location, built from the validated settings.

Secrets reach the resources as ``EnvVar`` (resolved at run time, never shown in run config):
``PMKPI_MAILCHIMP_API_KEY`` (or ``PMKPI_MAILCHIMP_ACCESS_TOKEN`` when set, used instead of it),
``PMKPI_BILLING_DB_URL`` and ``PMKPI_PUBLISH_URL`` (when set) and ``GOOGLE_APPLICATION_CREDENTIALS``.
A missing one fails the run that needs it, naming the variable. Everything else is the validated
value of its ``PMKPI_*`` variable; ``settings`` carries what asset and check bodies read.
"""

from dagster import Definitions, EnvVar, definitions, in_process_executor

from ..lib.publish import PublishTarget
from ..lib.settings import RunSettings, Settings, load_settings
from ..lib.warehouse import WarehouseResource
from .billing.resource import BillingDatabase
from .ga4.resource import GA4Resource
from .inputs.resource import InputsFolder
from .mailchimp.resource import MailchimpResource


def _secret(name: str, value: object, default: str | None = None):
    """``EnvVar(name)`` when the variable is set (``value`` not None; resolved at run time, never shown),
    else ``default``."""
    return EnvVar(name) if value is not None else default


def build_resources(settings: Settings | None = None) -> dict:
    """Every resource, from ``settings`` (default: the environment, validated now)."""
    settings = settings or load_settings()
    return {
        "settings": RunSettings.from_settings(settings),
        "warehouse": WarehouseResource(path=str(settings.warehouse_path())),
        "ga4": GA4Resource(
            property_id=settings.ga4_property_id or EnvVar("PMKPI_GA4_PROPERTY_ID"),
            endpoint=settings.ga4_endpoint,
            credentials_file=_secret("GOOGLE_APPLICATION_CREDENTIALS", settings.google_application_credentials),
            settling_days=settings.ga4_lookback_days,
        ),
        "mailchimp": MailchimpResource(
            **({"access_token": EnvVar("PMKPI_MAILCHIMP_ACCESS_TOKEN")} if settings.mailchimp_access_token
               else {"api_key": EnvVar("PMKPI_MAILCHIMP_API_KEY")}),
            oauth_metadata_url=settings.mailchimp_oauth_metadata_url,
            base_url=settings.mailchimp_base_url,
            settling_days=settings.mailchimp_lookback_days,
        ),
        "billing": BillingDatabase(
            url=_secret("PMKPI_BILLING_DB_URL", settings.billing_db_url, settings.billing_url())),
        "inputs": InputsFolder(path=str(settings.inputs_path())),
        "publish": PublishTarget(url=_secret("PMKPI_PUBLISH_URL", settings.publish_url)),
    }


@definitions
def resources() -> Definitions:
    """The resources and the in-process executor (DuckDB allows one writer process per file)."""
    return Definitions(resources=build_resources(), executor=in_process_executor)
