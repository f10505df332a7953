"""Where our own work goes in a backfill: cProfile over one single-run backfill, our functions only.

    PMKPI_...=... python benchmarks/profile_own.py START END [--top 25] [--out FILE]

Runs ``pmkpi backfill START END`` in this process on an in-memory Dagster instance (its bookkeeping is
not what we profile) against the sources the ``PMKPI_*`` settings name (e.g. a running ``pmkpi sandbox``),
and prints two tables: our functions by cumulative seconds (nested ones count inside their callers), and
the library calls our code makes directly (DuckDB, pandas, clients), by the seconds spent in them.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections import defaultdict

OURS = f"{os.sep}pmkpi_pipeline{os.sep}"


def _name(func: tuple) -> str:
    path, line, name = func
    if OURS in path:
        path = "pmkpi_pipeline/" + path.split(OURS, 1)[1]
    elif path.startswith("~"):
        return name
    else:
        path = path.rsplit("site-packages" + os.sep, 1)[-1]
    return f"{path}:{line}({name})"


def summary(stats: pstats.Stats, top: int) -> str:
    """Our functions by cumulative seconds; the library functions our code calls, by the seconds in them."""
    ours, called = [], defaultdict(float)
    for func, (_, calls, _, cumulative, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if OURS in func[0]:
            ours.append((cumulative, calls, _name(func)))
            continue
        for caller, (*_, caller_cumulative) in callers.items():
            if OURS in caller[0]:
                called[_name(func)] += caller_cumulative
    out = io.StringIO()
    out.write(f"{'cumulative s':>12} {'calls':>8}  our function\n")
    for cumulative, calls, name in sorted(ours, reverse=True)[:top]:
        out.write(f"{cumulative:12.2f} {calls:8d}  {name}\n")
    out.write(f"\n{'seconds':>12}  library function called by our code\n")
    for name, seconds in sorted(called.items(), key=lambda kv: -kv[1])[:top]:
        out.write(f"{seconds:12.2f}  {name}\n")
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("start")
    parser.add_argument("end")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", help="also write the summary to this file")
    args = parser.parse_args()
    os.environ.pop("DAGSTER_HOME", None)
    from datetime import date

    from pmkpi_pipeline.cli import run_backfill

    profiler = cProfile.Profile()
    began = time.monotonic()
    profiler.enable()
    ok = run_backfill(date.fromisoformat(args.start), date.fromisoformat(args.end), ephemeral_by_default=True)
    profiler.disable()
    text = (f"backfill {args.start}..{args.end}: {'ok' if ok else 'FAILED'}, "
            f"{time.monotonic() - began:.1f} s wall under cProfile\n\n" + summary(pstats.Stats(profiler), args.top))
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
