"""Mailchimp Marketing API: the resource and the raw campaign, report and list-activity assets."""
