"""``pmkpi sql KPI``: the printed query, run against the warehouse, gives the rows the KPI asset stored."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest

from pmkpi_pipeline import cli

# Every window of these days lies after TEST_START, so the asset NULLed nothing the query computes.
START, END = date(2025, 2, 15), date(2025, 3, 31)
COLUMNS = ["date", "value", "numerator", "denominator"]


def _printed_sql(capsys, kpi: str) -> str:
    assert cli.main(["sql", kpi, "--start", START.isoformat(), "--end", END.isoformat()]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("kpi", ["churn_rate", "feature_adoption_rate", "arpu", "cac", "bounce_rate",
                                 "email_open_rate"])
def test_printed_sql_computes_the_stored_kpi_rows(full_run, capsys, kpi):
    _, warehouse, _ = full_run
    sql = _printed_sql(capsys, kpi)
    with warehouse.connect() as con:
        computed = con.execute(sql).df()
        stored = con.execute(
            "SELECT date, value, numerator, denominator FROM kpis "
            "WHERE kpi = ? AND dimension IS NULL AND date BETWEEN ? AND ? ORDER BY date", [kpi, START, END]).df()
    if "dimension" in computed:
        computed = computed[computed["dimension"].isna()]
    computed = computed.reindex(columns=COLUMNS).sort_values("date").reset_index(drop=True)
    for frame in (computed, stored):
        frame["date"] = pd.to_datetime(frame["date"]).dt.date
    assert len(stored) == (END - START).days + 1 and stored["value"].notna().any()
    assert computed["date"].tolist() == stored["date"].tolist()
    for column in ("value", "numerator", "denominator"):
        assert computed[column].astype(float).tolist() == pytest.approx(
            stored[column].astype(float).tolist(), rel=1e-9, nan_ok=True), column


def test_printed_sql_names_the_kpi_and_range(capsys):
    sql = _printed_sql(capsys, "churn_rate")
    assert sql.startswith(f"-- churn_rate (Customer churn rate) for {START}..{END}")
    assert "FROM int_active_spans" in sql and sql.rstrip().endswith(";")


def test_unknown_kpi_lists_the_valid_ids(capsys):
    assert cli.main(["sql", "churn"]) == 2
    error = capsys.readouterr().err
    assert "unknown KPI 'churn'" in error and "churn_rate" in error and "mrr" in error


def test_default_range_is_the_30_days_ending_yesterday_in_the_timezone():
    first, last = cli.sql_range(None, None, "Pacific/Kiritimati")
    yesterday = (datetime.now(timezone(timedelta(hours=14))) - timedelta(days=1)).date()
    assert last == yesterday and (last - first).days == 29
    assert cli.sql_range("2025-03-01", "2025-03-31", "UTC") == (date(2025, 3, 1), date(2025, 3, 31))
