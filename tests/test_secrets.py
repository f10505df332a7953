"""Secrets never leak: not into Dagster's event log (messages, metadata, errors, run records), not into
the captured console output, not into the ``pmkpi`` command's output — not whole, and not any
twelve characters of one.

The secrets are fresh for each run of the test: a Mailchimp API key (served by a second sandbox
that accepts only that key), the password of a PostgreSQL billing database (a role and database
created for the test, which the good run also publishes its KPIs to) and a service-account
credentials file with a newly generated private key. The pipeline runs three times: once with
everything right, once in-process and once through ``pmkpi backfill`` with a wrong key (the CLI: a wrong
OAuth access token), a wrong password and an unreadable credentials file — every source then fails, and
its error must still say what is wrong without showing the secret.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from support import range_tags

RANGE = (date(2025, 3, 10), date(2025, 3, 12))  # holds a campaign (sent 2025-03-11)


@pytest.fixture
def pg_billing(sandbox):
    """A billing database in the test PostgreSQL server, owned by a role with a fresh password."""
    import sqlalchemy as sa

    from pmkpi_sandbox.writers import write_billing_db

    admin_url = os.environ.get("PMKPI_TEST_PG_URL")
    if not admin_url:
        if os.environ.get("PMKPI_REQUIRE_POSTGRES") == "1":
            pytest.fail("PMKPI_REQUIRE_POSTGRES=1 but PMKPI_TEST_PG_URL is not set")
        pytest.skip("PMKPI_TEST_PG_URL is not set")
    name, password = f"pmkpi_secrets_{secrets.token_hex(4)}", f"pw-{secrets.token_hex(12)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.execute(sa.text(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'"))
        con.execute(sa.text(f"CREATE DATABASE {name} OWNER {name}"))
    url = sa.make_url(admin_url).set(username=name, password=password, database=name)
    write_billing_db(sandbox.company, url.render_as_string(hide_password=False))
    try:
        yield url, password
    finally:
        with admin.connect() as con:
            con.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            con.execute(sa.text(f"DROP ROLE IF EXISTS {name}"))
        admin.dispose()


def service_account_file(path: Path) -> tuple[Path, dict[str, str]]:
    """A service-account JSON with a new RSA key; returns it and the parts that must stay secret."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    key_id = secrets.token_hex(20)
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "pmkpi-test", "private_key_id": key_id,
        "private_key": pem, "client_email": "pmkpi@pmkpi-test.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token",
    }))
    body = pem.splitlines()[1:-1]
    return path, {"private_key_id": key_id, "private key (line 2)": body[1], "private key (line 12)": body[11]}


def find(secret_values: dict[str, str], texts: dict[str, str], window: int = 12) -> list[str]:
    """Every (secret, place) pair where a secret, or any ``window`` characters of it, shows up."""
    pieces = {name: {value[i:i + window] for i in range(max(1, len(value) - window + 1))}
              for name, value in secret_values.items()}
    return [f"{name} in {where}" for where, text in texts.items()
            for name, parts in pieces.items() if any(part in text for part in parts)]


def event_texts(instance, run_id: str) -> dict[str, str]:
    """Every event of a run, serialised whole (message, metadata, error and its causes), and the run."""
    from dagster._serdes import serialize_value

    texts = {f"event {i} {e.dagster_event_type or 'log'} {e.step_key}": serialize_value(e)
             for i, e in enumerate(instance.all_logs(run_id))}
    texts["run record"] = serialize_value(instance.get_run_by_id(run_id))
    return texts


def test_no_secret_in_logs_metadata_errors_or_cli_output(code_location, sandbox, pg_billing, tmp_path,
                                                         monkeypatch, capfd):
    from dagster import DagsterInstance, materialize

    from pmkpi_pipeline.lib.warehouse import WarehouseResource
    from pmkpi_sandbox.servers import start_sandbox

    pg_url, password = pg_billing
    api_key = f"{secrets.token_hex(16)}-us7"
    credentials, key_parts = service_account_file(tmp_path / "service-account.json")
    wrong = {"key": f"{secrets.token_hex(16)}-us7", "password": f"pw-{secrets.token_hex(12)}",
             "token": secrets.token_hex(16)}
    secret_values = {"Mailchimp key": api_key.split("-")[0], "billing password": password.removeprefix("pw-"),
                     "wrong Mailchimp key": wrong["key"].split("-")[0],
                     "wrong password": wrong["password"].removeprefix("pw-"),
                     "wrong Mailchimp access token": wrong["token"], **key_parts}
    broken = tmp_path / "broken-service-account.json"
    broken.write_text(credentials.read_text()[:-40])  # cut short: not JSON any more

    with start_sandbox(sandbox.company, api_key=api_key) as own:
        good = {"PMKPI_MAILCHIMP_API_KEY": api_key, "PMKPI_MAILCHIMP_BASE_URL": own.mailchimp_base_url,
                "PMKPI_GA4_ENDPOINT": own.ga4_endpoint, "GOOGLE_APPLICATION_CREDENTIALS": str(credentials),
                "PMKPI_BILLING_DB_URL": pg_url.render_as_string(hide_password=False),
                "PMKPI_PUBLISH_URL": pg_url.render_as_string(hide_password=False)}  # KPIs published there too
        bad = {**good, "PMKPI_MAILCHIMP_API_KEY": wrong["key"], "GOOGLE_APPLICATION_CREDENTIALS": str(broken),
               "PMKPI_BILLING_DB_URL": pg_url.set(password=wrong["password"]).render_as_string(hide_password=False)}
        texts: dict[str, str] = {}
        for label, env in (("good", good), ("bad", bad)):
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            instance = DagsterInstance.ephemeral()
            result = materialize(
                [*code_location.defs.assets, *code_location.defs.asset_checks],
                resources={**code_location.build_resources(),
                           "warehouse": WarehouseResource(path=str(tmp_path / f"{label}.duckdb"))},
                tags=range_tags(*RANGE), instance=instance, raise_on_error=False)
            assert result.success == (label == "good")
            texts.update({f"{label} run: {where}": text
                          for where, text in event_texts(instance, result.run_id).items()})
        failures = {e.step_key: e.step_failure_data.error.cause.message for e in result.get_step_failure_events()}
        assert set(failures) == {"raw_ga4", "raw_mailchimp", "raw_billing"}
        assert "HTTP 401" in failures["raw_mailchimp"] and "PMKPI_MAILCHIMP_API_KEY" in failures["raw_mailchimp"]
        assert "GOOGLE_APPLICATION_CREDENTIALS" in failures["raw_ga4"] and str(broken) in failures["raw_ga4"]
        assert "password authentication failed" in failures["raw_billing"] and ":***@" in failures["raw_billing"]

        home = tmp_path / "dagster_home"
        home.mkdir()
        cli = subprocess.run(
            [sys.executable, "-m", "pmkpi_pipeline.cli", "backfill", *(d.isoformat() for d in RANGE), "--verbose"],
            env={**os.environ, **bad, "DAGSTER_HOME": str(home), "PMKPI_WAREHOUSE": str(tmp_path / "cli.duckdb"),
                 "PMKPI_MAILCHIMP_ACCESS_TOKEN": wrong["token"], "PMKPI_MAILCHIMP_BASE_URL": "",
                 "PMKPI_MAILCHIMP_OAUTH_METADATA_URL": own.mailchimp_oauth_metadata_url},
            capture_output=True, text=True, timeout=300)
    assert cli.returncode == 1 and "FAILED" in cli.stdout, cli.stdout + cli.stderr
    assert "PMKPI_MAILCHIMP_ACCESS_TOKEN" in cli.stdout + cli.stderr
    texts["pmkpi backfill stdout"], texts["pmkpi backfill stderr"] = cli.stdout, cli.stderr
    stored = DagsterInstance.from_config(str(home))
    for run in stored.get_runs():
        texts.update({f"stored CLI run: {where}": text for where, text in event_texts(stored, run.run_id).items()})
    captured = capfd.readouterr()
    texts["captured stdout"], texts["captured stderr"] = captured.out, captured.err

    assert len(texts) > 200 and any(":***@" in text for text in texts.values())  # the scan sees the runs
    assert find(secret_values, texts) == []


# ------------------------------------------------------------------ secrets as files (<NAME>_FILE)

def test_every_secret_setting_takes_a_file(tmp_path):
    from pmkpi_pipeline.lib.settings import SECRET_FILE_VARIABLES, read_secret_files

    assert {"PMKPI_MAILCHIMP_API_KEY", "PMKPI_MAILCHIMP_ACCESS_TOKEN", "PMKPI_BILLING_DB_URL",
            "PMKPI_PUBLISH_URL"} <= set(SECRET_FILE_VARIABLES)
    environ = {}
    for name in SECRET_FILE_VARIABLES:
        (tmp_path / name).write_text(f"  value-of-{name}\n")
        environ[f"{name}_FILE"] = str(tmp_path / name)
    (tmp_path / "empty").write_text("\n")
    environ["PMKPI_PUBLISH_URL_FILE"] = str(tmp_path / "empty")  # an empty file counts as unset
    environ["PMKPI_BILLING_DB_URL"] = "value-of-PMKPI_BILLING_DB_URL"  # the same value beside its file is fine
    read_secret_files(environ)
    assert {n: environ.get(n) for n in SECRET_FILE_VARIABLES} == {
        n: None if n == "PMKPI_PUBLISH_URL" else f"value-of-{n}" for n in SECRET_FILE_VARIABLES}


def test_secret_files_reach_the_settings_and_the_resources(tmp_path, monkeypatch):
    from dagster import EnvVar

    from pmkpi_pipeline.lib.settings import load_settings

    key, url = f"{secrets.token_hex(16)}-us7", f"sqlite:///{tmp_path / 'billing.sqlite'}"
    for name, value in (("PMKPI_MAILCHIMP_API_KEY", key), ("PMKPI_BILLING_DB_URL", url)):
        (tmp_path / name).write_text(value + "\n")
        monkeypatch.setenv(f"{name}_FILE", str(tmp_path / name))
        monkeypatch.setenv(name, "")  # blank = unset; monkeypatch restores it after the loader sets it
    settings = load_settings()
    assert settings.mailchimp_api_key.get_secret_value() == key and settings.billing_db_url == url
    assert EnvVar("PMKPI_MAILCHIMP_API_KEY").get_value() == key  # what the Mailchimp resource resolves
    assert load_settings().billing_db_url == url  # loading again (e.g. in a run worker) finds it set already


@pytest.mark.parametrize("problem", ["missing", "directory", "conflict"])
def test_a_bad_secret_file_names_the_variable_not_the_secret(tmp_path, problem):
    from pmkpi_pipeline.lib.settings import ConfigError, read_secret_files

    secret = secrets.token_hex(16)
    path = {"missing": tmp_path / "nothing-here", "directory": tmp_path}.get(problem, tmp_path / "key")
    (tmp_path / "key").write_text(secret)
    environ = {"PMKPI_MAILCHIMP_API_KEY_FILE": str(path)}
    if problem == "conflict":
        environ["PMKPI_MAILCHIMP_API_KEY"] = "another-value"
    with pytest.raises(ConfigError, match="PMKPI_MAILCHIMP_API_KEY") as raised:
        read_secret_files(environ)
    assert secret not in str(raised.value) and "another-value" not in str(raised.value)
    assert ("cannot be read" in str(raised.value)) == (problem != "conflict")
