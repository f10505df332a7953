"""Backfill benchmark: a sandbox company of a chosen size, a full single-run backfill, and the figures.

    python benchmarks/backfill.py --size reference        # 730 days, 20,000 customers, 5M events
    python benchmarks/backfill.py --size demo --sample 3  # quicker

Everything runs as separate processes, as a data team would run it: the sandbox servers
(``pmkpi sandbox``), the backfill (``pmkpi backfill``) with a default SQLite Dagster instance in
a fresh ``DAGSTER_HOME``, the bookkeeping floor (``benchmarks/floor.py``: the same graph with
no-op bodies, on the same kind of instance) twice — with the per-day materialisation metadata and
check evaluations the real bodies record, and without, so ``per_day_results_seconds`` is their
price — the daily incremental run (yesterday + a 3-day
lookback), and — with ``--sample N`` — N partitions re-run the naive way, one process and one
run per partition, whose result rows must equal the fast path's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

import duckdb
from instances import KINDS, env_for, floor_env, fresh_home

RANGES = {"tiny": ("2025-01-01", "2025-03-01"), "demo": ("2025-01-01", "2025-06-29"),
          "reference": ("2023-01-01", "2024-12-30")}
BIN = Path(sys.executable).parent
HERE = Path(__file__).parent

RUN_COLUMNS = {"landed_pulls": "EXCLUDE (run_id, pulled_at)", "landed_days": "EXCLUDE (landed_at)"}
"""Columns that say which run wrote a row and when: they differ from run to run by nature."""


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def start_sandbox(size: str, start: str, end: str, env: dict, scale: float = 1.0, options: Sequence[str] = ()
                  ) -> tuple[subprocess.Popen, dict, float]:
    """``pmkpi sandbox`` in the background (``options``: more of its options, e.g. ``--seed``, ``--plant``); its
    exported settings and the set-up seconds."""
    began = time.monotonic()
    proc = subprocess.Popen(
        [str(BIN / "pmkpi"), "sandbox", "--size", size, *(["--scale", str(scale)] if scale != 1 else []),
         "--start", start, "--end", end, *options,
         "--ga4-port", "0", "--mailchimp-port", "0", "--ga4-grpc-port", "0", "--ga4-grpc"],
        env=env, stdout=subprocess.PIPE, text=True)
    exported = {}
    for line in proc.stdout:
        if line.startswith("export "):
            name, _, value = line[len("export "):].strip().partition("=")
            exported[name] = value
        if line.startswith("# sandbox control"):
            exported["_control"] = [url.removesuffix("/_sandbox/") for url in line.split(": ", 1)[1].split()]
        if line.startswith("# Ctrl-C"):
            break
    if proc.poll() is not None:
        raise SystemExit("the sandbox did not start")
    return proc, exported, time.monotonic() - began


def sandbox_stats(exported: dict, reset: bool = False) -> dict:
    """Requests served per endpoint by both sandbox servers (optionally resetting the counters)."""
    stats = {}
    for root in exported["_control"]:
        if reset:
            urllib.request.urlopen(urllib.request.Request(f"{root}/_sandbox/reset", method="POST", data=b"{}"))
        else:
            stats.update(json.load(urllib.request.urlopen(f"{root}/_sandbox/stats")))
    return stats


def timed(cmd: list[str], env: dict) -> float:
    """Run a command to completion; its wall seconds (fails loudly when the command fails)."""
    began = time.monotonic()
    completed = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{completed.stderr[-3000:]}")
    return time.monotonic() - began


def run_json(cmd: list[str], env: dict) -> dict:
    """Run a command that prints one JSON object last; that object (fails loudly when the command fails)."""
    completed = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{completed.stderr[-3000:]}")
    text = completed.stdout.strip()
    return json.loads(text[text.rfind("\n{") + 1:])  # one line, or an indented object from its "{" line


def table_rows(path: Path, where_dates: list[str] | None = None) -> dict[str, list]:
    """Sorted rows of every table (optionally only rows of the given dates, for dated tables); the pull ledger
    without the run's id and time, which differ from run to run by nature."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for (name,) in con.execute("SELECT table_name FROM information_schema.tables "
                                   "WHERE table_type='BASE TABLE' ORDER BY 1").fetchall():
            cols = [c for (c,) in con.execute("SELECT column_name FROM information_schema.columns "
                                              "WHERE table_name = ?", [name]).fetchall()]
            query = f'SELECT * {RUN_COLUMNS.get(name, "")} FROM "{name}"'
            if where_dates is not None:
                if "date" not in cols:
                    continue
                query += " WHERE date IN (" + ",".join(f"DATE '{d}'" for d in where_dates) + ")"
            out[name] = sorted(map(repr, con.execute(query).fetchall()))
        return out
    finally:
        con.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(RANGES), default="reference")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="times the size's customers, product events and GA4 pages (pmkpi sandbox --scale)")
    parser.add_argument("--instance", choices=(*KINDS, "memory"), default="sqlite",
                        help="the Dagster instance of the backfill (postgres: a new database on PMKPI_BENCH_PG_URL; "
                        "memory: in-memory, the cheapest bookkeeping, for own work and RSS)")
    parser.add_argument("--floors", default=None,
                        help="instance kinds to measure the floor on, with and without the settings (default: "
                        "sqlite,postgres when PMKPI_BENCH_PG_URL is set, else the --instance kind); 'none' skips")
    parser.add_argument("--days", type=int, default=0, help="only the first N days of the size's range")
    parser.add_argument("--floor-days", type=int, default=0,
                        help="measure the floors over the first N days only (default: the whole range)")
    parser.add_argument("--sample", type=int, default=3, help="partitions to re-run one run per partition")
    parser.add_argument("--skip-floor", action="store_true", help="same as --floors none")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    if args.skip_floor:
        args.floors = "none"
    if args.instance == "memory":
        args.sample = 0  # one run per partition is measured against a single run on the same kind of instance
    if args.floors is None:
        args.floors = "sqlite,postgres" if os.environ.get("PMKPI_BENCH_PG_URL") else "sqlite"
    args.floors = [] if args.floors == "none" else args.floors.split(",")
    if not set(args.floors) <= set(KINDS):
        parser.error(f"--floors: a comma-separated list of {', '.join(KINDS)}, or none")
    if args.instance not in args.floors and args.floors and args.instance != "memory":
        args.floors.insert(0, args.instance)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start, end = RANGES[args.size]
    if args.days:
        end = min(end, (date.fromisoformat(start) + timedelta(days=args.days - 1)).isoformat())
    days = (date.fromisoformat(end) - date.fromisoformat(start)).days + 1
    work = Path(tempfile.mkdtemp(prefix=f"pmkpi-bench-{args.size}-"))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PMKPI_", "DAGSTER_"))},
           "PMKPI_DATA_DIR": str(work / "data"), "PMKPI_START_DATE": start, "PMKPI_TIMEZONE": "UTC"}
    if "PMKPI_BENCH_PG_URL" in os.environ:
        env["PMKPI_BENCH_PG_URL"] = os.environ["PMKPI_BENCH_PG_URL"]
    figures: dict = {"size": args.size, "scale": args.scale, "instance": args.instance, "partitions": days}
    _log(f"generating the {args.size} company (x{args.scale:g}, {start}..{end}) and starting the sandbox …")
    sandbox, exported, figures["sandbox_setup_seconds"] = start_sandbox(args.size, start, end, env, args.scale)
    try:
        with ExitStack() as homes:
            env.update({k: v for k, v in exported.items() if k.startswith("PMKPI_")})
            memory = args.instance == "memory"
            home = homes.enter_context(fresh_home(work / "home_full", "sqlite" if memory else args.instance))
            run_env = env_for(home, env)  # the floor settings: pmkpi's own defaults, as a data team runs it
            sandbox_stats(exported, reset=True)
            _log(f"full single-run backfill of every asset ({args.instance} instance) …")
            figures["backfill_seconds"], compute = timed_backfill(start, end, run_env, work / "compute_full.json",
                                                                  memory)
            # the run's process at its peak, before it reads its own-work lines back (timed_run.py); an older
            # timed_run.py records none: the largest finished child's peak
            figures["peak_rss_mib"] = compute.get("peak_rss_mib_run") or round(
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
            figures["own_work_seconds"] = compute.get("own_seconds") if memory else own_work(home, run_env)
            figures["own_work_compute_seconds"] = compute["compute_seconds"]
            figures["own_work_top_steps"] = dict(sorted(compute["compute_seconds_by_step"].items(),
                                                        key=lambda kv: -kv[1])[:8])
            figures["peak_rss_step"] = peak_step(compute.get("peak_rss_mib_after_step", {}))
            figures["api_calls"] = sandbox_stats(exported)
            warehouse = Path(env["PMKPI_DATA_DIR"]) / "warehouse.duckdb"
            con = duckdb.connect(str(warehouse), read_only=True)
            raw = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for (t,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'raw_%'").fetchall()}
            con.close()
            figures["rows_landed"] = sum(raw.values())
            figures["rows_landed_per_second"] = round(figures["rows_landed"] / figures["backfill_seconds"])
            from pmkpi_pipeline.definitions import defs

            assets = len(list(defs().resolve_all_asset_specs()))
            figures["materializations"] = assets * days
            if args.floors:
                measure_floors(args, start, end, days, assets, env, work, homes, figures)
            daily_start = (date.fromisoformat(end) - timedelta(days=3)).isoformat()
            _log(f"daily incremental run ({daily_start}..{end}) …")
            figures["daily_run_seconds"] = timed_backfill(daily_start, end, run_env, work / "compute_daily.json",
                                                          memory)[0]
            if args.sample:
                compare_per_partition(args.sample, start, end, days, warehouse, work, env, figures,
                                      "sqlite" if memory else args.instance, homes)
    finally:
        sandbox.terminate()
        sandbox.wait()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures, indent=1))
    return 0 if figures.get("per_partition_rows_equal", True) else 1


def timed_backfill(start: str, end: str, env: dict, out: Path, memory: bool = False) -> tuple[float, dict]:
    """``pmkpi backfill START END`` through ``timed_run.py`` (``memory``: on an in-memory instance): its wall
    seconds and what timed_run.py counted (the bodies' compute seconds; in memory their own-work lines too)."""
    wall = timed([sys.executable, str(HERE / "timed_run.py"), str(out), "memory" if memory else "backfill",
                  start, end], env)
    return round(wall, 2), json.loads(out.read_text())


def peak_step(rss_after: dict[str, float]) -> str | None:
    """The step during which the run's process reached (within 2%) its peak RSS: the first, in the order the
    steps ended, whose end saw that high-water mark."""
    if not rss_after:
        return None
    peak = max(rss_after.values())
    return next(step for step, rss in rss_after.items() if rss >= 0.98 * peak)


def own_work(home: Path, env: dict) -> float | None:
    """Seconds inside our asset and check bodies of the instance's latest run, as the bodies record them
    (``own_work.py``); None when the code under test records none (an older git ref)."""
    try:
        from own_work import own_work_seconds
    except ImportError:  # the code under test has no own-work lines (pmkpi_pipeline.defs.common.own_work)
        return None
    saved = {k: os.environ.get(k) for k in ("DAGSTER_HOME", "DAGSTER_POSTGRES_URL")}
    os.environ.update({k: env[k] for k in saved if k in env})
    try:
        seconds = own_work_seconds(str(home))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return round(seconds, 2) if seconds else None


def measure_floors(args, start: str, end: str, days: int, assets: int, env: dict, work: Path, homes: ExitStack,
                   figures: dict) -> None:
    """The bookkeeping floor (``floor.py``) on each kind of ``args.floors``, with and without the floor settings,
    and without the per-day results on the backfill's kind; the ``floor_*`` figures."""
    floor_end = end
    if args.floor_days and args.floor_days < days:
        floor_end = (date.fromisoformat(start) + timedelta(days=args.floor_days - 1)).isoformat()
    floor_days = (date.fromisoformat(floor_end) - date.fromisoformat(start)).days + 1
    figures["floor_partitions"] = floor_days
    runs = [(kind, settings, True) for kind in args.floors for settings in (True, False)]
    runs.append((args.instance, True, False))
    measured = {}
    for kind, settings, per_day in runs:
        label = f"{kind}_{'settings' if settings else 'default'}{'' if per_day else '_without_per_day'}"
        _log(f"bookkeeping floor on {kind}, {'with' if settings else 'without'} the settings"
             f"{'' if per_day else ', without per-day results'} ({start}..{floor_end}) …")
        home = homes.enter_context(fresh_home(work / f"home_floor_{label}", kind))
        measured[label] = run_json([sys.executable, str(HERE / "floor.py"), start, floor_end,
                                    *([] if per_day else ["--without-per-day"])],
                                   floor_env(env_for(home, env), kind, settings))
    for kind in args.floors:
        with_settings, default = measured[f"{kind}_settings"], measured[f"{kind}_default"]
        figures[f"floor_{kind}_seconds"] = with_settings["floor_seconds"]
        figures[f"floor_default_{kind}_seconds"] = default["floor_seconds"]
        # The targets: at most 0.6 on SQLite, 0.2 on PostgreSQL.
        figures[f"floor_ratio_{kind}"] = round(with_settings["floor_seconds"] / default["floor_seconds"], 3)
    mine = measured[f"{args.instance}_settings"]
    without = measured[f"{args.instance}_settings_without_per_day"]
    figures["floor_seconds"] = mine["floor_seconds"]
    figures["floor_default_seconds"] = measured[f"{args.instance}_default"]["floor_seconds"]
    figures["check_evaluations"] = mine["check_evaluations"]
    figures["floor_without_per_day_seconds"] = without["floor_seconds"]
    # What each day's own metadata (one add_asset_metadata call per day per asset) and each day's
    # own check evaluations (one event per check per day) cost Dagster's bookkeeping, same run.
    figures["per_day_results_seconds"] = round(figures["floor_seconds"] - figures["floor_without_per_day_seconds"], 2)
    figures["per_day_ms_per_check_evaluation"] = round(1000 * figures["per_day_results_seconds"] / max(
        1, figures["check_evaluations"] - without["check_evaluations"]), 1)
    figures["floor_ms_per_materialization"] = round(
        1000 * figures["floor_without_per_day_seconds"] / (assets * floor_days), 1)


def compare_per_partition(sample: int, start: str, end: str, days: int, warehouse: Path, work: Path,
                          env: dict, figures: dict, kind: str, homes: ExitStack) -> None:
    """Re-run ``sample`` partitions one process and one run each; compare speed and result rows."""
    first = date.fromisoformat(start)
    picks = [(first + timedelta(days=days * (i + 1) // (sample + 1))).isoformat() for i in range(sample)]
    copy = work / "per_partition.duckdb"
    shutil.copy(warehouse, copy)
    pp_env = {**env_for(homes.enter_context(fresh_home(work / "home_pp", kind)), env), "PMKPI_WAREHOUSE": str(copy)}
    _log(f"naive path: {sample} partitions, one process and run each ({', '.join(picks)}) …")
    walls = [timed([str(BIN / "pmkpi"), "backfill", d, d], pp_env) for d in picks]
    per_partition = sum(walls) / len(walls)
    single_run = figures["backfill_seconds"] / days
    figures["per_partition_run_seconds"] = round(per_partition, 2)
    figures["single_run_seconds_per_partition"] = round(single_run, 4)
    figures["speedup_per_partition"] = round(per_partition / single_run, 1)
    figures["per_partition_rows_equal"] = table_rows(warehouse, picks) == table_rows(copy, picks)


if __name__ == "__main__":
    sys.exit(main())
