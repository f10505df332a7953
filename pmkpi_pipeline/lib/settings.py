"""The configuration contract: every ``PMKPI_*`` environment variable, in one typed settings model.

The variable names are a public interface (see the README). :class:`Settings` (pydantic-settings)
is the only reader of the environment: :func:`load_settings` reads and validates every variable
and raises :class:`ConfigError` naming the variable and what is wrong with it. The code location
calls it once as it loads; asset and check bodies receive what they need through resources
(:class:`RunSettings` and the source resources), so the launchpad shows what a run used. Only
what shapes the definitions themselves (partitions, schedules, KPI windows) is read while they
are built.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from dagster import ConfigurableResource
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .db_url import is_sqlalchemy_url

GA4_SETTLING_DAYS = 3
"""GA4 numbers settle for about 72 hours: the daily schedule re-pulls this many days before
yesterday, and a re-pull that changes a number older than this is recorded as a settled change."""
MAILCHIMP_SETTLING_DAYS = 7
"""Campaign reports keep changing for days after a send (late opens and clicks): the daily
schedule re-pulls this many days before yesterday, and a re-pull that changes a number older
than this is recorded as a settled change."""
GA4_SETTLING_HOURS = 72
"""A GA4 day is provisional until this many hours after it ended (Google: complete after 24-48 h)."""
ALL_GROUPS = "*"
MAILCHIMP_OAUTH_METADATA_URL = "https://login.mailchimp.com/oauth2/metadata"
"""Where Mailchimp tells an OAuth access token's data centre and API endpoint (``Authorization: OAuth <token>``)."""

# Dagster's own rules: an owner is an e-mail address or "team:<name>"; a tag value is at most 63
# characters of [A-Za-z0-9_.-]; a tag key is an optional "prefix/" and a name of the same characters.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,7}")
_TAG_KEY = re.compile(r"^([A-Za-z0-9_.-]{1,63}/)?[A-Za-z0-9_.-]{1,63}$")
_TAG_VALUE = re.compile(r"^[A-Za-z0-9_.-]{0,63}$")

CommaList = Annotated[tuple[str, ...], NoDecode]
"""A comma-separated list in the environment (``/blog/, /resources/``)."""
CommaMapping = Annotated[dict[str, Any], NoDecode]
"""``KEY=VALUE`` pairs separated by commas in the environment."""


class ConfigError(ValueError):
    """A ``PMKPI_*`` setting is missing or malformed; the message names the variable."""


# ------------------------------------------------------------------ secrets as files (docker/README.md)

SECRET_FILE_VARIABLES = ("PMKPI_MAILCHIMP_API_KEY", "PMKPI_MAILCHIMP_ACCESS_TOKEN", "PMKPI_BILLING_DB_URL",
                         "PMKPI_PUBLISH_URL", "PMKPI_ALERT_WEBHOOK_URL")
"""The secret settings that also take ``<NAME>_FILE``, the path of a file holding the value (the
Docker secrets convention: ``PMKPI_MAILCHIMP_API_KEY_FILE=/run/secrets/mailchimp_api_key``)."""


def read_secret_files(environ=os.environ) -> None:
    """Set each secret of :data:`SECRET_FILE_VARIABLES` from the file its ``<NAME>_FILE`` names.

    The value goes into this process's environment, where the resources' ``EnvVar`` resolves it at
    run time (as the official images' entrypoints do); the container's configuration holds only the
    path. Surrounding whitespace is dropped and an empty file counts as unset, like a blank variable.
    A file that cannot be read, or ``<NAME>`` set to another value beside it, is a :class:`ConfigError`
    naming the variable and never the file's content.
    """
    for name in SECRET_FILE_VARIABLES:
        path = (environ.get(f"{name}_FILE") or "").strip()
        if not path:
            continue
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={path!r} cannot be read ({exc.strerror or type(exc).__name__})") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{name}_FILE={path!r} is not UTF-8 text") from None
        if (environ.get(name) or "").strip() not in ("", value):
            raise ConfigError(f"{name} and {name}_FILE are both set; set only one of them")
        if value:
            environ[name] = value


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


def mask_url(url: str) -> str:
    """The URL with its path and query hidden: webhook URLs carry their secret in the path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/***" if parts.netloc else "***"


def is_valid_owner(owner: str) -> bool:
    """Whether ``owner`` is an owner Dagster accepts: an e-mail address or ``team:<name>``."""
    return bool(_EMAIL.fullmatch(owner)) or (owner.startswith("team:") and len(owner) > 5)


def _positive(name: str, value: Any, minimum: int = 1) -> int:
    text = str(value).strip()
    if not text.isdigit() or int(text) < minimum:
        raise ValueError(f"{name}={text!r} must be a {'positive' if minimum else 'non-negative'} whole number")
    return int(text)


def _number(name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} is not a number") from None


def _url_override(name: str, value: str | None, example: str,
                  schemes: tuple[str, ...] = ("http://", "https://")) -> str | None:
    if value is None:
        return None
    if not value.startswith(schemes):
        raise ValueError(f"{name}={value!r} must be a {' or '.join(schemes)} URL, e.g. {example}")
    return value.rstrip("/")


def _comma_list(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, (tuple, list)):
        return tuple(value)
    items = tuple(item.strip() for item in str(value).split(",") if item.strip())
    if not items:
        raise ValueError(f"{name}={value!r} must be a comma-separated list with at least one item")
    return items


class Settings(BaseSettings):
    """Every ``PMKPI_*`` variable (field ``x`` is ``PMKPI_X``), with the contract's defaults.

    Secrets (``PMKPI_MAILCHIMP_API_KEY``, ``PMKPI_MAILCHIMP_ACCESS_TOKEN``, ``PMKPI_BILLING_DB_URL``,
    ``PMKPI_PUBLISH_URL``, ``GOOGLE_APPLICATION_CREDENTIALS``) are validated here, but resources receive them as
    ``EnvVar`` (resolved at run time), so their values never appear in run config. Blank variables count as unset.
    The secrets may instead be files named by ``<NAME>_FILE`` (:func:`read_secret_files`, called by
    :func:`load_settings`).
    """

    model_config = SettingsConfigDict(env_prefix="PMKPI_", env_ignore_empty=True, extra="ignore",
                                      str_strip_whitespace=True, frozen=True)

    data_dir: Path = Path("./.pmkpi")
    warehouse: Path | None = None
    billing_db_url: str | None = Field(default=None, repr=False)  # may hold a password
    inputs_dir: Path | None = None
    start_date: date = date(2025, 1, 1)
    timezone: str = "UTC"
    ga4_property_id: str | None = None
    ga4_endpoint: str | None = None
    mailchimp_base_url: str | None = None
    mailchimp_api_key: SecretStr | None = None
    google_application_credentials: str | None = Field(
        default=None, validation_alias=AliasChoices("GOOGLE_APPLICATION_CREDENTIALS"))
    ga4_lookback_days: int = GA4_SETTLING_DAYS
    mailchimp_lookback_days: int = MAILCHIMP_SETTLING_DAYS
    ga4_settling_hours: int = GA4_SETTLING_HOURS
    mailchimp_settling_days: int = MAILCHIMP_SETTLING_DAYS
    window_days: int = 30
    email_window_days: int = 7
    content_path_prefixes: CommaList = ("/blog/", "/resources/")
    onboarding_path_prefixes: CommaList = ("/onboarding", "/docs/getting-started")
    conversion_events: CommaList = ("sign_up",)
    tracked_features: CommaList = ()
    gross_margin: float = 1.0
    reporting_currency: str = "USD"
    fx_rates: CommaMapping = {}
    targets_file: Path | None = None
    anomaly_history_days: int | None = None
    anomaly_min_history: int | None = None
    anomaly_sensitivity: float | None = None
    anomaly_seasonality: str | None = None
    alert_webhook_url: str | None = Field(default=None, repr=False)  # its path is a secret
    asset_owners: str | None = None
    asset_tags: CommaMapping = {}
    # Where people read the KPIs: the dashboard file, and the team's SQL database the KPI rows are published to.
    dashboard_path: Path | None = None
    publish_url: str | None = Field(default=None, repr=False)  # may hold a password
    # Mailchimp OAuth: an access token used instead of the API key; its data centre comes from the
    # metadata endpoint (overridable, e.g. the sandbox's) unless PMKPI_MAILCHIMP_BASE_URL names the API.
    mailchimp_access_token: SecretStr | None = None
    mailchimp_oauth_metadata_url: str = MAILCHIMP_OAUTH_METADATA_URL

    @field_validator("data_dir", "warehouse", "inputs_dir", "targets_file", "dashboard_path")
    @classmethod
    def _resolved(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    @field_validator("billing_db_url")
    @classmethod
    def _billing_url(cls, value: str | None) -> str | None:
        if value is not None and "://" not in value:
            raise ValueError(
                "PMKPI_BILLING_DB_URL is not a SQLAlchemy URL (expected e.g. "
                "'postgresql+psycopg2://user:***@host/db' or 'sqlite:///path/billing.sqlite')")
        return value

    @field_validator("start_date", mode="before")
    @classmethod
    def _start_date(cls, value: Any) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"PMKPI_START_DATE={value!r} is not a date in YYYY-MM-DD form") from None

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"PMKPI_TIMEZONE={value!r} is not an IANA timezone (e.g. 'UTC', 'Europe/Berlin')") from None
        return value

    @field_validator("ga4_property_id")
    @classmethod
    def _property_id(cls, value: str | None) -> str | None:
        if value is not None and not value.isdigit():
            raise ValueError(f"PMKPI_GA4_PROPERTY_ID={value!r} is not a numeric GA4 property id")
        return value

    @field_validator("ga4_endpoint")
    @classmethod
    def _ga4_endpoint(cls, value: str | None) -> str | None:
        """``http(s)://host:port`` speaks REST/JSON; ``grpc://host:port`` gRPC in plaintext (loopback only)."""
        return _url_override("PMKPI_GA4_ENDPOINT", value, "http://127.0.0.1:8701", ("http://", "https://", "grpc://"))

    @field_validator("mailchimp_base_url")
    @classmethod
    def _mailchimp_base_url(cls, value: str | None) -> str | None:
        return _url_override("PMKPI_MAILCHIMP_BASE_URL", value, "http://127.0.0.1:8702/3.0")

    @field_validator("mailchimp_oauth_metadata_url")
    @classmethod
    def _oauth_metadata_url(cls, value: str) -> str:
        return _url_override("PMKPI_MAILCHIMP_OAUTH_METADATA_URL", value, "http://127.0.0.1:8702/oauth2/metadata")

    @field_validator("ga4_lookback_days", "mailchimp_lookback_days", "window_days", "email_window_days",
                     "anomaly_history_days", "anomaly_min_history", mode="before")
    @classmethod
    def _positive_int(cls, value: Any, info) -> int | None:
        return None if value is None else _positive(f"PMKPI_{info.field_name.upper()}", value)

    @field_validator("ga4_settling_hours", "mailchimp_settling_days", mode="before")
    @classmethod
    def _settling(cls, value: Any, info) -> int:
        """How long a source's day stays provisional after it ended; 0 marks nothing provisional."""
        return _positive(f"PMKPI_{info.field_name.upper()}", value, minimum=0)

    @field_validator("content_path_prefixes", "onboarding_path_prefixes", "conversion_events", "tracked_features",
                     mode="before")
    @classmethod
    def _lists(cls, value: Any, info) -> tuple[str, ...]:
        return _comma_list(f"PMKPI_{info.field_name.upper()}", value)

    @field_validator("gross_margin", mode="before")
    @classmethod
    def _gross_margin(cls, value: Any) -> float:
        margin = _number("PMKPI_GROSS_MARGIN", value)
        if not 0 < margin <= 1:
            raise ValueError(f"PMKPI_GROSS_MARGIN={margin!r} must be in (0, 1]")
        return margin

    @field_validator("reporting_currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> str:
        currency = str(value).strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise ValueError(f"PMKPI_REPORTING_CURRENCY={currency!r} is not a 3-letter currency code")
        return currency

    @field_validator("fx_rates", mode="before")
    @classmethod
    def _fx_rates(cls, value: Any) -> dict[str, float]:
        if isinstance(value, dict):
            return value
        rates: dict[str, float] = {}
        for item in str(value).split(","):
            code, sep, rate = item.partition("=")
            try:
                parsed = float(rate)
            except ValueError:
                parsed = -1.0
            if not sep or len(code.strip()) != 3 or parsed <= 0:
                raise ValueError(
                    f"PMKPI_FX_RATES has a malformed entry {item.strip()!r}; expected CODE=RATE "
                    "pairs such as 'EUR=1.08,GBP=1.27' (units of reporting currency per unit)")
            rates[code.strip().upper()] = parsed
        return rates

    @field_validator("anomaly_sensitivity", mode="before")
    @classmethod
    def _sensitivity(cls, value: Any) -> float | None:
        if value is None:
            return None
        sensitivity = _number("PMKPI_ANOMALY_SENSITIVITY", value)
        if sensitivity <= 0:
            raise ValueError(f"PMKPI_ANOMALY_SENSITIVITY={sensitivity!r} must be a positive number")
        return sensitivity

    @field_validator("anomaly_seasonality")
    @classmethod
    def _seasonality(cls, value: str | None) -> str | None:
        if value is not None and value not in ("weekly", "none"):
            raise ValueError(f"PMKPI_ANOMALY_SEASONALITY={value!r} must be 'weekly' or 'none'")
        return value

    @field_validator("alert_webhook_url")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        """Where run-failure and failed-check alerts are POSTed; unset means alerts are only logged."""
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"PMKPI_ALERT_WEBHOOK_URL={mask_url(value)!r} must be an http:// or https:// URL with a host, "
                "e.g. https://hooks.slack.com/services/T000/B000/XXXX")
        return value

    @field_validator("asset_tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> dict[str, str]:
        """Tags put on every asset, ``key=value,key=value`` (e.g. ``domain=marketing``)."""
        if isinstance(value, dict):
            return value
        tags: dict[str, str] = {}
        for item in (i.strip() for i in str(value).split(",")):
            if not item:
                continue
            key, sep, tag_value = (part.strip() for part in item.partition("="))
            if not sep or not _TAG_KEY.match(key) or not _TAG_VALUE.match(tag_value) or key.startswith("dagster/"):
                raise ValueError(
                    f"PMKPI_ASSET_TAGS has an invalid entry {item!r}; expected KEY=VALUE pairs separated by ',', "
                    "keys and values of letters, digits, '_', '-', '.' (at most 63 characters; a key may have "
                    "one 'prefix/'; the 'dagster/' prefix is reserved), e.g. 'domain=marketing,tier=gold'")
            tags[key] = tag_value
        return tags

    @field_validator("publish_url")
    @classmethod
    def _publish_url(cls, value: str | None) -> str | None:
        """Any SQLAlchemy URL; the message never repeats it (it may hold a password)."""
        if value is not None and not is_sqlalchemy_url(value):
            raise ValueError(
                "PMKPI_PUBLISH_URL is not a SQLAlchemy URL (expected e.g. "
                "'postgresql+psycopg2://user:***@host/db' or 'sqlite:///path/kpis.sqlite')")
        return value

    # ------------------------------------------------------------------ derived values

    def warehouse_path(self) -> Path:
        """``PMKPI_WAREHOUSE``, else ``warehouse.duckdb`` in the data dir."""
        return self.warehouse or self.data_dir / "warehouse.duckdb"

    def billing_url(self) -> str:
        """``PMKPI_BILLING_DB_URL``, else the demo SQLite DB in the data dir."""
        return self.billing_db_url or f"sqlite:///{self.data_dir / 'billing.sqlite'}"

    def dashboard_file(self) -> Path:
        """``PMKPI_DASHBOARD_PATH``, else ``dashboard.html`` in the data dir."""
        return self.dashboard_path or self.data_dir / "dashboard.html"

    def inputs_path(self) -> Path:
        """``PMKPI_INPUTS_DIR``, else ``inputs/`` in the data dir."""
        return self.inputs_dir or self.data_dir / "inputs"

    def kpi_settings(self) -> KpiSettings:
        """The KPI parameters (``PMKPI_WINDOW_DAYS`` and friends)."""
        return KpiSettings(
            window_days=self.window_days, email_window_days=self.email_window_days,
            content_path_prefixes=self.content_path_prefixes,
            onboarding_path_prefixes=self.onboarding_path_prefixes, conversion_events=self.conversion_events,
            gross_margin=self.gross_margin, tracked_features=self.tracked_features,
            reporting_currency=self.reporting_currency, fx_rates=dict(self.fx_rates),
            targets_file=self.targets_file,
        )

    def anomaly_overrides(self) -> dict[str, object]:
        """Global anomaly-detector settings from ``PMKPI_ANOMALY_*`` (only those that are set).

        Per-KPI overrides in the catalog apply on top.
        """
        values = {"history_days": self.anomaly_history_days, "min_history": self.anomaly_min_history,
                  "sensitivity": self.anomaly_sensitivity, "seasonality": self.anomaly_seasonality}
        return {key: value for key, value in values.items() if value is not None}

    def owners_by_group(self, groups) -> dict[str, tuple[str, ...]]:
        """``PMKPI_ASSET_OWNERS``: owners per asset group, ``group=owner,owner;group=owner``.

        ``*`` names every group, e.g. ``*=team:data;raw_ga4=team:web-analytics,ana@example.com``.
        An owner is an e-mail address or ``team:<name>``. Returns group → owners (``*`` owners first).
        """
        known = sorted(set(groups))
        owners: dict[str, list[str]] = {}
        if self.asset_owners is None:
            return {}
        for entry in (e.strip() for e in self.asset_owners.split(";")):
            if not entry:
                continue
            group, sep, names = entry.partition("=")
            group = group.strip()
            listed = [n.strip() for n in names.split(",") if n.strip()]
            if not sep or not group or not listed:
                raise ConfigError(
                    f"PMKPI_ASSET_OWNERS has a malformed entry {entry!r}; expected GROUP=OWNER[,OWNER] entries "
                    "separated by ';', e.g. '*=team:data;raw_ga4=team:web-analytics,ana@example.com'")
            if group != ALL_GROUPS and group not in known:
                raise ConfigError(
                    f"PMKPI_ASSET_OWNERS names the unknown asset group {group!r}; groups are "
                    f"{', '.join(known)} (or '*' for all)")
            bad = [n for n in listed if not is_valid_owner(n)]
            if bad:
                raise ConfigError(
                    f"PMKPI_ASSET_OWNERS: {', '.join(repr(b) for b in bad)} for group {group!r} is not an owner; "
                    "an owner is an e-mail address or a team name prefixed with 'team:'")
            owners.setdefault(group, []).extend(n for n in listed if n not in owners.get(group, []))
        common = owners.pop(ALL_GROUPS, [])
        return {g: tuple(dict.fromkeys([*common, *owners.get(g, [])])) for g in known if common or g in owners}


def load_settings() -> Settings:
    """Read and validate every ``PMKPI_*`` variable (secrets from their ``_FILE`` too, see
    :func:`read_secret_files`); :class:`ConfigError` names the first bad one."""
    read_secret_files()
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, ValueError):
            raise ConfigError(str(cause)) from None
        name = "PMKPI_" + "_".join(str(part) for part in error["loc"]).upper()
        raise ConfigError(f"{name}={error.get('input')!r}: {error['msg']}") from None


class RunSettings(ConfigurableResource):
    """The settings asset and check bodies read, as a resource, so the launchpad shows what a run used.

    Built from :class:`Settings` in ``defs/resources.py``; tests may construct it directly.
    """

    timezone: str = "UTC"
    window_days: int = 30
    email_window_days: int = 7
    content_path_prefixes: list[str] = ["/blog/", "/resources/"]
    onboarding_path_prefixes: list[str] = ["/onboarding", "/docs/getting-started"]
    conversion_events: list[str] = ["sign_up"]
    tracked_features: list[str] = []
    gross_margin: float = 1.0
    reporting_currency: str = "USD"
    fx_rates: dict[str, float] = {}
    targets_file: str | None = None
    anomaly_overrides: dict[str, Any] = {}
    ga4_settling_hours: int = GA4_SETTLING_HOURS
    mailchimp_settling_days: int = MAILCHIMP_SETTLING_DAYS
    dashboard_path: str = "./.pmkpi/dashboard.html"

    @classmethod
    def from_settings(cls, settings: Settings) -> RunSettings:
        """The run-time part of the validated settings."""
        kpi = settings.kpi_settings()
        return cls(
            timezone=settings.timezone, window_days=kpi.window_days, email_window_days=kpi.email_window_days,
            content_path_prefixes=list(kpi.content_path_prefixes),
            onboarding_path_prefixes=list(kpi.onboarding_path_prefixes),
            conversion_events=list(kpi.conversion_events), tracked_features=list(kpi.tracked_features),
            gross_margin=kpi.gross_margin, reporting_currency=kpi.reporting_currency, fx_rates=kpi.fx_rates,
            targets_file=str(kpi.targets_file) if kpi.targets_file else None,
            anomaly_overrides=settings.anomaly_overrides(),
            ga4_settling_hours=settings.ga4_settling_hours, mailchimp_settling_days=settings.mailchimp_settling_days,
            dashboard_path=str(settings.dashboard_file()),
        )

    def settling_hours(self, source: str) -> int:
        """Hours after a day ends until ``source``'s numbers for it are final (0 for billing and inputs)."""
        return {"ga4": self.ga4_settling_hours, "mailchimp": 24 * self.mailchimp_settling_days}.get(source, 0)

    def kpi_settings(self) -> KpiSettings:
        """The KPI parameters as the formulas take them."""
        return KpiSettings(
            window_days=self.window_days, email_window_days=self.email_window_days,
            content_path_prefixes=tuple(self.content_path_prefixes),
            onboarding_path_prefixes=tuple(self.onboarding_path_prefixes),
            conversion_events=tuple(self.conversion_events), gross_margin=self.gross_margin,
            tracked_features=tuple(self.tracked_features), reporting_currency=self.reporting_currency,
            fx_rates=dict(self.fx_rates), targets_file=Path(self.targets_file) if self.targets_file else None,
        )
