"""What a generated company is: its :class:`Company` frames, the :class:`Size` presets and :class:`Anomaly`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

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
