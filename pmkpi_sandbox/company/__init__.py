"""A seeded model of one B2B SaaS company: the single origin of every sandbox source.

:func:`generate_company` derives the GA4 reports, the Mailchimp audiences, their members, campaigns
and daily list activity, the seven billing tables and the marketing-input frames from one daily
demand curve, so the sources tell one story: GA4 ``sign_up`` events are the trial sign-ups,
Mailchimp leads (members by their opt-in day: the activity's ``subs + other_adds``, plus sign-ups
never confirmed) outnumber them, a share of them become billing customers the same day (GA4
``purchase`` events), paid channels carry the marketing spend, and so on.

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
  its own day and target (and what derives from them). A planted :class:`Event` (an MPP-inflated
  campaign, a checkout outage, a price change, a tracking break) changes what it models and what
  derives from it; without events every frame is as it was before they existed.

The model is split by what it models: :mod:`.model` (the dataclasses and sizes),
:mod:`.generate` (the orchestration), :mod:`.demand` (demand and funnel), :mod:`.channels`,
:mod:`.ga4`, :mod:`.mailchimp` (with :mod:`.members`), :mod:`.billing` (with :mod:`.pricing`, a planted price
change) and :mod:`.inputs` (one per source), on the
shared helpers of :mod:`.dates` and :mod:`.randomness`. Underscored names are internal to the
package; its modules import them from one another.
"""

from .billing import FEATURES
from .generate import generate_company
from .model import ANOMALY_TARGETS, BILLING_TABLES, EVENT_DAYS, SIZES, Anomaly, Company, Event, Size

__all__ = [
    "ANOMALY_TARGETS", "BILLING_TABLES", "EVENT_DAYS", "FEATURES", "SIZES", "Anomaly", "Company", "Event", "Size",
    "generate_company",
]
