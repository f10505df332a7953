"""``pmkpi detect``: a CSV of series judged day by day exactly as the anomaly checks judge them."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from pmkpi_pipeline import cli
from pmkpi_pipeline.defs.kpis.catalog import BY_ID
from pmkpi_pipeline.defs.kpis.checks import evaluate_kpi

START = date(2025, 1, 6)
DAYS = 70
SPIKE = 60


def sessions() -> pd.DataFrame:
    """Page views: 1000 on weekdays, 600 on Sundays, 5 % noise, ×1.8 on day SPIKE."""
    rng = np.random.default_rng(5)
    value = np.round(np.where(np.arange(DAYS) % 7 == 6, 600.0, 1000.0) * np.exp(rng.normal(0, 0.05, DAYS)))
    value[SPIKE] = np.round(value[SPIKE] * 1.8)
    return pd.DataFrame({"date": [START + timedelta(days=i) for i in range(DAYS)], "value": value,
                         "numerator": np.nan, "denominator": np.nan})


def conversions() -> pd.DataFrame:
    """Sign-ups / users in percent, about 400 users at 5 %; a missing day."""
    rng = np.random.default_rng(6)
    users = rng.poisson(400, DAYS).astype(float)
    signups = rng.binomial(users.astype(int), 0.05).astype(float)
    frame = pd.DataFrame({"date": [START + timedelta(days=i) for i in range(DAYS)], "value": 100 * signups / users,
                          "numerator": signups, "denominator": users})
    return frame.drop(index=30).reset_index(drop=True)


def write_input(path, series: dict[str, tuple[str, pd.DataFrame]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["series", "kpi", "date", "value", "numerator", "denominator"])
        for name, (kpi, frame) in series.items():
            for row in frame.itertuples():
                writer.writerow([name, kpi, row.date.isoformat(), row.value,
                                 *("" if np.isnan(x) else x for x in (row.numerator, row.denominator))])


def read_output(path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_detect_gives_the_checks_verdicts_day_by_day(tmp_path, capsys):
    series = {"site": ("content_usage", sessions()), "signups": ("conversion_rate", conversions())}
    write_input(tmp_path / "in.csv", series)
    assert cli.main(["detect", str(tmp_path / "in.csv"), "--out", str(tmp_path / "out.csv")]) == 0
    assert "2 series, 139 days" in capsys.readouterr().out
    rows = read_output(tmp_path / "out.csv")
    assert list(rows[0]) == ["series", "date", "flagged", "lower", "upper", "score"]
    site = [r for r in rows if r["series"] == "site"]
    assert [r["flagged"] for r in site[:14]] == ["false"] * 14  # too little history: not flagged, no score
    assert site[0]["score"] == "" and site[0]["lower"] == ""
    spike = site[SPIKE]
    assert spike["date"] == (START + timedelta(days=SPIKE)).isoformat() and spike["flagged"] == "true"
    assert float(spike["score"]) > 3.25 and float(spike["upper"]) < sessions()["value"][SPIKE]
    # The same days, judged by the check itself over the whole range: the same verdicts.
    for name, (kpi, frame) in series.items():
        checked = [v for v in evaluate_kpi(BY_ID[kpi], frame, frame["date"].min(), frame["date"].max(), None)
                   if v["check_name"].endswith("_anomaly")]
        detected = [r for r in rows if r["series"] == name]
        assert [r["flagged"] == "true" for r in detected] == [v["passed"] is False for v in checked]
        scores = [json.loads(v["metadata"])["score"] for v in checked]
        assert [None if r["score"] == "" else round(float(r["score"]), 2) for r in detected] == pytest.approx(scores,
                                                                                                             abs=0.011)


def test_detect_follows_the_anomaly_settings(tmp_path, monkeypatch):
    write_input(tmp_path / "in.csv", {"site": ("content_usage", sessions())})
    monkeypatch.setenv("PMKPI_ANOMALY_SENSITIVITY", "50")
    assert cli.main(["detect", str(tmp_path / "in.csv"), "--out", str(tmp_path / "out.csv")]) == 0
    assert {r["flagged"] for r in read_output(tmp_path / "out.csv")} == {"false"}


@pytest.mark.parametrize(("text", "message"), [
    ("series,kpi,date,value\nsite,content_usage,2025-01-06,1\n", "line 1: missing column(s) numerator, denominator"),
    ("series,kpi,date,value,numerator,denominator\nsite,content_usage,2025-01-06,1,,\nsite,visits,2025-01-07,2,,\n",
     "line 3: unknown kpi 'visits'"),
    ("series,kpi,date,value,numerator,denominator\nsite,content_usage,06/01/2025,1,,\n",
     "line 2: bad date '06/01/2025'"),
    ("series,kpi,date,value,numerator,denominator\nsite,content_usage,2025-01-06,1k,,\n",
     "line 2: value '1k' is not a number"),
    ("series,kpi,date,value,numerator,denominator\ns,content_usage,2025-01-06,1,,\ns,content_usage,2025-01-06,2,,\n",
     "line 3: series 's' already has 2025-01-06 (line 2)"),
])
def test_bad_input_is_one_error_naming_the_line(tmp_path, capsys, text, message):
    (tmp_path / "in.csv").write_text(text)
    assert cli.main(["detect", str(tmp_path / "in.csv"), "--out", str(tmp_path / "out.csv")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error and "in.csv" in error
    assert not (tmp_path / "out.csv").exists()
