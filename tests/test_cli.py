"""The ``pmkpi`` command line against the sandbox: backfill a range, then report a day as a table and JSON."""

from __future__ import annotations

import json

import pytest

from pmkpi_pipeline import cli


@pytest.fixture
def cli_env(code_location, tmp_path, monkeypatch):
    """A fresh SQLite Dagster instance for the command's run."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    return tmp_path


def test_backfill_then_report_json(cli_env, capsys):
    assert cli.main(["backfill", "2025-03-27", "2025-03-31"]) == 0
    assert "succeeded" in capsys.readouterr().out
    assert cli.main(["report", "2025-03-31", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    headline = {r["kpi"]: r for r in rows if r["dimension"] is None}
    assert len(headline) == 26
    assert headline["bounce_rate"]["unit"] == "%" and 0 < headline["bounce_rate"]["value"] < 100
    assert headline["mrr"]["value"] > 0 and headline["mrr"]["numerator"] is None
    assert all(r["date"] == "2025-03-31" for r in rows)
    # A 30-day window over 5 landed days is NULL with the reason, never a number from partial data.
    assert headline["nps"]["value"] is None
    assert headline["nps"]["null_reason"] == "window not fully landed: billing lacks 25 of 30 day(s)"


def test_report_of_an_unknown_warehouse_says_so(code_location, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PMKPI_WAREHOUSE", str(tmp_path / "none.duckdb"))
    with pytest.raises(SystemExit, match="no warehouse at .*none.duckdb"):
        cli.main(["report", "2025-03-31"])


def test_bad_setting_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv("PMKPI_TIMEZONE", "Nowhere/Land")
    assert cli.main(["report", "2025-03-31"]) == 2
    assert "PMKPI_TIMEZONE" in capsys.readouterr().err


def test_version_is_the_projects_and_the_changelog_says_what_it_changed(capsys):
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    declared = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"pmkpi {declared}"
    assert f"\n## {declared}" in (root / "CHANGELOG.md").read_text()
    assert "Apache License" in (root / "LICENSE").read_text()[:200]
