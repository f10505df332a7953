""":func:`generate_company`: one seeded demand curve, through the funnel, to every source's frames."""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from datetime import date

import numpy as np

from .billing import _billing
from .channels import _channel_table
from .dates import _Calendar, _local_to_utc
from .demand import _demand, _funnel, _planted
from .ga4 import _event_names, _events, _page_paths, _pages, _totals_frame, _traffic, _traffic_frame
from .inputs import _MARKETS, _NETWORKS, _industry_sales, _marketing_spend, _social_media
from .mailchimp import _LISTS, _mailchimp
from .members import _members
from .model import ANOMALY_TARGETS, EVENT_DAYS, SIZES, Anomaly, Company, Event, Size
from .pricing import _with_price_change

_STREAMS = (
    "demand", "funnel", "mailchimp", "traffic", "pages", "events",
    "customers", "subscriptions", "invoices", "surveys", "product_events", "inputs",
    "campaign_details",
    "members",
    "planted",  # last: spawning one more child leaves the others' streams as they were
)


def generate_company(
    seed: int = 7,
    size: str | Size = "demo",
    *,
    start: date,
    end: date,
    timezone: str = "UTC",
    anomalies: Sequence[Anomaly] = (),
    events: Sequence[Event] = (),
    currency: str | Sequence[str] = "USD",
    history_days: int = 90,
) -> Company:
    """Generate the company for ``start..end`` (inclusive); same arguments, identical frames.

    ``size`` is a :data:`SIZES` name or a :class:`Size` (e.g. ``dataclasses.replace(SIZES["tiny"],
    customers=400)``). ``currency`` is the plans' currency, or a sequence of codes assigned to
    the plans in turn, which gives invoices in mixed currencies. ``timezone`` is the GA4
    property's: GA4, Mailchimp activity and input dates are local days in it. ``events`` are planted
    :class:`Event` objects (an MPP-inflated campaign, a checkout outage, a price change, a tracking break); without
    them the company is the same as before they existed.
    """
    sizing = _resolve_size(size)
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if history_days < 0:
        raise ValueError(f"history_days must be >= 0, got {history_days}")
    zoneinfo.ZoneInfo(timezone)  # raises for an unknown zone
    currencies = (currency,) if isinstance(currency, str) else tuple(currency)
    calendar = _Calendar.build(start, end, history_days, timezone)
    factors = _anomaly_factors(anomalies, calendar, start, end)
    planted = _event_days(events, calendar, start, end)
    streams = dict(zip(_STREAMS, np.random.default_rng(seed).spawn(len(_STREAMS))))

    channels = _channel_table(sizing.channels)
    demand = _demand(calendar, streams["demand"])
    funnel = _funnel(sizing, demand, factors["signups"], streams["funnel"])
    if events:
        funnel = _planted(funnel, planted["checkout_outage"], planted["tracking_break"])
    mailchimp = _mailchimp(
        sizing, calendar, funnel, factors["email_opens"], streams["mailchimp"], streams["campaign_details"],
        np.flatnonzero(planted["mpp_campaign"][calendar.history:]), streams["planted"],
    )
    traffic = _traffic(
        channels, calendar, funnel, mailchimp.campaigns_per_day, factors["ga4_traffic"],
        streams["traffic"],
    )
    pages, resource_views = _pages(_page_paths(sizing.pages), calendar, traffic, streams["pages"])
    ga4_events = _events(
        _event_names(sizing.event_names), calendar, traffic, funnel, resource_views,
        streams["events"],
    )
    billing = _billing(sizing, calendar, funnel, channels, currencies, streams)
    inputs = {  # in this order: they share one stream
        "marketing_spend": _marketing_spend(channels, calendar, funnel, factors["spend"], streams["inputs"]),
        "social_media": _social_media(sizing, calendar, funnel, streams["inputs"]),
        "industry_sales": _industry_sales(sizing, calendar, billing["invoices"], streams["inputs"]),  # the market's
    }
    for day in np.flatnonzero(planted["pricing_change"]):
        moment = _local_to_utc(calendar.days[[day]], timezone)[0]
        billing = _with_price_change(billing, moment, str(calendar.days[day])[:10])
    return Company(
        start=start,
        end=end,
        seed=seed,
        size=sizing,
        timezone=timezone,
        ga4_traffic=_traffic_frame(channels, calendar, traffic),
        ga4_pages=pages,
        ga4_events=ga4_events,
        ga4_totals=_totals_frame(calendar, traffic),
        mailchimp_lists=mailchimp.lists,
        mailchimp_campaigns=mailchimp.campaigns,
        mailchimp_list_activity=mailchimp.activity,
        **billing,
        **inputs,
        ga4_currency=currencies[0],
        mailchimp_members=_members(calendar, mailchimp.lists, mailchimp.activity, streams["members"]),
    )


def _resolve_size(size: str | Size) -> Size:
    if isinstance(size, Size):
        sizing = size
    elif size in SIZES:
        sizing = SIZES[size]
    else:
        raise ValueError(f"unknown size {size!r}; expected one of {sorted(SIZES)} or a Size")
    limits = {"lists": len(_LISTS), "networks": len(_NETWORKS), "markets": len(_MARKETS)}
    for name in ("customers", "channels", "pages", "event_names", *limits):
        value = getattr(sizing, name)
        if not 1 <= value <= limits.get(name, value):
            raise ValueError(f"Size.{name} must be in 1..{limits.get(name, 'n')}, got {value}")
    return sizing


def _anomaly_factors(
    anomalies: Sequence[Anomaly], calendar: _Calendar, start: date, end: date
) -> dict[str, np.ndarray]:
    factors = {target: np.ones(len(calendar.days)) for target in ANOMALY_TARGETS}
    for anomaly in anomalies:
        if not start <= anomaly.day <= end:
            raise ValueError(f"{anomaly} falls outside {start}..{end}")
        factors[anomaly.target][calendar.history + (anomaly.day - start).days] *= anomaly.factor
    return factors


def _event_days(events: Sequence[Event], calendar: _Calendar, start: date, end: date) -> dict[str, np.ndarray]:
    """Per event kind, which of the calendar's days it covers; an event outside ``start..end`` or overlapping
    another of its kind is an error."""
    planted = {kind: np.zeros(len(calendar.days), dtype=bool) for kind in EVENT_DAYS}
    for event in events:
        if not isinstance(event, Event):
            raise ValueError(f"events must be Event objects, got {event!r}")
        if event.day < start or event.last_day > end:
            raise ValueError(f"{event} ({event.day}..{event.last_day}) falls outside {start}..{end}")
        first = calendar.history + (event.day - start).days
        days = planted[event.kind][first:first + event.days]
        if days.any():
            raise ValueError(f"{event} overlaps another {event.kind} event")
        days[:] = True
    return planted
