"""``pmkpi detect``'s files: labelled KPI series in, one anomaly verdict per series and day out.

IN has the columns ``series,kpi,date,value,numerator,denominator`` (numerator and denominator
empty where the KPI is not a ratio); OUT has ``series,date,flagged,lower,upper,score``. The
judging itself is the anomaly check's own code path, passed in by the command.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Collection
from datetime import date
from pathlib import Path

import pandas as pd

from .anomaly import Verdict

IN_COLUMNS = ("series", "kpi", "date", "value", "numerator", "denominator")
OUT_COLUMNS = ("series", "date", "flagged", "lower", "upper", "score")


class DetectInputError(ValueError):
    """A problem with the input file, naming the file and line."""


def read_series(path: Path, known_kpis: Collection[str]) -> dict[str, tuple[str, pd.DataFrame]]:
    """Each series of ``path`` by name: its KPI id and its frame (``date, value, numerator, denominator``)."""
    rows: dict[str, tuple[str, list[dict]]] = {}
    seen: dict[tuple[str, date], int] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in IN_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DetectInputError(f"{path} line 1: missing column(s) {', '.join(missing)}; "
                                   f"expected {','.join(IN_COLUMNS)}")
        for record in reader:
            line = reader.line_num
            name, kpi = (record["series"] or "").strip(), (record["kpi"] or "").strip()
            if not name:
                raise DetectInputError(f"{path} line {line}: empty series name")
            if kpi not in known_kpis:
                known = ", ".join(sorted(known_kpis))
                raise DetectInputError(f"{path} line {line}: unknown kpi {kpi!r}; known: {known}")
            try:
                day = date.fromisoformat((record["date"] or "").strip())
            except ValueError:
                raise DetectInputError(
                    f"{path} line {line}: bad date {record['date']!r} (expected YYYY-MM-DD)") from None
            numbers = {column: _number(path, line, column, record[column])
                       for column in ("value", "numerator", "denominator")}
            if (name, day) in seen:
                raise DetectInputError(f"{path} line {line}: series {name!r} already has {day} "
                                       f"(line {seen[(name, day)]})")
            seen[(name, day)] = line
            first_kpi, series_rows = rows.setdefault(name, (kpi, []))
            if kpi != first_kpi:
                raise DetectInputError(f"{path} line {line}: series {name!r} is kpi {first_kpi!r} above, {kpi!r} here")
            series_rows.append({"date": day, **numbers})
    return {name: (kpi, pd.DataFrame(series_rows)) for name, (kpi, series_rows) in rows.items()}


def _number(path: Path, line: int, column: str, text: str | None) -> float:
    """An empty cell is NaN; anything else must be a finite number."""
    text = (text or "").strip()
    if not text:
        return math.nan
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise DetectInputError(f"{path} line {line}: {column} {text!r} is not a number")
    return number


def judge_series(series: dict[str, tuple[str, pd.DataFrame]],
                 verdicts_for: Callable[[str, pd.DataFrame], list[Verdict]]) -> list[dict]:
    """OUT's rows: every day of every series judged by ``verdicts_for(kpi, frame)``; without a score, not flagged."""
    rows = []
    for name, (kpi, frame) in series.items():
        for verdict in verdicts_for(kpi, frame):
            rows.append({"series": name, "date": verdict.date.isoformat(),
                         "flagged": "true" if verdict.status == "anomaly" else "false",
                         "lower": _cell(verdict.lower), "upper": _cell(verdict.upper), "score": _cell(verdict.score)})
    return rows


def _cell(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:.6g}"


def write_verdicts(path: Path, rows: list[dict]) -> None:
    """Write OUT's rows with its header."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=OUT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
