"""``pmkpi``: the command line — demo, sandbox, backfill, report, sql, dashboard and detect.

``demo`` and ``sandbox`` are the only commands that know about the sandbox: they generate the
demo company, start its servers and export the ``PMKPI_*`` settings that point the pipeline at
them. ``backfill`` and ``report`` work against whatever those settings name; ``sql`` prints the
query that computes one KPI, to run against the warehouse; ``dashboard`` writes the HTML dashboard; ``detect``
judges series from a CSV with the anomaly check.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

DEMO_START = date(2025, 1, 1)
DEMO_END = date(2025, 4, 30)
DEMO_SEED = 7
DEMO_TARGETS = Path(__file__).parent / "demo_targets.yaml"
"""The demo team's goals: the demo's PMKPI_TARGETS_FILE unless one is set."""


def package_version() -> str:
    """The installed ``pmkpi_pipeline`` distribution's version (``pyproject.toml``'s)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pmkpi_pipeline")
    except PackageNotFoundError:  # run from a source tree that was not installed
        return "unknown (not installed)"


def _say(message: str) -> None:
    print(message, flush=True)


def _instance(ephemeral_by_default: bool = False):
    """The Dagster instance of ``DAGSTER_HOME``; when unset, an in-memory one or one in the data dir."""
    from dagster import DagsterInstance

    from .lib.dagster_env import is_postgres_instance, set_floor_defaults
    from .lib.settings import load_settings

    if not os.environ.get("DAGSTER_HOME") and ephemeral_by_default:
        return DagsterInstance.ephemeral()
    if not os.environ.get("DAGSTER_HOME"):
        home = load_settings().data_dir / "dagster_home"
        home.mkdir(parents=True, exist_ok=True)
        os.environ["DAGSTER_HOME"] = str(home)
    instance = DagsterInstance.get()
    set_floor_defaults(postgres=is_postgres_instance(instance))  # the batch size, read at each event
    return instance


def run_backfill(start: date, end: date, *, quiet_dagster: bool = True, ephemeral_by_default: bool = False) -> bool:
    """Materialise every asset (with checks) for start..end as ONE run; True when it succeeded."""
    from .definitions import defs
    from .defs.operations.failed_days import describe, mark_failed_days

    job = defs().resolve_job_def("pmkpi_all")
    instance = _instance(ephemeral_by_default)
    tags = {"dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat()}
    level = "WARNING" if quiet_dagster else "INFO"
    result = job.execute_in_process(
        instance=instance, tags=tags, raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": level}}}},
    )
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            if error is not None and error.cause is not None:  # Dagster's wrapper → the step's own error
                error = error.cause
            _say(f"  FAILED {event.step_key}: {error.message.strip() if error else 'unknown error'}")
    if not result.success and not instance.is_ephemeral:  # no daemon here: mark the run's days failed in the UI
        marked = mark_failed_days(instance, result.run_id)
        if marked:
            _say(f"  marked failed in the Dagster UI: {describe(marked)}")
    return result.success


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NULL"
    return f"{value:,.2f}"


def report_rows(day: date) -> tuple[list[dict], list[dict]]:
    """The ``kpis`` rows (with target and null reason) and the failed checks of one day."""
    from .defs.kpis.targets import load_targets
    from .lib.kpi_tables import provisional_rows
    from .lib.settings import load_settings
    from .lib.warehouse import WarehouseResource

    settings = load_settings()
    targets = load_targets(settings.targets_file)
    warehouse = WarehouseResource(path=str(settings.warehouse_path()))
    if not settings.warehouse_path().exists():
        raise SystemExit(f"no warehouse at {settings.warehouse_path()} (PMKPI_WAREHOUSE): run a backfill first")
    with warehouse.connect(read_only=True) as con:
        kpis = con.execute(
            "SELECT date, kpi, value, numerator, denominator, unit, dimension, dimension_value, null_reason "
            "FROM kpi_values WHERE date = ? ORDER BY kpi, dimension NULLS FIRST, dimension_value", [day]).df()
        checks = con.execute(
            "SELECT kpi, check_name, severity, description FROM kpi_check_results "
            "WHERE date = ? AND NOT passed ORDER BY severity, kpi", [day]).df()
        unsettled = dict(provisional_rows(con, list(kpis["kpi"].unique()), day, day)[["kpi", "provisional_sources"]]
                         .itertuples(index=False))
    rows = []
    for record in kpis.to_dict("records"):
        clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in record.items()}
        clean["date"] = str(pd_date(clean["date"]))
        clean["provisional_sources"] = unsettled.get(clean["kpi"])
        clean["provisional"] = clean["provisional_sources"] is not None
        target = targets.get(clean["kpi"]) if clean["dimension"] is None else None
        clean["target"] = target.value if target else None
        rows.append(clean)
    return rows, checks.to_dict("records")


def pd_date(value) -> date:
    """A date from whatever DuckDB/pandas returned for a DATE column."""
    import pandas as pd

    return pd.Timestamp(value).date()


def print_report(day: date, rows: list[dict], failed: list[dict]) -> None:
    """The KPI table and failed checks of one day, for a terminal."""
    _say(f"\nKPIs on {day}")
    _say(f"  {'kpi':<28} {'breakdown':<26} {'value':>16} {'unit':<9} {'target':>10}  note")
    for row in rows:
        breakdown = f"{row['dimension']}={row['dimension_value']}" if row["dimension"] else ""
        target = "" if row["target"] is None else _fmt(row["target"])
        note = "; ".join(filter(None, [row["null_reason"], row["provisional_sources"] and
                                       f"provisional: {row['provisional_sources']} not settled"]))
        _say(f"  {row['kpi']:<28} {breakdown:<26} {_fmt(row['value']):>16} {row['unit']:<9} {target:>10}  {note}")
    if failed:
        _say(f"\nFailed checks on {day}")
        for check in failed:
            _say(f"  {check['severity']:<5} {check['check_name']:<36} {check['description']}")
    else:
        _say(f"\nAll checks passed on {day}.")


def cmd_demo(args) -> int:
    """Generate the demo company, start the sandbox, backfill the demo range and print the KPIs."""
    from pmkpi_sandbox.demo import prepare_sandbox

    began = time.monotonic()
    os.environ.setdefault("PMKPI_START_DATE", DEMO_START.isoformat())
    os.environ.setdefault("PMKPI_TARGETS_FILE", str(DEMO_TARGETS))
    _say(f"[1/4] generating the demo company (seed {DEMO_SEED}, {DEMO_START}..{DEMO_END}) …")
    with prepare_sandbox(seed=DEMO_SEED, size="demo", start=DEMO_START, end=DEMO_END) as sandbox:
        _say(f"[2/4] sandbox up: GA4 {sandbox.ga4_endpoint}, Mailchimp {sandbox.mailchimp_base_url}")
        recording = (" (recorded in DAGSTER_HOME for the UI: several minutes of Dagster bookkeeping on SQLite)"
                     if args.ui else "")
        _say(f"[3/4] backfilling every asset for {DEMO_START}..{DEMO_END} as one run{recording} …")
        ok = run_backfill(DEMO_START, DEMO_END, quiet_dagster=not args.verbose, ephemeral_by_default=not args.ui)
        if not ok:
            _say("demo run FAILED (see above)")
            return 1
        _say(f"[4/4] done in {time.monotonic() - began:.1f}s; API calls: {json.dumps(sandbox.stats(), sort_keys=True)}")
        rows, failed = report_rows(DEMO_END)
        print_report(DEMO_END, rows, failed)
        from .lib.settings import load_settings

        recorded = os.environ.get("DAGSTER_HOME") or "in memory (set DAGSTER_HOME or use --ui to keep the run)"
        _say(f"\nWarehouse: {load_settings().warehouse_path()}  ·  Dagster instance: {recorded}")
        _say(f"Dashboard (written by the run's kpi_dashboard asset; open it in a browser): "
             f"{load_settings().dashboard_file()}")
        if args.ui:
            return serve_ui(args.port)
    return 0


def serve_ui(port: int) -> int:
    """``dagster dev`` on the demo's instance and the running sandbox, until Ctrl-C."""
    import subprocess

    url = f"http://127.0.0.1:{port}"
    _say(f"\nDagster UI: {url}  (DAGSTER_HOME={os.environ['DAGSTER_HOME']}; the sandbox keeps running; "
         "Ctrl-C stops both)")
    _say(f"  the KPI assets: {url}/assets?groups=kpis  ·  a day's values and verdicts: an asset's Partitions tab")
    command = [sys.executable, "-m", "dagster", "dev", "-m", "pmkpi_pipeline.definitions", "-h", "127.0.0.1",
               "-p", str(port)]
    try:
        return subprocess.run(command, env=os.environ.copy()).returncode
    except KeyboardInterrupt:
        _say("# UI and sandbox stopped")
        return 0


def _planted_event(text: str):
    """``--plant``'s value as a sandbox ``Event`` (argparse reports a bad one, naming the option)."""
    from pmkpi_sandbox.company import Event

    try:
        return Event.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_sandbox(args) -> int:
    """Run the sandbox servers in the foreground and print the settings to export."""
    from pmkpi_sandbox.company import SIZES
    from pmkpi_sandbox.demo import prepare_sandbox

    if args.size not in SIZES:
        raise SystemExit(f"unknown --size {args.size!r}; expected one of {', '.join(sorted(SIZES))}")
    start, end = date.fromisoformat(args.start), date.fromisoformat(args.end)
    for event in args.plant:
        if not start <= event.day <= event.last_day <= end:
            raise SystemExit(f"--plant {event.kind}:{event.day}:{event.days} ({event.day}..{event.last_day}) falls "
                             f"outside --start {start} .. --end {end}")
    with prepare_sandbox(seed=args.seed, size=SIZES[args.size].scaled(args.scale), start=start,
                         end=end, ga4_port=args.ga4_port,
                         mailchimp_port=args.mailchimp_port, ga4_grpc_port=args.ga4_grpc_port,
                         ga4_over_grpc=args.ga4_grpc, events=args.plant) as sandbox:
        _say("# sandbox running; export these, then run `dagster dev` or `pmkpi backfill` in another shell:")
        if args.plant:
            _say("# planted events: " + ", ".join(f"{e.kind} {e.day}..{e.last_day}" for e in args.plant))
        for name, value in sorted(sandbox.exported.items()):
            _say(f"export {name}={value}")
        servers = sandbox.servers
        _say(f"# Mailchimp over OAuth instead of the key: export PMKPI_MAILCHIMP_ACCESS_TOKEN={servers.access_token} "
             f"PMKPI_MAILCHIMP_OAUTH_METADATA_URL={servers.mailchimp_oauth_metadata_url}; "
             "unset PMKPI_MAILCHIMP_BASE_URL")
        _say(f"# sandbox control (faults, stats): {sandbox.ga4_endpoint}/_sandbox/ "
             f"{sandbox.mailchimp_base_url.rsplit('/3.0', 1)[0]}/_sandbox/")
        _say("# Ctrl-C to stop")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            _say("# sandbox stopped")
    return 0


def cmd_backfill(args) -> int:
    """Materialise every asset for START..END against the configured sources."""
    start, end = date.fromisoformat(args.start), date.fromisoformat(args.end)
    if end < start:
        raise SystemExit(f"END {end} is before START {start}")
    began = time.monotonic()
    _say(f"backfilling every asset for {start}..{end} ({(end - start).days + 1} partitions) as one run …")
    ok = run_backfill(start, end, quiet_dagster=not args.verbose)
    _say(f"{'succeeded' if ok else 'FAILED'} in {time.monotonic() - began:.1f}s")
    return 0 if ok else 1


def cmd_report(args) -> int:
    """Print one day's KPI rows and check results as a table or JSON."""
    day = date.fromisoformat(args.date)
    rows, failed = report_rows(day)
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
    else:
        print_report(day, rows, failed)
    return 0


def cmd_dashboard(args) -> int:
    """Build the HTML dashboard from the warehouse and print where it was written."""
    from .defs.dashboard.assets import build_dashboard
    from .lib.settings import RunSettings, load_settings
    from .lib.warehouse import WarehouseResource

    settings = load_settings()
    if not settings.warehouse_path().exists():
        raise SystemExit(f"no warehouse at {settings.warehouse_path()} (PMKPI_WAREHOUSE): run a backfill first")
    out = Path(args.out).expanduser().resolve() if args.out else settings.dashboard_file()
    built = build_dashboard(WarehouseResource(path=str(settings.warehouse_path())), RunSettings.from_settings(settings),
                            out, date.fromisoformat(args.date) if args.date else None)
    _say(f"dashboard as of {built.as_of}: {built.path} ({built.size / 1024:,.0f} KiB, built in {built.seconds:.2f}s)")
    return 0


def sql_range(start: str | None, end: str | None, timezone: str) -> tuple[date, date]:
    """The days of ``pmkpi sql``: START..END, by default the 30 days ending yesterday in ``timezone``."""
    last = date.fromisoformat(end) if end else datetime.now(ZoneInfo(timezone)).date() - timedelta(days=1)
    first = date.fromisoformat(start) if start else last - timedelta(days=29)
    if last < first:
        raise SystemExit(f"END {last} is before START {first}")
    return first, last


def cmd_sql(args) -> int:
    """Print the query that computes one KPI for every day of a range, as its asset runs it."""
    from .defs.kpis.catalog import BY_ID
    from .defs.kpis.formulas import UnknownKpiError, kpi_sql
    from .lib.settings import load_settings

    settings = load_settings()
    start, end = sql_range(args.start, args.end, settings.timezone)
    cfg = settings.kpi_settings()
    try:
        query = kpi_sql(args.kpi, start, end, cfg)
    except UnknownKpiError as exc:
        print(f"pmkpi sql: {exc}", file=sys.stderr)
        return 2
    kpi = BY_ID[args.kpi]
    print(f"-- {kpi.id} ({kpi.title}) for {start}..{end}, window: {kpi.window_label(cfg)}.\n"
          f"-- Reads the stg_* and int_* views of the warehouse; the kpi_{kpi.family} asset also NULLs the days\n"
          "-- whose window a source has not landed and rounds to 12 significant digits.\n"
          f"{query};")
    return 0


def cmd_detect(args) -> int:
    """Judge every day of every series in IN.csv as its ``<kpi>_anomaly`` check would; write OUT.csv."""
    from pathlib import Path

    from .defs.kpis.catalog import BY_ID
    from .defs.kpis.checks import anomaly_verdicts
    from .lib.detect_csv import DetectInputError, judge_series, read_series, write_verdicts
    from .lib.settings import load_settings

    settings = load_settings()
    overrides, cfg = settings.anomaly_overrides(), settings.kpi_settings()
    try:
        series = read_series(Path(args.input), BY_ID)
    except (DetectInputError, OSError, UnicodeDecodeError) as exc:
        print(f"pmkpi detect: {exc}", file=sys.stderr)
        return 2
    rows = judge_series(series, lambda kpi, frame: anomaly_verdicts(BY_ID[kpi], frame, overrides, cfg=cfg))
    write_verdicts(Path(args.out), rows)
    _say(f"{len(series)} series, {len(rows)} days, {sum(r['flagged'] == 'true' for r in rows)} flagged → {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pmkpi`` command."""
    parser = argparse.ArgumentParser(prog="pmkpi", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"pmkpi {package_version()}",
                        help="print the installed pmkpi_pipeline version (CHANGELOG.md says what each one changed)")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="generate the demo company, backfill it on the sandbox, print KPIs")
    demo.add_argument("--verbose", action="store_true", help="show Dagster's own INFO logs")
    demo.add_argument("--ui", action="store_true",
                      help="record the run in a kept DAGSTER_HOME ($PMKPI_DATA_DIR/dagster_home unless set), then "
                      "serve the Dagster UI on it with `dagster dev` while the sandbox keeps running")
    demo.add_argument("--port", type=int, default=3000, help="port of the Dagster UI with --ui (default 3000)")
    demo.set_defaults(func=cmd_demo)
    sandbox = sub.add_parser("sandbox", help="run the sandbox servers and print the PMKPI_* exports")
    sandbox.add_argument("--seed", type=int, default=DEMO_SEED)
    sandbox.add_argument("--size", default="demo")
    sandbox.add_argument("--scale", type=float, default=1.0,
                         help="times the size's customers, product events and GA4 pages (e.g. 2; default 1)")
    sandbox.add_argument("--ga4-port", type=int, default=8701)
    sandbox.add_argument("--mailchimp-port", type=int, default=8702)
    sandbox.add_argument("--ga4-grpc-port", type=int, default=8703)
    sandbox.add_argument("--ga4-grpc", action="store_true",
                         help="export the GA4 gRPC endpoint (grpc://…, much faster for big reports) instead of REST")
    sandbox.add_argument("--start", default=DEMO_START.isoformat(), help="first day of the company's data")
    sandbox.add_argument("--end", default=DEMO_END.isoformat(), help="last day of the company's data")
    sandbox.add_argument("--plant", action="append", default=[], type=_planted_event, metavar="KIND:YYYY-MM-DD[:DAYS]",
                         help="plant an event in the company (repeatable): mpp_campaign (a campaign whose opens Apple "
                         "MPP inflated to 92%% of delivered), checkout_outage (no GA4 purchase for DAYS days, default "
                         "1), pricing_change (every plan 20%% dearer from that day), tracking_break (no GA4 sign_up "
                         "for DAYS days, default 3)")
    sandbox.set_defaults(func=cmd_sandbox)
    backfill = sub.add_parser("backfill", help="materialise every asset for START..END (inclusive)")
    backfill.add_argument("start", help="YYYY-MM-DD")
    backfill.add_argument("end", help="YYYY-MM-DD")
    backfill.add_argument("--verbose", action="store_true")
    backfill.set_defaults(func=cmd_backfill)
    report = sub.add_parser("report", help="one day's KPI rows and failed checks")
    report.add_argument("date", help="YYYY-MM-DD")
    report.add_argument("--json", action="store_true", help="a JSON list of objects with the kpis columns")
    report.set_defaults(func=cmd_report)
    sql = sub.add_parser("sql", help="print the SQL that computes one KPI for a date range (run it in DuckDB)")
    sql.add_argument("kpi", help="KPI id, e.g. churn_rate")
    sql.add_argument("--start", help="first day, YYYY-MM-DD (default: 29 days before END)")
    sql.add_argument("--end", help="last day, YYYY-MM-DD (default: yesterday in PMKPI_TIMEZONE)")
    sql.set_defaults(func=cmd_sql)
    dashboard = sub.add_parser("dashboard", help="write the HTML KPI dashboard (one self-contained file)")
    dashboard.add_argument("--out", help="file to write (default: PMKPI_DASHBOARD_PATH, else "
                           "$PMKPI_DATA_DIR/dashboard.html)")
    dashboard.add_argument("--date", help="the day to show, YYYY-MM-DD (default: the last day with KPI rows)")
    dashboard.set_defaults(func=cmd_dashboard)
    detect = sub.add_parser("detect", help="judge each day of the series in a CSV as the <kpi>_anomaly check would")
    detect.add_argument("input", metavar="IN.csv", help="columns series,kpi,date,value,numerator,denominator")
    detect.add_argument("--out", required=True, metavar="OUT.csv", help="columns series,date,flagged,lower,upper,score")
    detect.set_defaults(func=cmd_detect)
    args = parser.parse_args(argv)
    import warnings

    from dagster import BetaWarning, PreviewWarning

    from .lib.settings import ConfigError

    for category in (BetaWarning, PreviewWarning):  # Dagster APIs we use on purpose; noise for a CLI user
        warnings.filterwarnings("ignore", category=category)

    from .lib.dagster_env import set_floor_defaults

    set_floor_defaults(postgres=False)  # before any run is created; the batch size once the instance is known
    try:
        from .lib.settings import load_settings

        load_settings()  # every PMKPI_* variable, validated before anything starts (the demo's too)
        return args.func(args)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
