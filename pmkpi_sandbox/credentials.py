"""The demo credentials: the GA4 property id and Mailchimp API key the sandbox serves and exports.

They are not secrets: the sandbox accepts them and exports them as ``PMKPI_GA4_PROPERTY_ID`` and
``PMKPI_MAILCHIMP_API_KEY`` (``Sandbox.env()``), so the pipeline needs no defaults of its own.
"""

DEMO_GA4_PROPERTY_ID = "100000001"
DEMO_MAILCHIMP_API_KEY = "0123456789abcdef0123456789abcdef-us1"
