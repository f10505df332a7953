"""The KPI catalog: every KPI of KPI_SPEC.md described once.

Assets, checks, the README's KPI reference and the Dagster UI descriptions are all generated
from :data:`CATALOG`. Adding a KPI is one :class:`Kpi` entry here and one function named by its
``id`` in the family module named by its ``family`` (``pmkpi_pipeline/defs/kpis/formulas/<family>.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

from ...lib.settings import KpiSettings

RATE = (0.0, 100.0)
NON_NEGATIVE = (0.0, None)
EMAIL_ANOMALY = {"seasonality": "none"}
"""Email rates move in steps as campaigns enter and leave the 7-day window (the window model judges them); where
the daily model does (a series that moves day by day), without a weekday pattern."""

RatioKind = Literal["proportion", "signed", "unbounded", "none"]
"""How a KPI's value relates to its numerator and denominator, for the anomaly detector's sampling noise:
``proportion`` 0 <= numerator <= denominator (a share); ``signed`` |numerator| <= denominator (like NPS);
``unbounded`` any other ratio; ``none`` not a ratio (a count, a mean, a median, an amount)."""


class Window(Enum):
    """The days a KPI's value on day D covers, named by what they mean."""

    DAY = "day"
    """The day D itself."""
    POINT_IN_TIME = "point_in_time"
    """The state at the end of D."""
    KPI_WINDOW = "kpi_window"
    """The configurable KPI window: PMKPI_WINDOW_DAYS days ending on D."""
    EMAIL_WINDOW = "email_window"
    """The email window: PMKPI_EMAIL_WINDOW_DAYS days ending on D."""

    def days(self, cfg: KpiSettings) -> int:
        """Length of the trailing window ending on D, in days (1 for the day itself and point-in-time)."""
        return {Window.KPI_WINDOW: cfg.window_days, Window.EMAIL_WINDOW: cfg.email_window_days}.get(self, 1)


@dataclass(frozen=True, kw_only=True)
class Kpi:
    """One KPI: what it measures, over which window, in which unit, within which bounds.

    ``ratio_kind`` and ``ratio_scale`` (value = numerator / denominator × ratio_scale, 100 for a
    percentage) describe the ratio for the anomaly detector.
    """

    id: str
    title: str
    family: str
    formula: str
    unit: str
    window: Window
    sources: tuple[str, ...]
    ratio_kind: RatioKind
    ratio_scale: float = 1.0
    bounds: tuple[float | None, float | None] = NON_NEGATIVE
    higher_is_better: bool = True
    anomaly_overrides: Mapping[str, object] = field(default_factory=dict)
    notes: str = ""

    def anomaly_shape(self, cfg: KpiSettings | None = None) -> dict[str, object]:
        """The shape facts the anomaly detector needs: its ``ratio_kind`` and ``unit`` (the ratio),
        ``window_days`` (the trailing window, with ``cfg``'s windows, else the defaults) and ``point_in_time`` (a
        stock), which pick its noise model."""
        return {"ratio_kind": self.ratio_kind, "unit": self.ratio_scale,
                "window_days": self.window_days(cfg or KpiSettings()),
                "point_in_time": self.window is Window.POINT_IN_TIME}

    def window_days(self, cfg: KpiSettings) -> int:
        """Length of the trailing window ending on the partition day, in days (1 for point-in-time)."""
        return self.window.days(cfg)

    def window_label(self, cfg: KpiSettings) -> str:
        """Human-readable window, e.g. '30-day trailing window'."""
        if self.window is Window.POINT_IN_TIME:
            return "point in time (end of day)"
        days = self.window_days(cfg)
        return "the day itself" if days == 1 else f"{days}-day trailing window ending on the day"

    def describe(self, cfg: KpiSettings) -> str:
        """The Markdown description shown in the Dagster UI and the README."""
        text = f"**{self.title}** (`{self.id}`) — {self.formula}. Window: {self.window_label(cfg)}. " \
               f"Unit: {self.unit}. Sources: {', '.join(self.sources)}."
        text += " NULL, with the reason, while any day of the window has not been landed."
        return f"{text} {self.notes}".strip()


CATALOG: tuple[Kpi, ...] = (
    Kpi(
        id="nps", title="Net Promoter Score", family="customer",
        formula=("(promoters − detractors) / responses × 100; promoter = score 9–10, detractor = 0–6, over nps "
                 "responses"),
        unit="score", window=Window.KPI_WINDOW, sources=("billing",),
        bounds=(-100.0, 100.0), ratio_kind="signed", ratio_scale=100.0,
        notes="Responses with a NULL score are ignored; 7–8 are passives.",
    ),
    Kpi(
        id="csat", title="Customer Satisfaction", family="customer",
        formula="csat responses scoring 4–5 / all csat responses × 100 (scale 1–5)",
        unit="%", window=Window.KPI_WINDOW, sources=("billing",),
        bounds=RATE, ratio_kind="proportion", ratio_scale=100.0,
        notes="Responses with a NULL score are ignored.",
    ),
    Kpi(
        id="churn_rate", title="Customer churn rate", family="customer",
        formula=("customers active at the end of the day before the window who have no active subscription at the end"
                 " of D / customers active at the end of the day before the window × 100"),
        unit="%", window=Window.KPI_WINDOW, sources=("billing",),
        bounds=RATE, higher_is_better=False, ratio_kind="proportion", ratio_scale=100.0,
        notes=("Active = at least one subscription active at the end of the day; a customer with a gap who is active "
               "again at D is not churned."),
    ),
    Kpi(
        id="content_usage", title="Content usage", family="web",
        formula=("page views of content pages (path prefixes PMKPI_CONTENT_PATH_PREFIXES) on D; metadata: engagement "
                 "seconds per view and file_download events"),
        unit="views", window=Window.DAY, sources=("ga4",),
        ratio_kind="none",
        notes=("NULL when GA4 has no page rows for D, except on a day without traffic (0); 0 when pages exist but "
               "none match a prefix."),
    ),
    Kpi(
        id="conversion_rate", title="Conversion rate", family="web",
        formula=("conversion events (PMKPI_CONVERSION_EVENTS, default sign_up) / totalUsers of the whole property on "
                 "D × 100"),
        unit="%", window=Window.DAY, sources=("ga4",),
        bounds=RATE, ratio_kind="proportion", ratio_scale=100.0,
        notes="Users come from a date-only report: users are not additive over channels.",
    ),
    Kpi(
        id="lead_conversion_rate", title="Lead conversion rate", family="marketing",
        formula=("new customers (created in window) / new leads in window × 100; leads = Mailchimp list members by "
                 "the day of their opt-in (timestamp_opt, else timestamp_signup), any status"),
        unit="%", window=Window.KPI_WINDOW, sources=("billing", "mailchimp"),
        bounds=RATE, ratio_kind="proportion", ratio_scale=100.0,
        notes=("Leads summed over all lists; not clamped (more new customers than leads shows above 100 and fails the"
               " bounds check)."),
    ),
    Kpi(
        id="cost_per_lead", title="Cost per lead", family="marketing",
        formula="marketing spend in window / new leads in window",
        unit="currency", window=Window.KPI_WINDOW, sources=("inputs", "mailchimp"),
        higher_is_better=False, ratio_kind="unbounded",
        notes="Spend summed over all channels in the window.",
    ),
    Kpi(
        id="social_engagement_rate", title="Social media engagement rate", family="marketing",
        formula="engagements / impressions × 100 on D, over all networks",
        unit="%", window=Window.DAY, sources=("inputs",),
        bounds=RATE, ratio_kind="proportion", ratio_scale=100.0,
    ),
    Kpi(
        id="avg_session_duration", title="Average session duration", family="web",
        formula="Σ(averageSessionDuration × sessions) / Σ sessions over channels on D",
        unit="seconds", window=Window.DAY, sources=("ga4",),
        ratio_kind="unbounded",
    ),
    Kpi(
        id="pages_per_session", title="Pages per session", family="web",
        formula="screenPageViews / sessions on D (sums over channels)",
        unit="pages", window=Window.DAY, sources=("ga4",),
        ratio_kind="unbounded",
    ),
    Kpi(
        id="email_open_rate", title="Email open rate", family="email",
        formula="unique opens / (emails sent − hard bounces − soft bounces) × 100, campaigns sent in the window",
        unit="%", window=Window.EMAIL_WINDOW, sources=("mailchimp",),
        bounds=RATE, ratio_kind="proportion", ratio_scale=100.0, anomaly_overrides=EMAIL_ANOMALY,
        notes="Bounces = hard + soft; NULL with 'no campaigns sent in window' when none were sent.",
    ),
    Kpi(
        id="email_click_rate", title="Email click-through rate", family="email",
        formula=("unique subscriber clicks / (emails sent − hard bounces − soft bounces) × 100, campaigns sent in the"
                 " window"),
        unit="%", window=Window.EMAIL_WINDOW, sources=("mailchimp",),
        bounds=RATE, ratio_kind="proportion", ratio_scale=100.0, anomaly_overrides=EMAIL_ANOMALY,
        notes="Bounces = hard + soft (as for the open rate).",
    ),
    Kpi(
        id="bounce_rate", title="Bounce rate", family="web",
        formula="(sessions − engagedSessions) / sessions × 100 on D (GA4's definition)",
        unit="%", window=Window.DAY, sources=("ga4",),
        bounds=RATE, higher_is_better=False, ratio_kind="proportion", ratio_scale=100.0,
    ),
    Kpi(
        id="cac", title="Customer acquisition cost", family="marketing",
        formula="marketing spend in window / new customers in window",
        unit="currency", window=Window.KPI_WINDOW, sources=("inputs", "billing"),
        higher_is_better=False, ratio_kind="unbounded",
    ),
    Kpi(
        id="clv", title="Customer lifetime value", family="revenue",
        formula=("ARPA × gross margin / (churn_rate / 100), ARPA = revenue in window / customers active at end of D; "
                 "NULL when churn is 0"),
        unit="currency", window=Window.KPI_WINDOW, sources=("billing",),
        ratio_kind="unbounded",
        notes=("numerator = ARPA × gross margin, denominator = churn_rate / 100; NULL when no customers are active, "
               "when churn is NULL or 0."),
    ),
    Kpi(
        id="onboarding_guide_views", title="Onboarding guide views", family="web",
        formula="page views on onboarding paths (PMKPI_ONBOARDING_PATH_PREFIXES) on D; metadata: views per new user",
        unit="views", window=Window.DAY, sources=("ga4",),
        ratio_kind="none",
        notes=("NULL when GA4 has no page rows for D, except on a day without traffic (0); views_per_new_user uses "
               "the property's newUsers."),
    ),
    Kpi(
        id="romi", title="Return on marketing investment", family="marketing",
        formula=("(revenue in window from customers created in window whose acquisition_channel has spend in window −"
                 " spend in window) / spend in window × 100"),
        unit="%", window=Window.KPI_WINDOW, sources=("billing", "inputs"),
        bounds=(None, None), ratio_kind="unbounded", ratio_scale=100.0,
        notes=("A return, not a rate: it may be negative or above 100, so only finiteness is checked. Spend = all "
               "channels' spend in the window; a channel qualifies when its window spend is > 0; refunds count when "
               "created in the window."),
    ),
    Kpi(
        id="feature_adoption_rate", title="Feature adoption rate", family="customer",
        formula=("customers active at end of D with a feature_used:F event in window / customers active at end of D ×"
                 " 100, per feature (dimension feature) and overall (any feature)"),
        unit="%", window=Window.KPI_WINDOW, sources=("billing",),
        bounds=RATE, ratio_kind="proportion", ratio_scale=100.0,
        notes=("Features = PMKPI_TRACKED_FEATURES or every feature ever seen; the event may fall outside the "
               "customer's active span; tracked features never used get 0 rows."),
    ),
    Kpi(
        id="cart_abandonment_rate", title="Cart abandonment rate", family="web",
        formula="(1 − totalUsers of purchase / totalUsers of add_to_cart) × 100 on D",
        unit="%", window=Window.DAY, sources=("ga4",),
        bounds=RATE, higher_is_better=False, ratio_kind="proportion", ratio_scale=100.0,
        notes="Not clamped: more purchasers than cart users gives a negative value, which the bounds check flags.",
    ),
    Kpi(
        id="customer_engagement_score", title="Customer engagement score", family="customer",
        formula=("mean over customers active at end of D of 40·min(1, active days/20) + 30·min(1, distinct "
                 "features/total features) + 30·min(1, logins/20), events in window"),
        unit="score", window=Window.KPI_WINDOW, sources=("billing",),
        bounds=RATE, ratio_kind="none",
        notes=("Distinct features count within the same feature set as adoption; numerator = Σ scores, denominator = "
               "active customers."),
    ),
    Kpi(
        id="retention_rate", title="Customer retention rate", family="customer",
        formula=("(customers active at end of D − customers created in window and active at end of D) / customers "
                 "active at end of the day before the window × 100"),
        unit="%", window=Window.KPI_WINDOW, sources=("billing",),
        bounds=RATE, ratio_kind="proportion", ratio_scale=100.0,
        notes="Returning customers active at D count as retained, so it can exceed 100 (flagged by the bounds check).",
    ),
    Kpi(
        id="return_rate", title="Return (refund) rate", family="revenue",
        formula="refunds created in window / paid invoices in window × 100 (counts)",
        unit="%", window=Window.KPI_WINDOW, sources=("billing",),
        bounds=RATE, higher_is_better=False, ratio_kind="proportion", ratio_scale=100.0,
        notes="Counts of rows, not amounts; refunds of invoices paid before the window count.",
    ),
    Kpi(
        id="time_to_value", title="Time to value", family="customer",
        formula="median of (activated_at − created_at) in days over customers activated in window",
        unit="days", window=Window.KPI_WINDOW, sources=("billing",),
        higher_is_better=False, ratio_kind="none",
        notes="Median interpolates between the middle two for an even count.",
    ),
    Kpi(
        id="market_share", title="Market share", family="marketing",
        formula="revenue in window / industry sales pro-rated to the window × 100",
        unit="%", window=Window.KPI_WINDOW, sources=("billing", "inputs"),
        bounds=RATE, ratio_kind="proportion", ratio_scale=100.0,
    ),
    Kpi(
        id="arpu", title="Average revenue per user", family="revenue",
        formula="revenue in window / customers active at end of D",
        unit="currency", window=Window.KPI_WINDOW, sources=("billing",),
        ratio_kind="unbounded",
        notes="0, not NULL, when customers are active but revenue is 0; refunds can make it negative.",
    ),
    Kpi(
        id="mrr", title="Monthly recurring revenue", family="revenue",
        formula=("Σ over subscriptions active at end of D of plan amount normalised to a month (quarter ÷ 3, year ÷ "
                 "12) × quantity; metadata and dimension rows: new, expansion, contraction, churned MRR vs D−1"),
        unit="currency", window=Window.POINT_IN_TIME, sources=("billing",),
        ratio_kind="none",
        notes="A returning customer's 0 → >0 counts as new (no reactivation category); 0 when nothing is active.",
    ),
)

BY_ID: dict[str, Kpi] = {kpi.id: kpi for kpi in CATALOG}

FAMILIES: dict[str, tuple[Kpi, ...]] = {}
for _kpi in CATALOG:
    FAMILIES.setdefault(_kpi.family, ())
    FAMILIES[_kpi.family] += (_kpi,)

FAMILY_UPSTREAMS: dict[str, tuple[str, ...]] = {
    "web": ("stg_ga4",),
    "email": ("stg_mailchimp",),
    "customer": ("stg_billing",),
    "revenue": ("stg_billing",),
    "marketing": ("stg_billing", "stg_mailchimp", "stg_inputs"),
}


def family_lookback_days(family: str, cfg: KpiSettings) -> int:
    """Days before the first partition of a range that the family's longest window reaches back.

    Point-in-time KPIs compare against the previous day (MRR movements), so at least 1.
    """
    return max(max(k.window_days(cfg) for k in FAMILIES[family]) - 1, 1)


def kpi_windows(cfg: KpiSettings) -> dict[str, tuple[int, tuple[str, ...]]]:
    """Each KPI's window in days and its sources: what the ``kpis`` view needs to mark provisional rows."""
    return {kpi.id: (kpi.window_days(cfg), kpi.sources) for kpi in CATALOG}
