"""What the dashboard shows, read from the warehouse as of one day.

Every KPI's latest value, its change against the previous period, its last 90 days with the days
that failed a check, its target and whether its sources have settled; MRR movements over the KPI
window; feature adoption per feature; the days that failed a check; when each source was last landed.
A handful of set-based queries bounded by the 90 days shown: the build time does not grow with history.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import duckdb

from ...lib.kpi_tables import provisional_rows
from ...lib.settings import KpiSettings
from ..kpis.catalog import BY_ID, Kpi, Window
from ..kpis.targets import Target

PERIOD_DAYS = 90
"""Days shown in each sparkline and searched for failed checks."""
MRR_MOVEMENTS = ("new", "expansion", "contraction", "churned")


@dataclass(frozen=True)
class Section:
    """A group of KPIs answering one question a product marketer asks."""

    key: str
    title: str
    asks: str
    kpis: tuple[str, ...]


SECTIONS = (
    Section("acquisition", "Acquisition", "Traffic, conversion, leads, cost per lead, CAC",
            ("bounce_rate", "social_engagement_rate", "conversion_rate", "cart_abandonment_rate",
             "lead_conversion_rate", "cost_per_lead", "cac")),
    Section("engagement", "Engagement", "Content, onboarding, sessions, feature adoption, engagement score",
            ("content_usage", "onboarding_guide_views", "avg_session_duration", "pages_per_session",
             "feature_adoption_rate", "customer_engagement_score")),
    Section("email", "Email", "Opens and clicks of the campaigns sent", ("email_open_rate", "email_click_rate")),
    Section("revenue", "Revenue", "MRR, ARPU, CLV, ROMI, market share",
            ("mrr", "arpu", "clv", "romi", "market_share")),
    Section("retention", "Retention and satisfaction", "Churn, retention, returns, NPS, CSAT, time to value",
            ("churn_rate", "retention_rate", "return_rate", "nps", "csat", "time_to_value")),
)
"""Every catalog KPI in exactly one section, in the order the page shows them."""


def comparison_days(kpi: Kpi, cfg: KpiSettings) -> int:
    """How far back "the previous period" is: the previous, non-overlapping window of a windowed KPI; a week
    for a one-day KPI (the same weekday, so the weekly pattern is no change); the KPI window for a
    point-in-time KPI (MRR month over month)."""
    if kpi.window is Window.DAY:
        return 7
    if kpi.window is Window.POINT_IN_TIME:
        return cfg.window_days
    return kpi.window_days(cfg)


@dataclass(frozen=True)
class FailedCheck:
    """A day that failed a check: the KPI's value that day and the range the check expected (None: open)."""

    day: date
    kpi: Kpi
    check: str
    kind: str
    severity: str
    value: float | None
    low: float | None
    high: float | None
    description: str

    @property
    def flags(self) -> bool:
        """Whether it marks the day on the sparkline: bounds and anomalies do; being off target does not."""
        return self.kind != "target"


@dataclass
class KpiCard:
    """One KPI as the dashboard shows it."""

    kpi: Kpi
    latest: float | None
    null_reason: str | None
    previous_day: date
    previous: float | None
    series: list[tuple[date, float | None]]
    failed: list[FailedCheck]
    target: Target | None
    provisional_sources: str | None
    not_judged: str | None = None  # why the anomaly check could not judge the latest day (None: it did)
    not_judged_days: int = 0  # days of the period the anomaly check could not judge

    @property
    def change(self) -> float | None:
        """Latest minus the previous period's value; None when either is missing."""
        return None if self.latest is None or self.previous is None else self.latest - self.previous

    @property
    def higher_is_better(self) -> bool:
        return self.target.higher_is_better if self.target else self.kpi.higher_is_better

    @property
    def on_track(self) -> bool | None:
        """Whether the latest value meets the target; None without a target or a value."""
        return None if self.target is None or self.latest is None else self.target.on_track(self.latest)

    @property
    def flagged(self) -> list[FailedCheck]:
        return [f for f in self.failed if f.flags]


@dataclass(frozen=True)
class MrrBridge:
    """MRR at the start and end of the KPI window and the movements summed over the days between."""

    start_day: date
    start: float | None
    end_day: date
    end: float | None
    movements: dict[str, float]
    days: int


@dataclass(frozen=True)
class FeatureRow:
    """One feature's adoption on the as-of day and a KPI window earlier."""

    feature: str
    value: float | None
    previous: float | None


@dataclass
class Dashboard:
    """Everything on the page; ``as_of`` None when the warehouse has no KPI rows yet."""

    as_of: date | None
    built_at: datetime
    currency: str
    timezone: str
    sections: list[tuple[Section, list[KpiCard]]] = field(default_factory=list)
    failed: list[FailedCheck] = field(default_factory=list)
    mrr: MrrBridge | None = None
    features: list[FeatureRow] = field(default_factory=list)
    features_previous_day: date | None = None
    landed: dict[str, datetime] = field(default_factory=dict)

    @property
    def period_start(self) -> date | None:
        return None if self.as_of is None else self.as_of - timedelta(days=PERIOD_DAYS - 1)

    @property
    def cards(self) -> list[KpiCard]:
        return [card for _, cards in self.sections for card in cards]

    @property
    def last_refreshed(self) -> datetime | None:
        return max(self.landed.values(), default=None)


def _number(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def expected_range(kind: str, metadata: dict) -> tuple[float | None, float | None]:
    """The range a check expected, from its verdict's metadata: an anomaly's ``lower``/``upper``, the bounds,
    or the target (at least / at most)."""
    if "lower" in metadata or "upper" in metadata:
        return _number(metadata.get("lower")), _number(metadata.get("upper"))
    if "bounds" in metadata:
        low, high = metadata["bounds"]
        return _number(low), _number(high)
    if kind == "target" and "target" in metadata:
        target = _number(metadata["target"])
        return (target, None) if metadata.get("direction", "up") == "up" else (None, target)
    return None, None


def load_dashboard(con: duckdb.DuckDBPyConnection, cfg: KpiSettings, targets: dict[str, Target], timezone: str,
                   as_of: date | None = None) -> Dashboard:
    """Read the dashboard as of ``as_of`` (default: the last day with KPI rows) from the warehouse."""
    page = Dashboard(as_of=None, built_at=datetime.now(UTC), currency=cfg.reporting_currency, timezone=timezone)
    tables = _tables(con)
    if "landed_days" in tables:
        page.landed = {source: landed.replace(tzinfo=UTC) for source, landed in con.execute(
            "SELECT source, max(landed_at) FROM landed_days WHERE landed_at IS NOT NULL GROUP BY source "
            "ORDER BY source").fetchall()}
    if "kpi_values" not in tables:
        return page
    page.as_of = as_of or con.execute("SELECT max(date) FROM kpi_values").fetchone()[0]
    if page.as_of is None:
        return page
    as_of, first = page.as_of, page.period_start
    lags = {kpi_id: comparison_days(BY_ID[kpi_id], cfg) for kpi_id in BY_ID}
    reach = min(first, as_of - timedelta(days=max(lags.values())))
    values = {(day, kpi): (_number(value), reason) for day, kpi, value, reason in con.execute(
        "SELECT date, kpi, value, null_reason FROM kpi_values WHERE dimension IS NULL AND date BETWEEN ? AND ?",
        [reach, as_of]).fetchall()}
    page.failed = _failed_checks(con, tables, first, as_of, values)
    unjudged = _not_judged(con, tables, first, as_of)
    unsettled = dict(provisional_rows(con, list(BY_ID), as_of, as_of)[["kpi", "provisional_sources"]]
                     .itertuples(index=False))
    days = [first + timedelta(days=i) for i in range(PERIOD_DAYS)]
    for section in SECTIONS:
        cards = []
        for kpi_id in section.kpis:
            kpi = BY_ID[kpi_id]
            latest, reason = values.get((as_of, kpi_id), (None, "no row for this day"))
            previous_day = as_of - timedelta(days=lags[kpi_id])
            cards.append(KpiCard(
                kpi=kpi, latest=latest, null_reason=reason, previous_day=previous_day,
                previous=values.get((previous_day, kpi_id), (None, None))[0],
                series=[(day, values.get((day, kpi_id), (None, None))[0]) for day in days],
                failed=[f for f in page.failed if f.kpi is kpi], target=targets.get(kpi_id),
                provisional_sources=unsettled.get(kpi_id), not_judged=unjudged.get(kpi_id, {}).get(as_of),
                not_judged_days=len(unjudged.get(kpi_id, {}))))
        page.sections.append((section, cards))
    page.mrr = _mrr_bridge(con, cfg, as_of, values)
    page.features_previous_day = as_of - timedelta(days=lags["feature_adoption_rate"])
    page.features = _features(con, as_of, page.features_previous_day)
    return page


def _failed_checks(con, tables: set[str], first: date, as_of: date, values: dict) -> list[FailedCheck]:
    """Every check that failed on a day of ``first..as_of``, newest first."""
    if "kpi_check_results" not in tables:
        return []
    failed = []
    for day, kpi_id, check, severity, description, metadata in con.execute(
            "SELECT date, kpi, check_name, severity, description, metadata FROM kpi_check_results "
            "WHERE NOT passed AND date BETWEEN ? AND ? ORDER BY date DESC, kpi, check_name", [first, as_of]).fetchall():
        if kpi_id not in BY_ID:
            continue
        kind = check.removeprefix(f"{kpi_id}_")
        meta = json.loads(metadata) if metadata else {}
        value = values.get((day, kpi_id), (_number(meta.get("value")), None))[0]
        low, high = expected_range(kind, meta)
        failed.append(FailedCheck(day=day, kpi=BY_ID[kpi_id], check=check, kind=kind, severity=severity,
                                  value=value, low=low, high=high, description=description or ""))
    return failed


def _not_judged(con, tables: set[str], first: date, as_of: date) -> dict[str, dict[date, str]]:
    """Per KPI, the days of ``first..as_of`` its anomaly check could not judge (``passed`` NULL), with the reason."""
    if "kpi_check_results" not in tables:
        return {}
    days: dict[str, dict[date, str]] = {}
    for day, kpi_id, description in con.execute(
            "SELECT date, kpi, description FROM kpi_check_results WHERE passed IS NULL "
            "AND check_name = kpi || '_anomaly' AND date BETWEEN ? AND ?", [first, as_of]).fetchall():
        reason = (description or "").partition("not judged: ")[2] or description or "not judged"
        days.setdefault(kpi_id, {})[day] = reason
    return days


def _mrr_bridge(con, cfg: KpiSettings, as_of: date, values: dict) -> MrrBridge:
    """MRR a KPI window before ``as_of``, the movements of the days after it, and MRR on ``as_of``."""
    start_day = as_of - timedelta(days=cfg.window_days)
    sums = dict(con.execute(
        "SELECT dimension_value, sum(value) FROM kpi_values WHERE kpi = 'mrr' AND dimension = 'movement' "
        "AND date BETWEEN ? AND ? GROUP BY 1", [start_day + timedelta(days=1), as_of]).fetchall())
    days = con.execute("SELECT count(DISTINCT date) FROM kpi_values WHERE kpi = 'mrr' AND dimension = 'movement' "
                       "AND date BETWEEN ? AND ?", [start_day + timedelta(days=1), as_of]).fetchone()[0]
    return MrrBridge(start_day=start_day, start=values.get((start_day, "mrr"), (None, None))[0], end_day=as_of,
                     end=values.get((as_of, "mrr"), (None, None))[0],
                     movements={m: _number(sums.get(m)) or 0.0 for m in MRR_MOVEMENTS}, days=days)


def _features(con, as_of: date, previous_day: date) -> list[FeatureRow]:
    """Adoption per feature on ``as_of`` and ``previous_day``, most adopted first."""
    rows = con.execute(
        "SELECT dimension_value, max(value) FILTER (date = $as_of), max(value) FILTER (date = $before) "
        "FROM kpi_values WHERE kpi = 'feature_adoption_rate' AND dimension = 'feature' "
        "AND date IN ($as_of, $before) GROUP BY 1", {"as_of": as_of, "before": previous_day}).fetchall()
    features = [FeatureRow(name, _number(value), _number(previous)) for name, value, previous in rows]
    return sorted(features, key=lambda f: (f.value is None, -(f.value or 0.0), f.feature))
