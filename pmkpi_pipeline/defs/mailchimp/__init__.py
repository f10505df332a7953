"""Mailchimp Marketing API: the resource, the raw campaign, report and list-activity assets and tables,
staging SQL and raw checks."""
