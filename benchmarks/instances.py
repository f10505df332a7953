"""Fresh Dagster instances for the benchmarks: a SQLite ``DAGSTER_HOME``, or one whose storage is a new
PostgreSQL database on the server of ``PMKPI_BENCH_PG_URL`` (dropped afterwards), so runs never mix.

The settings that lower Dagster's bookkeeping floor (``pmkpi_pipeline.lib.dagster_env``) are chosen
per process through the environment: :func:`floor_env` gives them on or explicitly off.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path


def _working_tree_settings():
    """The working tree's ``pmkpi_pipeline/lib/dagster_env.py``, loaded from its file: the floor settings are the
    same whichever version of the pipeline is on ``PYTHONPATH`` (``compare.py`` runs an older git ref)."""
    path = Path(__file__).parents[1] / "pmkpi_pipeline" / "lib" / "dagster_env.py"
    spec = spec_from_file_location("_bench_dagster_env", path)
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PLANNED_EVENTS_SETTINGS, module.POSTGRES_SETTINGS


PLANNED_EVENTS_SETTINGS, POSTGRES_SETTINGS = _working_tree_settings()
KINDS = ("sqlite", "postgres")
POSTGRES_DAGSTER_YAML = "storage:\n  postgres:\n    postgres_url:\n      env: DAGSTER_POSTGRES_URL\n"
"""Runs, event log and schedules in PostgreSQL (psycopg2 URL: see DESIGN.md), as docker/dagster.yaml has it."""


def pg_url() -> str:
    """The PostgreSQL server to create benchmark databases on (``PMKPI_BENCH_PG_URL``, psycopg2 URL)."""
    url = os.environ.get("PMKPI_BENCH_PG_URL", "").strip()
    if not url:
        raise SystemExit("PMKPI_BENCH_PG_URL is not set: the PostgreSQL server for --instance/--floors postgres, "
                         "e.g. postgresql+psycopg2://USER:PASSWORD@127.0.0.1:5432/postgres")
    return url


@contextmanager
def fresh_home(path: Path, kind: str) -> Iterator[Path]:
    """``path`` made a fresh ``DAGSTER_HOME`` of ``kind`` (``sqlite`` or ``postgres``); the database dropped on exit."""
    path.mkdir(parents=True)
    if kind == "sqlite":
        (path / "dagster.yaml").write_text("")  # Dagster's default: SQLite files in DAGSTER_HOME
        yield path
        return
    import psycopg2
    import sqlalchemy as sa

    url = sa.make_url(pg_url())
    name = f"pmkpi_bench_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username,
                             password=url.password, dbname=url.database or "postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        # The URL stays out of the file: dagster.yaml reads it from the environment (see env_for).
        (path / "dagster.yaml").write_text(POSTGRES_DAGSTER_YAML)
        (path / ".postgres_url").write_text(url.set(drivername="postgresql+psycopg2", database=name)
                                            .render_as_string(hide_password=False))
        yield path
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def env_for(home: Path, base: dict) -> dict:
    """The environment of a process using the instance in ``home``."""
    env = {**base, "DAGSTER_HOME": str(home)}
    if (home / ".postgres_url").exists():
        env["DAGSTER_POSTGRES_URL"] = (home / ".postgres_url").read_text()
    return env


def floor_env(env: dict, kind: str, settings: bool) -> dict:
    """``env`` with the floor settings of ``kind`` on (as ``pmkpi`` and docker set them), or explicitly off."""
    names = {**PLANNED_EVENTS_SETTINGS, **POSTGRES_SETTINGS}
    on = {**PLANNED_EVENTS_SETTINGS, **(POSTGRES_SETTINGS if kind == "postgres" else {})}
    return {**env, **{name: on.get(name, "0") if settings else "0" for name in names}}
