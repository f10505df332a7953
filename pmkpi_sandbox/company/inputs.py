"""The marketing-input frames: daily spend per paid channel, social media per network and monthly
industry sales per market.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .channels import _ChannelTable
from .dates import _Calendar, _local_to_utc, _weekday
from .demand import _CUSTOMERS_PER_SIGNUP, _SIGNUPS_PER_SESSION, _WEEKDAY_FACTOR, _Funnel
from .model import Size
from .randomness import _count, _lognoise, _thin

_CAC_TARGET = 380.0
_MARKET_SHARE = 0.02
_NETWORKS = (  # name, reach per site session, engagement rate
    ("LinkedIn", 3.0, 0.021), ("X", 2.0, 0.012), ("Facebook", 1.5, 0.009),
    ("Instagram", 1.2, 0.018), ("YouTube", 0.6, 0.035), ("TikTok", 0.4, 0.040),
)
_MARKETS = (
    ("North America", 0.44), ("Europe", 0.31), ("Asia Pacific", 0.17), ("Latin America", 0.08),
)


def _marketing_spend(
    channels: _ChannelTable, calendar: _Calendar, funnel: _Funnel, factor: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Daily spend per paid channel: a budget following demand, with a mild weekend dip."""
    paid = np.flatnonzero(channels.spend > 0)
    days, history = calendar.range_days, calendar.history
    weekday = _weekday(days)
    budget = funnel.base_signups[history:] * _CUSTOMERS_PER_SIGNUP * _CAC_TARGET
    budget = budget / _WEEKDAY_FACTOR[weekday] * np.where(weekday >= 5, 0.8, 1.0)
    weights = channels.spend[paid] / max(channels.spend[paid].sum(), 1e-9)
    noise = _lognoise(rng, (len(days), len(paid)), 0.18)
    amounts = budget[:, None] * weights * noise * factor[history:, None]
    return pd.DataFrame({
        "date": np.repeat(days, len(paid)),
        "channel": np.tile(channels.names[paid], len(days)),
        "amount": np.round(amounts.ravel(), 2),
    })


def _social_media(
    sizing: Size, calendar: _Calendar, funnel: _Funnel, rng: np.random.Generator
) -> pd.DataFrame:
    """Impressions and engagements per day and network, following the site's demand."""
    names, reach, rates = (np.array(column) for column in zip(*_NETWORKS[: sizing.networks]))
    days = calendar.range_days
    shape = (len(days), len(names))
    sessions = funnel.base_signups[calendar.history:, None] / _SIGNUPS_PER_SESSION
    impressions = _count(sessions * reach * _lognoise(rng, shape, 0.25), rng)
    engagements = _thin(impressions, rates * _lognoise(rng, shape, 0.2), rng)
    return pd.DataFrame({
        "date": np.repeat(days, len(names)),
        "network": np.tile(names.astype(object), len(days)),
        "impressions": impressions.ravel(),
        "engagements": engagements.ravel(),
    })


def _industry_sales(
    sizing: Size, calendar: _Calendar, invoices: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Monthly sales per market of a market growing slower than the company (~2 % share)."""
    days = calendar.range_days
    months = pd.period_range(pd.Timestamp(days[0]), pd.Timestamp(days[-1]), freq="M")
    range_start = _local_to_utc(days[:1], calendar.timezone)[0]
    paid = invoices["amount_cents"][(invoices["paid_at"] >= range_start).to_numpy()].sum()
    monthly = max(paid / 100 / len(days) * 30.4375, 1_000.0)
    names, shares = (np.array(column) for column in zip(*_MARKETS[: sizing.markets]))
    industry = monthly / _MARKET_SHARE * 1.007 ** np.arange(len(months))
    noise = _lognoise(rng, (len(months), len(names)), 0.05)
    totals = industry[:, None] * shares / shares.sum() * noise
    return pd.DataFrame({
        "month": np.repeat(months.strftime("%Y-%m").to_numpy(dtype=object), len(names)),
        "market": np.tile(names.astype(object), len(months)),
        "total_sales": np.round(totals.ravel(), 2),
    })
