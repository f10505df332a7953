"""Checks on ``raw_inputs``: spend and social stats on every day (WARN: a day without spend can be real)."""

from ..common.raw_checks import build_row_count_check
from .tables import INPUTS_MARKETING_SPEND, INPUTS_SOCIAL_MEDIA

inputs_rows_every_day = build_row_count_check("raw_inputs", (INPUTS_MARKETING_SPEND, INPUTS_SOCIAL_MEDIA))
