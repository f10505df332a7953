"""The configuration contract: every ``PMKPI_*`` environment variable, parsed and validated.

The variable names are a public interface (see the README). Each reader returns a typed value or
raises :class:`ConfigError` naming the variable and what was wrong with it. Values that
shape the asset graph (start date, timezone, window lengths) are read when the code location
loads; credentials are read by the resources at run time through ``EnvVar``.
"""

from __future__ import annotations

import os
import zoneinfo
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

DEFAULT_START_DATE = "2025-01-01"
DEMO_GA4_PROPERTY_ID = "100000001"
DEMO_MAILCHIMP_API_KEY = "0123456789abcdef0123456789abcdef-us1"
GA4_SETTLING_DAYS = 3
"""GA4 numbers settle for about 72 hours: the daily schedule re-pulls this many days before
yesterday, and a re-pull that changes a number older than this is recorded as a settled change."""
MAILCHIMP_SETTLING_DAYS = 7
"""Campaign reports keep changing for days after a send (late opens and clicks): the daily
schedule re-pulls this many days before yesterday, and a re-pull that changes a number older
than this is recorded as a settled change."""


class ConfigError(ValueError):
    """A ``PMKPI_*`` setting is missing or malformed; the message names the variable."""


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value is not None and value.strip() != "" else None


def data_dir() -> Path:
    """``PMKPI_DATA_DIR``: where the embedded warehouse and demo data live."""
    return Path(_raw("PMKPI_DATA_DIR") or "./.pmkpi").expanduser().resolve()


def warehouse_path() -> Path:
    """``PMKPI_WAREHOUSE``: the DuckDB file of the warehouse."""
    value = _raw("PMKPI_WAREHOUSE")
    return Path(value).expanduser().resolve() if value else data_dir() / "warehouse.duckdb"


def billing_db_url() -> str:
    """``PMKPI_BILLING_DB_URL``: SQLAlchemy URL of the billing database."""
    value = _raw("PMKPI_BILLING_DB_URL")
    if value is None:
        return f"sqlite:///{data_dir() / 'billing.sqlite'}"
    if "://" not in value:
        raise ConfigError(
            "PMKPI_BILLING_DB_URL is not a SQLAlchemy URL (expected e.g. "
            "'postgresql+psycopg2://user:***@host/db' or 'sqlite:///path/billing.sqlite')"
        )
    return value


def inputs_dir() -> Path:
    """``PMKPI_INPUTS_DIR``: the folder holding the marketing-input CSVs."""
    value = _raw("PMKPI_INPUTS_DIR")
    return Path(value).expanduser().resolve() if value else data_dir() / "inputs"


def start_date() -> date:
    """``PMKPI_START_DATE``: the first daily partition."""
    value = _raw("PMKPI_START_DATE") or DEFAULT_START_DATE
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"PMKPI_START_DATE={value!r} is not a date in YYYY-MM-DD form") from None


def timezone() -> str:
    """``PMKPI_TIMEZONE``: the IANA timezone days are bucketed in (match the GA4 property)."""
    value = _raw("PMKPI_TIMEZONE") or "UTC"
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"PMKPI_TIMEZONE={value!r} is not an IANA timezone (e.g. 'UTC', 'Europe/Berlin')"
        ) from None
    return value


def ga4_property_id() -> str:
    """``PMKPI_GA4_PROPERTY_ID``: the numeric GA4 property id."""
    value = _raw("PMKPI_GA4_PROPERTY_ID") or DEMO_GA4_PROPERTY_ID
    if not value.isdigit():
        raise ConfigError(f"PMKPI_GA4_PROPERTY_ID={value!r} is not a numeric GA4 property id")
    return value


def _url_override(name: str, example: str, schemes: tuple[str, ...] = ("http://", "https://")) -> str | None:
    value = _raw(name)
    if value is not None and not value.startswith(schemes):
        allowed = " or ".join(schemes)
        raise ConfigError(f"{name}={value!r} must be a {allowed} URL, e.g. {example}")
    return value.rstrip("/") if value else None


def ga4_endpoint() -> str | None:
    """``PMKPI_GA4_ENDPOINT``: override of the Data API endpoint (``None`` means Google's).

    ``http(s)://host:port`` speaks REST/JSON; ``grpc://host:port`` speaks gRPC in plaintext (loopback
    only, e.g. the sandbox), which decodes large reports ~30× faster.
    """
    return _url_override("PMKPI_GA4_ENDPOINT", "http://127.0.0.1:8701", ("http://", "https://", "grpc://"))


def mailchimp_base_url() -> str | None:
    """``PMKPI_MAILCHIMP_BASE_URL``: override of the Mailchimp API base (``None`` means Mailchimp's)."""
    return _url_override("PMKPI_MAILCHIMP_BASE_URL", "http://127.0.0.1:8702/3.0")


def _positive_int(name: str, default: int) -> int:
    value = _raw(name)
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{name}={value!r} must be a positive whole number")
    return int(value)


def _csv_list(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = _raw(name)
    if value is None:
        return default
    items = tuple(item.strip() for item in value.split(",") if item.strip())
    if not items:
        raise ConfigError(f"{name}={value!r} must be a comma-separated list with at least one item")
    return items


def _fx_rates() -> dict[str, float]:
    value = _raw("PMKPI_FX_RATES")
    rates: dict[str, float] = {}
    if value is None:
        return rates
    for item in value.split(","):
        code, sep, rate = item.partition("=")
        try:
            parsed = float(rate)
        except ValueError:
            parsed = -1.0
        if not sep or len(code.strip()) != 3 or parsed <= 0:
            raise ConfigError(
                f"PMKPI_FX_RATES has a malformed entry {item.strip()!r}; expected CODE=RATE "
                "pairs such as 'EUR=1.08,GBP=1.27' (units of reporting currency per unit)"
            )
        rates[code.strip().upper()] = parsed
    return rates


def _float(name: str, default: float) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a number") from None


@dataclass(frozen=True)
class KpiSettings:
    """Tunable KPI parameters, each with the spec's default (see the README's table)."""

    window_days: int = 30
    email_window_days: int = 7
    content_path_prefixes: tuple[str, ...] = ("/blog/", "/resources/")
    onboarding_path_prefixes: tuple[str, ...] = ("/onboarding", "/docs/getting-started")
    conversion_events: tuple[str, ...] = ("sign_up",)
    gross_margin: float = 1.0
    tracked_features: tuple[str, ...] = ()
    reporting_currency: str = "USD"
    fx_rates: dict[str, float] = field(default_factory=dict)
    targets_file: Path | None = None


def kpi_settings() -> KpiSettings:
    """Read the KPI parameters (``PMKPI_WINDOW_DAYS`` and friends)."""
    margin = _float("PMKPI_GROSS_MARGIN", 1.0)
    if not 0 < margin <= 1:
        raise ConfigError(f"PMKPI_GROSS_MARGIN={margin!r} must be in (0, 1]")
    currency = (_raw("PMKPI_REPORTING_CURRENCY") or "USD").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ConfigError(f"PMKPI_REPORTING_CURRENCY={currency!r} is not a 3-letter currency code")
    targets = _raw("PMKPI_TARGETS_FILE")
    return KpiSettings(
        window_days=_positive_int("PMKPI_WINDOW_DAYS", 30),
        email_window_days=_positive_int("PMKPI_EMAIL_WINDOW_DAYS", 7),
        content_path_prefixes=_csv_list("PMKPI_CONTENT_PATH_PREFIXES", ("/blog/", "/resources/")),
        onboarding_path_prefixes=_csv_list(
            "PMKPI_ONBOARDING_PATH_PREFIXES", ("/onboarding", "/docs/getting-started")
        ),
        conversion_events=_csv_list("PMKPI_CONVERSION_EVENTS", ("sign_up",)),
        gross_margin=margin,
        tracked_features=_csv_list("PMKPI_TRACKED_FEATURES", ()) if _raw("PMKPI_TRACKED_FEATURES") else (),
        reporting_currency=currency,
        fx_rates=_fx_rates(),
        targets_file=Path(targets).expanduser().resolve() if targets else None,
    )


def anomaly_overrides() -> dict[str, object]:
    """Global anomaly-detector settings from ``PMKPI_ANOMALY_*`` (only those that are set).

    ``PMKPI_ANOMALY_HISTORY_DAYS``, ``PMKPI_ANOMALY_MIN_HISTORY`` (positive integers),
    ``PMKPI_ANOMALY_SENSITIVITY`` (a positive number) and ``PMKPI_ANOMALY_SEASONALITY``
    (``weekly`` or ``none``). Per-KPI overrides in the catalog apply on top.
    """
    overrides: dict[str, object] = {}
    for name, key in (("PMKPI_ANOMALY_HISTORY_DAYS", "history_days"), ("PMKPI_ANOMALY_MIN_HISTORY", "min_history")):
        if _raw(name) is not None:
            overrides[key] = _positive_int(name, 0)
    if _raw("PMKPI_ANOMALY_SENSITIVITY") is not None:
        sensitivity = _float("PMKPI_ANOMALY_SENSITIVITY", 0.0)
        if sensitivity <= 0:
            raise ConfigError(f"PMKPI_ANOMALY_SENSITIVITY={sensitivity!r} must be a positive number")
        overrides["sensitivity"] = sensitivity
    seasonality = _raw("PMKPI_ANOMALY_SEASONALITY")
    if seasonality is not None:
        if seasonality not in ("weekly", "none"):
            raise ConfigError(f"PMKPI_ANOMALY_SEASONALITY={seasonality!r} must be 'weekly' or 'none'")
        overrides["seasonality"] = seasonality
    return overrides


def ga4_lookback_days() -> int:
    """``PMKPI_GA4_LOOKBACK_DAYS``: days before yesterday the daily refresh re-pulls from GA4 (default 3)."""
    return _positive_int("PMKPI_GA4_LOOKBACK_DAYS", GA4_SETTLING_DAYS)


def mailchimp_lookback_days() -> int:
    """``PMKPI_MAILCHIMP_LOOKBACK_DAYS``: days before yesterday the daily refresh re-pulls from Mailchimp (7)."""
    return _positive_int("PMKPI_MAILCHIMP_LOOKBACK_DAYS", MAILCHIMP_SETTLING_DAYS)


def validate() -> None:
    """Read every setting once, so a malformed variable fails at start-up with its name."""
    for reader in (data_dir, warehouse_path, billing_db_url, inputs_dir, start_date, timezone, ga4_property_id,
                   ga4_endpoint, mailchimp_base_url, kpi_settings, anomaly_overrides, ga4_lookback_days,
                   mailchimp_lookback_days):
        reader()
