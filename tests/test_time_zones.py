"""Time zones compared as zones: Google's spellings of a zone are that zone; a real difference is not."""

from datetime import date

import pytest

from pmkpi_pipeline.lib.time_zones import same_zone

YEAR = (date(2025, 1, 1), date(2025, 12, 31))
WINTER = (date(2025, 1, 1), date(2025, 2, 28))


@pytest.mark.parametrize(("google", "ours"), [
    ("Etc/UTC", "UTC"), ("Etc/GMT", "UTC"), ("UTC", "Etc/UTC"), ("Asia/Calcutta", "Asia/Kolkata"),
    ("US/Pacific", "America/Los_Angeles"), ("Europe/Kiev", "Europe/Kyiv"), ("America/Buenos_Aires",
                                                                          "America/Argentina/Buenos_Aires"),
])
def test_aliases_of_a_zone_are_that_zone(google, ours):
    assert same_zone(google, ours, *YEAR)


@pytest.mark.parametrize(("google", "ours"), [
    ("America/New_York", "UTC"), ("Asia/Kolkata", "Asia/Karachi"), ("Europe/London", "UTC"),
    ("Not/A_Zone", "UTC"), ("America/Los_Angeles", "America/Phoenix"),
])
def test_zones_that_differ_on_some_hour_of_the_range_differ(google, ours):
    assert not same_zone(google, ours, *YEAR)


def test_zones_are_compared_over_the_range_only():
    # London keeps UTC's offset all winter: its days are UTC's days then, not from the end of March on.
    assert same_zone("Europe/London", "UTC", *WINTER)
    assert not same_zone("Europe/London", "UTC", date(2025, 3, 29), date(2025, 3, 31))
