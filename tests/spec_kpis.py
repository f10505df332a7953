"""KPI_SPEC.md re-implemented independently in plain pandas, straight from a sandbox company's frames.

Nothing here imports the pipeline: it reads the generator's own frames (what the sources hold)
and applies each spec line literally, day by day, so a test can compare the warehouse with it.
Days are UTC calendar days (the test suite's PMKPI_TIMEZONE).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

CONTENT = ("/blog/", "/resources/")
ONBOARDING = ("/onboarding", "/docs/getting-started")


def _day(ts: pd.Series) -> pd.Series:
    return pd.to_datetime(ts).dt.date


def _in(series: pd.Series, lo: date, hi: date) -> pd.Series:
    days = _day(series)
    return (days >= lo) & (days <= hi)


def leads_per_day(company) -> pd.Series:
    """KPI_SPEC "Leads": list members of every list by the (UTC) day of ``timestamp_opt``, else of
    ``timestamp_signup``, any status; members with neither are not leads. Indexed by date, days with leads only."""
    m = company.mailchimp_members
    lead = m["timestamp_opt"].fillna(m["timestamp_signup"]).dropna()
    return lead.dt.tz_convert("UTC").dt.date.value_counts().sort_index()


def _ratio(num, den, scale=100.0):
    return None if den == 0 else num / den * scale


class SpecKpis:
    """Every KPI of the spec for one day D, from a web/email company and a billing/inputs company."""

    def __init__(self, web_company, billing_company, window: int = 30, email_window: int = 7):
        self.w, self.b = web_company, billing_company
        self.window, self.email_window = window, email_window

    # -- shared definitions -------------------------------------------------------------------
    def active(self, d: date) -> set:
        s = self.b.subscriptions
        started = _day(s["started_at"]) <= d
        ended = s["ended_at"].isna() | (_day(s["ended_at"].fillna(pd.Timestamp("2200-01-01"))) > d)
        return set(s.loc[started & ended, "customer_id"])

    def lo(self, d: date, days: int | None = None) -> date:
        return d - timedelta(days=(days or self.window) - 1)

    def revenue(self, d: date, customers: set | None = None) -> float:
        inv, ref = self.b.invoices, self.b.refunds
        paid = inv[(inv["status"] == "paid") & inv["paid_at"].notna()]
        paid = paid[_in(paid["paid_at"], self.lo(d), d)]
        refunds = ref[_in(ref["created_at"], self.lo(d), d)].merge(
            inv[["id", "customer_id"]], left_on="invoice_id", right_on="id", suffixes=("", "_inv"))
        if customers is not None:
            paid = paid[paid["customer_id"].isin(customers)]
            refunds = refunds[refunds["customer_id"].isin(customers)]
        return (paid["amount_cents"].sum() - refunds["amount_cents"].sum()) / 100

    def new_customers(self, d: date) -> pd.DataFrame:
        c = self.b.customers
        return c[_in(c["created_at"], self.lo(d), d)]

    def leads(self, d: date) -> float:
        return float(leads_per_day(self.w).loc[self.lo(d):d].sum())

    def spend(self, d: date) -> pd.DataFrame:
        s = self.b.marketing_spend
        return s[_in(s["date"], self.lo(d), d)]

    def events(self, d: date) -> pd.DataFrame:
        e = self.b.product_events
        return e[_in(e["occurred_at"], self.lo(d), d)].assign(event_name=lambda f: f["event_name"].astype(str))

    def ga4(self, frame: str, d: date) -> pd.DataFrame:
        f = getattr(self.w, frame)
        return f[_day(f["date"]) == d]

    # -- the KPIs -------------------------------------------------------------------------------
    def values(self, d: date) -> dict[str, float | None]:
        """Every headline KPI value on D (None where the spec says NULL)."""
        b, out = self.b, {}
        surveys = b.survey_responses[_in(b.survey_responses["responded_at"], self.lo(d), d)]
        nps = surveys[surveys["survey"] == "nps"]["score"]
        out["nps"] = _ratio(((nps >= 9).sum() - (nps <= 6).sum()), len(nps))
        csat = surveys[surveys["survey"] == "csat"]["score"]
        out["csat"] = _ratio((csat >= 4).sum(), len(csat))
        base, now = self.active(d - timedelta(days=self.window)), self.active(d)
        out["churn_rate"] = _ratio(len(base - now), len(base))
        pages, traffic = self.ga4("ga4_pages", d), self.ga4("ga4_traffic", d)
        events, totals = self.ga4("ga4_events", d), self.ga4("ga4_totals", d)
        out["content_usage"] = float(pages[pages["pagePath"].str.startswith(CONTENT)]["screenPageViews"].sum())
        out["onboarding_guide_views"] = float(
            pages[pages["pagePath"].str.startswith(ONBOARDING)]["screenPageViews"].sum())
        signups = events[events["eventName"] == "sign_up"]["eventCount"].sum()
        out["conversion_rate"] = _ratio(signups, totals["totalUsers"].sum())
        new = self.new_customers(d)
        leads = self.leads(d)
        out["lead_conversion_rate"] = _ratio(len(new), leads)
        spend = self.spend(d)
        out["cost_per_lead"] = _ratio(spend["amount"].sum(), leads, 1)
        social = b.social_media[_day(b.social_media["date"]) == d]
        out["social_engagement_rate"] = _ratio(social["engagements"].sum(), social["impressions"].sum())
        sessions = traffic["sessions"].sum()
        out["avg_session_duration"] = _ratio((traffic["averageSessionDuration"] * traffic["sessions"]).sum(),
                                             sessions, 1)
        out["pages_per_session"] = _ratio(traffic["screenPageViews"].sum(), sessions, 1)
        out["bounce_rate"] = _ratio(sessions - traffic["engagedSessions"].sum(), sessions)
        camp = self.w.mailchimp_campaigns
        camp = camp[_in(camp["send_time"].dt.tz_convert("UTC").dt.tz_localize(None),
                        self.lo(d, self.email_window), d)]
        delivered = (camp["emails_sent"] - camp["hard_bounces"] - camp["soft_bounces"]).sum()
        out["email_open_rate"] = _ratio(camp["unique_opens"].sum(), delivered)
        out["email_click_rate"] = _ratio(camp["unique_subscriber_clicks"].sum(), delivered)
        out["cac"] = _ratio(spend["amount"].sum(), len(new), 1)
        revenue = self.revenue(d)
        arpa = _ratio(revenue, len(now), 1)
        churn = out["churn_rate"]
        out["clv"] = None if not churn or arpa is None else arpa * 1.0 / (churn / 100)
        paid_channels = set(spend.loc[spend["amount"] > 0, "channel"])
        attributed = set(new.loc[new["acquisition_channel"].isin(paid_channels), "id"])
        total_spend = spend["amount"].sum()
        out["romi"] = _ratio(self.revenue(d, attributed) - total_spend, total_spend)
        ev = self.events(d)
        used = ev[ev["event_name"].str.startswith("feature_used:")]
        out["feature_adoption_rate"] = _ratio(len(set(used["customer_id"]) & now), len(now))
        add = events[events["eventName"] == "add_to_cart"]["totalUsers"].sum()
        purchase = events[events["eventName"] == "purchase"]["totalUsers"].sum()
        out["cart_abandonment_rate"] = None if add == 0 else (1 - purchase / add) * 100
        out["customer_engagement_score"] = self.engagement(ev, now)
        created_active = set(new["id"]) & now
        out["retention_rate"] = _ratio(len(now) - len(created_active), len(base))
        inv = b.invoices
        paid_count = ((inv["status"] == "paid") & inv["paid_at"].notna() & _in(inv["paid_at"], self.lo(d), d)).sum()
        out["return_rate"] = _ratio(_in(b.refunds["created_at"], self.lo(d), d).sum(), paid_count)
        c = b.customers
        act = c[c["activated_at"].notna() & _in(c["activated_at"].fillna(pd.Timestamp("1900-01-01")), self.lo(d), d)]
        out["time_to_value"] = (None if act.empty else
                                float(((act["activated_at"] - act["created_at"]).dt.total_seconds() / 86400).median()))
        out["market_share"] = _ratio(revenue, self.industry(d))
        out["arpu"] = arpa
        out["mrr"] = self.mrr(d)
        return out

    def engagement(self, ev: pd.DataFrame, active: set) -> float | None:
        if not active:
            return None
        features_total = self.b.product_events["event_name"].astype(str)
        total = features_total[features_total.str.startswith("feature_used:")].nunique()
        scores = []
        for cust in active:
            mine = ev[ev["customer_id"] == cust]
            days = _day(mine["occurred_at"]).nunique()
            feats = mine.loc[mine["event_name"].str.startswith("feature_used:"), "event_name"].nunique()
            logins = (mine["event_name"] == "login").sum()
            scores.append(40 * min(1, days / 20) + 30 * min(1, feats / total if total else 0)
                          + 30 * min(1, logins / 20))
        return float(np.mean(scores))

    def industry(self, d: date) -> float:
        s = self.b.industry_sales
        total = 0.0
        for i in range(self.window):
            day = self.lo(d) + timedelta(days=i)
            month = s[s["month"] == day.strftime("%Y-%m")]
            days_in_month = pd.Timestamp(day).days_in_month
            total += month["total_sales"].sum() / days_in_month
        return total

    def mrr(self, d: date) -> float:
        s = self.b.subscriptions.merge(self.b.plans, left_on="plan_id", right_on="id", suffixes=("", "_plan"))
        started = _day(s["started_at"]) <= d
        ended = s["ended_at"].isna() | (_day(s["ended_at"].fillna(pd.Timestamp("2200-01-01"))) > d)
        active = s[started & ended]
        months = active["billing_interval"].map({"month": 1, "quarter": 3, "year": 12})
        return float((active["amount_cents"] / 100 / months * active["quantity"]).sum())
