"""Publishing to the team's SQL database (``PMKPI_PUBLISH_URL``): KPI rows and per-day check verdicts.

Where a BI tool (Metabase, Superset, Looker Studio) reads the KPIs: any SQLAlchemy database, into two
tables created when missing —

- ``kpis``: the warehouse's ``kpis`` view (``date, kpi, value, numerator, denominator, unit, dimension,
  dimension_value, provisional, provisional_sources``) plus ``null_reason``;
- ``kpi_check_results``: the warehouse table of the same name (one verdict per check per day).

Each KPI materialisation replaces its KPIs' rows of its days, each check evaluation its family's
verdicts of its days, in one transaction of the target database: a re-run never duplicates, and a
failure (named with the URL's password masked) leaves the previous rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import sqlalchemy as sa
from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from .db_url import masked_url, scrub

SETTING = "PMKPI_PUBLISH_URL"

_TABLES = sa.MetaData()
KPIS = sa.Table(
    "kpis", _TABLES,
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("kpi", sa.String(64), nullable=False),
    sa.Column("value", sa.Double),
    sa.Column("numerator", sa.Double),
    sa.Column("denominator", sa.Double),
    sa.Column("unit", sa.String(32)),
    sa.Column("dimension", sa.String(64)),
    sa.Column("dimension_value", sa.String(255)),
    sa.Column("provisional", sa.Boolean),
    sa.Column("provisional_sources", sa.String(255)),
    sa.Column("null_reason", sa.Text),
    sa.Index("kpis_date_kpi_idx", "date", "kpi"),
)
"""The published ``kpis`` table: the warehouse view's columns, then ``null_reason``."""

CHECK_RESULTS = sa.Table(
    "kpi_check_results", _TABLES,
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("kpi", sa.String(64), nullable=False),
    sa.Column("check_name", sa.String(128), nullable=False),
    sa.Column("passed", sa.Boolean),
    sa.Column("severity", sa.String(16)),
    sa.Column("description", sa.Text),
    sa.Column("metadata", sa.Text),
    sa.Column("family", sa.String(32), nullable=False),
    sa.Index("kpi_check_results_date_family_idx", "date", "family"),
)
"""The published per-day verdicts; ``metadata`` is JSON text (anomaly verdicts hold the expected range)."""

_KPI_ROWS_SQL = """
WITH marks AS (
    SELECT DISTINCT date, kpi, provisional, provisional_sources FROM kpis
    WHERE date BETWEEN $start AND $end AND list_contains($kpis, kpi))
SELECT k.date, k.kpi, k.value, k.numerator, k.denominator, k.unit, k.dimension, k.dimension_value,
       m.provisional, m.provisional_sources, k.null_reason
FROM kpi_values k JOIN marks m USING (date, kpi)
WHERE k.date BETWEEN $start AND $end AND list_contains($kpis, k.kpi)"""

_CHECK_ROWS_SQL = f"""
SELECT {", ".join(c.name for c in CHECK_RESULTS.columns)} FROM kpi_check_results
WHERE family = $family AND date BETWEEN $start AND $end"""


class PublishError(RuntimeError):
    """Publishing failed; the message names the target (password masked) and what went wrong."""


class PublishTarget(ConfigurableResource):
    """The team's SQL database that KPI rows and verdicts are published to; ``url=None`` publishes nothing."""

    url: str | None = None
    _engine: sa.Engine | None = PrivateAttr(default=None)

    @property
    def enabled(self) -> bool:
        return self.url is not None

    @property
    def safe_url(self) -> str:
        """The target's URL with its password masked (empty when publishing is off)."""
        return masked_url(self.url, SETTING) if self.url else ""

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def publish_kpis(self, con: duckdb.DuckDBPyConnection, kpis: Sequence[str], start: date, end: date) -> int | None:
        """Replace the published ``kpis`` rows of ``kpis`` on ``start..end`` with the warehouse's (read
        through ``con``, so inside the caller's transaction); the row count, None when publishing is off."""
        if not self.enabled:
            return None
        rows = con.execute(_KPI_ROWS_SQL, {"start": start, "end": end, "kpis": list(kpis)})
        return self._replace(KPIS, rows, KPIS.c.kpi.in_(list(kpis)), start, end)

    def publish_checks(self, con: duckdb.DuckDBPyConnection, family: str, start: date, end: date) -> int | None:
        """Replace one KPI family's published verdicts of ``start..end`` with the warehouse's; as above."""
        if not self.enabled:
            return None
        rows = con.execute(_CHECK_ROWS_SQL, {"start": start, "end": end, "family": family})
        return self._replace(CHECK_RESULTS, rows, CHECK_RESULTS.c.family == family, start, end)

    def _replace(self, table: sa.Table, rows: duckdb.DuckDBPyConnection, owner, start: date, end: date) -> int:
        """Delete the owner's rows of ``start..end`` and insert ``rows``, in one transaction of the target."""
        columns = [d[0] for d in rows.description]
        records = [dict(zip(columns, row)) for row in rows.fetchall()]
        try:
            with self._connect().begin() as db:
                table.create(db, checkfirst=True)
                self._verify(db, table)
                db.execute(table.delete().where(owner, table.c.date.between(start, end)))
                if records:
                    db.execute(table.insert(), records)
        except (sa.exc.SQLAlchemyError, ImportError) as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise PublishError(
                f"publishing {table.name} {start}..{end} to {SETTING} ({self.safe_url}) failed, its previous rows "
                f"are kept: {type(exc).__name__}: {scrub(reason, self.url, SETTING)}") from None
        return len(records)

    def _connect(self) -> sa.Engine:
        if self._engine is None:
            self._engine = sa.create_engine(self.url)
        return self._engine

    def _verify(self, db: sa.Connection, table: sa.Table) -> None:
        """Fail naming the table and columns when an existing table lacks a column that is published."""
        present = {c["name"] for c in sa.inspect(db).get_columns(table.name)}
        missing = [c.name for c in table.columns if c.name not in present]
        if missing:
            raise PublishError(
                f"{SETTING} ({self.safe_url}): table {table.name} lacks column(s) {', '.join(missing)}; add them "
                f"or drop the table to have it recreated")
