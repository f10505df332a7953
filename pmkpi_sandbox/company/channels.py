"""The channel groups: GA4's ``sessionDefaultChannelGroup`` values, which are also the billing
acquisition channels and the paid channels of the marketing spend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# name, traffic share, engagement rate, pages/session, avg session s, users/session,
# new-user share, sign-up propensity, spend weight
_CHANNELS = (
    ("Organic Search", 0.30, 0.62, 2.6, 185.0, 0.82, 0.58, 1.0, 0.0),
    ("Paid Search", 0.13, 0.58, 2.2, 150.0, 0.86, 0.72, 1.5, 0.34),
    ("Email", 0.06, 0.71, 2.9, 230.0, 0.75, 0.15, 1.4, 0.05),
    ("Direct", 0.20, 0.55, 2.3, 170.0, 0.78, 0.40, 1.1, 0.0),
    ("Paid Social", 0.08, 0.44, 1.7, 95.0, 0.90, 0.80, 0.7, 0.20),
    ("Referral", 0.07, 0.66, 2.8, 210.0, 0.84, 0.62, 1.3, 0.0),
    ("Organic Social", 0.05, 0.48, 1.8, 115.0, 0.88, 0.70, 0.6, 0.0),
    ("Display", 0.04, 0.33, 1.4, 60.0, 0.93, 0.86, 0.4, 0.10),
    ("Affiliates", 0.02, 0.52, 2.0, 140.0, 0.88, 0.75, 1.2, 0.07),
    ("Organic Video", 0.015, 0.50, 1.6, 130.0, 0.90, 0.78, 0.5, 0.0),
    ("Paid Video", 0.012, 0.40, 1.5, 90.0, 0.92, 0.85, 0.5, 0.05),
    ("Cross-network", 0.01, 0.45, 1.7, 100.0, 0.90, 0.80, 0.8, 0.04),
    ("Unassigned", 0.01, 0.30, 1.3, 50.0, 0.95, 0.60, 0.2, 0.0),
    ("Organic Shopping", 0.004, 0.50, 2.0, 120.0, 0.90, 0.75, 0.6, 0.0),
    ("Paid Shopping", 0.004, 0.45, 1.8, 100.0, 0.90, 0.80, 0.7, 0.02),
    ("Paid Other", 0.004, 0.40, 1.6, 90.0, 0.92, 0.80, 0.5, 0.02),
    ("SMS", 0.003, 0.60, 2.0, 120.0, 0.80, 0.20, 1.0, 0.01),
    ("Mobile Push Notifications", 0.003, 0.55, 1.8, 100.0, 0.80, 0.15, 0.8, 0.0),
    ("Audio", 0.002, 0.40, 1.5, 80.0, 0.92, 0.85, 0.4, 0.01),
)
_PARTNER_CHANNEL = (0.002, 0.55, 2.1, 150.0, 0.88, 0.70, 1.1, 0.005)  # "Partner NN" beyond the list


@dataclass(frozen=True)
class _ChannelTable:
    names: np.ndarray
    share: np.ndarray
    engagement: np.ndarray
    pages_per_session: np.ndarray
    duration: np.ndarray
    users_per_session: np.ndarray
    new_share: np.ndarray
    propensity: np.ndarray
    spend: np.ndarray


def _channel_table(count: int) -> _ChannelTable:
    extra = range(1, count - len(_CHANNELS) + 1)
    partners = [(f"Partner {k:02d}", *_PARTNER_CHANNEL) for k in extra]
    names, *columns = zip(*(list(_CHANNELS[:count]) + partners))
    return _ChannelTable(np.array(names, dtype=object), *(np.array(column) for column in columns))
