"""A backfill killed with SIGKILL in the middle of writing never leaves half a write behind.

The warehouse first holds a *previous* state of RANGE: an uninterrupted run's tables with one row
missing from every transaction's share (so previous and new rows can be told apart everywhere).
Then a backfill of RANGE runs in a subprocess
(``pmkpi_pipeline.cli.run_backfill``, what ``pmkpi backfill`` runs) and is killed with SIGKILL
at a few moments, picked from its own progress log lines: while it writes the GA4 tables, while
it writes the Mailchimp tables, and while it computes and writes KPI families. After each kill,
every group of tables written in one transaction (a raw asset's tables, one KPI family's rows)
holds either exactly the previous rows or exactly the new ones — never a mix, a duplicate or a
loss. A final uninterrupted run then leaves every table identical to a run on an empty warehouse.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
from support import range_tags

RANGE = (date(2025, 3, 8), date(2025, 3, 14))
TRANSACTIONS = {  # table-name prefix → the asset that replaces those tables in one transaction
    "raw_ga4_": "raw_ga4", "raw_mailchimp_": "raw_mailchimp", "raw_billing_": "raw_billing",
    "raw_inputs_": "raw_inputs",
}
FAMILY_TABLES = ("kpi_values", "kpi_check_results")  # one transaction per KPI family
RUN_COLUMNS = {"landed_days": "EXCLUDE (landed_at)"}  # when a day was landed differs from run to run by nature
LEDGER = "landed_pulls"  # a row per raw table and day, written in that table's transaction
KILL_POINTS = [  # a line of the run's own progress log, seconds to wait, the writes it catches
    ("raw_ga4 2025-03-08..2025-03-14: fetched", 0.0, "raw_ga4"),
    ("raw_mailchimp 2025-03-08..2025-03-14: fetched", 0.02, "raw_mailchimp"),
    ("stg_mailchimp 2025-03-08..2025-03-14", 0.05, "kpi_values["),
]
BACKFILL = (
    "import sys; from datetime import date; from pmkpi_pipeline.cli import run_backfill; "
    f"sys.exit(0 if run_backfill(date.fromisoformat('{RANGE[0]}'), date.fromisoformat('{RANGE[1]}'), "
    "quiet_dagster=False, ephemeral_by_default=True) else 1)"
)


def groups(path: Path) -> dict[str, list[tuple]]:
    """Every table's rows (sorted) grouped by the transaction that writes them."""
    grouped: dict[str, list[tuple]] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()]
        for name in sorted(names):
            if name in FAMILY_TABLES:
                for family, *row in con.execute(f'SELECT family, * FROM "{name}" ORDER BY ALL').fetchall():
                    grouped.setdefault(f"{name}[{family}]", []).append(tuple(row))
                continue
            if name == LEDGER:  # grouped with each table's transaction, without the run's id and time
                ledger: dict[str, list[tuple]] = {}
                for row in con.execute(f'SELECT * EXCLUDE (run_id, pulled_at) FROM "{name}" ORDER BY ALL').fetchall():
                    owner = next(asset for prefix, asset in TRANSACTIONS.items() if row[0].startswith(prefix))
                    ledger.setdefault(owner, []).append(row)
                for owner, rows in ledger.items():
                    grouped.setdefault(owner, []).append((name, rows))
                continue
            owner = next((asset for prefix, asset in TRANSACTIONS.items() if name.startswith(prefix)), name)
            rows = con.execute(f'SELECT * {RUN_COLUMNS.get(name, "")} FROM "{name}" ORDER BY ALL').fetchall()
            grouped.setdefault(owner, []).append((name, rows))
    return grouped


def _run_in_process(code_location, path: Path) -> None:
    from dagster import DagsterInstance, materialize

    from pmkpi_pipeline.lib.warehouse import WarehouseResource

    defs = code_location.defs
    result = materialize([*defs.assets, *defs.asset_checks],
                         resources={**code_location.build_resources(), "warehouse": WarehouseResource(path=str(path))},
                         tags=range_tags(*RANGE), instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success


def _kill_backfill_at(path: Path, marker: str, delay: float) -> list[str]:
    """Run the backfill in a subprocess and SIGKILL it ``delay`` s after it logs ``marker``."""
    env = {**os.environ, "PMKPI_WAREHOUSE": str(path), "PYTHONUNBUFFERED": "1"}
    env.pop("DAGSTER_HOME", None)
    process = subprocess.Popen([sys.executable, "-c", BACKFILL], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen = []
    try:
        for line in process.stdout:
            seen.append(line)
            if marker in line:
                time.sleep(delay)
                process.send_signal(signal.SIGKILL)
                break
    finally:
        process.kill()
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL, f"the run ended before {marker!r}:\n{''.join(seen[-20:])}"
    return seen


def lose_a_row_per_transaction(path: Path) -> None:
    """The previous state: one row less in every table and every KPI family."""
    with duckdb.connect(str(path)) as con:
        for (name,) in con.execute("SELECT table_name FROM information_schema.tables "
                                   "WHERE table_type = 'BASE TABLE'").fetchall():
            per = "GROUP BY family" if name in FAMILY_TABLES else ""
            con.execute(f'DELETE FROM "{name}" WHERE rowid IN (SELECT min(rowid) FROM "{name}" {per})')


def test_sigkill_mid_write_leaves_old_or_new_rows_and_a_rerun_equals_an_uninterrupted_run(
        code_location, tmp_path):
    reference = tmp_path / "reference.duckdb"
    _run_in_process(code_location, reference)
    new = groups(reference)
    victim = tmp_path / "victim.duckdb"
    shutil.copy(reference, victim)
    lose_a_row_per_transaction(victim)
    old = groups(victim)
    assert old.keys() == new.keys() and all(old[name] != new[name] for name in new)

    done_per_kill, caught = [], []
    for marker, delay, target in KILL_POINTS:
        _kill_backfill_at(victim, marker, delay)
        now = groups(victim)
        assert now.keys() == new.keys()
        for name in new:
            assert now[name] in (old[name], new[name]), f"{name}: neither the previous nor the new rows"
        done = sorted(name for name in new if now[name] == new[name])
        done_per_kill.append(done)
        caught.append(any(name.startswith(target) and name not in done for name in new))
    # every kill landed in the middle of the run (some transactions done, later ones not), and at
    # least one while the transaction it aimed at was open (its rows still the previous ones)
    assert all(0 < len(done) < len(new) for done in done_per_kill), done_per_kill
    assert any(caught), done_per_kill

    _run_in_process(code_location, victim)
    assert groups(victim) == new
