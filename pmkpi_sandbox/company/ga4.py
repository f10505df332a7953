"""GA4: traffic per channel, the property totals, page views per path and event counts, per local day."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .channels import _ChannelTable
from .dates import _Calendar
from .demand import _CUSTOMERS_PER_SIGNUP, _SIGNUPS_PER_SESSION, _Funnel
from .randomness import _allocate, _count, _lognoise, _thin

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
    conversions = funnel.tracked_signups[history:] + funnel.customers[history:]  # sign_up + purchase
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
    and new users; ``sign_up`` is the sign-ups the tag recorded and ``purchase`` the new customers of the day,
    below ``begin_checkout`` and ``add_to_cart`` (which follow the day's shoppers).
    """
    history = calendar.history
    sessions, views = traffic.sessions.sum(axis=1), traffic.views.sum(axis=1)
    users = traffic.total_users
    signups, buyers = funnel.tracked_signups[history:], funnel.customers[history:]
    shoppers = funnel.shoppers[history:]
    carts = shoppers + 1 + _count(funnel.base_signups[history:] * _CUSTOMERS_PER_SIGNUP * 1.9, rng)
    checkouts = shoppers + _thin(carts - shoppers, 0.45, rng)
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
