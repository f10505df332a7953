"""A seeded model of one B2B SaaS company: the single origin of every sandbox source.

:func:`generate_company` derives the GA4 reports, the Mailchimp audiences, campaigns and daily
list activity, the seven billing tables and the marketing-input frames from one daily demand
curve, so the sources tell one story: GA4 ``sign_up`` events are the trial sign-ups, Mailchimp
leads (``subs + other_adds``) outnumber them, a share of them become billing customers the same
day (GA4 ``purchase`` events), paid channels carry the marketing spend, and so on.

Conventions the servers, writers and pipeline rely on:

- GA4, Mailchimp list-activity and input dates are local calendar days in ``timezone`` (the GA4
  property's), stored as naive ``datetime64[ns]`` at midnight.
- Billing timestamps are naive UTC ``datetime64[ns]`` in whole seconds. Billing starts
  ``history_days`` before ``start`` so churn and retention have a base from the first day; GA4,
  Mailchimp and the inputs cover ``start..end`` only. Nothing happens after the snapshot, the
  end of ``end`` in ``timezone``: a payment due later is still ``open``, a later churn is still
  active.
- Every source draws from its own child of ``numpy.random.default_rng(seed)`` and daily counts
  use a fixed number of variates per value, so an :class:`Anomaly` changes only the numbers of
  its own day and target (and what derives from them).
"""

from __future__ import annotations

import itertools
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from pmkpi_sandbox.credentials import DEMO_GA4_PROPERTY_ID

ANOMALY_TARGETS = ("ga4_traffic", "signups", "email_opens", "spend")
FEATURES = (
    "reports", "dashboards", "integrations", "alerts", "exports", "api", "sso", "automations",
)
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
    carry their report counts; ``send_time`` is tz-aware UTC; list activity has one row per
    list and day (``day`` as local midnight). Billing tables follow KPI_SPEC.md with naive UTC
    timestamps, ids from 1 in time order, nullable ids as ``Int64`` and
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

    def billing_tables(self) -> dict[str, pd.DataFrame]:
        """The seven billing tables by name, in :data:`BILLING_TABLES` order."""
        return {name: getattr(self, name) for name in BILLING_TABLES}


# --- model constants -------------------------------------------------------------------------

_STREAMS = (
    "demand", "funnel", "mailchimp", "traffic", "pages", "events",
    "customers", "subscriptions", "invoices", "surveys", "product_events", "inputs",
)
_WEEKDAY_FACTOR = np.array([1.0, 1.05, 1.05, 1.0, 0.92, 0.66, 0.64])  # Mon..Sun
_ANNUAL_GROWTH = 0.45
_SIGNUPS_PER_SESSION = 0.014
_CUSTOMERS_PER_SIGNUP = 0.4
_LEADS_PER_SIGNUP = 2.6
_CAC_TARGET = 380.0
_MARKET_SHARE = 0.02
_SECOND = np.timedelta64(1, "s")
_DAY = np.timedelta64(1, "D")

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

_CORE_PAGES = (
    "/", "/pricing", "/signup", "/features/reports", "/blog/", "/login", "/features/dashboards",
    "/resources/", "/onboarding", "/docs/getting-started", "/blog/kpi-dashboard-guide",
    "/resources/saas-metrics-benchmark-report", "/onboarding/connect-data",
    "/docs/getting-started/first-report", "/features/integrations", "/customers", "/about",
    "/contact", "/integrations", "/features/alerts",
)
_TOPICS = (
    "saas", "marketing", "product", "growth", "churn", "revenue", "email", "customer", "pipeline",
    "retention", "pricing", "onboarding", "analytics", "attribution", "funnel", "cohort",
    "activation", "b2b", "board", "forecast",
)
_FORMATS = (
    "metrics", "guide", "playbook", "benchmarks", "checklist", "templates", "dashboards",
    "strategy", "examples", "mistakes", "trends", "report", "basics", "faq", "tools",
    "calculator", "framework", "kpis", "case-study", "webinar",
)
_PAGE_SECTIONS = (
    "/blog/{}-{}", "/resources/{}-{}", "/docs/{}/{}", "/customers/{}-{}-story", "/blog/2024/{}-{}",
)
_CONTENT_PREFIXES = ("/blog/", "/resources/", "/docs/")

_EVENT_NAMES = (
    "page_view", "session_start", "first_visit", "scroll", "click", "sign_up", "file_download",
    "add_to_cart", "begin_checkout", "purchase", "user_engagement", "view_item",
    "view_item_list", "select_item", "form_start", "form_submit", "generate_lead", "login",
    "search", "view_search_results", "video_start", "video_progress", "video_complete",
    "select_content", "share", "view_promotion", "select_promotion", "view_cart",
    "remove_from_cart", "add_payment_info", "add_shipping_info", "add_to_wishlist",
    "tutorial_begin", "tutorial_complete", "join_group", "request_demo", "contact_sales",
    "pricing_toggle", "start_trial", "webinar_register", "newsletter_subscribe", "chat_open",
    "chat_message", "roi_calculator_use", "case_study_view", "integration_view", "docs_search",
    "copy_code_snippet", "cta_click", "nav_click", "outbound_click", "form_error", "exception",
    "app_store_click", "social_share_click", "cookie_consent_accept", "cookie_consent_reject",
    "language_switch", "print_page", "feedback_submit",
)

_LISTS = (  # name, share of leads, unique-open rate
    ("Newsletter", 0.62, 0.36),
    ("Product Updates", 0.26, 0.43),
    ("Webinar Attendees", 0.12, 0.31),
)
_SUBJECTS = (
    "Your {month} product digest",
    "5 KPIs every SaaS team should track in {month}",
    "New in {month}: smarter dashboards",
    "How top teams cut churn this {month}",
    "Join our {month} live webinar",
    "{month} benchmarks: how do you compare?",
)

_PLANS = (  # name, billing interval, amount per seat in cents, tier, share of new customers
    ("Starter Monthly", "month", 2_900, 0, 0.30),
    ("Starter Annual", "year", 29_000, 0, 0.08),
    ("Growth Monthly", "month", 7_900, 1, 0.22),
    ("Growth Quarterly", "quarter", 22_500, 1, 0.07),
    ("Growth Annual", "year", 79_000, 1, 0.10),
    ("Pro Monthly", "month", 19_900, 2, 0.15),
    ("Pro Annual", "year", 199_000, 2, 0.08),
)
_UPGRADE = np.array([2, 4, 5, 5, 6, -1, -1])  # plan index a tier up, -1: none
_DOWNGRADE = np.array([-1, -1, 0, 0, 1, 2, 4])
_INTERVAL_MONTHS = {"month": 1, "quarter": 3, "year": 12}
_CHURN_PER_RENEWAL = {"month": 0.03, "quarter": 0.08, "year": 0.20}
_CHANGE_PER_RENEWAL = {"month": 0.02, "quarter": 0.05, "year": 0.12}
_SEATS_MEAN = np.array([1.6, 3.5, 8.0])  # by tier
_MAX_SEATS = 100
_SETUP_FEE_CENTS = 50_000

_COUNTRIES = ("US", "GB", "DE", "CA", "FR", "AU", "NL", "SE", "IN", "BR", "ES", "IE")
_COUNTRY_SHARE = (0.42, 0.12, 0.09, 0.07, 0.05, 0.05, 0.04, 0.03, 0.04, 0.03, 0.03, 0.03)
_FIRST_NAMES = ("alex", "sam", "maria", "li", "noah", "emma", "omar", "ines", "yuki", "lena")
_LAST_NAMES = ("smith", "garcia", "chen", "mueller", "khan", "rossi", "dubois", "novak", "silva")
_COMPANIES = ("northwind", "globex", "initech", "umbrella", "hooli", "acme", "tyrell", "soylent")

_NPS_SCORES_HAPPY = (0.01, 0.01, 0.01, 0.02, 0.02, 0.04, 0.05, 0.12, 0.17, 0.25, 0.30)  # 0..10
_NPS_SCORES_CHURNED = (0.05, 0.04, 0.06, 0.08, 0.09, 0.12, 0.14, 0.14, 0.12, 0.09, 0.07)
_CSAT_SCORES_HAPPY = (0.02, 0.03, 0.08, 0.32, 0.55)  # 1..5
_CSAT_SCORES_CHURNED = (0.10, 0.12, 0.20, 0.30, 0.28)

_APP_EVENTS = ("login", "page_view_app", "settings_updated", "invite_sent")
_APP_EVENT_SHARE = (0.33, 0.14, 0.03, 0.03)  # the remaining 47 % are feature_used:<feature>
_FEATURE_ADOPTION = np.array([0.85, 0.72, 0.45, 0.40, 0.55, 0.20, 0.12, 0.30])  # by FEATURES
_FEATURE_POPULARITY = np.array([0.30, 0.22, 0.10, 0.08, 0.12, 0.07, 0.03, 0.08])

_NETWORKS = (  # name, reach per site session, engagement rate
    ("LinkedIn", 3.0, 0.021), ("X", 2.0, 0.012), ("Facebook", 1.5, 0.009),
    ("Instagram", 1.2, 0.018), ("YouTube", 0.6, 0.035), ("TikTok", 0.4, 0.040),
)
_MARKETS = (
    ("North America", 0.44), ("Europe", 0.31), ("Asia Pacific", 0.17), ("Latin America", 0.08),
)


# --- entry point -----------------------------------------------------------------------------


def generate_company(
    seed: int = 7,
    size: str | Size = "demo",
    *,
    start: date,
    end: date,
    timezone: str = "UTC",
    anomalies: Sequence[Anomaly] = (),
    currency: str | Sequence[str] = "USD",
    history_days: int = 90,
) -> Company:
    """Generate the company for ``start..end`` (inclusive); same arguments, identical frames.

    ``size`` is a :data:`SIZES` name or a :class:`Size` (e.g. ``dataclasses.replace(SIZES["tiny"],
    customers=400)``). ``currency`` is the plans' currency, or a sequence of codes assigned to
    the plans in turn, which gives invoices in mixed currencies. ``timezone`` is the GA4
    property's: GA4, Mailchimp activity and input dates are local days in it.
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
    streams = dict(zip(_STREAMS, np.random.default_rng(seed).spawn(len(_STREAMS))))

    channels = _channel_table(sizing.channels)
    demand = _demand(calendar, streams["demand"])
    funnel = _funnel(sizing, demand, factors["signups"], streams["funnel"])
    mailchimp = _mailchimp(sizing, calendar, funnel, factors["email_opens"], streams["mailchimp"])
    traffic = _traffic(
        channels, calendar, funnel, mailchimp.campaigns_per_day, factors["ga4_traffic"],
        streams["traffic"],
    )
    pages, resource_views = _pages(_page_paths(sizing.pages), calendar, traffic, streams["pages"])
    events = _events(
        _event_names(sizing.event_names), calendar, traffic, funnel, resource_views,
        streams["events"],
    )
    billing = _billing(sizing, calendar, funnel, channels, currencies, streams)
    return Company(
        start=start,
        end=end,
        seed=seed,
        size=sizing,
        timezone=timezone,
        ga4_traffic=_traffic_frame(channels, calendar, traffic),
        ga4_pages=pages,
        ga4_events=events,
        ga4_totals=_totals_frame(calendar, traffic),
        mailchimp_lists=mailchimp.lists,
        mailchimp_campaigns=mailchimp.campaigns,
        mailchimp_list_activity=mailchimp.activity,
        **billing,
        marketing_spend=_marketing_spend(
            channels, calendar, funnel, factors["spend"], streams["inputs"]
        ),
        social_media=_social_media(sizing, calendar, funnel, streams["inputs"]),
        industry_sales=_industry_sales(sizing, calendar, billing["invoices"], streams["inputs"]),
        ga4_currency=currencies[0],
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


# --- shared helpers --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Calendar:
    days: np.ndarray  # local midnights from the billing history start to end, datetime64[ns]
    history: int  # days before start
    timezone: str
    snapshot: np.datetime64  # the end of ``end`` in timezone, as naive UTC

    @classmethod
    def build(cls, start: date, end: date, history_days: int, timezone: str) -> _Calendar:
        first = start - timedelta(days=history_days)
        days = pd.date_range(first, end, freq="D").to_numpy("datetime64[ns]")
        after_end = np.array([days[-1] + _DAY], dtype="datetime64[ns]")
        return cls(days, history_days, timezone, _local_to_utc(after_end, timezone)[0])

    @property
    def range_days(self) -> np.ndarray:
        return self.days[self.history:]


def _anomaly_factors(
    anomalies: Sequence[Anomaly], calendar: _Calendar, start: date, end: date
) -> dict[str, np.ndarray]:
    factors = {target: np.ones(len(calendar.days)) for target in ANOMALY_TARGETS}
    for anomaly in anomalies:
        if not start <= anomaly.day <= end:
            raise ValueError(f"{anomaly} falls outside {start}..{end}")
        factors[anomaly.target][calendar.history + (anomaly.day - start).days] *= anomaly.factor
    return factors


def _lognoise(rng: np.random.Generator, shape, sigma: float) -> np.ndarray:
    """Multiplicative noise with mean 1."""
    return np.exp(sigma * rng.standard_normal(shape) - sigma**2 / 2)


def _count(expected, rng: np.random.Generator, factor=1.0) -> np.ndarray:
    """Poisson-like counts around ``expected × factor``.

    The noise is drawn around ``expected`` from a fixed number of variates per value and the
    factor applied afterwards, so a factor on one value leaves every other value unchanged.
    """
    expected = np.asarray(expected, dtype=float)
    noisy = np.maximum(expected + np.sqrt(expected) * rng.standard_normal(expected.shape), 0.0)
    return np.floor(noisy * factor + rng.random(expected.shape)).astype(np.int64)


def _scale(counts: np.ndarray, factor: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``counts × factor``, stochastically rounded (a factor of 1 changes nothing)."""
    return np.floor(counts * factor + rng.random(counts.shape)).astype(np.int64)


def _thin(trials, rate, rng: np.random.Generator) -> np.ndarray:
    """Binomial-like successes out of ``trials`` (never more than ``trials``)."""
    trials = np.asarray(trials, dtype=float)
    rate = np.broadcast_to(np.clip(rate, 0.0, 1.0), trials.shape)
    mean = trials * rate
    noisy = mean + np.sqrt(mean * (1.0 - rate)) * rng.standard_normal(trials.shape)
    return np.clip(np.floor(noisy + rng.random(trials.shape)), 0, trials).astype(np.int64)


def _allocate(totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split each row's integer total over the columns in proportion to ``weights``, exactly."""
    weights = weights + 1e-12
    raw = totals[:, None] * (weights / weights.sum(axis=1, keepdims=True))
    parts = np.floor(raw).astype(np.int64)
    missing = totals - parts.sum(axis=1)
    order = np.argsort(parts - raw, axis=1)  # largest remainder first
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(order.shape[1]), order.shape), axis=1)
    return parts + (rank < missing[:, None])


def _local_to_utc(local: np.ndarray, timezone: str) -> np.ndarray:
    """Naive local wall-clock times in ``timezone`` as naive UTC ``datetime64[ns]``."""
    local = np.asarray(local, dtype="datetime64[ns]")
    if timezone == "UTC":
        return local
    aware = pd.DatetimeIndex(local).tz_localize(
        timezone, ambiguous=np.zeros(len(local), dtype=bool), nonexistent="shift_forward"
    )
    return aware.tz_convert("UTC").tz_localize(None).to_numpy("datetime64[ns]")


def _add_months(moments: np.ndarray, months: np.ndarray) -> np.ndarray:
    """``moments`` plus whole calendar months, the day clamped to the month's length."""
    days = moments.astype("datetime64[D]")
    month = days.astype("datetime64[M]")
    day_of_month = (days - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months, dtype=np.int64).astype("timedelta64[M]")
    first_day = target.astype("datetime64[D]")
    length = ((target + 1).astype("datetime64[D]") - first_day).astype(np.int64)
    day = first_day + np.minimum(day_of_month, length - 1).astype("timedelta64[D]")
    return day.astype("datetime64[ns]") + (moments - days.astype("datetime64[ns]"))


def _months_between(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    return (last.astype("datetime64[M]") - first.astype("datetime64[M]")).astype(np.int64)


def _weekday(moments: np.ndarray) -> np.ndarray:
    """Monday = 0 .. Sunday = 6 (1970-01-01 was a Thursday)."""
    return (moments.astype("datetime64[D]").astype(np.int64) + 3) % 7


def _holidays(days: np.ndarray) -> np.ndarray:
    index = pd.DatetimeIndex(days)
    christmas = (index.month == 12) & (index.day >= 24)
    return np.asarray(christmas | ((index.month == 1) & (index.day == 1)))


def _hex_ids(rng: np.random.Generator, count: int) -> list[str]:
    return [f"{value:010x}" for value in rng.choice(16**10, size=count, replace=False)]


# --- demand and funnel -----------------------------------------------------------------------


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
    customers: np.ndarray  # new billing customers per local day


def _funnel(
    sizing: Size, demand: np.ndarray, factor: np.ndarray, rng: np.random.Generator
) -> _Funnel:
    base = demand * sizing.customers / (_CUSTOMERS_PER_SIGNUP * demand.sum())
    signups = _count(base, rng)
    customers = _thin(signups, _CUSTOMERS_PER_SIGNUP * _lognoise(rng, len(base), 0.15), rng)
    return _Funnel(base, factor, _scale(signups, factor, rng), _scale(customers, factor, rng))


# --- Mailchimp -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Mailchimp:
    lists: pd.DataFrame
    campaigns: pd.DataFrame
    activity: pd.DataFrame
    campaigns_per_day: np.ndarray


def _mailchimp(
    sizing: Size, calendar: _Calendar, funnel: _Funnel, open_factor: np.ndarray,
    rng: np.random.Generator,
) -> _Mailchimp:
    names, shares, open_rates = (np.array(column) for column in zip(*_LISTS[: sizing.lists]))
    shares = shares / shares.sum()
    days, history = calendar.range_days, calendar.history
    shape = (len(days), len(names))

    lead_rate = funnel.base_signups[history:, None] * _LEADS_PER_SIGNUP * shares
    leads = _count(lead_rate * _lognoise(rng, shape, 0.2), rng, funnel.factor[history:, None])
    subs = _thin(leads, 0.78, rng)
    daily_leads = lead_rate.mean(axis=0)
    imports = (rng.random(shape) < 0.015) * _count(np.broadcast_to(8 * daily_leads, shape), rng)
    other_adds = leads - subs + imports
    initial = np.maximum(50, np.round(700 * daily_leads)).astype(np.int64)
    members = initial + np.cumsum(subs + other_adds, axis=0)
    unsubs = _count(members * 0.0003, rng)
    other_removes = _count(members * 0.00008, rng)

    campaigns, per_day = _campaigns(
        sizing.campaigns_per_month, names, shares, open_rates, members, calendar, open_factor, rng
    )
    cells = (campaigns.pop("day_index").to_numpy(), campaigns.pop("list_index").to_numpy())
    list_ids = _hex_ids(rng, len(names))
    campaigns.insert(1, "list_id", np.array(list_ids, dtype=object)[cells[1]])

    def per_list_day(column: str) -> np.ndarray:
        totals = np.zeros(shape, dtype=np.int64)
        np.add.at(totals, cells, campaigns[column].to_numpy())
        return totals

    hard, soft = per_list_day("hard_bounces"), per_list_day("soft_bounces")
    unsubs += per_list_day("unsubscribed")
    other_removes += hard  # hard-bounced addresses are cleaned
    activity = pd.DataFrame({
        "list_id": np.repeat(list_ids, len(days)),
        "day": np.tile(days, len(names)),
        "emails_sent": per_list_day("emails_sent").T.ravel(),
        "unique_opens": per_list_day("unique_opens").T.ravel(),
        "recipient_clicks": per_list_day("unique_subscriber_clicks").T.ravel(),
        "hard_bounce": hard.T.ravel(),
        "soft_bounce": soft.T.ravel(),
        "subs": subs.T.ravel(),
        "unsubs": unsubs.T.ravel(),
        "other_adds": other_adds.T.ravel(),
        "other_removes": other_removes.T.ravel(),
    })
    created = pd.Timestamp(days[0]) - pd.to_timedelta(rng.integers(400, 1500, len(names)), "D")
    created += pd.to_timedelta(rng.integers(0, 86_400, len(names)), "s")
    lists = pd.DataFrame({
        "id": list_ids,
        "name": names,
        "date_created": created.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "member_count": initial + (subs + other_adds - unsubs - other_removes).sum(axis=0),
    })
    return _Mailchimp(lists, campaigns, activity, per_day)


def _campaigns(
    per_month: float, names: np.ndarray, shares: np.ndarray, open_rates: np.ndarray,
    members: np.ndarray, calendar: _Calendar, open_factor: np.ndarray, rng: np.random.Generator,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Regular campaigns sent on Monday-to-Thursday mornings, each to one audience.

    Returns the campaign reports (with the helper columns ``day_index`` and ``list_index``) and
    the number of campaigns sent per day.
    """
    days = calendar.range_days
    eligible = np.flatnonzero((_weekday(days) < 4) & ~_holidays(days))
    count = int(round(len(days) / 30.4375 * per_month)) if len(eligible) else 0
    day_index = np.sort(rng.choice(eligible, size=count, replace=count > len(eligible)))
    list_index = rng.choice(len(names), size=count, p=shares)
    local = days[day_index] + (60 * (9 * 60 + rng.integers(0, 150, count))).astype("timedelta64[s]")
    send_time = pd.DatetimeIndex(_local_to_utc(local, calendar.timezone)).tz_localize("UTC")

    emails_sent = np.round(members[day_index, list_index] * rng.uniform(0.85, 0.99, count))
    emails_sent = emails_sent.astype(np.int64)
    hard = rng.binomial(emails_sent, 0.0015)
    soft = rng.binomial(emails_sent, 0.005)
    delivered = emails_sent - hard - soft
    open_rate = np.clip(open_rates[list_index] * _lognoise(rng, count, 0.12), 0.05, 0.9)
    opens = rng.binomial(delivered, open_rate)
    machine_opens = rng.binomial(opens, 0.42)  # Apple Mail Privacy Protection
    clicks = rng.binomial(opens, np.clip(0.11 * _lognoise(rng, count, 0.25), 0.01, 0.5))
    repeat_opens = _count(opens * 0.6, rng)
    repeat_clicks = _count(clicks * 0.45, rng)
    unsubscribed = rng.binomial(delivered, 0.0018)
    abuse_reports = rng.binomial(delivered, 0.00008)

    factor = open_factor[calendar.history + day_index]
    unique_opens = np.minimum(delivered, np.round(opens * factor)).astype(np.int64)
    clicks = np.minimum(clicks, unique_opens)
    local_days = pd.DatetimeIndex(days[day_index])
    subjects = rng.integers(0, len(_SUBJECTS), count)
    frame = pd.DataFrame({
        "id": _hex_ids(rng, count),
        "send_time": send_time,
        "type": "regular",
        "title": names[list_index].astype(object) + " " + local_days.strftime("%Y-%m-%d"),
        "subject_line": [
            _SUBJECTS[subject].format(month=month)
            for subject, month in zip(subjects, local_days.strftime("%B"))
        ],
        "status": "sent",
        "emails_sent": emails_sent,
        "unique_opens": unique_opens,
        "opens_total": np.maximum(
            unique_opens, np.round((opens + repeat_opens) * factor)
        ).astype(np.int64),
        "proxy_excluded_unique_opens": np.minimum(
            unique_opens, np.round((opens - machine_opens) * factor)
        ).astype(np.int64),
        "unique_subscriber_clicks": clicks,
        "clicks_total": clicks + repeat_clicks,
        "hard_bounces": hard,
        "soft_bounces": soft,
        "unsubscribed": unsubscribed,
        "abuse_reports": abuse_reports,
        "day_index": day_index,
        "list_index": list_index,
    })
    return frame, np.bincount(day_index, minlength=len(days))


# --- GA4 -------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class _Traffic:
    sessions: np.ndarray  # days × channels
    engaged: np.ndarray
    users: np.ndarray
    new_users: np.ndarray
    views: np.ndarray
    avg_duration: np.ndarray
    engagement: np.ndarray
    key_events: np.ndarray
    total_users: np.ndarray  # per day, property level: users overlap channels
    total_new_users: np.ndarray


def _traffic(
    channels: _ChannelTable, calendar: _Calendar, funnel: _Funnel, campaigns_per_day: np.ndarray,
    factor: np.ndarray, rng: np.random.Generator,
) -> _Traffic:
    """Sessions per day and channel, and everything that derives from them."""
    history = calendar.history
    shape = (len(calendar.range_days), len(channels.names))
    level = funnel.base_signups[history:, None] / _SIGNUPS_PER_SESSION
    email_boost = 0.6 + 1.4 * np.minimum(campaigns_per_day, 2)[:, None]
    boost = np.where(channels.names == "Email", email_boost, 1.0)
    expected = level * channels.share / channels.share.sum() * boost * _lognoise(rng, shape, 0.08)
    sessions = _count(expected, rng, factor[history:, None])
    engaged = _thin(sessions, channels.engagement * _lognoise(rng, shape, 0.04), rng)
    users = _thin(sessions, channels.users_per_session, rng)
    users = np.where(sessions > 0, np.maximum(1, users), 0)
    new_users = _thin(users, channels.new_share * _lognoise(rng, shape, 0.05), rng)
    views = _count(sessions * channels.pages_per_session * _lognoise(rng, shape, 0.05), rng)
    avg_duration = channels.duration * _lognoise(rng, shape, 0.1)
    engagement = np.round(sessions * avg_duration * 0.62)
    conversions = funnel.signups[history:] + funnel.customers[history:]  # sign_up + purchase
    key_events = _allocate(conversions, sessions * channels.propensity)
    overlap = np.clip(0.9 + 0.02 * rng.standard_normal(shape[0]), 0.85, 0.95)
    total_users = np.maximum(users.max(axis=1), np.round(users.sum(axis=1) * overlap))
    total_new = np.maximum(new_users.max(axis=1), np.round(new_users.sum(axis=1) * 0.98))
    return _Traffic(
        sessions, engaged, users, new_users, views, avg_duration, engagement, key_events,
        total_users.astype(np.int64), np.minimum(total_users, total_new).astype(np.int64),
    )


def _traffic_frame(channels: _ChannelTable, calendar: _Calendar, traffic: _Traffic) -> pd.DataFrame:
    day, channel = np.nonzero(traffic.sessions)
    return pd.DataFrame({
        "date": calendar.range_days[day],
        "sessionDefaultChannelGroup": channels.names[channel],
        "sessions": traffic.sessions[day, channel],
        "engagedSessions": traffic.engaged[day, channel],
        "totalUsers": traffic.users[day, channel],
        "newUsers": traffic.new_users[day, channel],
        "screenPageViews": traffic.views[day, channel],
        "averageSessionDuration": traffic.avg_duration[day, channel],
        "userEngagementDuration": traffic.engagement[day, channel],
        "keyEvents": traffic.key_events[day, channel].astype(float),
    })


def _totals_frame(calendar: _Calendar, traffic: _Traffic) -> pd.DataFrame:
    sessions = traffic.sessions.sum(axis=1)
    day = np.flatnonzero(sessions)
    weighted_duration = (traffic.avg_duration * traffic.sessions).sum(axis=1)
    return pd.DataFrame({
        "date": calendar.range_days[day],
        "totalUsers": traffic.total_users[day],
        "newUsers": traffic.total_new_users[day],
        "sessions": sessions[day],
        "engagedSessions": traffic.engaged.sum(axis=1)[day],
        "screenPageViews": traffic.views.sum(axis=1)[day],
        "averageSessionDuration": weighted_duration[day] / sessions[day],
        "userEngagementDuration": traffic.engagement.sum(axis=1)[day],
        "keyEvents": traffic.key_events.sum(axis=1)[day].astype(float),
    })


def _page_paths(count: int) -> list[str]:
    tail = (
        section.format(topic, fmt)
        for topic, fmt in itertools.product(_TOPICS, _FORMATS)
        for section in _PAGE_SECTIONS
    )
    more = (f"/blog/post-{k}" for k in itertools.count(1))
    return list(itertools.islice(itertools.chain(_CORE_PAGES, tail, more), count))


def _pages(
    paths: list[str], calendar: _Calendar, traffic: _Traffic, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """Page views per day and path (summing exactly to the channels' views), and the
    ``/resources/`` views per day."""
    paths = np.array(paths, dtype=object)
    content = np.array([path.startswith(_CONTENT_PREFIXES) for path in paths])
    resources = np.array([path.startswith("/resources/") for path in paths])
    shape = (len(calendar.range_days), len(paths))
    popularity = 1.0 / np.arange(1, len(paths) + 1) ** 1.1
    views = _allocate(traffic.views.sum(axis=1), popularity * _lognoise(rng, shape, 0.35))
    users = np.where(views > 0, np.maximum(1, _thin(views, 0.78, rng)), 0)
    engagement = np.round(views * np.where(content, 95.0, 40.0) * _lognoise(rng, shape, 0.2))
    day, page = np.nonzero(views)
    frame = pd.DataFrame({
        "date": calendar.range_days[day],
        "pagePath": paths[page],
        "screenPageViews": views[day, page],
        "totalUsers": users[day, page],
        "userEngagementDuration": engagement[day, page],
    })
    return frame, views[:, resources].sum(axis=1)


def _event_names(count: int) -> list[str]:
    more = (f"custom_event_{k:02d}" for k in itertools.count(1))
    return list(itertools.islice(itertools.chain(_EVENT_NAMES, more), count))


def _events(
    names: list[str], calendar: _Calendar, traffic: _Traffic, funnel: _Funnel,
    resource_views: np.ndarray, rng: np.random.Generator,
) -> pd.DataFrame:
    """Event counts and users per day and name.

    ``page_view``, ``session_start`` and ``first_visit`` equal the traffic's page views, sessions
    and new users; ``sign_up`` is the sign-ups and ``purchase`` the new customers of the day,
    below ``begin_checkout`` and ``add_to_cart``.
    """
    history = calendar.history
    sessions, views = traffic.sessions.sum(axis=1), traffic.views.sum(axis=1)
    users = traffic.total_users
    signups, buyers = funnel.signups[history:], funnel.customers[history:]
    carts = buyers + 1 + _count(funnel.base_signups[history:] * _CUSTOMERS_PER_SIGNUP * 1.9, rng)
    checkouts = buyers + _thin(carts - buyers, 0.45, rng)
    downloads = _count(resource_views * 0.15 + sessions * 0.004, rng)
    known = {  # name: (eventCount, totalUsers)
        "page_view": (views, _thin(users, 0.97, rng)),
        "session_start": (sessions, users),
        "first_visit": (traffic.total_new_users, traffic.total_new_users),
        "user_engagement": (
            _count(traffic.engaged.sum(axis=1) * 1.7, rng), _thin(users, 0.62, rng)
        ),
        "scroll": (_count(views * 0.42, rng), _thin(users, 0.55, rng)),
        "click": (_count(sessions * 0.22, rng), _thin(users, 0.16, rng)),
        "file_download": (downloads, _thin(downloads, 0.85, rng)),
        "sign_up": (signups, _thin(signups, 0.98, rng)),
        "add_to_cart": (carts + _count(carts * 0.35, rng), carts),
        "begin_checkout": (checkouts + _count(checkouts * 0.15, rng), checkouts),
        "purchase": (buyers, np.maximum(0, np.minimum(buyers, np.minimum(carts, users) - 1))),
    }
    counts, event_users = [], []
    for rank, name in enumerate(names):
        if name in known:
            count, reach = known[name]
        else:
            expected = sessions * 0.09 / (rank + 1) ** 0.8 * _lognoise(rng, len(sessions), 0.15)
            count = _count(expected, rng)
            reach = _thin(count, 0.72, rng)
        reach = np.where(count > 0, np.maximum(1, np.minimum(reach, count)), 0)
        counts.append(count)
        event_users.append(np.minimum(reach, users))
    counts, event_users = np.stack(counts, axis=1), np.stack(event_users, axis=1)
    day, event = np.nonzero(counts)
    return pd.DataFrame({
        "date": calendar.range_days[day],
        "eventName": np.array(names, dtype=object)[event],
        "eventCount": counts[day, event],
        "totalUsers": event_users[day, event],
    })


# --- billing ---------------------------------------------------------------------------------


def _billing(
    sizing: Size, calendar: _Calendar, funnel: _Funnel, channels: _ChannelTable,
    currencies: tuple[str, ...], streams: dict[str, np.random.Generator],
) -> dict[str, pd.DataFrame]:
    snapshot = calendar.snapshot
    plans = _plans(currencies)
    customers, activated = _customers(calendar, funnel, channels, streams["customers"])
    subscriptions = _subscriptions(customers, activated, snapshot, streams["subscriptions"])
    invoices = _invoices(subscriptions, plans, snapshot, streams["invoices"])
    lifetime_end = _lifetime_ends(len(customers), subscriptions, snapshot)
    return {
        "customers": customers,
        "plans": plans,
        "subscriptions": subscriptions,
        "invoices": invoices,
        "refunds": _refunds(invoices, snapshot, streams["invoices"]),
        "survey_responses": _survey_responses(
            customers, lifetime_end, lifetime_end < snapshot, streams["surveys"]
        ),
        "product_events": _product_events(
            sizing, customers, subscriptions, lifetime_end, streams["product_events"]
        ),
    }


def _plans(currencies: tuple[str, ...]) -> pd.DataFrame:
    names, intervals, amounts, _, _ = zip(*_PLANS)
    return pd.DataFrame({
        "id": np.arange(1, len(_PLANS) + 1),
        "name": names,
        "billing_interval": intervals,
        "amount_cents": np.array(amounts, dtype=np.int64),
        "currency": [currencies[index % len(currencies)] for index in range(len(_PLANS))],
    })


def _customers(
    calendar: _Calendar, funnel: _Funnel, channels: _ChannelTable, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """Customers created on each local day (mostly in business hours), ids in created_at order.

    Returns the frame and whether each customer activates (at any time, even after the snapshot).
    """
    day = np.repeat(np.arange(len(calendar.days)), funnel.customers)
    count = len(day)
    seconds = np.floor((13.5 + 3.2 * rng.standard_normal(count)) % 24 * 3600).astype(np.int64)
    local = calendar.days[day] + seconds.astype("timedelta64[s]")
    created = _local_to_utc(local, calendar.timezone)
    activates = rng.random(count) < 0.7
    delay_hours = np.clip(np.exp(np.log(30.0) + 1.1 * rng.standard_normal(count)), 0.5, 480.0)
    activated_at = created + (delay_hours * 3600).astype(np.int64).astype("timedelta64[s]")
    visible = activates & (activated_at < calendar.snapshot)
    propensity = channels.share * channels.propensity
    frame = pd.DataFrame({
        "created_at": created,
        "activated_at": np.where(visible, activated_at, np.datetime64("NaT", "ns")),
        "acquisition_channel": rng.choice(
            channels.names, size=count, p=propensity / propensity.sum()
        ),
        "country": rng.choice(np.array(_COUNTRIES, dtype=object), size=count, p=_COUNTRY_SHARE),
        "first": rng.choice(np.array(_FIRST_NAMES, dtype=object), size=count),
        "last": rng.choice(np.array(_LAST_NAMES, dtype=object), size=count),
        "company": rng.choice(np.array(_COMPANIES, dtype=object), size=count),
    })
    order = np.argsort(created, kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    ids = pd.Series(np.arange(1, count + 1))
    email = frame.pop("first") + "." + frame.pop("last") + ids.astype(str) + "@"
    frame.insert(0, "email", email + frame.pop("company") + ".example")
    frame.insert(0, "id", ids)
    return frame, activates[order]


def _subscriptions(
    customers: pd.DataFrame, activated: np.ndarray, snapshot: np.datetime64,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Subscription chains: at each renewal a subscription renews, churns or changes plan.

    A plan change (upgrade or downgrade) ends the subscription and starts the next one for the
    same customer at the same instant; churn is ~3 % a month, more for never-activated customers.
    """
    intervals = np.array([_INTERVAL_MONTHS[plan[1]] for plan in _PLANS])
    churn = np.array([_CHURN_PER_RENEWAL[plan[1]] for plan in _PLANS])
    change = np.array([_CHANGE_PER_RENEWAL[plan[1]] for plan in _PLANS])
    tiers = np.array([plan[3] for plan in _PLANS])
    shares = np.array([plan[4] for plan in _PLANS])
    count = len(customers)
    customer = np.arange(count)
    plan = rng.choice(len(_PLANS), size=count, p=shares / shares.sum())
    seats = np.minimum(rng.geometric(1 / _SEATS_MEAN[tiers[plan]]), _MAX_SEATS)
    checkout_seconds = rng.integers(30, 900, count).astype("timedelta64[s]")
    started = np.minimum(customers["created_at"].to_numpy() + checkout_seconds, snapshot - _SECOND)
    generations = []
    while True:
        interval = intervals[plan]
        p_event = churn[plan] * np.where(activated[customer], 1.0, 1.8) + change[plan]
        horizon = _months_between(started, snapshot) // interval + 2  # any later end is "active"
        ended = _add_months(started, np.minimum(rng.geometric(p_event), horizon) * interval)
        done = ended <= snapshot
        ended_at = np.where(done, ended, np.datetime64("NaT"))
        generations.append((customer, plan, seats, started, ended_at))
        moving = done & (rng.random(customer.size) * p_event < change[plan])
        if not moving.any():
            break
        customer, plan, seats, started = _change_plans(
            customer[moving], plan[moving], seats[moving], ended[moving], rng
        )
    customer, plan, seats, started, ended = (np.concatenate(column) for column in zip(*generations))
    frame = pd.DataFrame({
        "customer_id": customer + 1,
        "plan_id": plan + 1,
        "quantity": seats,
        "status": np.where(np.isnat(ended), "active", "canceled"),
        "started_at": started,
        "ended_at": ended.astype("datetime64[ns]"),
    })
    frame = frame.sort_values(["started_at", "customer_id"], kind="stable", ignore_index=True)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


def _change_plans(
    customer: np.ndarray, plan: np.ndarray, seats: np.ndarray, started: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The replacing subscriptions: 70 % upgrades (a tier up or more seats), 30 % downgrades
    (fewer seats or a tier down); a downgrade with nothing lower to go to is a churn."""
    upgrade = rng.random(customer.size) < 0.7
    by_tier = rng.random(customer.size) < 0.5
    step = rng.geometric(0.5, customer.size)
    up, down = _UPGRADE[plan], _DOWNGRADE[plan]
    tier_up = upgrade & by_tier & (up >= 0)
    seats_up = upgrade & ~tier_up
    seats_down = ~upgrade & (seats > 1) & (~by_tier | (down < 0))
    tier_down = ~upgrade & ~seats_down & (down >= 0)
    new_plan = np.where(tier_up, up, np.where(tier_down, down, plan))
    fewer_seats = np.where(seats_down, np.maximum(1, seats - step), seats)
    new_seats = np.where(seats_up, seats + step, fewer_seats)
    keep = upgrade | seats_down | tier_down
    return customer[keep], new_plan[keep], np.minimum(new_seats, _MAX_SEATS)[keep], started[keep]


def _lifetime_ends(count: int, subscriptions: pd.DataFrame, snapshot: np.datetime64) -> np.ndarray:
    """When each customer's last subscription ends; the snapshot while one is still active."""
    ended = subscriptions["ended_at"].to_numpy()
    ends = np.where(np.isnat(ended), snapshot, ended).astype("datetime64[ns]").view(np.int64)
    latest = np.full(count, np.iinfo(np.int64).min)
    np.maximum.at(latest, subscriptions["customer_id"].to_numpy() - 1, ends)
    return latest.view("datetime64[ns]")


def _invoices(
    subscriptions: pd.DataFrame, plans: pd.DataFrame, snapshot: np.datetime64,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One invoice per billing period started before the snapshot, plus one-off setup fees
    (no subscription) for ~30 % of customers starting on a Pro plan.

    Most are paid by card within hours, some by bank transfer within days; ~1 % are void and
    ~1.5 % uncollectible once 30 days overdue; anything unpaid at the snapshot is ``open``.
    """
    plan = subscriptions["plan_id"].to_numpy() - 1
    interval = np.array([_INTERVAL_MONTHS[name] for name in plans["billing_interval"]])[plan]
    started = subscriptions["started_at"].to_numpy()
    ended = subscriptions["ended_at"].to_numpy()
    horizon = np.where(np.isnat(ended), snapshot, ended)
    periods = _months_between(started, horizon) // interval + 1
    periods -= _add_months(started, (periods - 1) * interval) >= horizon
    row = np.repeat(np.arange(len(subscriptions)), periods)
    period = np.arange(len(row)) - np.repeat(np.cumsum(periods) - periods, periods)
    amount = plans["amount_cents"].to_numpy()[plan] * subscriptions["quantity"].to_numpy()
    currency = plans["currency"].to_numpy()[plan]

    first = ~subscriptions["customer_id"].duplicated().to_numpy()  # rows are in started_at order
    tiers = np.array([entry[3] for entry in _PLANS])
    setup = np.flatnonzero(first & (tiers[plan] == 2) & (rng.random(len(plan)) < 0.3))
    setup = setup[started[setup] + 2 * _DAY < snapshot]
    issued = np.concatenate([
        _add_months(started[row], period * interval[row]), started[setup] + 2 * _DAY
    ])
    count = len(issued)
    by_card = rng.random(count) < 0.82
    card_hours = np.clip(np.exp(np.log(0.3) + rng.standard_normal(count)), 0.01, 72.0)
    transfer_hours = 24 * np.clip(np.exp(np.log(4.0) + 0.8 * rng.standard_normal(count)), 0.1, 45.0)
    delay = (np.where(by_card, card_hours, transfer_hours) * 3600).astype(np.int64)
    paid_at = issued + delay.astype("timedelta64[s]")
    outcome = rng.random(count)
    overdue = issued + 30 * _DAY <= snapshot
    status = np.select(
        [outcome < 0.012, (outcome < 0.027) & overdue, (outcome < 0.027) | (paid_at >= snapshot)],
        ["void", "uncollectible", "open"],
        "paid",
    )
    subscription_id = np.concatenate([subscriptions["id"].to_numpy()[row], np.zeros(len(setup))])
    frame = pd.DataFrame({
        "customer_id": np.concatenate([subscriptions["customer_id"].to_numpy()[row],
                                       subscriptions["customer_id"].to_numpy()[setup]]),
        "subscription_id": pd.arrays.IntegerArray(
            subscription_id.astype(np.int64), np.arange(count) >= len(row)
        ),
        "issued_at": issued,
        "paid_at": np.where(status == "paid", paid_at, np.datetime64("NaT", "ns")),
        "amount_cents": np.concatenate([amount[row], np.full(len(setup), _SETUP_FEE_CENTS)]),
        "currency": np.concatenate([currency[row], currency[setup]]),
        "status": status,
    })
    frame = frame.sort_values("issued_at", kind="stable", ignore_index=True)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


def _refunds(
    invoices: pd.DataFrame, snapshot: np.datetime64, rng: np.random.Generator
) -> pd.DataFrame:
    """Refunds of ~2 % of paid invoices, days after payment; 70 % in full."""
    paid = invoices[invoices["status"] == "paid"]
    chosen = paid[rng.random(len(paid)) < 0.02]
    delay_days = np.clip(np.exp(np.log(5.0) + 0.9 * rng.standard_normal(len(chosen))), 1 / 24, 60.0)
    delay = (delay_days * 86_400).astype(np.int64).astype("timedelta64[s]")
    created = chosen["paid_at"].to_numpy() + delay
    amount = chosen["amount_cents"].to_numpy()
    partial = np.round(amount * rng.uniform(0.1, 0.9, len(chosen))).astype(np.int64)
    frame = pd.DataFrame({
        "invoice_id": chosen["id"].to_numpy(),
        "created_at": created,
        "amount_cents": np.where(rng.random(len(chosen)) < 0.7, amount, partial),
    })
    frame = frame[created < snapshot].sort_values("created_at", kind="stable", ignore_index=True)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


def _survey_responses(
    customers: pd.DataFrame, lifetime_end: np.ndarray, churned: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """NPS (quarterly, ~35 % answer) and CSAT (after support contacts) responses over each
    customer's lifetime; customers who churn answer lower. ~6 % of CSAT answers are anonymous."""
    created = customers["created_at"].to_numpy()
    life_days = (lifetime_end - created) / _DAY
    surveys = (
        ("nps", 90.0, 0.35, _NPS_SCORES_HAPPY, _NPS_SCORES_CHURNED, 0),
        ("csat", 30.0, 0.25, _CSAT_SCORES_HAPPY, _CSAT_SCORES_CHURNED, 1),
    )
    frames = []
    for survey, every_days, response_rate, happy, unhappy, lowest in surveys:
        responses = rng.poisson(life_days / every_days * response_rate)
        owner = np.repeat(np.arange(len(created)), responses)
        offset = (rng.random(len(owner)) * life_days[owner] * 86_400).astype(np.int64)
        cdf = np.where(
            churned[owner, None], np.cumsum(unhappy) / sum(unhappy), np.cumsum(happy) / sum(happy)
        )
        frames.append(pd.DataFrame({
            "customer_id": owner + 1,
            "survey": survey,
            "score": lowest + (rng.random(len(owner))[:, None] >= cdf).sum(axis=1),
            "responded_at": created[owner] + offset.astype("timedelta64[s]"),
        }))
    frame = pd.concat(frames, ignore_index=True)
    anonymous = (frame["survey"] == "csat").to_numpy() & (rng.random(len(frame)) < 0.06)
    customer_ids = frame["customer_id"].to_numpy(np.int64)
    frame["customer_id"] = pd.arrays.IntegerArray(customer_ids, anonymous)
    frame = frame.sort_values("responded_at", kind="stable", ignore_index=True)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


def _product_events(
    sizing: Size, customers: pd.DataFrame, subscriptions: pd.DataFrame, lifetime_end: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """In-app events over each customer's lifetime, busier for activated, larger accounts.

    Weekdays and business hours (UTC) dominate. ``feature_used:<feature>`` events come only
    after activation and only for the features the customer adopted; the rest are logins,
    ``page_view_app``, ``settings_updated`` and ``invite_sent``.
    """
    created = customers["created_at"].to_numpy()
    activated_at = customers["activated_at"].to_numpy()
    seats = subscriptions.drop_duplicates("customer_id").sort_values("customer_id")["quantity"]
    life = (lifetime_end - created) / _SECOND
    intensity = _lognoise(rng, len(created), 0.9) * np.where(np.isnat(activated_at), 0.3, 1.0)
    expected = intensity * np.sqrt(seats.to_numpy()) * life
    counts = rng.poisson(expected * sizing.product_events / max(expected.sum(), 1.0))
    owner = np.repeat(np.arange(len(created)), counts)
    total = len(owner)
    offset = rng.random(total) * life[owner]
    keeps_weekend = rng.random(total) < 0.4
    pending = np.arange(total)
    for _ in range(6):  # redraw rejected weekend moments; a few may stay on a weekend
        moment = created[owner[pending]] + offset[pending].astype(np.int64).astype("timedelta64[s]")
        pending = pending[(_weekday(moment) >= 5) & ~keeps_weekend[pending]]
        offset[pending] = rng.random(len(pending)) * life[owner[pending]]
    moment = created[owner] + offset.astype(np.int64).astype("timedelta64[s]")
    time_of_day = np.floor((14 + 3.5 * rng.standard_normal(total)) % 24 * 3600).astype(np.int64)
    day_start = moment.astype("datetime64[D]").astype("datetime64[ns]")
    moment = day_start + time_of_day.astype("timedelta64[s]")
    moment = np.clip(moment, created[owner], lifetime_end[owner] - _SECOND)

    app_share = np.array(_APP_EVENT_SHARE)
    code = rng.choice(len(app_share) + 1, size=total, p=[*app_share, 1 - app_share.sum()])
    wants_feature = code == len(app_share)
    is_feature = wants_feature & (moment >= activated_at[owner])  # NaT compares False
    code[wants_feature & ~is_feature] = _APP_EVENTS.index("page_view_app")
    adopted = rng.random((len(created), len(FEATURES))) < _FEATURE_ADOPTION
    adopted[:, 0] |= ~adopted.any(axis=1)
    cdf = np.cumsum(adopted * _FEATURE_POPULARITY, axis=1).astype(np.float32)
    cdf /= cdf[:, -1:]
    feature_owner = owner[is_feature]
    draws = rng.random(len(feature_owner), dtype=np.float32)
    code[is_feature] = len(app_share) + (draws[:, None] >= cdf[feature_owner]).sum(axis=1)

    order = np.argsort(moment, kind="stable")
    names = (*_APP_EVENTS, *(f"feature_used:{feature}" for feature in FEATURES))
    return pd.DataFrame({
        "id": np.arange(1, total + 1),
        "customer_id": owner[order] + 1,
        "event_name": pd.Categorical.from_codes(code[order], categories=names),
        "occurred_at": moment[order],
    })


# --- marketing inputs ------------------------------------------------------------------------


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
