"""KPI rows built from days whose sources had not settled are marked provisional, and clear when re-landed."""

from __future__ import annotations

import json
from datetime import date

from dagster import AssetSelection

START, END = date(2025, 3, 25), date(2025, 3, 31)
SELECTION = (AssetSelection.assets("raw_ga4", "stg_ga4", "raw_billing", "stg_billing", "kpi_web", "kpi_revenue")
             | AssetSelection.checks_for_assets("kpi_web"))


def _marks(warehouse, kpi: str) -> set:
    with warehouse.connect() as con:
        return set(con.execute("SELECT DISTINCT provisional, provisional_sources FROM kpis WHERE kpi = ? "
                               "AND date BETWEEN ? AND ?", [kpi, START, END]).fetchall())


def test_unsettled_ga4_days_make_web_kpis_provisional_until_landed_again(run_pipeline, warehouse, monkeypatch,
                                                                          capsys):
    from pmkpi_pipeline import cli
    from pmkpi_pipeline.lib.settings import RunSettings

    # GA4 days settle 10^6 hours after they end: every day landed now is still provisional.
    result = run_pipeline(START, END, selection=SELECTION,
                          resources={"settings": RunSettings(ga4_settling_hours=10**6)})
    assert _marks(warehouse, "bounce_rate") == {(True, "ga4")}
    assert _marks(warehouse, "mrr") == {(False, None)}  # billing is final when it lands

    day_metadata = {m.partition: m.metadata for m in result.asset_materializations_for_node("kpi_web")}
    assert day_metadata[END.isoformat()]["provisional"].value["bounce_rate"] == "ga4"
    anomaly = [e for e in result.get_asset_check_evaluations() if e.check_name == "bounce_rate_anomaly"]
    assert len(anomaly) == 7
    assert all("judged a provisional day: ga4 not settled yet" in e.description for e in anomaly)

    monkeypatch.setenv("PMKPI_WAREHOUSE", warehouse.path)
    assert cli.main(["report", END.isoformat(), "--json"]) == 0
    rows = {r["kpi"]: r for r in json.loads(capsys.readouterr().out) if r["dimension"] is None}
    assert rows["bounce_rate"]["provisional"] and not rows["mrr"]["provisional"]
    assert cli.main(["report", END.isoformat()]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.strip().startswith("bounce_rate "))
    assert line.endswith("provisional: ga4 not settled")

    # Landed again after they settled (the default 72 h, long past for 2025): final.
    run_pipeline(START, END, selection=AssetSelection.assets("raw_ga4", "stg_ga4", "kpi_web"))
    assert _marks(warehouse, "bounce_rate") == {(False, None)}


def test_a_warehouse_from_before_keeps_its_landed_days(warehouse):
    from pmkpi_pipeline.lib.kpi_tables import LANDED_DAYS
    from pmkpi_pipeline.lib.warehouse import SchemaDriftError, WarehouseTable, ensure_table

    with warehouse.transaction() as con:
        con.execute("CREATE TABLE landed_days (date DATE, source VARCHAR)")
        con.execute("INSERT INTO landed_days VALUES ('2025-03-01', 'ga4')")
        ensure_table(con, LANDED_DAYS)  # the settling columns are appended, NULL for the old row
        assert con.execute("SELECT * FROM landed_days").fetchall() == [(date(2025, 3, 1), "ga4", None, None)]
        try:
            ensure_table(con, WarehouseTable("landed_days", {"source": "VARCHAR", "date": "DATE"}))
        except SchemaDriftError as error:
            assert "expected ['source', 'date']" in str(error)
        else:
            raise AssertionError("a reordered schema is drift")
