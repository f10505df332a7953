"""Stand up the whole embedded default: the demo company's billing DB and CSVs, and both API servers.

Used by ``pmkpi demo`` / ``pmkpi sandbox`` and by the tests. It exports the ``PMKPI_*``
settings that point the pipeline at what it started, exactly as a user would with ``export``.
It reads the two settings it shares with the pipeline from the environment itself, with the
pipeline's defaults, so that it imports nothing from the pipeline: ``PMKPI_DATA_DIR``
(``./.pmkpi``), where the billing DB and CSVs are written unless ``data_dir`` is given, and
``PMKPI_TIMEZONE`` (``UTC``), the company's local days (an unknown zone fails in
:func:`generate_company`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .company import Company, Size, generate_company
from .servers import Sandbox, start_sandbox
from .writers import write_billing_db, write_inputs


@dataclass
class RunningSandbox:
    """A started sandbox, the company behind it and the settings exported for the pipeline."""

    company: Company
    servers: Sandbox
    exported: dict[str, str] = field(default_factory=dict)

    @property
    def ga4_endpoint(self) -> str:
        return self.servers.ga4_endpoint

    @property
    def mailchimp_base_url(self) -> str:
        return self.servers.mailchimp_base_url

    def stats(self) -> dict:
        """Requests served so far, per endpoint."""
        return self.servers.stats()


def _setting(name: str, default: str) -> str:
    """The environment variable ``name``, ``default`` when it is unset or blank."""
    return (os.environ.get(name) or "").strip() or default


def write_company(company: Company, data_dir: Path, billing_url: str | None = None) -> dict[str, str]:
    """Write the company's billing DB and input CSVs under ``data_dir``; the settings naming them."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url = billing_url or f"sqlite:///{data_dir / 'billing.sqlite'}"
    write_billing_db(company, url)
    write_inputs(company, data_dir / "inputs")
    return {"PMKPI_BILLING_DB_URL": url, "PMKPI_INPUTS_DIR": str(data_dir / "inputs")}


@contextmanager
def prepare_sandbox(
    *, seed: int, size: str | Size, start: date, end: date, ga4_port: int = 0, mailchimp_port: int = 0,
    ga4_grpc_port: int = 0, ga4_over_grpc: bool = False,
    data_dir: Path | None = None, anomalies=(), events=(), billing_url: str | None = None,
) -> Iterator[RunningSandbox]:
    """Generate, write and serve a sandbox company; export its settings into ``os.environ``.

    ``ga4_over_grpc`` points ``PMKPI_GA4_ENDPOINT`` at the sandbox's gRPC port instead of REST. ``anomalies``
    and ``events`` (planted :class:`~pmkpi_sandbox.company.Event` objects) go to :func:`generate_company`.
    """
    data_dir = data_dir or Path(_setting("PMKPI_DATA_DIR", "./.pmkpi")).expanduser().resolve()
    tz = _setting("PMKPI_TIMEZONE", "UTC")
    company = generate_company(seed=seed, size=size, start=start, end=end, timezone=tz, anomalies=anomalies,
                               events=events)
    exported = write_company(company, data_dir, billing_url)
    with start_sandbox(company, ga4_port=ga4_port, mailchimp_port=mailchimp_port,
                       ga4_grpc_port=ga4_grpc_port) as servers:
        exported.update(servers.env())
        if ga4_over_grpc:
            exported["PMKPI_GA4_ENDPOINT"] = servers.ga4_grpc_endpoint
        exported.update({"PMKPI_DATA_DIR": str(data_dir), "PMKPI_START_DATE": start.isoformat()})
        previous = {name: os.environ.get(name) for name in exported}
        os.environ.update(exported)
        try:
            yield RunningSandbox(company=company, servers=servers, exported=exported)
        finally:
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
