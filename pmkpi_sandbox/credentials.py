"""The demo credentials: the GA4 property id, Mailchimp API key and OAuth access token the sandbox serves.

They are not secrets: the sandbox accepts them and exports the first two as ``PMKPI_GA4_PROPERTY_ID``
and ``PMKPI_MAILCHIMP_API_KEY`` (``Sandbox.env()``), so the pipeline needs no defaults of its own.
The access token is accepted too (``Authorization: Bearer``), for ``PMKPI_MAILCHIMP_ACCESS_TOKEN``.
"""

DEMO_GA4_PROPERTY_ID = "100000001"
DEMO_MAILCHIMP_API_KEY = "0123456789abcdef0123456789abcdef-us1"
DEMO_MAILCHIMP_ACCESS_TOKEN = "5ad0b0e7c0ffee5ad0b0e7c0ffee5ad0"
