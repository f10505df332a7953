"""The KPI catalog: every KPI of KPI_SPEC.md described once.

Assets, checks, the README's KPI reference and the Dagster UI descriptions are all generated
from :data:`CATALOG`. Adding a KPI is one :class:`Kpi` entry here and one function in the
family module named by its ``family`` (``pmkpi_pipeline/kpis/formulas/<family>.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ...lib.settings import KpiSettings

RATE = (0.0, 100.0)
NON_NEGATIVE = (0.0, None)
EMAIL_ANOMALY = {"seasonality": "none", "sensitivity": 4.0}
"""Email rates move in steps as campaigns enter and leave the 7-day window: no weekday pattern."""


@dataclass(frozen=True)
class Kpi:
    """One KPI: what it measures, over which window, in which unit, within which bounds."""

    id: str
    title: str
    family: str
    formula: str
    unit: str
    window: str  # "1d", "30d" (the configurable KPI window), "7d" (the email window), or "point"
    sources: tuple[str, ...]
    bounds: tuple[float | None, float | None] = NON_NEGATIVE
    higher_is_better: bool = True
    is_ratio: bool = True
    anomaly_overrides: Mapping[str, object] = field(default_factory=dict)
    notes: str = ""

    def anomaly_shape(self) -> dict[str, object]:
        """The ratio facts the anomaly detector needs, from the definition rather than the data."""
        if not self.is_ratio:
            return {"ratio_kind": "none", "unit": 1.0}
        percent = self.unit == "%" or self.id == "nps"
        kind = "signed" if self.id == "nps" else "proportion" if self.bounds == RATE else "unbounded"
        return {"ratio_kind": kind, "unit": 100.0 if percent else 1.0}

    def window_days(self, cfg: KpiSettings) -> int:
        """Length of the trailing window ending on the partition day, in days (1 for point-in-time)."""
        return {"1d": 1, "point": 1, "30d": cfg.window_days, "7d": cfg.email_window_days}[self.window]

    def window_label(self, cfg: KpiSettings) -> str:
        """Human-readable window, e.g. '30-day trailing window'."""
        if self.window == "point":
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
    Kpi("nps", "Net Promoter Score", "customer",
        "(promoters − detractors) / responses × 100; promoter = score 9–10, detractor = 0–6, over nps responses",
        "score", "30d", ("billing",), bounds=(-100.0, 100.0),
        notes="Responses with a NULL score are ignored; 7–8 are passives."),
    Kpi("csat", "Customer Satisfaction", "customer",
        "csat responses scoring 4–5 / all csat responses × 100 (scale 1–5)", "%", "30d", ("billing",),
        bounds=RATE,
        notes="Responses with a NULL score are ignored."),
    Kpi("churn_rate", "Customer churn rate", "customer",
        "customers active at the end of the day before the window who have no active subscription at the end "
        "of D / customers active at the end of the day before the window × 100", "%", "30d", ("billing",),
        bounds=RATE, higher_is_better=False,
        notes="Active = at least one subscription active at the end of the day; a customer with a gap who is active again at D is not churned."),
    Kpi("content_usage", "Content usage", "web",
        "page views of content pages (path prefixes PMKPI_CONTENT_PATH_PREFIXES) on D; metadata: engagement "
        "seconds per view and file_download events", "views", "1d", ("ga4",), is_ratio=False,
        notes="NULL only when GA4 has no page rows for D; 0 when pages exist but none match a prefix."),
    Kpi("conversion_rate", "Conversion rate", "web",
        "conversion events (PMKPI_CONVERSION_EVENTS, default sign_up) / totalUsers of the whole property on D × 100",
        "%", "1d", ("ga4",), bounds=RATE,
        notes="Users come from a date-only report: users are not additive over channels."),
    Kpi("lead_conversion_rate", "Lead conversion rate", "marketing",
        "new customers (created in window) / new leads in window × 100; leads = Mailchimp list subs + other_adds",
        "%", "30d", ("billing", "mailchimp"), bounds=RATE,
        notes="Leads summed over all lists; not clamped (more new customers than leads shows above 100 and fails the bounds check)."),
    Kpi("cost_per_lead", "Cost per lead", "marketing",
        "marketing spend in window / new leads in window", "currency", "30d", ("inputs", "mailchimp"),
        higher_is_better=False,
        notes="Spend summed over all channels in the window."),
    Kpi("social_engagement_rate", "Social media engagement rate", "marketing",
        "engagements / impressions × 100 on D, over all networks", "%", "1d", ("inputs",), bounds=RATE),
    Kpi("avg_session_duration", "Average session duration", "web",
        "Σ(averageSessionDuration × sessions) / Σ sessions over channels on D", "seconds", "1d", ("ga4",)),
    Kpi("pages_per_session", "Pages per session", "web",
        "screenPageViews / sessions on D (sums over channels)", "pages", "1d", ("ga4",)),
    Kpi("email_open_rate", "Email open rate", "email",
        "unique opens / (emails sent − hard bounces − soft bounces) × 100, campaigns sent in the window",
        "%", "7d", ("mailchimp",), bounds=RATE, anomaly_overrides=EMAIL_ANOMALY,
        notes="Bounces = hard + soft; NULL with 'no campaigns sent in window' when none were sent."),
    Kpi("email_click_rate", "Email click-through rate", "email",
        "unique subscriber clicks / (emails sent − hard bounces − soft bounces) × 100, campaigns sent in the window",
        "%", "7d", ("mailchimp",), bounds=RATE, anomaly_overrides=EMAIL_ANOMALY,
        notes="Bounces = hard + soft (as for the open rate)."),
    Kpi("bounce_rate", "Bounce rate", "web",
        "(sessions − engagedSessions) / sessions × 100 on D (GA4's definition)", "%", "1d", ("ga4",),
        bounds=RATE, higher_is_better=False),
    Kpi("cac", "Customer acquisition cost", "marketing",
        "marketing spend in window / new customers in window", "currency", "30d", ("inputs", "billing"),
        higher_is_better=False),
    Kpi("clv", "Customer lifetime value", "revenue",
        "ARPA × gross margin / (churn_rate / 100), ARPA = revenue in window / customers active at end of D; "
        "NULL when churn is 0", "currency", "30d", ("billing",),
        notes="numerator = ARPA × gross margin, denominator = churn_rate / 100; NULL when no customers are active, when churn is NULL or 0."),
    Kpi("onboarding_guide_views", "Onboarding guide views", "web",
        "page views on onboarding paths (PMKPI_ONBOARDING_PATH_PREFIXES) on D; metadata: views per new user",
        "views", "1d", ("ga4",), is_ratio=False,
        notes="NULL only when GA4 has no page rows for D; views_per_new_user uses the property's newUsers."),
    Kpi("romi", "Return on marketing investment", "marketing",
        "(revenue in window from customers created in window whose acquisition_channel has spend in window − "
        "spend in window) / spend in window × 100", "%", "30d", ("billing", "inputs"), bounds=(None, None),
        notes="A return, not a rate: it may be negative or above 100, so only finiteness is checked. Spend = all channels' spend in the window; a channel qualifies when its window spend is > 0; refunds count when created in the window."),
    Kpi("feature_adoption_rate", "Feature adoption rate", "customer",
        "customers active at end of D with a feature_used:F event in window / customers active at end of D × 100, "
        "per feature (dimension feature) and overall (any feature)", "%", "30d", ("billing",), bounds=RATE,
        notes="Features = PMKPI_TRACKED_FEATURES or every feature ever seen; the event may fall outside the customer's active span; tracked features never used get 0 rows."),
    Kpi("cart_abandonment_rate", "Cart abandonment rate", "web",
        "(1 − totalUsers of purchase / totalUsers of add_to_cart) × 100 on D", "%", "1d", ("ga4",),
        bounds=RATE, higher_is_better=False,
        notes="Not clamped: more purchasers than cart users gives a negative value, which the bounds check flags."),
    Kpi("customer_engagement_score", "Customer engagement score", "customer",
        "mean over customers active at end of D of 40·min(1, active days/20) + 30·min(1, distinct features/total "
        "features) + 30·min(1, logins/20), events in window", "score", "30d", ("billing",), bounds=RATE,
        is_ratio=False,
        notes="Distinct features count within the same feature set as adoption; numerator = Σ scores, denominator = active customers."),
    Kpi("retention_rate", "Customer retention rate", "customer",
        "(customers active at end of D − customers created in window and active at end of D) / customers active at "
        "end of the day before the window × 100", "%", "30d", ("billing",), bounds=RATE,
        notes="Returning customers active at D count as retained, so it can exceed 100 (flagged by the bounds check)."),
    Kpi("return_rate", "Return (refund) rate", "revenue",
        "refunds created in window / paid invoices in window × 100 (counts)", "%", "30d", ("billing",),
        bounds=RATE, higher_is_better=False,
        notes="Counts of rows, not amounts; refunds of invoices paid before the window count."),
    Kpi("time_to_value", "Time to value", "customer",
        "median of (activated_at − created_at) in days over customers activated in window", "days", "30d",
        ("billing",), higher_is_better=False, is_ratio=False,
        notes="Median interpolates between the middle two for an even count."),
    Kpi("market_share", "Market share", "marketing",
        "revenue in window / industry sales pro-rated to the window × 100", "%", "30d", ("billing", "inputs"),
        bounds=RATE),
    Kpi("arpu", "Average revenue per user", "revenue",
        "revenue in window / customers active at end of D", "currency", "30d", ("billing",),
        notes="0, not NULL, when customers are active but revenue is 0; refunds can make it negative."),
    Kpi("mrr", "Monthly recurring revenue", "revenue",
        "Σ over subscriptions active at end of D of plan amount normalised to a month (quarter ÷ 3, year ÷ 12) × "
        "quantity; metadata and dimension rows: new, expansion, contraction, churned MRR vs D−1",
        "currency", "point", ("billing",), is_ratio=False,
        notes="A returning customer's 0 → >0 counts as new (no reactivation category); 0 when nothing is active."),
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
