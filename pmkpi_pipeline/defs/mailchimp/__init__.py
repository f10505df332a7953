"""Mailchimp Marketing API: the resource and the raw campaign, report and list-activity assets."""

LOOKBACK_DAYS = 7
"""Campaign reports keep changing for days after a send (late opens and clicks): the daily
schedule re-pulls this many days before yesterday, and a re-pull that changes a number older
than this is recorded as a settled change."""
