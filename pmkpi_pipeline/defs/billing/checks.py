"""Checks on ``raw_billing``: product events on every day (WARN: a quiet day can be real)."""

from ..common.raw_checks import build_row_count_check
from .tables import BILLING_PRODUCT_EVENTS

billing_rows_every_day = build_row_count_check("raw_billing", (BILLING_PRODUCT_EVENTS,))
