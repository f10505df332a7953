"""Publishing to the team's SQL database (``PMKPI_PUBLISH_URL``), on SQLite and PostgreSQL.

The published ``kpis`` table equals ``pmkpi report`` for every day, ``kpi_check_results`` equals the
warehouse's verdicts, a re-run replaces instead of duplicating, and a failure names the target with its
password masked and leaves the previous rows. The rows come from the session's ``full_run`` warehouse;
one small run (the KPI layer over two days, with its checks) shows the assets and checks publish by themselves.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from dagster_stack import PG_URL, fresh_database, require
from support import TEST_END, TEST_START, range_tags

from pmkpi_pipeline.defs.kpis.catalog import FAMILIES
from pmkpi_pipeline.lib.publish import CHECK_RESULTS, KPIS, PublishError, PublishTarget

KEY = ("kpi", "dimension", "dimension_value")
LAST_WEEK = (TEST_END - timedelta(days=6), TEST_END)


def publish_all(target: PublishTarget, warehouse, start: date = TEST_START, end: date = TEST_END) -> None:
    """Publish every family's KPI rows and verdicts of ``start..end``, as the assets and checks do."""
    with warehouse.connect(read_only=True) as con:
        for family, kpis in FAMILIES.items():
            target.publish_kpis(con, [k.id for k in kpis], start, end)
            target.publish_checks(con, family, start, end)


def in_order(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: tuple("" if v is None else str(v) for v in r.values()))


def published(url: str, table: sa.Table) -> list[dict]:
    """Every row of a published table, typed (dates as dates), in a stable order."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as db:
            return in_order([dict(row._mapping) for row in db.execute(sa.select(table))])
    finally:
        engine.dispose()


def assert_published_equals_report(url: str, warehouse, monkeypatch, days: list[date]) -> None:
    """On each of ``days``, the published ``kpis`` rows are ``pmkpi report``'s rows (its columns but
    ``target``), exactly and once each; the published verdicts are the warehouse's, all of them."""
    from pmkpi_pipeline import cli

    monkeypatch.setenv("PMKPI_WAREHOUSE", warehouse.path)
    by_day: dict[date, dict] = {}
    for row in published(url, KPIS):
        day = by_day.setdefault(row["date"], {})
        assert tuple(row[k] for k in KEY) not in day, f"duplicate published row {row}"
        day[tuple(row[k] for k in KEY)] = {**row, "date": row["date"].isoformat()}
    assert sorted(by_day) == [TEST_START + timedelta(days=i) for i in range((TEST_END - TEST_START).days + 1)]
    columns = [c.name for c in KPIS.columns]
    for day in days:
        report, _ = cli.report_rows(day)
        assert by_day[day] == {tuple(r[k] for k in KEY): {c: r[c] for c in columns} for r in report}, day
    with warehouse.connect(read_only=True) as con:
        verdicts = con.execute("SELECT * FROM kpi_check_results").df().to_dict("records")
    assert published(url, CHECK_RESULTS) == in_order([{**v, "date": v["date"].date()} for v in verdicts])


def test_published_kpis_equal_pmkpi_report_for_every_day_and_a_rerun_does_not_duplicate(full_run, tmp_path,
                                                                                          monkeypatch):
    _, warehouse, _ = full_run
    url = f"sqlite:///{tmp_path / 'team.sqlite'}"
    target = PublishTarget(url=url)
    publish_all(target, warehouse)
    publish_all(target, warehouse, *LAST_WEEK)  # a re-run of the last week replaces its rows
    every_day = [TEST_START + timedelta(days=i) for i in range((TEST_END - TEST_START).days + 1)]
    assert_published_equals_report(url, warehouse, monkeypatch, every_day)


@pytest.fixture
def pg_target():
    require(bool(PG_URL), "PMKPI_TEST_PG_URL is not set: no PostgreSQL server")
    with fresh_database(PG_URL, "pmkpi_publish") as url:
        yield url


def test_postgresql_gets_exactly_what_sqlite_gets(full_run, pg_target, tmp_path):
    _, warehouse, _ = full_run
    sqlite = f"sqlite:///{tmp_path / 'team.sqlite'}"
    for url in (pg_target, sqlite):
        publish_all(PublishTarget(url=url), warehouse)
    publish_all(PublishTarget(url=pg_target), warehouse, *LAST_WEEK)  # a re-run replaces, on PostgreSQL too
    for table in (KPIS, CHECK_RESULTS):
        assert published(pg_target, table) == published(sqlite, table) and published(sqlite, table), table.name


REFUSE_MRR = {  # the team's database refuses a row: the publish fails after deleting, inside its transaction
    "sqlite": "CREATE TRIGGER refuse_mrr BEFORE INSERT ON kpis WHEN NEW.kpi = 'mrr' "
              "BEGIN SELECT RAISE(ABORT, 'mrr rows are refused'); END",
    "postgresql": "ALTER TABLE kpis ADD CONSTRAINT refuse_mrr CHECK (kpi <> 'mrr') NOT VALID",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def target_url(request, tmp_path):
    """An empty target database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'team.sqlite'}"
    return request.getfixturevalue("pg_target")


def test_a_failed_publish_names_the_target_masked_and_keeps_the_previous_rows(full_run, target_url):
    _, warehouse, _ = full_run
    target, revenue = PublishTarget(url=target_url), [k.id for k in FAMILIES["revenue"]]
    with warehouse.connect(read_only=True) as con:
        target.publish_kpis(con, revenue, TEST_START, TEST_END)
    before = published(target_url, KPIS)
    engine = sa.create_engine(target_url)
    with engine.begin() as db:
        db.execute(sa.text(REFUSE_MRR[engine.dialect.name]))
    engine.dispose()
    with warehouse.connect(read_only=True) as con, pytest.raises(PublishError) as failed:
        target.publish_kpis(con, revenue, TEST_START, TEST_END)
    message = str(failed.value)
    assert f"publishing kpis {TEST_START}..{TEST_END} to PMKPI_PUBLISH_URL ({target.safe_url}) failed" in message
    assert "mrr" in message and published(target_url, KPIS) == before and len(before) > 90

    password = sa.make_url(target_url).password
    if password:  # PostgreSQL: a wrong password is refused; neither it nor the right one is shown
        assert ":***@" in message and password not in message
        wrong = sa.make_url(target_url).set(password="not-the-pw-4b1d").render_as_string(hide_password=False)
        with warehouse.connect(read_only=True) as con, pytest.raises(PublishError) as refused:
            PublishTarget(url=wrong).publish_checks(con, "web", TEST_START, TEST_END)
        assert ":***@" in str(refused.value) and "not-the-pw-4b1d" not in str(refused.value), refused.value
    else:  # SQLite: a folder that does not exist
        missing = PublishTarget(url="sqlite:////nonexistent/folder/team.sqlite")
        with warehouse.connect(read_only=True) as con, pytest.raises(PublishError, match="nonexistent/folder"):
            missing.publish_checks(con, "web", TEST_START, TEST_END)


def test_kpi_runs_and_their_checks_publish_their_days(full_run, code_location, tmp_path, monkeypatch):
    """The KPI layer with its checks over two days, on a copy of the full run's warehouse, replaces those days'
    stale published rows: the published tables equal the report and the verdicts again."""
    from dagster import AssetSelection, DagsterInstance, materialize

    from pmkpi_pipeline.lib.warehouse import WarehouseResource

    warehouse = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    shutil.copy(full_run[1].path, warehouse.path)
    url = f"sqlite:///{tmp_path / 'team.sqlite'}"
    publish_all(PublishTarget(url=url), warehouse)
    rerun = (TEST_END - timedelta(days=1), TEST_END)
    engine = sa.create_engine(url)
    with engine.begin() as db:  # those days' published rows are stale
        db.execute(sa.text("UPDATE kpis SET value = -1 WHERE date >= :day"), {"day": rerun[0].isoformat()})
        db.execute(sa.text("UPDATE kpi_check_results SET description = 'stale' WHERE date >= :day"),
                   {"day": rerun[0].isoformat()})
    engine.dispose()
    result = materialize([*code_location.defs.assets, *code_location.defs.asset_checks],
                         selection=AssetSelection.groups("kpis") - AssetSelection.assets("kpi_dashboard"),
                         resources={**code_location.build_resources(), "warehouse": warehouse,
                                    "publish": PublishTarget(url=url)},
                         tags=range_tags(*rerun), instance=DagsterInstance.ephemeral())
    assert result.success
    metadata = result.asset_materializations_for_node("kpi_revenue")[-1].metadata
    assert metadata["published_to"].value == url and metadata["published_rows"].value > 0
    assert_published_equals_report(url, warehouse, monkeypatch, list(rerun))
