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
from datetime import date, timedelta
from pathlib import Path

import duckdb
from own_work import own_work_seconds

RANGES = {"tiny": ("2025-01-01", "2025-03-01"), "demo": ("2025-01-01", "2025-06-29"),
          "reference": ("2023-01-01", "2024-12-30")}
BIN = Path(sys.executable).parent

RUN_COLUMNS = {"landed_pulls": "EXCLUDE (run_id, pulled_at)", "landed_days": "EXCLUDE (landed_at)"}
"""Columns that say which run wrote a row and when: they differ from run to run by nature."""


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def start_sandbox(size: str, start: str, end: str, env: dict) -> tuple[subprocess.Popen, dict, float]:
    """``pmkpi sandbox`` in the background; its exported settings and the set-up seconds."""
    began = time.monotonic()
    proc = subprocess.Popen(
        [str(BIN / "pmkpi"), "sandbox", "--size", size, "--start", start, "--end", end,
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
    return json.loads(completed.stdout.strip().splitlines()[-1])


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(RANGES), default="reference")
    parser.add_argument("--sample", type=int, default=3, help="partitions to re-run one run per partition")
    parser.add_argument("--skip-floor", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    start, end = RANGES[args.size]
    days = (date.fromisoformat(end) - date.fromisoformat(start)).days + 1
    work = Path(tempfile.mkdtemp(prefix=f"pmkpi-bench-{args.size}-"))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PMKPI_")},
           "PMKPI_DATA_DIR": str(work / "data"), "PMKPI_START_DATE": start, "PMKPI_TIMEZONE": "UTC"}
    figures: dict = {"size": args.size, "partitions": days}
    _log(f"generating the {args.size} company ({start}..{end}) and starting the sandbox …")
    sandbox, exported, figures["sandbox_setup_seconds"] = start_sandbox(args.size, start, end, env)
    try:
        env.update({k: v for k, v in exported.items() if k.startswith("PMKPI_")})
        run_env = {**env, "DAGSTER_HOME": str(work / "home_full")}
        (work / "home_full").mkdir()
        sandbox_stats(exported, reset=True)
        _log("full single-run backfill of every asset …")
        figures["backfill_seconds"] = round(timed([str(BIN / "pmkpi"), "backfill", start, end], run_env), 2)
        figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
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
        if not args.skip_floor:
            floors = {}
            for label, flags in (("per_day", []), ("without_per_day", ["--without-per-day"])):
                _log(f"bookkeeping floor ({label.replace('_', ' ')} results): the same graph with no-op bodies …")
                (work / f"home_floor_{label}").mkdir()
                floor_env = {**env, "DAGSTER_HOME": str(work / f"home_floor_{label}")}
                floors[label] = run_json([sys.executable, str(Path(__file__).parent / "floor.py"), start, end,
                                          *flags], floor_env)
            figures["floor_seconds"] = floors["per_day"]["floor_seconds"]
            figures["check_evaluations"] = floors["per_day"]["check_evaluations"]
            figures["floor_without_per_day_seconds"] = floors["without_per_day"]["floor_seconds"]
            # What each day's own metadata (one add_asset_metadata call per day per asset) and each day's
            # own check evaluations (one event per check per day) cost Dagster's bookkeeping, same run.
            figures["per_day_results_seconds"] = round(figures["floor_seconds"]
                                                       - figures["floor_without_per_day_seconds"], 2)
            figures["per_day_ms_per_check_evaluation"] = round(1000 * figures["per_day_results_seconds"] / max(
                1, figures["check_evaluations"] - floors["without_per_day"]["check_evaluations"]), 1)
            figures["own_work_seconds"] = round(own_work_seconds(work / "home_full"), 2)  # the backfill's bodies
            figures["floor_ms_per_materialization"] = round(
                1000 * figures["floor_without_per_day_seconds"] / figures["materializations"], 1)
        daily_start = (date.fromisoformat(end) - timedelta(days=3)).isoformat()
        _log(f"daily incremental run ({daily_start}..{end}) …")
        figures["daily_run_seconds"] = round(timed([str(BIN / "pmkpi"), "backfill", daily_start, end], run_env), 2)
        if args.sample:
            compare_per_partition(args.sample, start, end, days, warehouse, work, env, figures)
    finally:
        sandbox.terminate()
        sandbox.wait()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures, indent=1))
    return 0 if figures.get("per_partition_rows_equal", True) else 1


def compare_per_partition(sample: int, start: str, end: str, days: int, warehouse: Path, work: Path,
                          env: dict, figures: dict) -> None:
    """Re-run ``sample`` partitions one process and one run each; compare speed and result rows."""
    first = date.fromisoformat(start)
    picks = [(first + timedelta(days=days * (i + 1) // (sample + 1))).isoformat() for i in range(sample)]
    copy = work / "per_partition.duckdb"
    shutil.copy(warehouse, copy)
    (work / "home_pp").mkdir()
    pp_env = {**env, "PMKPI_WAREHOUSE": str(copy), "DAGSTER_HOME": str(work / "home_pp")}
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
