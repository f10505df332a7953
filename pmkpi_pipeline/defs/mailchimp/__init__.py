"""Mailchimp Marketing API: the resource, the raw campaign, report, list-activity and member asset and tables,
staging SQL (leads from members) and raw checks (the activity as a reconciliation of the leads)."""
