"""What a generated company is: its :class:`Company` frames, the :class:`Size` presets, :class:`Anomaly` and
:class:`Event`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import pandas as pd

from pmkpi_sandbox.credentials import DEMO_GA4_PROPERTY_ID

ANOMALY_TARGETS = ("ga4_traffic", "signups", "email_opens", "spend")
BILLING_TABLES = (
    "customers", "plans", "subscriptions", "invoices", "refunds", "survey_responses",
    "product_events",
)


@dataclass(frozen=True)
class Anomaly:
    """Multiply ``target``'s numbers on ``day`` by ``factor`` (a spike above 1, a drop below 1).

    Targets: ``ga4_traffic`` (sessions, users, page views and the events they drive),
    ``signups`` (GA4 ``sign_up`` events, Mailchimp leads and new customers), ``email_opens``
    (unique opens of the campaigns sent that day, capped at the delivered emails) and ``spend``.
    """

    target: str
    day: date
    factor: float

    def __post_init__(self) -> None:
        if self.target not in ANOMALY_TARGETS:
            raise ValueError(f"Anomaly target {self.target!r} is not one of {ANOMALY_TARGETS}")
        if not self.factor >= 0:
            raise ValueError(f"Anomaly factor must be >= 0, got {self.factor!r}")


EVENT_DAYS = {"mpp_campaign": 1, "checkout_outage": 1, "pricing_change": 1, "tracking_break": 3}
"""The kinds of :class:`Event` and the days each lasts by default."""
_ONE_DAY_EVENTS = ("mpp_campaign", "pricing_change")


@dataclass(frozen=True)
class Event:
    """A realistic event planted in the company on ``day`` (for ``days`` days where the kind lasts).

    Kinds, and what they do to the sources:

    - ``mpp_campaign``: one e-mail campaign sent that day (added, to the first audience, when none is) has its
      unique opens inflated by Apple Mail Privacy Protection to 92 % of its delivered e-mails; its clicks and its
      opens excluding machine opens are unchanged. One day only.
    - ``checkout_outage``: nobody can buy for ``days`` days (default 1): GA4 ``purchase`` events (and their key
      events) are 0 while ``add_to_cart`` and ``begin_checkout`` are as they would have been; the blocked buyers
      come back and buy (billing customers, GA4 purchases) on the first day after the outage (lost when it lasts
      to the last day).
    - ``pricing_change``: from the start of that day every plan in use costs 20 % more, for everyone: new plan
      rows, each subscription active then ends at that instant and a new one on the new plan starts at the same
      instant (same customer, same quantity), later subscriptions are on the new plans and invoices issued from
      then on are at the new prices (their billing dates unchanged). One day only.
    - ``tracking_break``: for ``days`` days (default 3) the GA4 tag records no ``sign_up`` event (nor its key
      events) while sign-ups really happen: Mailchimp leads and billing customers are unchanged.
    """

    kind: str
    day: date
    days: int | None = None  # None: the kind's default (EVENT_DAYS)

    def __post_init__(self) -> None:
        if self.kind not in EVENT_DAYS:
            raise ValueError(f"Event kind {self.kind!r} is not one of {tuple(EVENT_DAYS)}")
        if not isinstance(self.day, date):
            raise ValueError(f"Event day must be a date, got {self.day!r}")
        days = EVENT_DAYS[self.kind] if self.days is None else self.days
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValueError(f"Event days must be a whole number >= 1, got {self.days!r}")
        if self.kind in _ONE_DAY_EVENTS and days != 1:
            raise ValueError(f"a {self.kind} event lasts one day; got days={days}")
        object.__setattr__(self, "days", days)

    @property
    def last_day(self) -> date:
        """The event's last day (``day`` for a one-day event)."""
        return self.day + timedelta(days=self.days - 1)

    @classmethod
    def parse(cls, text: str) -> Event:
        """An event from ``KIND:YYYY-MM-DD[:DAYS]``, e.g. ``tracking_break:2024-09-10:3``."""
        parts = text.strip().split(":")
        if len(parts) not in (2, 3):
            raise ValueError(f"{text!r} is not KIND:YYYY-MM-DD[:DAYS] (kinds: {', '.join(EVENT_DAYS)})")
        try:
            day = date.fromisoformat(parts[1])
        except ValueError:
            raise ValueError(f"{text!r}: {parts[1]!r} is not a YYYY-MM-DD date") from None
        if len(parts) == 2:
            return cls(parts[0], day)
        if not parts[2].isdigit():
            raise ValueError(f"{text!r}: DAYS {parts[2]!r} is not a whole number")
        return cls(parts[0], day, int(parts[2]))


@dataclass(frozen=True)
class Size:
    """How big the generated company is; :data:`SIZES` holds the named presets."""

    name: str
    customers: int  # billing customers created over history + range
    channels: int  # GA4 channel groups, which are also the acquisition channels
    pages: int  # GA4 page paths
    event_names: int  # GA4 event names
    lists: int  # Mailchimp audiences (1..3)
    campaigns_per_month: float
    product_events: int  # product_events rows, approximately
    networks: int  # social networks (1..6)
    markets: int  # industry-sales markets (1..4)
    # Also variate, RSS, plain-text, resend, still-sending and deleted-audience campaigns (.campaign_kinds)
    campaign_kinds: bool = False

    def scaled(self, factor: float) -> Size:
        """This size with ``factor`` times the customers, product events and GA4 pages (the volumes that grow
        with a company); the rest (channels, lists, campaigns, inputs) unchanged. ``scaled(1)`` is ``self``."""
        if not factor > 0:
            raise ValueError(f"scale must be above 0, got {factor!r}")
        if factor == 1:
            return self
        return replace(self, name=f"{self.name}x{factor:g}", customers=round(self.customers * factor),
                       pages=max(1, round(self.pages * factor)), product_events=round(self.product_events * factor))


SIZES = {
    "tiny": Size("tiny", 150, 3, 20, 10, 1, 3.0, 15_000, 2, 2),
    "demo": Size("demo", 1_500, 8, 200, 25, 2, 4.0, 200_000, 4, 3),
    "reference": Size("reference", 20_000, 40, 2_000, 60, 3, 6.25, 5_000_000, 5, 4),
}


@dataclass
class Company:
    """Every frame the sandbox serves or writes, all derived from one seeded model.

    GA4 frames use the Data API's dimension and metric names, one row per date (and channel,
    page or event) with a non-zero count, ``date`` as naive ``datetime64[ns]`` local midnight:
    ``ga4_totals`` holds the property-level numbers of a date-only report (its ``totalUsers``
    is below the sum over channels, since users visit through several channels; sessions,
    engaged sessions, page views and key events are the channel sums), and page views summed
    over ``ga4_pages`` equal the channels' ``screenPageViews`` every day. Mailchimp campaigns
    carry their report counts; ``send_time`` and ``create_time`` are tz-aware UTC (``send_time``
    NaT when never sent), ``list_id`` is ``""`` when the audience was deleted and
    ``parent_campaign_id`` ``""`` unless the campaign is an RSS child or a resend (see
    :mod:`.campaign_kinds`); list activity has one row per list and day (``day`` as local
    midnight); list members (one per lead, see :mod:`.members`) carry tz-aware UTC
    ``timestamp_signup``/``timestamp_opt``/``last_changed`` (NaT when empty). Billing tables follow
    KPI_SPEC.md with naive UTC timestamps, ids from 1 in time order, nullable ids as ``Int64`` and
    ``product_events.event_name`` as a categorical. ``size`` is the resolved :class:`Size`.
    """

    start: date
    end: date
    seed: int
    size: Size
    timezone: str
    ga4_traffic: pd.DataFrame
    ga4_pages: pd.DataFrame
    ga4_events: pd.DataFrame
    ga4_totals: pd.DataFrame
    mailchimp_lists: pd.DataFrame
    mailchimp_campaigns: pd.DataFrame
    mailchimp_list_activity: pd.DataFrame
    customers: pd.DataFrame
    plans: pd.DataFrame
    subscriptions: pd.DataFrame
    invoices: pd.DataFrame
    refunds: pd.DataFrame
    survey_responses: pd.DataFrame
    product_events: pd.DataFrame
    marketing_spend: pd.DataFrame
    social_media: pd.DataFrame
    industry_sales: pd.DataFrame
    ga4_property_id: str = DEMO_GA4_PROPERTY_ID
    ga4_currency: str = "USD"
    mailchimp_members: pd.DataFrame = field(default_factory=pd.DataFrame)

    def billing_tables(self) -> dict[str, pd.DataFrame]:
        """The seven billing tables by name, in :data:`BILLING_TABLES` order."""
        return {name: getattr(self, name) for name in BILLING_TABLES}
