"""Anomaly checks on pipeline-shaped series: a sandbox company with planted events, backfilled, every verdict read back.

    python benchmarks/anomaly_pipeline_eval.py                       # demo company x4, 2024-01-01..2025-02-03, 4 events
    python benchmarks/anomaly_pipeline_eval.py --days 150            # a 150-day backfill (the range's last 150 days)
    python benchmarks/anomaly_pipeline_eval.py --plant tracking_break:2024-10-01:3 --json out.json --keep /tmp/eval

What it does, as a data team would: ``pmkpi sandbox`` (separate process, ports 0) generates the company with the
planted events (``--plant KIND:YYYY-MM-DD[:DAYS]``, repeatable; default: an MPP-inflated campaign, a one-day
checkout outage, a 20 % price rise and a three-day tracking break, each once and weeks apart, all inside the last
90 days and after 310 quiet days), one backfill of START..END (a single run, ``pmkpi backfill``'s code; on an
in-memory Dagster instance unless ``--instance sqlite``; a fresh data dir) lands and checks it, and the KPI rows
(``kpi_values``, headline rows) and the ``<kpi>_anomaly`` verdicts (``kpi_check_results``) are read back from the
warehouse. Three detectors are scored on the same series:

* **ours (after)** — the verdicts the pipeline's checks wrote in this run: the working tree's detector;
* **ours (before)** — the detector at ``--before REF`` (default ``6aa10bf``), its ``pmkpi_pipeline/lib/anomaly``
  loaded from git, re-judging each KPI's headline series from its first day, with the catalog's ratio shape and
  the e-mail rates' overrides of that time (``seasonality=none, sensitivity=4``);
* **baseline** — Elementary's default: |value − mean| > 3 sd (sample sd) of the previous 14 available values
  (``anomaly_eval.baseline``), judged once there are 14.

The numbers, per KPI and detector:

* **judged** — days with a verdict that judged the value: not ``passed`` NULL and not a status
  ``not_judged``, ``insufficient_history`` or ``no_value`` (ours); 14 earlier values (baseline);
* **flags** — judged days flagged as an anomaly;
* **false** — flags on days that are not an event day of that KPI (an event's days on the KPI it moves:
  mpp_campaign → email_open_rate, checkout_outage → cart_abandonment_rate, pricing_change → mrr,
  tracking_break → conversion_rate);
* **false excl. echoes** — the same, also leaving out, on an event's KPI, the days after it while the event
  day is still in that KPI's trailing window (the 6 days after an MPP campaign for the 7-day e-mail rate), flags
  that only echo the event;
* **/100 d** — those false flags per 100 judged days;
* **events** — planted events flagged on their (first) day on their KPI, of those in the view;
* and, for all KPIs together, on how many days of the view at least one KPI has a false flag.

Each table is given twice: over the whole backfill, and over its last ``--view-days`` days (150: the held-out
target is stated for a 150-day backfill: at most 30 false flags in all, at most 4 on any KPI, every planted event
flagged on its day) judged with all the history before them. ``--days 150`` instead backfills only those days.
Deterministic for a seed. Progress goes to stderr, the tables to stdout, the same figures as JSON to ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import types
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

import duckdb
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from anomaly_eval import baseline
from backfill import BIN, HERE, _log, start_sandbox
from instances import env_for, fresh_home

from pmkpi_pipeline.defs.kpis.catalog import CATALOG, Kpi
from pmkpi_pipeline.lib.settings import KpiSettings
from pmkpi_sandbox.company import Event

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RANGE = ("2024-01-01", "2025-02-03")  # 400 days; the last 150 start on 2024-09-07
DEFAULT_EVENTS = ("mpp_campaign:2024-11-06", "checkout_outage:2024-11-27", "pricing_change:2024-12-10",
                  "tracking_break:2025-01-14:3")
"""Weekdays 2-5 weeks apart, from day 61 of the last 150 on (so a 150-day backfill has 60 days before the first)."""
DEMO_SEED = 7  # pmkpi_pipeline.cli.DEMO_SEED, the demo company's
EVENT_KPI = {"mpp_campaign": "email_open_rate", "checkout_outage": "cart_abandonment_rate", "pricing_change": "mrr",
             "tracking_break": "conversion_rate"}
"""The KPI each kind of event must move on its (first) day."""
BEFORE_OVERRIDES = {"email_open_rate": {"seasonality": "none", "sensitivity": 4.0},
                    "email_click_rate": {"seasonality": "none", "sensitivity": 4.0}}
"""The catalog's anomaly overrides at 6aa10bf (EMAIL_ANOMALY on the two e-mail rates)."""
NOT_JUDGED = {"not_judged", "insufficient_history", "no_value"}
DETECTORS = ("ours (after)", "ours (before)", "baseline")
TARGET = {"false_total": 30, "false_per_kpi": 4}


@dataclass(frozen=True)
class Planted:
    """A planted event as scored: the KPI it moves, its days there, and the days after that only echo it."""

    event: Event
    kpi: str
    days: frozenset[date]
    echoes: frozenset[date]

    @classmethod
    def of(cls, event: Event, kpis: dict[str, Kpi], cfg: KpiSettings) -> Planted:
        """The event on its KPI; echoes: the days after its last one while its first is in the KPI's window."""
        kpi = EVENT_KPI[event.kind]
        days = frozenset(event.day + timedelta(days=i) for i in range(event.days))
        window = kpis[kpi].window_days(cfg)
        echoes = frozenset(event.last_day + timedelta(days=i) for i in range(1, window)) - days
        return cls(event, kpi, days, echoes)

    def label(self) -> str:
        span = f"{self.event.day}" + (f"..{self.event.last_day}" if self.event.days > 1 else "")
        return f"{self.event.kind} {span}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The evaluation's options, checked: dates, events inside the range, day counts not negative."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default=DEFAULT_RANGE[0], help="first day of the company (default %(default)s)")
    parser.add_argument("--end", default=DEFAULT_RANGE[1], help="last day of the company (default %(default)s)")
    parser.add_argument("--size", default="demo", help="sandbox size: tiny, demo or reference (default demo)")
    parser.add_argument("--scale", type=float, default=4.0,
                        help="pmkpi sandbox --scale (default 4: at 1, about 3 buyers a day leave 22 of 400 days "
                             "at 100 %% cart abandonment, so a checkout outage cannot stand out)")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help="company seed (default the demo's, %(default)s)")
    parser.add_argument("--plant", action="append", metavar="KIND:YYYY-MM-DD[:DAYS]",
                        help=f"an event to plant (repeatable; default {' '.join(DEFAULT_EVENTS)}); 'none': no event")
    parser.add_argument("--instance", choices=("memory", "sqlite"), default="memory",
                        help="the backfill's Dagster instance: memory (default: pmkpi's backfill on an in-memory "
                        "instance, through timed_run.py) or sqlite (`pmkpi backfill` itself in a fresh DAGSTER_HOME; "
                        "the same verdicts, about 5 minutes more bookkeeping for 400 demo days)")
    parser.add_argument("--days", type=int, default=0,
                        help="backfill only the last N days of the range (default: all of it)")
    parser.add_argument("--view-days", type=int, default=150,
                        help="also score the last N days of the backfill (default 150; 0: no such view)")
    parser.add_argument("--before", default="6aa10bf",
                        help="git ref whose detector re-judges the same series (default %(default)s; 'none' skips)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="work in DIR (new or empty) and keep it: data dir, warehouse, DAGSTER_HOME, logs")
    args = parser.parse_args(argv)
    try:
        args.start_day, args.end_day = date.fromisoformat(args.start), date.fromisoformat(args.end)
        texts = DEFAULT_EVENTS if args.plant is None else [t for t in args.plant if t != "none"]
        args.events = [Event.parse(text) for text in texts]
    except ValueError as exc:
        parser.error(str(exc))
    if args.end_day < args.start_day:
        parser.error(f"--end {args.end} is before --start {args.start}")
    if args.days < 0 or args.view_days < 0:
        parser.error("--days and --view-days must be >= 0")
    for event in args.events:
        if not args.start_day <= event.day <= event.last_day <= args.end_day:
            parser.error(f"--plant {event.kind}:{event.day}: {event.day}..{event.last_day} is outside the range")
    total = (args.end_day - args.start_day).days + 1
    args.first_day = args.end_day - timedelta(days=min(args.days or total, total) - 1)
    if args.keep and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep {args.keep}: not empty")
    return args


def run_pipeline(args: argparse.Namespace, work: Path) -> dict:
    """Start the sandbox with the events, run one backfill over the evaluated days; what happened.

    Returns the warehouse path, the backfill's seconds, whether it succeeded and the steps it reported failed
    (a failed run still leaves the days it wrote: they are scored all the same).
    """
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PMKPI_", "DAGSTER_"))},
           "PMKPI_DATA_DIR": str(work / "data"), "PMKPI_START_DATE": args.first_day.isoformat(),
           "PMKPI_TIMEZONE": "UTC"}
    plants = [f"--plant={e.kind}:{e.day}:{e.days}" for e in args.events]
    _log(f"generating the {args.size} company (x{args.scale:g}, seed {args.seed}, {args.start}..{args.end}, "
         f"{len(args.events)} planted events) and starting the sandbox …")
    sandbox, exported, setup = start_sandbox(args.size, args.start, args.end, env, args.scale,
                                             ["--seed", str(args.seed), *plants])
    try:
        env.update({k: v for k, v in exported.items() if k.startswith("PMKPI_")})
        env["PMKPI_START_DATE"] = args.first_day.isoformat()
        with ExitStack() as stack:
            if args.instance == "memory":
                command = [sys.executable, str(HERE / "timed_run.py"), str(work / "compute.json"), "memory"]
                run_env = env
            else:
                command = [str(BIN / "pmkpi"), "backfill"]
                run_env = env_for(stack.enter_context(fresh_home(work / "dagster_home", "sqlite")), env)
            _log(f"pmkpi backfill {args.first_day} {args.end} (one run, {args.instance} Dagster instance) …")
            began = time.monotonic()
            done = subprocess.run([*command, args.first_day.isoformat(), args.end], env=run_env,
                                  capture_output=True, text=True)
            seconds = round(time.monotonic() - began, 1)
    finally:
        sandbox.terminate()
        sandbox.wait()
    (work / "backfill.log").write_text(done.stdout + done.stderr)
    failed = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("FAILED")]
    _log(f"backfill {'succeeded' if done.returncode == 0 else 'FAILED'} in {seconds} s"
         + "".join(f"\n  {line}" for line in failed))
    return {"warehouse": Path(env["PMKPI_DATA_DIR"]) / "warehouse.duckdb", "sandbox_setup_seconds": round(setup, 1),
            "backfill_seconds": seconds, "backfill_ok": done.returncode == 0, "failed_steps": failed}


def read_warehouse(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The headline KPI rows (``date, kpi, value, numerator, denominator``) and the anomaly verdict rows
    (``date, kpi, passed, status, score``) of the warehouse."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        values = con.execute("SELECT date, kpi, value, numerator, denominator FROM kpi_values "
                             "WHERE dimension IS NULL ORDER BY kpi, date").df()
        checks = con.execute("SELECT date, kpi, passed, metadata FROM kpi_check_results "
                             "WHERE check_name = kpi || '_anomaly' ORDER BY kpi, date").df()
    finally:
        con.close()
    for frame in (values, checks):
        frame["date"] = pd.to_datetime(frame["date"]).dt.date
    meta = checks.pop("metadata").map(lambda text: json.loads(text) if text else {})
    checks["status"] = meta.map(lambda m: m.get("status"))
    checks["score"] = meta.map(lambda m: m.get("score"))
    return values, checks


def after_verdicts(checks: pd.DataFrame) -> pd.DataFrame:
    """``kpi, date, judged, flagged, score`` of the verdicts the pipeline's checks wrote."""
    passed = checks["passed"].astype("boolean")  # NULL: not judged
    judged = (passed.notna() & ~checks["status"].isin(NOT_JUDGED)).astype(bool)
    flagged = judged & ~passed.fillna(True).astype(bool)
    return pd.DataFrame({"kpi": checks["kpi"], "date": checks["date"], "judged": judged, "flagged": flagged,
                         "score": checks["score"]})


def load_detector(ref: str) -> types.ModuleType:
    """``pmkpi_pipeline/lib/anomaly`` as it was at git ``ref``, as a fresh module (a file, or later a package)."""
    name = f"_anomaly_at_{ref.replace('-', '_').replace('.', '_')}"
    single = subprocess.run(["git", "-C", str(REPO), "show", f"{ref}:pmkpi_pipeline/lib/anomaly.py"],
                            capture_output=True, text=True)
    if single.returncode == 0:
        module = types.ModuleType(name)
        module.__file__ = f"{ref}:pmkpi_pipeline/lib/anomaly.py"
        sys.modules[name] = module  # dataclasses look their module up while the class is made
        exec(compile(single.stdout, module.__file__, "exec"), module.__dict__)
        return module
    folder = Path(tempfile.mkdtemp(prefix="pmkpi-anomaly-before-"))
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "pmkpi_pipeline/lib/anomaly"],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"--before {ref}: no pmkpi_pipeline/lib/anomaly(.py) at that ref: {single.stderr.strip()}")
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    package = folder / "pmkpi_pipeline" / "lib" / "anomaly"
    spec = spec_from_file_location(name, package / "__init__.py", submodule_search_locations=[str(package)])
    module = module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)  # imports its modules
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return module


def before_verdicts(values: pd.DataFrame, detector: types.ModuleType) -> pd.DataFrame:
    """``kpi, date, judged, flagged, score``: each KPI's headline series re-judged by ``detector`` from its first
    day, with the catalog's ratio shape and the overrides of :data:`BEFORE_OVERRIDES`."""
    frames = []
    for kpi in CATALOG:
        series = values[values["kpi"] == kpi.id].reset_index(drop=True)
        if series.empty:
            continue
        params = detector.AnomalyParams().replace(ratio_kind=kpi.ratio_kind, unit=kpi.ratio_scale,
                                                  **BEFORE_OVERRIDES.get(kpi.id, {}))
        verdicts = detector.assess_series(series[["date", "value", "numerator", "denominator"]], params,
                                          evaluate_from=series["date"].min())
        frames.append(pd.DataFrame({
            "kpi": kpi.id, "date": [v.date for v in verdicts],
            "judged": [v.status in ("pass", "anomaly") for v in verdicts],
            "flagged": [v.status == "anomaly" for v in verdicts],
            "score": [None if v.score is None else round(v.score, 2) for v in verdicts]}))
    return pd.concat(frames, ignore_index=True)


def baseline_verdicts(values: pd.DataFrame) -> pd.DataFrame:
    """``kpi, date, judged, flagged, score``: mean ± 3 sd of the previous 14 available values
    (``anomaly_eval.baseline``), judged where there are 14."""
    frames = []
    for kpi, series in values.groupby("kpi", sort=False):
        series = series.reset_index(drop=True)
        points = series["value"].dropna()
        judged = pd.Series(False, index=series.index)
        judged[points.index] = (points.shift(1).rolling(14).count() == 14).to_numpy()
        flagged = baseline(types.SimpleNamespace(frame=series))
        frames.append(pd.DataFrame({"kpi": kpi, "date": series["date"], "judged": judged.to_numpy(),
                                    "flagged": flagged & judged.to_numpy(), "score": None}))
    return pd.concat(frames, ignore_index=True)


def score(verdicts: pd.DataFrame, planted: list[Planted], first: date, last: date) -> dict:
    """Per KPI and in all, the figures of the module docstring for the days ``first..last``; the planted events
    in those days with each one's verdict on its first day; the dates of the false flags."""
    days = verdicts[(verdicts["date"] >= first) & (verdicts["date"] <= last) & verdicts["judged"]]
    per_kpi, false_dates = {}, {}
    for kpi in CATALOG:
        mine = days[days["kpi"] == kpi.id]
        event_days = set().union(*(p.days for p in planted if p.kpi == kpi.id))
        echo_days = set().union(*(p.echoes for p in planted if p.kpi == kpi.id))
        flags = mine[mine["flagged"]]
        false = flags[~flags["date"].isin(event_days)]
        false_excl = false[~false["date"].isin(echo_days)]
        events = [p for p in planted if p.kpi == kpi.id and first <= p.event.day <= last]
        caught = sum(_flagged_on(mine, p.event.day) for p in events)
        per_kpi[kpi.id] = {"judged": len(mine), "flags": len(flags), "false": len(false),
                           "false_excl_echoes": len(false_excl), "events": len(events), "caught": caught}
        false_dates[kpi.id] = [d.isoformat() for d in false["date"]]
    total = {key: sum(row[key] for row in per_kpi.values()) for key in next(iter(per_kpi.values()))}
    worst = {key: max(per_kpi.items(), key=lambda item: item[1][key]) for key in ("false", "false_excl_echoes")}
    events = [{"event": p.label(), "kpi": p.kpi, **_day_verdict(verdicts, p)}
              for p in planted if first <= p.event.day <= last]
    return {"per_kpi": per_kpi, "total": total, "max": {key: {"kpi": kpi, "count": row[key]}
                                                        for key, (kpi, row) in worst.items()},
            "days_with_false_flags": len(set().union(*false_dates.values())), "days": (last - first).days + 1,
            "events": events, "false_flag_dates": {k: v for k, v in false_dates.items() if v}}


def _flagged_on(verdicts: pd.DataFrame, day: date) -> bool:
    return bool(verdicts.loc[verdicts["date"] == day, "flagged"].any())


def _day_verdict(verdicts: pd.DataFrame, planted: Planted) -> dict:
    """What a detector said about the event's KPI on the event's first day."""
    row = verdicts[(verdicts["kpi"] == planted.kpi) & (verdicts["date"] == planted.event.day)]
    if row.empty or not row["judged"].iloc[0]:
        return {"verdict": "not judged", "score": None}
    score_ = row["score"].iloc[0]
    return {"verdict": "flagged" if row["flagged"].iloc[0] else "missed",
            "score": None if score_ is None or pd.isna(score_) else float(score_)}


def per_100(count: int, judged: int) -> str:
    return f"{100 * count / judged:.2f}" if judged else "–"


def detector_table(name: str, figures: dict) -> list[str]:
    """A Markdown table of one detector's figures: a row per KPI, the totals and the largest per KPI."""
    lines = [f"**{name}**", "",
             "| KPI | judged | flags | false | false excl. echoes | false /100 d | excl. echoes /100 d | events |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for kpi, row in [*figures["per_kpi"].items(), ("**all**", figures["total"])]:
        events = f"{row['caught']}/{row['events']}" if row["events"] else ""
        lines.append(f"| {kpi} | {row['judged']} | {row['flags']} | {row['false']} | {row['false_excl_echoes']} | "
                     f"{per_100(row['false'], row['judged'])} | {per_100(row['false_excl_echoes'], row['judged'])} "
                     f"| {events} |")
    worst = [f"{m['count']} ({m['kpi']})" if m["count"] else "0" for m in figures["max"].values()]
    lines.append(f"| **max per KPI** | | | {worst[0]} | {worst[1]} | | | |")
    return [*lines, ""]


def events_table(view: dict) -> list[str]:
    """A Markdown table of each planted event's verdict, on its KPI and first day, per detector."""
    names = list(view)
    lines = ["| planted event | KPI | " + " | ".join(names) + " |", "| --- | --- |" + " --- |" * len(names)]
    for i, event in enumerate(view[names[0]]["events"]):
        cells = []
        for name in names:
            verdict = view[name]["events"][i]
            cells.append(verdict["verdict"] + ("" if verdict["score"] is None else f" ({verdict['score']:+.1f})"))
        lines.append(f"| {event['event']} | {event['kpi']} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def target_lines(view: dict) -> list[str]:
    """Each detector against the held-out target (at most 30 false flags, at most 4 on any KPI, every event)."""
    lines = []
    for name, figures in view.items():
        total, worst = figures["total"], figures["max"]
        met = (total["false"] <= TARGET["false_total"] and worst["false"]["count"] <= TARGET["false_per_kpi"]
               and total["caught"] == total["events"])
        lines.append(f"- {name}: {total['false']} false flags (excl. echoes {total['false_excl_echoes']}; target ≤ "
                     f"{TARGET['false_total']}) on {figures['days_with_false_flags']} of {figures['days']} days, "
                     f"at most {worst['false']['count']} on one KPI ({worst['false']['kpi']}; target ≤ "
                     f"{TARGET['false_per_kpi']}), events {total['caught']}/{total['events']}: "
                     f"{'met' if met else 'NOT met'}")
    return [*lines, ""]


def report(args: argparse.Namespace, run: dict, views: dict[str, dict]) -> str:
    """The whole Markdown report: the run, then per view the events, the target and one table per detector."""
    lines = [f"# Anomaly checks on a backfilled sandbox company ({args.size}"
             f"{'' if args.scale == 1 else f' x{args.scale:g}'}, seed {args.seed})", "",
             f"Company {args.start}..{args.end}; backfill {args.first_day}..{args.end} in one run ({args.instance} "
             "Dagster instance): "
             f"{'succeeded' if run['backfill_ok'] else 'FAILED'} in {run['backfill_seconds']} s"
             + "".join(f"; {line}" for line in run["failed_steps"]) + ".",
             "Planted: " + (", ".join(f"{e.kind} {e.day}" + (f" ({e.days} days)" if e.days > 1 else "")
                                      for e in args.events) or "nothing") + ".", ""]
    for title, view in views.items():
        lines += [f"## {title}", "", *events_table(view), *target_lines(view)]
        for name, figures in view.items():
            lines += detector_table(name, figures)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the pipeline on the planted company, score the three detectors, print (and write) the figures."""
    args = parse_args(argv)
    began = time.monotonic()
    work = args.keep or Path(tempfile.mkdtemp(prefix="pmkpi-anomaly-eval-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        run = run_pipeline(args, work)
        values, checks = read_warehouse(run["warehouse"])
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    _log(f"{len(values)} KPI rows and {len(checks)} anomaly verdicts read back; judging …")
    detectors = {DETECTORS[0]: after_verdicts(checks)}
    if args.before != "none":
        detectors[DETECTORS[1]] = before_verdicts(values, load_detector(args.before))
    detectors[DETECTORS[2]] = baseline_verdicts(values)
    kpis, cfg = {k.id: k for k in CATALOG}, KpiSettings()
    planted = [Planted.of(event, kpis, cfg) for event in args.events]
    last = args.end_day
    spans = {f"the whole backfill, {args.first_day}..{last}": args.first_day}
    view_first = last - timedelta(days=args.view_days - 1)
    if args.view_days and view_first > args.first_day:
        spans[f"its last {args.view_days} days, {view_first}..{last}"] = view_first
    views = {title: {name: score(verdicts, planted, first, last) for name, verdicts in detectors.items()}
             for title, first in spans.items()}
    print(report(args, run, views))
    seconds = round(time.monotonic() - began, 1)
    _log(f"done in {seconds} s")
    if args.json:
        args.json.write_text(json.dumps({
            "company": {"size": args.size, "scale": args.scale, "seed": args.seed, "start": args.start,
                        "end": args.end},
            "backfill": {"start": args.first_day.isoformat(), "end": args.end,
                         **{k: v for k, v in run.items() if k != "warehouse"}},
            "planted": [{"kind": e.kind, "day": e.day.isoformat(), "days": e.days, "kpi": EVENT_KPI[e.kind]}
                        for e in args.events],
            "before_ref": args.before, "seconds": seconds, "views": views}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
