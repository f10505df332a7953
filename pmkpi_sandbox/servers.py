"""Start the GA4 and Mailchimp sandbox servers for a company, sharing one fault plan.

    with start_sandbox(company) as sandbox:
        os.environ.update(sandbox.env())  # the pipeline now talks to the sandbox

GA4 is served twice from one service: over REST/JSON (``ga4_endpoint``, what ``env()`` exports)
and over gRPC (``ga4_grpc_endpoint``; see :mod:`pmkpi_sandbox.ga4_grpc`).
"""

from __future__ import annotations

from dataclasses import dataclass

from pmkpi_sandbox._http import SandboxHTTPServer
from pmkpi_sandbox.credentials import DEMO_MAILCHIMP_ACCESS_TOKEN, DEMO_MAILCHIMP_API_KEY
from pmkpi_sandbox.faults import FaultPlan
from pmkpi_sandbox.ga4_grpc import Ga4GrpcServer
from pmkpi_sandbox.ga4_server import Ga4Service
from pmkpi_sandbox.mailchimp_server import MailchimpService


@dataclass
class Sandbox:
    """The running servers, their addresses and the fault plan they share."""

    ga4: SandboxHTTPServer
    mailchimp: SandboxHTTPServer
    faults: FaultPlan
    property_id: str
    api_key: str
    timezone: str
    ga4_grpc: Ga4GrpcServer | None = None
    access_token: str = DEMO_MAILCHIMP_ACCESS_TOKEN

    @property
    def ga4_endpoint(self) -> str:
        """The Data API endpoint, ``http://HOST:PORT`` (the client's ``api_endpoint``)."""
        return self.ga4.url

    @property
    def ga4_grpc_endpoint(self) -> str:
        """The Data API over gRPC, ``grpc://HOST:PORT`` (``ga4_grpc.connect`` takes it)."""
        if self.ga4_grpc is None:
            raise RuntimeError("this sandbox was started without its GA4 gRPC server")
        return self.ga4_grpc.endpoint

    @property
    def mailchimp_base_url(self) -> str:
        """The Marketing API base, ``http://HOST:PORT/3.0`` (the client's ``api_client.host``)."""
        return f"{self.mailchimp.url}/3.0"

    @property
    def mailchimp_oauth_metadata_url(self) -> str:
        """Mailchimp's OAuth metadata endpoint, served by the sandbox (``PMKPI_MAILCHIMP_OAUTH_METADATA_URL``)."""
        return f"{self.mailchimp.url}/oauth2/metadata"

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
        """Stop all servers."""
        self.ga4.stop()
        self.mailchimp.stop()
        if self.ga4_grpc is not None:
            self.ga4_grpc.stop()

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
    ga4_grpc_port: int = 0,
    access_token: str = DEMO_MAILCHIMP_ACCESS_TOKEN,
) -> Sandbox:
    """Serve ``company``'s GA4 (REST and gRPC) and Mailchimp frames on ``host``; port 0 picks a free port.

    Mailchimp accepts ``api_key`` and the OAuth ``access_token`` (and tokens it issues)."""
    plan = FaultPlan()
    ga4_service = Ga4Service(company, plan)
    ga4 = SandboxHTTPServer(ga4_service, plan, host, ga4_port)
    try:
        mailchimp = SandboxHTTPServer(
            MailchimpService(company, plan, api_key, (access_token,)), plan, host, mailchimp_port
        )
    except BaseException:
        ga4.server_close()
        raise
    try:
        ga4_grpc = Ga4GrpcServer(ga4_service, plan, host, ga4_grpc_port)
    except BaseException:
        ga4.server_close()
        mailchimp.server_close()
        raise
    return Sandbox(
        ga4=ga4.start(),
        mailchimp=mailchimp.start(),
        ga4_grpc=ga4_grpc.start(),
        faults=plan,
        property_id=str(company.ga4_property_id),
        api_key=api_key,
        timezone=company.timezone,
        access_token=access_token,
    )
