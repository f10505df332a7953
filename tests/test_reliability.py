"""Failure behaviour: API faults, paging, bad responses, bad configuration and input, late data.

Every scenario starts from the same *stale* warehouse — a clean run's raw rows for RANGE, damaged
inside the range (a row lost and two rows duplicated in every table) — injects one fault, and
runs one raw asset for RANGE:

- success: the asset's tables equal an uninterrupted clean run's exactly (the damage is
  repaired: no duplicate, no lost row) and every other table is still the stale one;
- failure: the step's error names the cause (source, endpoint, the partition range and the
  field, or the variable / file and line / table and column), and every table is exactly as it
  was before the run — nothing half-written.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey
from support import DATA_DIR, range_tags

from pmkpi_sandbox.faults import Fault, Settling

RANGE = (date(2025, 3, 1), date(2025, 3, 14))
PARTITIONS = "2025-03-01..2025-03-14"
FAST = {"max_attempts": 4, "base_delay_seconds": 0.01, "max_delay_seconds": 0.5, "timeout_seconds": 5.0}


# ---------------------------------------------------------------------------------------------
# warehouse snapshots and the clean / stale baselines


# which run wrote a row and when (the pull ledger; when a day was landed): they differ by nature
RUN_COLUMNS = {"landed_pulls": "EXCLUDE (run_id, pulled_at)", "landed_days": "EXCLUDE (landed_at)"}


def snapshot(path: Path) -> dict[str, list[tuple]]:
    """Every base table of a warehouse file, its rows sorted (the ledger without the run's id and time)."""
    with duckdb.connect(str(path), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "ORDER BY 1").fetchall()]
        return {n: con.execute(f'SELECT * {RUN_COLUMNS.get(n, "")} FROM "{n}" ORDER BY ALL').fetchall()
                for n in names}


def damage(path: Path) -> None:
    """Inside RANGE, lose one row and duplicate two in every raw table (state tables: anywhere)."""
    with duckdb.connect(str(path)) as con:
        for (name,) in con.execute("SELECT table_name FROM information_schema.tables "
                                   "WHERE table_name LIKE 'raw_%'").fetchall():
            cols = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [name]).fetchall()]
            part = "send_date" if "send_date" in cols else "date" if "date" in cols else None
            where = f"WHERE {part} BETWEEN DATE '{RANGE[0]}' AND DATE '{RANGE[1]}'" if part else ""
            con.execute(f'DELETE FROM "{name}" WHERE rowid = (SELECT min(rowid) FROM "{name}" {where})')
            con.execute(f'INSERT INTO "{name}" SELECT * FROM "{name}" {where} ORDER BY ALL LIMIT 2')


@dataclass
class Baseline:
    clean: dict[str, list[tuple]]
    stale: dict[str, list[tuple]]
    stale_path: Path


@pytest.fixture(scope="module")
def baseline(code_location, sandbox, tmp_path_factory) -> Baseline:
    """One clean run of the four raw assets for RANGE, and a damaged copy of its warehouse."""
    folder = tmp_path_factory.mktemp("baseline")
    result = _materialize(code_location, sandbox, folder / "clean.duckdb",
                          ["raw_ga4", "raw_mailchimp", "raw_billing", "raw_inputs"], {})
    assert result.success
    shutil.copy(folder / "clean.duckdb", folder / "stale.duckdb")
    damage(folder / "stale.duckdb")
    clean, stale = snapshot(folder / "clean.duckdb"), snapshot(folder / "stale.duckdb")
    for name, rows in clean.items():
        assert rows and len(set(rows)) == len(rows), f"{name}: the clean run must have distinct rows"
        assert stale[name] != rows or not name.startswith("raw_"), f"{name}: the damage must show"
    return Baseline(clean, stale, folder / "stale.duckdb")


def fast_apis(sandbox, ga4: dict | None = None, mailchimp: dict | None = None) -> dict:
    """GA4 and Mailchimp resources on the sandbox with millisecond backoff (plus overrides)."""
    from pmkpi_pipeline.defs.ga4.resource import GA4Resource
    from pmkpi_pipeline.defs.mailchimp.resource import MailchimpResource

    servers = sandbox.servers
    return {
        "ga4": GA4Resource(**{"property_id": servers.property_id, "endpoint": servers.ga4_endpoint,
                              **FAST, **(ga4 or {})}),
        "mailchimp": MailchimpResource(**{"api_key": servers.api_key,
                                          "base_url": servers.mailchimp_base_url, **FAST,
                                          **(mailchimp or {})}),
    }


def _materialize(code_location, sandbox, warehouse_path: Path, selection: list[str], resources: dict,
                 instance=None, checks: bool = False):
    from dagster import DagsterInstance, materialize

    from pmkpi_pipeline.lib.warehouse import WarehouseResource

    defs = code_location.defs
    return materialize(
        [*defs.assets, *(defs.asset_checks if checks else [])], selection=selection,
        resources={**code_location.build_resources(), **fast_apis(sandbox),
                   "warehouse": WarehouseResource(path=str(warehouse_path)), **resources},
        tags=range_tags(*RANGE), instance=instance or DagsterInstance.ephemeral(), raise_on_error=False,
    )


def failure_message(result) -> str:
    """The failed steps' errors with their causes, as one text."""
    parts = []
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        while error is not None:
            parts.append(error.message)
            error = error.cause
    return "\n".join(parts)


@dataclass
class Outcome:
    result: object
    error: str
    logs: list[str]
    calls: dict[str, int]
    before: dict[str, list[tuple]]
    after: dict[str, list[tuple]]


@pytest.fixture
def run_raw(code_location, sandbox, baseline, tmp_path):
    """Run raw assets for RANGE on a copy of the stale warehouse; faults are cleared afterwards."""
    from dagster import DagsterInstance

    def run(selection: list[str], resources: dict | None = None,
            prepare: Callable[[Path], None] | None = None, checks: bool = False) -> Outcome:
        path = tmp_path / "warehouse.duckdb"
        if not path.exists():
            shutil.copy(baseline.stale_path, path)
            if prepare:
                prepare(path)
        before, calls = snapshot(path), dict(sandbox.stats())
        instance = DagsterInstance.ephemeral()
        result = _materialize(code_location, sandbox, path, selection, resources or {}, instance, checks)
        used = {k: n - calls.get(k, 0) for k, n in sandbox.stats().items() if n != calls.get(k, 0)}
        logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
        return Outcome(result, failure_message(result), logs, used, before, snapshot(path))

    yield run
    sandbox.servers.faults.reset()


def tables_of(selection: list[str], names) -> set[str]:
    return {n for n in names for asset in selection if n.startswith(asset + "_")}


def assert_repaired(outcome: Outcome, baseline: Baseline, selection: list[str]) -> None:
    """Success: the selected assets' tables equal the clean run's; every other table is untouched."""
    assert outcome.result.success, outcome.error
    touched = tables_of(selection, outcome.after)
    assert touched
    for name, rows in outcome.after.items():
        expected = baseline.clean[name] if name in touched else outcome.before[name]
        assert rows == expected, f"{name} differs from the {'clean' if name in touched else 'previous'} rows"


def assert_untouched(outcome: Outcome, *expected: str) -> None:
    """Failure: the error names every expected part and the warehouse is exactly as before."""
    assert not outcome.result.success
    for part in expected:
        assert part in outcome.error, f"{part!r} not in the error:\n{outcome.error}"
    assert outcome.after == outcome.before


# ---------------------------------------------------------------------------------------------
# the scenarios


@dataclass
class Scenario:
    """One fault: what to inject or configure, which asset runs, and what must come out.

    ``expect`` empty means success with exactly the clean rows; otherwise the error must contain
    each string. ``calls`` pins sandbox request counts (e.g. a 401 is not retried).
    """

    asset: str
    faults: tuple[Fault, ...] = ()
    plan: dict = field(default_factory=dict)
    ga4: dict = field(default_factory=dict)
    mailchimp: dict = field(default_factory=dict)
    expect: tuple[str, ...] = ()
    calls: dict[str, int] = field(default_factory=dict)
    logged: str | None = None


GA4_RUN = "ga4.runReport"
TRAFFIC = "properties/100000001:runReport (traffic report)"
SCENARIOS = {
    # transient API faults: retried with backoff, then exactly the clean rows
    "ga4_503_burst_retried": Scenario(
        "raw_ga4", (Fault("ga4", "status", status=503, times=2),), calls={GA4_RUN: 6}),
    "ga4_429_concurrency_retried_after_retry_after": Scenario(
        "raw_ga4", (Fault("ga4", "status", status=429, times=2, retry_after=0.05,
                          message="Exhausted concurrent requests quota."),),
        calls={GA4_RUN: 6}, logged="in 0.05s (Retry-After)"),
    "mailchimp_429_burst_retried_after_retry_after": Scenario(
        "raw_mailchimp", (Fault("mailchimp", "status", status=429, times=3, retry_after=0.02,
                                path="/reports"),),
        calls={"mailchimp./reports": 4}, logged="in 0.02s (Retry-After)"),
    "mailchimp_5xx_mix_retried": Scenario(
        "raw_mailchimp", (Fault("mailchimp", "status", status=500, path="/campaigns"),
                          Fault("mailchimp", "status", status=502, path="/lists"),
                          Fault("mailchimp", "status", status=503, path="/activity")),
        calls={"mailchimp./campaigns": 2, "mailchimp./lists": 2, "mailchimp./lists/{list_id}/activity": 2}),
    "ga4_slow_answer_times_out_and_is_retried": Scenario(
        "raw_ga4", (Fault("ga4", "slow", seconds=3.0),), ga4={"timeout_seconds": 1.0}, calls={GA4_RUN: 5}),
    "mailchimp_slow_answer_times_out_and_is_retried": Scenario(
        "raw_mailchimp", (Fault("mailchimp", "slow", seconds=3.0, path="/campaigns"),),
        mailchimp={"timeout_seconds": 1.0}, calls={"mailchimp./campaigns": 2}),
    # paging: many small pages add up to exactly the same rows
    "ga4_small_pages": Scenario("raw_ga4", ga4={"page_size": 40}, calls={GA4_RUN: 2 + 7 + 4 + 1}),
    "mailchimp_small_pages": Scenario(
        "raw_mailchimp", mailchimp={"page_size": 1},
        calls={"mailchimp./campaigns": 2, "mailchimp./reports": 2, "mailchimp./lists": 1,
               "mailchimp./lists/{list_id}/activity": 90}),
    # persistent API faults: a clear error, nothing written
    "ga4_5xx_beyond_the_retry_limit": Scenario(
        "raw_ga4", (Fault("ga4", "status", status=503, times=3),), ga4={"max_attempts": 3},
        expect=("GA4", TRAFFIC, PARTITIONS, "still failing after 3 attempts", "HTTP 503"),
        calls={GA4_RUN: 3}),
    "ga4_unreachable_endpoint": Scenario(
        "raw_ga4", ga4={"endpoint": "http://127.0.0.1:9", "max_attempts": 2},
        expect=(TRAFFIC, PARTITIONS, "still failing after 2 attempts", "connection failed")),
    "ga4_retry_after_longer_than_the_maximum_wait": Scenario(
        "raw_ga4", (Fault("ga4", "status", status=503, retry_after=120),),
        expect=(TRAFFIC, PARTITIONS, "Retry-After", "120s"), calls={GA4_RUN: 1}),
    "ga4_hourly_quota_exhausted_is_not_retried": Scenario(
        "raw_ga4", plan={"ga4_quota": {"tokensPerHour": 0}},
        expect=(TRAFFIC, PARTITIONS, "quota tokensPerHour", "resets at", ":00 UTC"), calls={GA4_RUN: 1}),
    "ga4_daily_quota_exhausted_is_not_retried": Scenario(
        "raw_ga4", plan={"ga4_quota": {"tokensPerDay": 0}},
        expect=(TRAFFIC, PARTITIONS, "quota tokensPerDay", "resets at"), calls={GA4_RUN: 1}),
    "mailchimp_wrong_key_401_is_not_retried": Scenario(
        "raw_mailchimp", mailchimp={"api_key": "ffffffffffffffffffffffffffffffff-us1"},
        expect=("Mailchimp /campaigns", PARTITIONS, "HTTP 401", "PMKPI_MAILCHIMP_API_KEY"),
        calls={"mailchimp./campaigns": 1}),
    "ga4_wrong_property_403_is_not_retried": Scenario(
        "raw_ga4", ga4={"property_id": "999"},
        expect=("properties/999:runReport (traffic report)", PARTITIONS, "HTTP 403",
                "PMKPI_GA4_PROPERTY_ID"), calls={GA4_RUN: 1}),
    "mailchimp_malformed_key": Scenario(
        "raw_mailchimp", mailchimp={"api_key": "no-data-centre-"},
        expect=("PMKPI_MAILCHIMP_API_KEY is malformed",)),
    "ga4_no_credentials_for_google": Scenario(
        "raw_ga4", ga4={"endpoint": "https://analyticsdata.googleapis.com"},
        expect=("GOOGLE_APPLICATION_CREDENTIALS is not set",)),
    # promised counts that do not add up
    "ga4_inflated_row_count": Scenario(
        "raw_ga4", (Fault("ga4", "inflated_row_count", extra=5),),
        expect=(TRAFFIC, PARTITIONS, "field rowCount", "rowCount changed between pages")),
    "ga4_rows_missing_from_the_answer": Scenario(
        "raw_ga4", (Fault("ga4", "missing_field", field="rows"),),
        expect=(TRAFFIC, PARTITIONS, "field rows", "delivered 0 rows")),
    "mailchimp_inflated_total_items": Scenario(
        "raw_mailchimp", (Fault("mailchimp", "inflated_row_count", path="/reports", extra=3),),
        expect=("Mailchimp /reports", PARTITIONS, "field reports", "promised total_items=5")),
    "mailchimp_total_items_missing": Scenario(
        "raw_mailchimp", (Fault("mailchimp", "missing_field", path="/campaigns"),),
        expect=("Mailchimp /campaigns", PARTITIONS, "field total_items", "lacks this field")),
    # malformed answers
    "ga4_truncated_json": Scenario(
        "raw_ga4", (Fault("ga4", "truncate"),), expect=(TRAFFIC, PARTITIONS, "malformed response body")),
    "mailchimp_truncated_json": Scenario(
        "raw_mailchimp", (Fault("mailchimp", "truncate", path="/reports"),),
        expect=("Mailchimp /reports", PARTITIONS, "not a JSON object")),
    "ga4_metric_of_the_wrong_type": Scenario(
        "raw_ga4", (Fault("ga4", "wrong_type", field="engagedSessions"),),
        expect=(TRAFFIC, PARTITIONS, "field engagedSessions", "'abc' is not a number")),
    "mailchimp_count_of_the_wrong_type": Scenario(
        "raw_mailchimp", (Fault("mailchimp", "wrong_type", path="/reports", field="abuse_reports"),),
        expect=("Mailchimp /reports", PARTITIONS, "field abuse_reports", "'abc', not a count")),
    "mailchimp_report_missing_a_field": Scenario(
        "raw_mailchimp", (Fault("mailchimp", "missing_field", path="/reports", field="reports"),),
        expect=("Mailchimp /reports", PARTITIONS, "field reports", "lacks this field")),
    "ga4_unknown_metric_header": Scenario(
        "raw_ga4", (Fault("ga4", "unknown_header"),), expect=(TRAFFIC, PARTITIONS, "field unknownMetric")),
    "ga4_row_dated_outside_the_range": Scenario(
        "raw_ga4", (Fault("ga4", "out_of_range_row"),),
        expect=(TRAFFIC, PARTITIONS, "field date", "dated 2025-02-28, outside the requested range")),
    "ga4_duplicate_key": Scenario(
        "raw_ga4", (Fault("ga4", "duplicate_rows"),),
        expect=(TRAFFIC, PARTITIONS, "field date,sessionDefaultChannelGroup", "duplicate row")),
    "mailchimp_duplicate_campaign": Scenario(
        "raw_mailchimp", (Fault("mailchimp", "duplicate_rows", path="/reports"),),
        expect=("Mailchimp /reports", PARTITIONS, "field reports.id", "appears twice")),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_api_fault(name, sandbox, run_raw, baseline):
    scenario = SCENARIOS[name]
    plan = sandbox.servers.faults
    plan.add(*scenario.faults)
    if scenario.plan:
        plan.configure(scenario.plan)
    outcome = run_raw([scenario.asset], fast_apis(sandbox, scenario.ga4, scenario.mailchimp))
    if scenario.expect:
        assert_untouched(outcome, *scenario.expect)
    else:
        assert_repaired(outcome, baseline, [scenario.asset])
    assert plan.pending() == [], "every injected fault was met"
    for key, count in scenario.calls.items():
        assert outcome.calls.get(key, 0) == count, (key, outcome.calls)
    if scenario.logged:
        assert any(scenario.logged in line for line in outcome.logs), outcome.logs


# ---------------------------------------------------------------------------------------------
# bad configuration and input: billing database, CSVs, the warehouse itself


def _billing_copy(tmp_path: Path, sql: str) -> str:
    copy = tmp_path / "billing.sqlite"
    shutil.copy(DATA_DIR / "billing.sqlite", copy)
    with sqlite3.connect(copy) as con:
        con.executescript(sql)
    return f"sqlite:///{copy}"


@pytest.mark.parametrize("url, expect", [
    ("missing_column", ("billing table invoices lacks column(s) currency",)),
    ("missing_table", ("has no table refunds",)),
    ("sqlite:////nonexistent-dir/billing.sqlite", ("billing database sqlite:////nonexistent-dir/billing.sqlite",
                                                    "cannot be reached")),
    ("postgresql+psycopg2://pmkpi:hunter2-pw@127.0.0.1:9/billing",
     ("billing database postgresql+psycopg2://pmkpi:***@127.0.0.1:9/billing", "cannot be reached")),
], ids=["missing_column", "missing_table", "sqlite_unreachable", "postgres_unreachable"])
def test_bad_billing_database(url, expect, run_raw, tmp_path):
    from pmkpi_pipeline.defs.billing.resource import BillingDatabase

    url = {"missing_column": lambda: _billing_copy(tmp_path, "ALTER TABLE invoices DROP COLUMN currency;"),
           "missing_table": lambda: _billing_copy(tmp_path, "DROP TABLE refunds;")}.get(url, lambda: url)()
    outcome = run_raw(["raw_billing"], {"billing": BillingDatabase(url=url)})
    assert_untouched(outcome, *expect)
    assert "hunter2-pw" not in outcome.error + "\n".join(outcome.logs)


def _unconstrained(table: str) -> str:
    """SQL rebuilding a table of the demo's SQLite billing database without its constraints (the key, the checks),
    as a source that does not declare them would hold it."""
    return f"CREATE TABLE _copy AS SELECT * FROM {table}; DROP TABLE {table}; ALTER TABLE _copy RENAME TO {table};"


@pytest.mark.parametrize("sql, expect", [
    ("UPDATE refunds SET invoice_id = 999999 WHERE id = (SELECT min(id) FROM refunds);",
     "billing table refunds column invoice_id: must name a row of invoices; 1 row(s) break it, first: id "),
    ("UPDATE subscriptions SET plan_id = 424242 WHERE id IN (SELECT id FROM subscriptions ORDER BY id LIMIT 2);",
     "billing table subscriptions column plan_id: must name a row of plans; 2 row(s) break it, first: id 1 "
     "(plan_id 424242)"),
    (_unconstrained("customers") + "UPDATE customers SET id = 1 WHERE id = 2;",
     "billing table customers column id: ids must be unique; 1 row(s) break it, first: id 1 (2 rows)"),
    (_unconstrained("plans") + "UPDATE plans SET billing_interval = 'fortnight' WHERE id = 1;",
     "billing table plans column billing_interval: must be one of month, quarter, year; 1 row(s) break it, first: "
     "id 1 (billing_interval 'fortnight')"),
    (_unconstrained("invoices") + "UPDATE invoices SET issued_at = NULL WHERE id = 3;",
     "billing table invoices column issued_at: a value is required; 1 row(s) break it, first: id 3"),
], ids=["refund_without_invoice", "subscription_without_plan", "duplicate_customer_id", "unknown_interval",
        "invoice_without_issue_time"])
def test_billing_rows_that_break_a_rule_land_nothing(sql, expect, run_raw, tmp_path):
    """Validation before anything lands: one error naming the table, column, rule and first rows; the warehouse
    keeps what it had (the landing transaction rolls back)."""
    from pmkpi_pipeline.defs.billing.resource import BillingDatabase

    outcome = run_raw(["raw_billing"], {"billing": BillingDatabase(url=_billing_copy(tmp_path, sql))})
    assert_untouched(outcome, expect, "Nothing was landed.")


def _edit_line(number: int, old: str, new: str) -> Callable[[list[str]], list[str]]:
    def edit(lines: list[str]) -> list[str]:
        assert old in lines[number - 1]
        lines[number - 1] = lines[number - 1].replace(old, new, 1)
        return lines

    return edit


@pytest.mark.parametrize("file, edit, expect", [
    ("marketing_spend.csv", _edit_line(1, "amount", "amt"), "header ['date', 'channel', 'amt'] lacks column(s) amount"),
    ("marketing_spend.csv", _edit_line(3, "Email,", "Email,ten"), "line 3: column amount value 'ten20.99'"),
    ("marketing_spend.csv", _edit_line(2, "193.13", "-193.13"), "line 2: column amount value '-193.13' is negative"),
    ("marketing_spend.csv", _edit_line(4, "2025-01-02", "2025-02-30"), "line 4: column date value '2025-02-30'"),
    ("social_media.csv", _edit_line(1, "impressions", "views"), "lacks column(s) impressions"),
], ids=["bad_header", "non_numeric_amount", "negative_amount", "date_does_not_parse", "social_bad_header"])
def test_bad_input_csv(file, edit, expect, run_raw, tmp_path):
    from pmkpi_pipeline.defs.inputs.resource import InputsFolder

    folder = tmp_path / "inputs"
    shutil.copytree(DATA_DIR / "inputs", folder)
    path = folder / file
    path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")
    outcome = run_raw(["raw_inputs"], {"inputs": InputsFolder(path=str(folder))})
    assert_untouched(outcome, str(path), expect)


def test_mixed_currencies_stop_staging_naming_file_and_line(run_raw, tmp_path):
    from pmkpi_pipeline.defs.inputs.resource import InputsFolder

    folder = tmp_path / "inputs"
    shutil.copytree(DATA_DIR / "inputs", folder)
    spend = folder / "marketing_spend.csv"
    lines = spend.read_text().splitlines()
    march = next(i for i, line in enumerate(lines) if line.startswith("2025-03-02,"))
    lines = [lines[0] + ",currency"] + [line + (",EUR" if i == march else ",USD") for i, line in
                                        enumerate(lines) if i]
    spend.write_text("\n".join(lines) + "\n")
    outcome = run_raw(["raw_inputs", "stg_inputs"], {"inputs": InputsFolder(path=str(folder))})
    assert not outcome.result.success
    assert "marketing_spend.csv: 1 row(s) in a currency other than the reporting currency USD" in outcome.error
    assert f"line {march + 1} (EUR)" in outcome.error and "PMKPI_FX_RATES" in outcome.error


def test_a_write_failing_half_way_rolls_back_the_whole_range(run_raw, baseline):
    """raw_mailchimp replaces campaigns and reports, then list activity refuses its rows: all rolled back."""
    def refuse_the_last_day(path: Path) -> None:
        with duckdb.connect(str(path)) as con:
            cols = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                               "WHERE table_name = 'raw_mailchimp_list_activity' ORDER BY ordinal_position").fetchall()
            con.execute("CREATE TEMP TABLE keep AS SELECT * FROM raw_mailchimp_list_activity "
                        f"WHERE date < DATE '{RANGE[1]}'")
            con.execute("DROP TABLE raw_mailchimp_list_activity")
            con.execute("CREATE TABLE raw_mailchimp_list_activity ("
                        + ", ".join(f'"{c}" {t}' for c, t in cols) + f", CHECK (date < DATE '{RANGE[1]}'))")
            con.execute("INSERT INTO raw_mailchimp_list_activity SELECT * FROM keep")

    outcome = run_raw(["raw_mailchimp"], prepare=refuse_the_last_day)
    assert_untouched(outcome, "CHECK constraint")
    assert outcome.before["raw_mailchimp_reports"] == baseline.stale["raw_mailchimp_reports"]


# ---------------------------------------------------------------------------------------------
# GA4 data-quality flags and late data


def test_thresholding_other_row_and_sampling_are_a_warning_not_an_error(sandbox, run_raw, baseline):
    sandbox.servers.faults.configure({"ga4_metadata": {"subjectToThresholding": True,
                                                       "dataLossFromOtherRow": True,
                                                       "samplingMetadatas": True}})
    outcome = run_raw(["raw_ga4"], checks=True)
    assert outcome.result.success, outcome.error
    for name in ("raw_ga4_traffic", "raw_ga4_pages", "raw_ga4_events", "raw_ga4_totals"):
        assert outcome.after[name] == [row[:-3] + (True, True, True) for row in baseline.clean[name]]
    quality = [e for e in outcome.result.get_asset_check_evaluations() if e.check_name == "ga4_data_quality"]
    # One evaluation per day of the range, each a WARN on its own partition.
    assert len(quality) == (RANGE[1] - RANGE[0]).days + 1
    assert all(not q.passed and q.severity.value == "WARN" and q.partition for q in quality)
    materialization = outcome.result.asset_materializations_for_node("raw_ga4")[0]
    assert materialization.metadata["thresholded_reports"].value == ["traffic", "pages", "events", "totals"]
    assert materialization.metadata["sampled_reports"].value == ["traffic", "pages", "events", "totals"]
    assert "pages: computed from a sample of the events" in quality[0].description


def test_late_data_repull_records_changed_settled_numbers(sandbox, run_raw, baseline):
    """First pull while the last five days are still settling (numbers halved), then a re-pull:
    the rows become the clean ones and every changed number is recorded in the metadata."""
    plan = sandbox.servers.faults
    plan.settling = Settling(as_of=RANGE[1], days=5, factor=0.5)
    early = run_raw(["raw_ga4", "raw_mailchimp"])
    assert early.result.success, early.error
    plan.settling = None
    late = run_raw(["raw_ga4", "raw_mailchimp"])
    assert_repaired(late, baseline, ["raw_ga4", "raw_mailchimp"])

    metadata = {e.asset_key.to_user_string(): e.materialization.metadata
                for e in late.result.get_asset_materialization_events()}
    changed = {**metadata["raw_ga4"]["changed_rows"].value, **metadata["raw_mailchimp"]["changed_rows"].value}
    settled = {**metadata["raw_ga4"]["changed_settled_rows"].value,
               **metadata["raw_mailchimp"]["changed_settled_rows"].value}
    for name in ("raw_ga4_traffic", "raw_ga4_pages", "raw_ga4_events", "raw_ga4_totals",
                 "raw_mailchimp_reports"):
        differing = set(early.after[name]) ^ set(late.after[name])
        assert differing, name
        # every day of 2025 is long settled: each changed row is a settled change
        assert changed[name] == settled[name]["count"] > 0, name
        for example in settled[name]["examples"]:
            day = example.get("date", example.get("send_date"))
            assert "2025-03-10" <= day <= "2025-03-14" and example["changes"], example
    assert changed["raw_mailchimp_reports"] == 1  # the campaign sent on 2025-03-11
    assert changed["raw_mailchimp_list_activity"] == 0
    assert any("re-pull changed numbers dated before" in line for line in late.logs)


def test_changed_rows_tells_settled_from_settling_days(tmp_path):
    import pandas as pd

    from pmkpi_pipeline.lib.late_data import changed_rows
    from pmkpi_pipeline.lib.warehouse import WarehouseResource, WarehouseTable, replace_rows

    table = WarehouseTable("t", {"date": "DATE", "k": "VARCHAR", "n": "BIGINT"})
    old = pd.DataFrame({"date": [date(2025, 3, 1), date(2025, 3, 1), date(2025, 3, 9)],
                        "k": ["a", "b", "a"], "n": [1, 2, 3]})
    new = pd.DataFrame({"date": [date(2025, 3, 1), date(2025, 3, 1), date(2025, 3, 9), date(2025, 3, 10)],
                        "k": ["a", "c", "a", "a"], "n": [1, 2, 4, 5]})
    with WarehouseResource(path=str(tmp_path / "w.duckdb")).transaction() as con:
        replace_rows(con, table, old, date(2025, 3, 1), date(2025, 3, 9))
        found = changed_rows(con, table, new, date(2025, 3, 1), date(2025, 3, 10), keys=["k"], values=["n"],
                             settled_before=date(2025, 3, 8))
    # b vanished and c appeared on the settled 1st; a changed on the settling 9th; the 10th is a first pull
    assert (found["changed"], found["settled"]) == (3, 2)
    assert found["examples"][:2] == [{"date": "2025-03-01", "k": "b", "changes": {"n": [2, None]}},
                                     {"date": "2025-03-01", "k": "c", "changes": {"n": [None, 2]}}]
    assert found["examples"][2] == {"date": "2025-03-09", "k": "a", "changes": {"n": [3, 4]}}


# ---------------------------------------------------------------------------------------------
# the retry policy itself, without a network


def _raising(error: Exception):
    def call():
        raise error

    return call


def test_backoff_is_exponential_with_full_jitter_and_honours_retry_after():
    from pmkpi_pipeline.lib.retry import RetriesExhausted, Retryable, call_with_retries

    waits: list[float] = []
    answers = iter([Retryable("HTTP 503"), Retryable("HTTP 503"), Retryable("HTTP 429", retry_after=0.7),
                    Retryable("HTTP 503"), "rows"])

    def call():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert call_with_retries(call, lambda exc: exc, what="x", max_attempts=5, base_delay=1.0, max_delay=3.0,
                             sleep=waits.append) == "rows"
    assert 0 <= waits[0] <= 1 and 0 <= waits[1] <= 2 and waits[2] == 0.7 and 0 <= waits[3] <= 3
    with pytest.raises(RetriesExhausted, match=r"^GA4 x: still failing after 2 attempts; last error: HTTP 502"):
        call_with_retries(_raising(Retryable("HTTP 502")), lambda exc: exc,
                          what="GA4 x", max_attempts=2, base_delay=0.0, sleep=waits.append)
    refused = ValueError("HTTP 401 — check PMKPI_MAILCHIMP_API_KEY")
    before = len(waits)
    with pytest.raises(ValueError, match="HTTP 401"):
        call_with_retries(_raising(refused), lambda exc: exc, what="x", max_attempts=5,
                          base_delay=1.0, sleep=waits.append)
    assert len(waits) == before, "a refusal is not retried"


def test_retry_after_and_quota_reset_times():
    from datetime import datetime

    from pmkpi_pipeline.defs.ga4.resource import exhausted_quota
    from pmkpi_pipeline.lib.retry import parse_retry_after

    now = datetime(2025, 3, 10, 14, 25, tzinfo=UTC)
    assert parse_retry_after({"retry-after": "2.5"}) == 2.5
    assert parse_retry_after({"Retry-After": "Mon, 10 Mar 2025 14:25:30 GMT"}, now) == 30.0
    assert parse_retry_after({"Retry-After": "soon"}) is None and parse_retry_after(None) is None
    assert exhausted_quota("Exhausted property tokens per hour (tokensPerHour).", now) == (
        "tokensPerHour", datetime(2025, 3, 10, 15, 0, tzinfo=UTC))
    assert exhausted_quota("Exhausted property tokens per day.", now) == (  # midnight Pacific (PDT)
        "tokensPerDay", datetime(2025, 3, 11, 7, 0, tzinfo=UTC))
    assert exhausted_quota("Exhausted concurrent requests quota.", now) is None


def test_api_assets_draw_on_their_own_pools(code_location):
    graph = code_location.defs.resolve_asset_graph()
    pools = {key: graph.get(AssetKey(key)).pools for key in ("raw_ga4", "raw_mailchimp")}
    assert pools == {"raw_ga4": {"ga4_api"}, "raw_mailchimp": {"mailchimp_api"}}
