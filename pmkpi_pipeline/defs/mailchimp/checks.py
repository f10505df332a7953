"""Checks on ``raw_mailchimp``: list activity on every day (WARN: Mailchimp serves only its last 180 days)."""

from ..common.raw_checks import build_row_count_check
from .tables import MAILCHIMP_LIST_ACTIVITY

mailchimp_rows_every_day = build_row_count_check("raw_mailchimp", (MAILCHIMP_LIST_ACTIVITY,))
