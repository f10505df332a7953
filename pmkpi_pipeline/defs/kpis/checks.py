"""Checks on every KPI partition, built from the catalog: bounds, anomaly and target per KPI.

One ``@multi_asset_check`` per family evaluates every day of the run's range: bounds (ERROR:
a rate outside 0–100, NPS outside −100..100, a negative money value, a non-finite number),
anomaly against the KPI's own history (WARN, via :mod:`pmkpi_pipeline.anomaly`) and the
team's target (WARN when off track). Each day gets its own evaluation of each check, on its own
partition and tied to that day's materialisation (:mod:`..common.per_day`), in range runs and
one-day runs alike; every per-day verdict is also written to the warehouse table
``kpi_check_results`` for ``pmkpi report`` and the dashboard, and published with ``PMKPI_PUBLISH_URL``.
"""

import json
import math
from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    multi_asset_check,
)

from ...lib.anomaly import AnomalyParams, Verdict, assess_series
from ...lib.kpi_tables import CHECK_ROWS, provisional_rows, replace_family_rows
from ...lib.publish import PublishTarget
from ...lib.settings import KpiSettings, RunSettings
from ...lib.warehouse import WarehouseResource
from ..common.own_work import timed_body
from ..common.partitions import DAILY, days, partition_dates
from ..common.per_day import (
    DayVerdict,
    check_outputs,
    daily_evaluations,
    latest_materializations,
    verdict_metadata,
)
from .anomaly_text import describe_anomaly
from .catalog import FAMILIES, Kpi
from .targets import Target, load_targets

SEVERITIES = {"bounds": AssetCheckSeverity.ERROR, "anomaly": AssetCheckSeverity.WARN,
              "target": AssetCheckSeverity.WARN}


def bounds_verdict(kpi: Kpi, value: float | None) -> tuple[bool, str]:
    """Whether a (non-NULL) value is finite and inside the KPI's bounds, and why not."""
    if value is None:
        return True, "NULL value (not computable); nothing to bound"
    if not math.isfinite(value):
        return False, f"non-finite value {value}"
    low, high = kpi.bounds
    if low is not None and value < low:
        return False, f"{value:.4g} is below the lower bound {low:g}"
    if high is not None and value > high:
        return False, f"{value:.4g} is above the upper bound {high:g}"
    return True, "within bounds"


def anomaly_params(kpi: Kpi, overrides: Mapping[str, object] = MappingProxyType({}),
                   cfg: KpiSettings | None = None) -> AnomalyParams:
    """Detector defaults and the KPI's shape (its ratio; its window with ``cfg``'s window lengths), then
    ``overrides`` (``PMKPI_ANOMALY_*``), then the catalog's."""
    return AnomalyParams().replace(**{**kpi.anomaly_shape(cfg), **overrides, **kpi.anomaly_overrides})


def anomaly_verdicts(kpi: Kpi, series: pd.DataFrame, overrides: Mapping[str, object] = MappingProxyType({}),
                     evaluate_from=None, cfg: KpiSettings | None = None) -> list[Verdict]:
    """The ``<kpi>_anomaly`` verdicts of a series (``date, value, numerator, denominator``) from ``evaluate_from`` on,
    each day judged from the days before it with the KPI's parameters; ``pmkpi detect`` judges a CSV with this too."""
    return assess_series(series[["date", "value", "numerator", "denominator"]], anomaly_params(kpi, overrides, cfg),
                         evaluate_from=evaluate_from)


def _value(v) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def evaluate_kpi(kpi: Kpi, series: pd.DataFrame, start, end, target: Target | None,
                 overrides: Mapping[str, object] = MappingProxyType({}), cfg: KpiSettings | None = None) -> list[dict]:
    """Per-day verdicts (bounds, anomaly, target) of one KPI's headline series for start..end.

    An anomaly verdict's ``passed`` is None on a day the detector could not judge (``kpi_check_results`` keeps the
    NULL; the Dagster evaluation passes, and its description says why the day was not judged)."""
    verdicts = []
    in_range = series[(series["date"] >= start) & (series["date"] <= end)]
    for row in in_range.itertuples():
        passed, why = bounds_verdict(kpi, _value(row.value))
        verdicts.append({"date": row.date, "kpi": kpi.id, "check_name": f"{kpi.id}_bounds", "passed": passed,
                         "severity": "ERROR", "description": why,
                         "metadata": json.dumps({"value": _value(row.value), "bounds": list(kpi.bounds)})})
        value = _value(row.value)
        if target is None:
            t_pass, t_why, t_meta = True, "no target set", {}
        elif value is None:
            t_pass, t_why, t_meta = True, "NULL value: target not assessed", {"target": target.value}
        else:
            t_pass = target.on_track(value)
            t_why = f"{'on' if t_pass else 'off'} track: {value:.4g} vs target {target.value:g}"
            t_meta = {"value": value, "target": target.value,
                      "direction": "up" if target.higher_is_better else "down"}
        verdicts.append({"date": row.date, "kpi": kpi.id, "check_name": f"{kpi.id}_target", "passed": t_pass,
                         "severity": "WARN", "description": t_why, "metadata": json.dumps(t_meta)})
    currency = cfg.reporting_currency if cfg else ""
    for verdict in anomaly_verdicts(kpi, series, overrides, evaluate_from=start, cfg=cfg):
        if verdict.date > end:
            continue
        verdicts.append({"date": verdict.date, "kpi": kpi.id, "check_name": f"{kpi.id}_anomaly",
                         "passed": None if not verdict.judged else verdict.status != "anomaly", "severity": "WARN",
                         "description": describe_anomaly(kpi, verdict, currency),
                         "metadata": json.dumps(verdict.metadata())})
    return verdicts


def mark_provisional(verdicts: list[dict], provisional: pd.DataFrame) -> None:
    """Say in each anomaly verdict on a provisional day that it judged numbers whose sources had not settled."""
    unsettled = {(row.date, row.kpi): row.provisional_sources for row in provisional.itertuples()}
    for verdict in verdicts:
        sources = unsettled.get((verdict["date"], verdict["kpi"]))
        if sources and verdict["check_name"].endswith("_anomaly"):
            verdict["description"] += f" (judged a provisional day: {sources} not settled yet)"
            verdict["metadata"] = json.dumps({**json.loads(verdict["metadata"]), "provisional_sources": sources})


def day_verdicts(verdicts: list[dict]) -> dict[str, list[DayVerdict]]:
    """Each check's per-day verdicts (rows of ``kpi_check_results``) as the evaluations record them, by check name."""
    by_check: dict[str, list[DayVerdict]] = {}
    for v in verdicts:
        name = v["check_name"]
        by_check.setdefault(name, []).append(DayVerdict(
            day=v["date"], passed=v["passed"] is not False, description=f"{name}: {v['description']}",
            metadata=verdict_metadata(v["date"], json.loads(v["metadata"]))))
    return by_check


def build_family_checks(family: str):
    """The ``@multi_asset_check`` holding every check of one KPI family."""
    asset_key = AssetKey(f"kpi_{family}")
    kpis = FAMILIES[family]
    specs = []
    for kpi in kpis:
        specs += [
            AssetCheckSpec(f"{kpi.id}_bounds", asset=asset_key, partitions_def=DAILY,
                           description=f"{kpi.id} is finite and within {kpi.bounds} (ERROR)."),
            AssetCheckSpec(f"{kpi.id}_anomaly", asset=asset_key, partitions_def=DAILY,
                           description=f"{kpi.id} against its own history (WARN): seasonal, robust detector."),
            AssetCheckSpec(f"{kpi.id}_target", asset=asset_key, partitions_def=DAILY,
                           description=f"{kpi.id} against the team's target in PMKPI_TARGETS_FILE (WARN)."),
        ]

    @multi_asset_check(name=f"kpi_{family}_checks", specs=specs)
    @timed_body
    def _checks(context: AssetCheckExecutionContext, warehouse: WarehouseResource, settings: RunSettings,
                publish: PublishTarget):
        start, end = partition_dates(context)
        overrides, cfg = settings.anomaly_overrides, settings.kpi_settings()
        targets = load_targets(cfg.targets_file)
        history_start = start - timedelta(days=max(anomaly_params(k, overrides, cfg).lookback_days for k in kpis))
        with warehouse.connect() as con:
            rows = con.execute(
                "SELECT date, kpi, value, numerator, denominator FROM kpi_values "
                "WHERE family = ? AND dimension IS NULL AND date BETWEEN ? AND ? ORDER BY date",
                [family, history_start, end]).df()
            provisional = provisional_rows(con, [k.id for k in kpis], start, end)
        rows["date"] = pd.to_datetime(rows["date"]).dt.date
        all_verdicts: list[dict] = []
        for kpi in kpis:
            all_verdicts += evaluate_kpi(kpi, rows[rows["kpi"] == kpi.id], start, end, targets.get(kpi.id),
                                         overrides, cfg)
        mark_provisional(all_verdicts, provisional)
        with warehouse.transaction() as con:
            replace_family_rows(con, CHECK_ROWS, family, pd.DataFrame(all_verdicts, columns=[
                c for c in CHECK_ROWS.columns if c != "family"]), start, end)
            publish.publish_checks(con, family, start, end)  # PMKPI_PUBLISH_URL; a failure rolls both back
        materialized = latest_materializations(context.instance, asset_key, [d.isoformat() for d in days(start, end)])
        by_check = day_verdicts(all_verdicts)
        for spec in specs:
            yield from daily_evaluations(context, asset_key, spec.name, by_check.get(spec.name, []),
                                         SEVERITIES[spec.name.rsplit("_", 1)[1]], targets=materialized)
        flagged = sorted({v["check_name"] for v in all_verdicts if v["passed"] is False})
        context.log.info(f"kpi_{family}_checks {start}..{end}: {len(specs)} checks × {len(days(start, end))} days, "
                         f"failing: {flagged or 'none'}")
        yield from check_outputs(context)

    return _checks


KPI_CHECKS = [build_family_checks(family) for family in FAMILIES]
