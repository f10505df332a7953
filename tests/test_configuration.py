"""The configuration contract: each malformed ``PMKPI_*`` variable fails with its name."""

from __future__ import annotations

import pytest

from pmkpi_pipeline.lib import settings
from pmkpi_pipeline.lib.settings import ConfigError


@pytest.mark.parametrize("name, value, reader", [
    ("PMKPI_START_DATE", "2025-13-01", settings.start_date),
    ("PMKPI_TIMEZONE", "Mars/Olympus", settings.timezone),
    ("PMKPI_GA4_PROPERTY_ID", "properties/12", settings.ga4_property_id),
    ("PMKPI_GA4_ENDPOINT", "127.0.0.1:8701", settings.ga4_endpoint),
    ("PMKPI_MAILCHIMP_BASE_URL", "ftp://x", settings.mailchimp_base_url),
    ("PMKPI_BILLING_DB_URL", "billing.sqlite", settings.billing_db_url),
    ("PMKPI_WINDOW_DAYS", "-3", settings.kpi_settings),
    ("PMKPI_GROSS_MARGIN", "1.5", settings.kpi_settings),
    ("PMKPI_FX_RATES", "EUR:1.1", settings.kpi_settings),
    ("PMKPI_REPORTING_CURRENCY", "dollars", settings.kpi_settings),
])
def test_malformed_variable_is_named(monkeypatch, name, value, reader):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        reader()


def test_defaults_follow_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("PMKPI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PMKPI_WAREHOUSE", raising=False)
    monkeypatch.delenv("PMKPI_BILLING_DB_URL", raising=False)
    assert settings.warehouse_path() == tmp_path / "warehouse.duckdb"
    assert settings.billing_db_url() == f"sqlite:///{tmp_path / 'billing.sqlite'}"


def test_kpi_settings_parse_lists_and_rates(monkeypatch):
    monkeypatch.setenv("PMKPI_CONTENT_PATH_PREFIXES", "/blog/, /guides/")
    monkeypatch.setenv("PMKPI_FX_RATES", "eur=1.1,GBP=1.25")
    cfg = settings.kpi_settings()
    assert cfg.content_path_prefixes == ("/blog/", "/guides/")
    assert cfg.fx_rates == {"EUR": 1.1, "GBP": 1.25}
    assert cfg.window_days == 30 and cfg.email_window_days == 7 and cfg.gross_margin == 1.0
