"""The report counts of a campaign send: bounces, opens (with Apple-MPP machine opens), clicks, unsubscribes."""

from __future__ import annotations

import numpy as np

from .randomness import _count, _lognoise

_COUNT_COLUMNS = (
    "emails_sent", "unique_opens", "opens_total", "proxy_excluded_unique_opens", "unique_subscriber_clicks",
    "clicks_total", "hard_bounces", "soft_bounces", "unsubscribed", "abuse_reports",
)


def _engagement(
    emails_sent: np.ndarray, open_rate: np.ndarray, factor: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The report counts of campaigns that sent ``emails_sent`` e-mails, by column.

    ``open_rate`` is each campaign's expected unique-open rate (noise is added) and ``factor``
    the ``email_opens`` anomaly factor of its send day.
    """
    count = len(emails_sent)
    hard = rng.binomial(emails_sent, 0.0015)
    soft = rng.binomial(emails_sent, 0.005)
    delivered = emails_sent - hard - soft
    open_rate = np.clip(open_rate * _lognoise(rng, count, 0.12), 0.05, 0.9)
    opens = rng.binomial(delivered, open_rate)
    machine_opens = rng.binomial(opens, 0.42)  # Apple Mail Privacy Protection
    clicks = rng.binomial(opens, np.clip(0.11 * _lognoise(rng, count, 0.25), 0.01, 0.5))
    repeat_opens = _count(opens * 0.6, rng)
    repeat_clicks = _count(clicks * 0.45, rng)
    unsubscribed = rng.binomial(delivered, 0.0018)
    abuse_reports = rng.binomial(delivered, 0.00008)

    unique_opens = np.minimum(delivered, np.round(opens * factor)).astype(np.int64)
    clicks = np.minimum(clicks, unique_opens)
    return {
        "emails_sent": emails_sent,
        "unique_opens": unique_opens,
        "opens_total": np.maximum(unique_opens, np.round((opens + repeat_opens) * factor)).astype(np.int64),
        "proxy_excluded_unique_opens": np.minimum(
            unique_opens, np.round((opens - machine_opens) * factor)
        ).astype(np.int64),
        "unique_subscriber_clicks": clicks,
        "clicks_total": clicks + repeat_clicks,
        "hard_bounces": hard,
        "soft_bounces": soft,
        "unsubscribed": unsubscribed,
        "abuse_reports": abuse_reports,
    }
