"""Daily demand and the funnel every source follows: expected sign-ups, sign-ups and new customers per day."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .dates import _Calendar, _holidays
from .model import Size
from .randomness import _count, _lognoise, _scale, _thin

_WEEKDAY_FACTOR = np.array([1.0, 1.05, 1.05, 1.0, 0.92, 0.66, 0.64])  # Mon..Sun
_ANNUAL_GROWTH = 0.45
_SIGNUPS_PER_SESSION = 0.014
_CUSTOMERS_PER_SIGNUP = 0.4


def _demand(calendar: _Calendar, rng: np.random.Generator) -> np.ndarray:
    """Relative daily demand: growth trend × weekday × season × a persistent random drift."""
    index = pd.DatetimeIndex(calendar.days)
    trend = (1 + _ANNUAL_GROWTH) ** (np.arange(len(index)) / 365.25)
    summer = np.exp(-0.5 * ((index.day_of_year.to_numpy() - 222) / 18) ** 2)
    season = (1 - 0.12 * summer) * np.where(_holidays(calendar.days), 0.55, 1.0)
    drift = np.empty(len(index))
    level = 0.0
    for day, shock in enumerate(0.05 * rng.standard_normal(len(index))):
        level = 0.85 * level + shock
        drift[day] = level
    return trend * _WEEKDAY_FACTOR[index.day_of_week] * season * np.exp(drift)


@dataclass(frozen=True)
class _Funnel:
    base_signups: np.ndarray  # expected sign-ups per day, without anomalies
    factor: np.ndarray  # the signups anomaly factor per day
    signups: np.ndarray
    customers: np.ndarray  # new billing customers per local day (the buyers: GA4 purchases)
    shoppers: np.ndarray  # who reaches the cart: the buyers, and on a checkout outage the buyers it blocks
    tracked_signups: np.ndarray  # the sign-ups the GA4 tag records (none during a tracking break)


def _funnel(
    sizing: Size, demand: np.ndarray, factor: np.ndarray, rng: np.random.Generator
) -> _Funnel:
    base = demand * sizing.customers / (_CUSTOMERS_PER_SIGNUP * demand.sum())
    signups = _count(base, rng)
    customers = _thin(signups, _CUSTOMERS_PER_SIGNUP * _lognoise(rng, len(base), 0.15), rng)
    signups, customers = _scale(signups, factor, rng), _scale(customers, factor, rng)
    return _Funnel(base, factor, signups, customers, shoppers=customers, tracked_signups=signups)


def _planted(funnel: _Funnel, outage: np.ndarray, untracked: np.ndarray) -> _Funnel:
    """``funnel`` with checkout outages and tracking breaks (boolean masks over the calendar's days).

    Nobody buys on an outage day: its buyers still shop (they are the day's ``shoppers``) and come back to buy
    on the first day after the outage (lost when the outage lasts to the last day). The GA4 tag records no
    sign-up on an untracked day, while the sign-ups happen.
    """
    customers = funnel.customers.copy()
    waiting = 0
    for day in np.flatnonzero(outage | np.concatenate([[False], outage[:-1]])):  # outage days and the day after
        if outage[day]:
            waiting += customers[day]
            customers[day] = 0
        else:
            customers[day] += waiting
            waiting = 0
    return replace(funnel, customers=customers, shoppers=np.maximum(customers, funnel.customers),
                   tracked_signups=np.where(untracked, 0, funnel.signups))
