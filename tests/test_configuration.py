"""The configuration contract: each malformed ``PMKPI_*`` variable fails with its name.

The settings are one pydantic model now, so each case loads it whole (the readers per variable are gone).
"""

from __future__ import annotations

import pytest

from pmkpi_pipeline.lib.settings import ConfigError, load_settings


@pytest.mark.parametrize("name, value, reader", [
    ("PMKPI_START_DATE", "2025-13-01", load_settings),
    ("PMKPI_TIMEZONE", "Mars/Olympus", load_settings),
    ("PMKPI_GA4_PROPERTY_ID", "properties/12", load_settings),
    ("PMKPI_GA4_ENDPOINT", "127.0.0.1:8701", load_settings),
    ("PMKPI_MAILCHIMP_BASE_URL", "ftp://x", load_settings),
    ("PMKPI_MAILCHIMP_OAUTH_METADATA_URL", "login.mailchimp.com/oauth2/metadata", load_settings),
    ("PMKPI_BILLING_DB_URL", "billing.sqlite", load_settings),
    ("PMKPI_WINDOW_DAYS", "-3", load_settings),
    ("PMKPI_GROSS_MARGIN", "1.5", load_settings),
    ("PMKPI_FX_RATES", "EUR:1.1", load_settings),
    ("PMKPI_REPORTING_CURRENCY", "dollars", load_settings),
    ("PMKPI_EMAIL_WINDOW_DAYS", "seven", load_settings),
    ("PMKPI_GA4_LOOKBACK_DAYS", "0", load_settings),
    ("PMKPI_ANOMALY_SENSITIVITY", "-1", load_settings),
    ("PMKPI_ANOMALY_SEASONALITY", "monthly", load_settings),
    ("PMKPI_CONVERSION_EVENTS", " , ", load_settings),
    ("PMKPI_PUBLISH_URL", "team-db.example.com/marketing", load_settings),
])
def test_malformed_variable_is_named(monkeypatch, name, value, reader):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        reader()


def test_defaults_follow_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("PMKPI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PMKPI_WAREHOUSE", raising=False)
    monkeypatch.delenv("PMKPI_BILLING_DB_URL", raising=False)
    assert load_settings().warehouse_path() == tmp_path / "warehouse.duckdb"
    assert load_settings().billing_url() == f"sqlite:///{tmp_path / 'billing.sqlite'}"


def test_kpi_settings_parse_lists_and_rates(monkeypatch):
    monkeypatch.setenv("PMKPI_CONTENT_PATH_PREFIXES", "/blog/, /guides/")
    monkeypatch.setenv("PMKPI_FX_RATES", "eur=1.1,GBP=1.25")
    cfg = load_settings().kpi_settings()
    assert cfg.content_path_prefixes == ("/blog/", "/guides/")
    assert cfg.fx_rates == {"EUR": 1.1, "GBP": 1.25}
    assert cfg.window_days == 30 and cfg.email_window_days == 7 and cfg.gross_margin == 1.0


def test_a_malformed_publish_url_is_named_without_its_password(monkeypatch):
    monkeypatch.setenv("PMKPI_PUBLISH_URL", "postgresql+psycopg2://bi:s3cret-pw@bi-db:port/marketing")
    with pytest.raises(ConfigError, match="PMKPI_PUBLISH_URL") as failed:
        load_settings()
    assert "s3cret-pw" not in str(failed.value)


def test_the_mailchimp_access_token_is_a_secret_used_instead_of_the_key(monkeypatch):
    from dagster import EnvVar

    from pmkpi_pipeline.defs.resources import build_resources

    monkeypatch.setenv("PMKPI_MAILCHIMP_ACCESS_TOKEN", "5ad0b0e7c0ffee5ad0b0e7c0ffee5ad0")
    settings = load_settings()
    assert "5ad0b0e7" not in repr(settings) and "5ad0b0e7" not in str(settings.model_dump())
    mailchimp = build_resources(settings)["mailchimp"]
    assert mailchimp.access_token == EnvVar("PMKPI_MAILCHIMP_ACCESS_TOKEN") and mailchimp.api_key is None
    assert mailchimp.oauth_metadata_url == "https://login.mailchimp.com/oauth2/metadata"
