"""``pmkpi`` with the seconds spent computing in each step's body counted from outside, for any version of the code.

    python benchmarks/timed_run.py OUT.json backfill START END
    python benchmarks/timed_run.py OUT.json memory START END   # the same on an in-memory Dagster instance

runs ``pmkpi backfill START END`` in this process (``memory``: ``pmkpi``'s backfill on an in-memory instance,
whose bookkeeping is cheap; the bodies' own-work lines are then read from it here, as ``own_seconds``), with
Dagster's step compute (``_yield_compute_results``: the asset or check body and the events it hands over)
timed only while it runs: the time Dagster spends between two of its results (writing events, the IO
manager, the run's bookkeeping) is not counted. Writes
``{"compute_seconds": total, "compute_seconds_by_step": {...}, "peak_rss_mib_after_step": {...}}`` (the
process's peak RSS when each step's body ended, in the order they ended) and ``peak_rss_mib_run`` (its peak
when the run ended, before the own-work lines are read back) to OUT.json. It reads nothing the
pipeline records itself, so ``benchmarks/compare.py`` measures a git ref that has no own-work timing the
same way as the working tree. It includes what a body calls of Dagster in-line (e.g. ``add_asset_metadata``,
reading the instance), so it is at or a little above ``benchmarks/own_work.py``'s figure.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path


def timing_compute(by_step: dict[str, float], rss_after: dict[str, float]) -> None:
    """Patch Dagster's step compute so each step's seconds inside its body add up in ``by_step``, and the
    process's peak RSS so far (MiB) is noted in ``rss_after`` when each step's body ends."""
    from dagster._core.execution.plan import compute

    original = compute._yield_compute_results

    def timed(step_context, *args, **kwargs):
        results = original(step_context, *args, **kwargs)
        key = step_context.step.key
        while True:
            began = time.perf_counter()
            try:
                result = next(results)
            except StopIteration:
                rss_after[key] = _peak_rss_mib()
                return
            finally:
                by_step[key] += time.perf_counter() - began
            yield result

    compute._yield_compute_results = timed


def in_memory_backfill(start: str, end: str, figures: dict) -> int:
    """``pmkpi``'s backfill of START..END on an in-memory instance; the bodies' own seconds into ``figures``."""
    from datetime import date

    from dagster import DagsterInstance

    from pmkpi_pipeline.cli import run_backfill

    created = []
    ephemeral = DagsterInstance.ephemeral
    DagsterInstance.ephemeral = lambda *args, **kwargs: created.append(ephemeral(*args, **kwargs)) or created[-1]
    os.environ.pop("DAGSTER_HOME", None)
    ok = run_backfill(date.fromisoformat(start), date.fromisoformat(end), ephemeral_by_default=True)
    figures["peak_rss_mib_run"] = _peak_rss_mib()  # before anything reads the event log back
    try:  # the bodies' own-work lines (pmkpi_pipeline.defs.common.own_work), where the code under test has them
        from own_work import own_work_entries

        from pmkpi_pipeline.defs.common.own_work import own_seconds_in
    except ImportError:
        return 0 if ok else 1
    [instance] = created
    [run_id] = instance.get_run_ids()
    entries = own_work_entries(instance, run_id)  # picked out in SQL: the run's ~10^5 events stay in the database
    figures["own_seconds"] = round(sum(own_seconds_in(entry.user_message) or 0.0 for entry in entries), 2)
    return 0 if ok else 1


def _peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main(argv: list[str]) -> int:
    out, command = Path(argv[0]), argv[1:]
    by_step: dict[str, float] = defaultdict(float)
    rss_after: dict[str, float] = {}
    timing_compute(by_step, rss_after)
    from pmkpi_pipeline.cli import main as pmkpi

    figures: dict = {}
    try:
        if command[0] == "memory":
            return in_memory_backfill(*command[1:], figures)
        code = pmkpi(command)
        figures["peak_rss_mib_run"] = _peak_rss_mib()
        return code
    finally:
        out.write_text(json.dumps({**figures, "compute_seconds": round(sum(by_step.values()), 2),
                                   "compute_seconds_by_step": {k: round(v, 3) for k, v in sorted(by_step.items())},
                                   "peak_rss_mib_after_step": rss_after}))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
