"""Start the GA4 and Mailchimp sandbox servers for a company, sharing one fault plan.

    with start_sandbox(company) as sandbox:
        os.environ.update(sandbox.env())  # the pipeline now talks to the sandbox
"""

from __future__ import annotations

from dataclasses import dataclass

from pmkpi_pipeline.sandbox._http import SandboxHTTPServer
from pmkpi_pipeline.sandbox.faults import FaultPlan
from pmkpi_pipeline.sandbox.ga4_server import Ga4Service
from pmkpi_pipeline.sandbox.mailchimp_server import MailchimpService
from pmkpi_pipeline.settings import DEMO_MAILCHIMP_API_KEY


@dataclass
class Sandbox:
    """Both running servers, their addresses and the fault plan they share."""

    ga4: SandboxHTTPServer
    mailchimp: SandboxHTTPServer
    faults: FaultPlan
    property_id: str
    api_key: str
    timezone: str

    @property
    def ga4_endpoint(self) -> str:
        """The Data API endpoint, ``http://HOST:PORT`` (the client's ``api_endpoint``)."""
        return self.ga4.url

    @property
    def mailchimp_base_url(self) -> str:
        """The Marketing API base, ``http://HOST:PORT/3.0`` (the client's ``api_client.host``)."""
        return f"{self.mailchimp.url}/3.0"

    def stats(self) -> dict[str, int]:
        """Requests received per endpoint, e.g. ``{"ga4.runReport": 3, "mailchimp./reports": 2}``."""
        return self.faults.stats()

    def env(self) -> dict[str, str]:
        """The ``PMKPI_*`` variables that point the pipeline at this sandbox."""
        return {
            "PMKPI_GA4_ENDPOINT": self.ga4_endpoint,
            "PMKPI_GA4_PROPERTY_ID": self.property_id,
            "PMKPI_MAILCHIMP_BASE_URL": self.mailchimp_base_url,
            "PMKPI_MAILCHIMP_API_KEY": self.api_key,
            "PMKPI_TIMEZONE": self.timezone,
        }

    def stop(self) -> None:
        """Stop both servers."""
        self.ga4.stop()
        self.mailchimp.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_sandbox(
    company: object,
    host: str = "127.0.0.1",
    ga4_port: int = 0,
    mailchimp_port: int = 0,
    api_key: str = DEMO_MAILCHIMP_API_KEY,
) -> Sandbox:
    """Serve ``company``'s GA4 and Mailchimp frames on ``host``; port 0 picks a free port."""
    plan = FaultPlan()
    ga4 = SandboxHTTPServer(Ga4Service(company, plan), plan, host, ga4_port)
    try:
        mailchimp = SandboxHTTPServer(
            MailchimpService(company, plan, api_key), plan, host, mailchimp_port
        )
    except BaseException:
        ga4.server_close()
        raise
    return Sandbox(
        ga4=ga4.start(),
        mailchimp=mailchimp.start(),
        faults=plan,
        property_id=str(company.ga4_property_id),
        api_key=api_key,
        timezone=company.timezone,
    )
