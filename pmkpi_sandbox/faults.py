"""The sandbox's misbehaviour plan, shared by the GA4 and Mailchimp servers.

A :class:`FaultPlan` holds, behind one lock:

- a FIFO queue of :class:`Fault` s, each applied to the next ``times`` requests of one server
  (optionally only those whose path contains ``path``): HTTP error bursts, slow answers and
  malformed bodies;
- ``settling``: late data — values dated shortly before ``as_of`` are scaled down;
- ``ga4_metadata``: flags copied into GA4 ``metadata`` (``subjectToThresholding``,
  ``dataLossFromOtherRow``);
- ``ga4_quota``: overrides of the GA4 property-quota limits, and the tokens used so far;
- ``ga4_switches``: what GA4 data looks like (see :data:`GA4_SWITCHES`) and whether sign-in is required;
- ``today``: the date the sandbox takes for today; Mailchimp's list activity serves only the 180
  days before it (None: the day after the data ends);
- per-endpoint request counters (:meth:`FaultPlan.stats`).

Everything is settable from Python or with the JSON of :meth:`FaultPlan.configure`, which the
servers accept on ``POST /_sandbox/faults``.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, fields
from datetime import date
from zoneinfo import ZoneInfo

import pandas as pd

SERVERS = ("ga4", "mailchimp")
REQUEST_KINDS = frozenset({"status", "slow"})
BODY_KINDS = frozenset(
    {
        "truncate",
        "wrong_type",
        "missing_field",
        "unknown_header",
        "out_of_range_row",
        "duplicate_rows",
        "inflated_row_count",
    }
)
GA4_ONLY_KINDS = frozenset({"unknown_header", "out_of_range_row"})
FAULT_STATUSES = frozenset({403, 429, 500, 502, 503})
FAULT_BODIES = ("api", "none", "html")
"""What a ``status`` fault answers: the API's own error body, nothing at all (Mailchimp's 429 and 403
under load), or an HTML error page from the edge in front of the API (``text/html``)."""
GA4_METADATA_FLAGS = ("subjectToThresholding", "dataLossFromOtherRow", "samplingMetadatas")
# The Data API's standard-property limits; ``FaultPlan.ga4_quota`` overrides them.
GA4_QUOTA_LIMITS = {
    "tokensPerDay": 200_000,
    "tokensPerHour": 40_000,
    "concurrentRequests": 10,
    "serverErrorsPerProjectPerHour": 10,
    "potentiallyThresholdedRequestsPerHour": 120,
    "tokensPerProjectPerHour": 14_000,
}
GA4_SWITCHES = {
    "ga4_empty_days": "days (YYYY-MM-DD) without any row in any report: a tracking outage",
    "ga4_other_rows": "{max_rows, fold_date}: rows past max_rows (per day, or of the whole report when "
                      "fold_date) are folded into one '(other)' row, whose date is '(other)' too when fold_date",
    "ga4_withheld": "{min_users}: rows of fewer users are withheld (thresholding), the report flagged",
    "ga4_api_disabled": "the Cloud project number whose Data API is disabled (403 SERVICE_DISABLED)",
    "ga4_require_auth": "true: every Data API call needs an access token the sandbox issued or accepts",
    "ga4_time_zone": "a time zone name the property reports instead of the company's (Google spells zones its own "
                     "way: Etc/UTC, Asia/Calcutta, US/Pacific)",
}
"""The GA4 data and sign-in switches of :meth:`FaultPlan.configure`, and what each does."""


@dataclass(frozen=True)
class Fault:
    """One injected fault, applied to the next ``times`` matching requests.

    ``kind`` is ``status`` (answer ``status`` with the API's error body, plus ``Retry-After:
    retry_after`` when given), ``slow`` (sleep ``seconds``, then answer normally) or one of the
    body faults: ``truncate`` (cut the JSON in half), ``wrong_type`` (a number becomes ``"abc"``;
    ``field`` picks the GA4 metric or Mailchimp item key), ``missing_field`` (drop the top-level
    key ``field``, default ``rows`` / ``total_items``), ``unknown_header`` (GA4: the first
    metric header is renamed), ``out_of_range_row`` (GA4: an extra row dated the day before the
    range), ``duplicate_rows`` (the first row/item repeated), ``inflated_row_count``
    (``rowCount`` / ``total_items`` raised by ``extra``). ``body`` (``status`` only): ``none``
    answers without a body, ``html`` with an HTML page from the edge (see :data:`FAULT_BODIES`).
    """

    server: str
    kind: str
    times: int = 1
    path: str | None = None
    status: int = 429
    retry_after: float | None = None
    message: str | None = None
    seconds: float = 0.0
    field: str | None = None
    extra: int = 1
    body: str = "api"

    def __post_init__(self) -> None:
        if self.server not in SERVERS:
            raise ValueError(f"fault server {self.server!r} is not one of {SERVERS}")
        if self.kind not in REQUEST_KINDS | BODY_KINDS:
            kinds = sorted(REQUEST_KINDS | BODY_KINDS)
            raise ValueError(f"fault kind {self.kind!r} is not one of {kinds}")
        if self.kind in GA4_ONLY_KINDS and self.server != "ga4":
            raise ValueError(f"fault kind {self.kind!r} applies to the ga4 server only")
        if self.kind == "status" and self.status not in FAULT_STATUSES:
            raise ValueError(f"fault status {self.status} is not one of {sorted(FAULT_STATUSES)}")
        if self.times < 1:
            raise ValueError(f"fault times must be at least 1, got {self.times}")
        if self.body not in FAULT_BODIES or (self.body != "api" and self.kind != "status"):
            raise ValueError(f"fault body {self.body!r} must be one of {FAULT_BODIES} ('none' and 'html' "
                             "with kind 'status' only)")

    @classmethod
    def from_dict(cls, data: dict, default_server: str | None = None) -> Fault:
        """Build a fault from its JSON form; ``server`` defaults to ``default_server``."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault keys {sorted(unknown)}; known: {sorted(known)}")
        return cls(**{"server": default_server, **data})

    def matches(self, server: str, path: str, kinds: frozenset[str]) -> bool:
        """Whether this fault applies to a request of ``server`` on ``path`` in phase ``kinds``."""
        return (
            self.server == server
            and self.kind in kinds
            and (self.path is None or self.path in path)
        )


@dataclass(frozen=True)
class Settling:
    """Late data: values dated in ``(as_of - days, as_of]`` are multiplied by ``factor``."""

    as_of: date
    days: int
    factor: float

    def __post_init__(self) -> None:
        if not 0 < self.factor <= 1:
            raise ValueError(f"settling factor must be in (0, 1], got {self.factor}")
        if self.days < 1:
            raise ValueError(f"settling days must be at least 1, got {self.days}")

    def scale(self, frame: pd.DataFrame, time_column: str, columns: list[str]) -> pd.DataFrame:
        """A copy of ``frame`` whose ``columns`` are scaled (and rounded) where late."""
        day = frame[time_column].dt.normalize()
        if day.dt.tz is not None:
            day = day.dt.tz_localize(None)
        as_of = pd.Timestamp(self.as_of)
        late = (day > as_of - pd.Timedelta(days=self.days)) & (day <= as_of)
        scaled = frame.copy()
        for column in columns:
            values = scaled[column].astype(float)
            scaled[column] = values.where(~late, (values * self.factor).round())
        return scaled


class FaultPlan:
    """Thread-safe fault queue, late-data switch, GA4 flags/quota, today's date and request counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[list] = []  # [fault, remaining uses]
        self._stats: Counter[str] = Counter()
        self._ga4_tokens = 0
        self.settling: Settling | None = None
        self.ga4_metadata: dict[str, bool] = {}
        self.ga4_quota: dict[str, int] = {}
        self.ga4_switches: dict[str, object] = {}
        self._ga4_usage: Counter[str] = Counter()
        self.today: date | None = None

    def add(self, *faults: Fault) -> None:
        """Queue faults; each is used by its next ``times`` matching requests, in FIFO order."""
        with self._lock:
            self._faults.extend([fault, fault.times] for fault in faults)

    def take(self, server: str, path: str, kinds: frozenset[str]) -> Fault | None:
        """Use up one application of the first queued fault matching this request, if any."""
        with self._lock:
            for entry in self._faults:
                fault = entry[0]
                if fault.matches(server, path, kinds):
                    entry[1] -= 1
                    if entry[1] == 0:
                        self._faults.remove(entry)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        """The faults still queued (each once, however many uses remain)."""
        with self._lock:
            return [entry[0] for entry in self._faults]

    def count(self, keys: list[str]) -> None:
        """Count one request under each of ``keys``."""
        with self._lock:
            self._stats.update(keys)

    def stats(self) -> dict[str, int]:
        """Requests received per endpoint key, e.g. ``{"ga4.runReport": 3}``."""
        with self._lock:
            return dict(sorted(self._stats.items()))

    def use_ga4_tokens(self, tokens: int) -> None:
        """Charge GA4 quota tokens."""
        with self._lock:
            self._ga4_tokens += tokens

    def ga4_tokens_used(self) -> int:
        """GA4 quota tokens used since the last reset."""
        with self._lock:
            return self._ga4_tokens

    def count_ga4(self, quota: str) -> None:
        """Count one use of a GA4 quota that is not tokens (server errors, thresholded requests)."""
        with self._lock:
            self._ga4_usage[quota] += 1

    def ga4_usage(self, quota: str) -> int:
        """Uses of a GA4 quota since the last reset (``tokens*`` quotas: the tokens used)."""
        with self._lock:
            return self._ga4_tokens if quota.startswith("tokens") else self._ga4_usage[quota]

    def ga4_quota_limits(self) -> dict[str, int]:
        """The GA4 property-quota limits in force: the API's defaults with overrides applied."""
        return {**GA4_QUOTA_LIMITS, **self.ga4_quota}

    def configure(self, config: dict, default_server: str | None = None) -> None:
        """Apply the JSON form of a plan, all or nothing; absent keys leave that part unchanged.

        ``{"faults": [{"server": "ga4", "kind": "status", "status": 429, "times": 2,
        "retry_after": 1, "path": ":runReport"}], "settling": {"as_of": "2025-03-10",
        "days": 3, "factor": 0.8} | null, "ga4_metadata": {"subjectToThresholding": true,
        "dataLossFromOtherRow": true}, "ga4_quota": {"tokensPerHour": 100}, "today": "2026-03-31" | null}``
        """
        unknown = set(config) - {"faults", "settling", "ga4_metadata", "ga4_quota", "today", *GA4_SWITCHES}
        if unknown:
            raise ValueError(f"unknown fault-plan keys {sorted(unknown)}")
        faults = [Fault.from_dict(item, default_server) for item in config.get("faults", [])]
        settling = _settling(config["settling"]) if "settling" in config else self.settling
        flags = config.get("ga4_metadata", self.ga4_metadata)
        if not set(flags) <= set(GA4_METADATA_FLAGS):
            raise ValueError(f"ga4_metadata keys must be among {GA4_METADATA_FLAGS}")
        quota = config.get("ga4_quota", self.ga4_quota)
        if not set(quota) <= set(GA4_QUOTA_LIMITS):
            raise ValueError(f"ga4_quota keys must be among {list(GA4_QUOTA_LIMITS)}")
        quota = {name: int(limit) for name, limit in quota.items()}
        switches = {**self.ga4_switches, **_ga4_switches(config)}
        today = config.get("today", self.today)
        if today is not None and not isinstance(today, date):
            today = date.fromisoformat(str(today))
        self.ga4_switches = {name: value for name, value in switches.items() if value not in (None, False)}
        self.settling = settling
        self.today = today
        self.ga4_metadata = {name: bool(on) for name, on in flags.items()}
        self.ga4_quota = quota
        self.add(*faults)

    def reset(self) -> None:
        """Forget every fault, switch, quota use and counter."""
        with self._lock:
            self._faults.clear()
            self._stats.clear()
            self._ga4_tokens = 0
            self.settling = None
            self.ga4_metadata = {}
            self.ga4_quota = {}
            self.ga4_switches = {}
            self._ga4_usage.clear()
            self.today = None


def _settling(data: dict | None) -> Settling | None:
    if data is None:
        return None
    return Settling(
        as_of=date.fromisoformat(str(data["as_of"])),
        days=int(data["days"]),
        factor=float(data["factor"]),
    )


def _ga4_switches(config: dict) -> dict[str, object]:
    """The GA4 switches of a plan's JSON, validated (``null``/``false`` turns one off)."""
    found = {name: config[name] for name in GA4_SWITCHES if name in config}
    if found.get("ga4_empty_days"):
        found["ga4_empty_days"] = sorted({date.fromisoformat(str(day)) for day in found["ga4_empty_days"]})
    for name, keys in (("ga4_other_rows", {"max_rows", "fold_date"}), ("ga4_withheld", {"min_users"})):
        value = found.get(name)
        if value and (not isinstance(value, dict) or not set(value) <= keys):
            raise ValueError(f"{name} must be an object with keys among {sorted(keys)}")
    if found.get("ga4_other_rows"):
        found["ga4_other_rows"] = {"max_rows": max(1, int(found["ga4_other_rows"].get("max_rows", 1))),
                                   "fold_date": bool(found["ga4_other_rows"].get("fold_date", False))}
    if found.get("ga4_withheld"):
        found["ga4_withheld"] = {"min_users": int(found["ga4_withheld"].get("min_users", 1))}
    if found.get("ga4_time_zone"):
        found["ga4_time_zone"] = str(found["ga4_time_zone"])
        ZoneInfo(found["ga4_time_zone"])  # an unknown zone is an error here, not in a report
    if found.get("ga4_api_disabled") is True:
        found["ga4_api_disabled"] = "123456789012"
    if found.get("ga4_api_disabled"):
        found["ga4_api_disabled"] = str(found["ga4_api_disabled"])
    return found
