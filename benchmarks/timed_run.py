"""``pmkpi`` with the seconds spent computing in each step's body counted from outside, for any version of the code.

    python benchmarks/timed_run.py OUT.json backfill START END

runs ``pmkpi backfill START END`` in this process with Dagster's step compute (``_yield_compute_results``:
the asset or check body and the events it hands over) timed only while it runs: the time Dagster spends
between two of its results (writing events, the IO manager, the run's bookkeeping) is not counted. Writes
``{"compute_seconds": total, "compute_seconds_by_step": {...}}`` to OUT.json. It reads nothing the
pipeline records itself, so ``benchmarks/compare.py`` measures a git ref that has no own-work timing the
same way as the working tree. It includes what a body calls of Dagster in-line (e.g. ``add_asset_metadata``,
reading the instance), so it is at or a little above ``benchmarks/own_work.py``'s figure.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path


def timing_compute(by_step: dict[str, float]) -> None:
    """Patch Dagster's step compute so each step's seconds inside its body add up in ``by_step``."""
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
                return
            finally:
                by_step[key] += time.perf_counter() - began
            yield result

    compute._yield_compute_results = timed


def main(argv: list[str]) -> int:
    out, command = Path(argv[0]), argv[1:]
    by_step: dict[str, float] = defaultdict(float)
    timing_compute(by_step)
    from pmkpi_pipeline.cli import main as pmkpi

    try:
        return pmkpi(command)
    finally:
        out.write_text(json.dumps({"compute_seconds": round(sum(by_step.values()), 2),
                                   "compute_seconds_by_step": {k: round(v, 3) for k, v in sorted(by_step.items())}}))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
