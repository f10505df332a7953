"""Where our own work goes in a backfill: py-spy samples of ``pmkpi backfill``, only inside our bodies.

    PMKPI_...=... DAGSTER_HOME=... python benchmarks/profile_own.py START END [--top 25] [--out FILE]
    PMKPI_...=... python benchmarks/profile_own.py START END --memory    # on an in-memory Dagster instance

Runs ``pmkpi backfill START END`` under ``py-spy record`` (a sampling profiler: Dagster's bookkeeping runs at
full speed) against the sources the ``PMKPI_*`` settings name, e.g. a running ``pmkpi sandbox``. Only samples
inside a step's compute count (frames under Dagster's ``_yield_compute_results``, what ``timed_run.py`` times:
the asset and check bodies), so the seconds are our own work, counted the same way for any version of the code
(``PYTHONPATH`` at a checkout of an older ref profiles that ref). Prints our functions by inclusive seconds, and
the library functions our code calls directly (DuckDB, pandas, Dagster, clients) by the seconds spent in them.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

RATE = 50  # samples per second
OURS = "pmkpi_pipeline/"
COMPUTE = ("_yield_compute_results", "dagster/_core/execution/plan/compute.py")  # every sample below it is a body's
_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^():]+)(?::\d+)?\)$")


def _frame(text: str) -> tuple[str, str]:
    """(function, file) of one py-spy frame ``function (file:line)``."""
    found = _FRAME.match(text.strip())
    return (found["name"], found["file"]) if found else (text.strip(), "")


def _label(name: str, path: str) -> str:
    if OURS in path:
        return f"{OURS}{path.split(OURS, 1)[1]}:{name}"
    return f"{path.rsplit('site-packages/', 1)[-1]}:{name}"


def summary(raw: str, top: int) -> str:
    """Inclusive seconds of our functions and of the library calls they make, from py-spy's raw stacks."""
    ours, called, total = Counter(), Counter(), 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_frame(f) for f in stack.split(";")]
        bodies = [i for i, (name, path) in enumerate(frames) if name == COMPUTE[0] and path.endswith(COMPUTE[1])]
        if not bodies:
            continue
        samples = int(count)
        total += samples
        inner = frames[bodies[0] + 1:]
        for label in {_label(*f) for f in inner if OURS in f[1] and not f[1].endswith("own_work.py")}:
            ours[label] += samples
        last_ours = max((i for i, f in enumerate(inner) if OURS in f[1]), default=None)
        if last_ours is not None and last_ours + 1 < len(inner):
            called[_label(*inner[last_ours + 1])] += samples
    lines = [f"own work sampled: {total / RATE:.1f} s", "", f"{'seconds':>8}  our function (inclusive)"]
    lines += [f"{n / RATE:8.1f}  {label}" for label, n in ours.most_common(top)]
    lines += ["", f"{'seconds':>8}  library function our code calls (inclusive)"]
    lines += [f"{n / RATE:8.1f}  {label}" for label, n in called.most_common(top)]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("start")
    parser.add_argument("end")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", help="also write the summary to this file")
    parser.add_argument("--memory", action="store_true",
                        help="on an in-memory Dagster instance (benchmarks/timed_run.py memory): cheap bookkeeping, "
                        "the same bodies")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.txt"
        command = ([str(Path(__file__).parent / "timed_run.py"), str(Path(tmp) / "compute.json"), "memory"]
                   if args.memory else ["-m", "pmkpi_pipeline.cli", "backfill"])
        subprocess.run([str(Path(sys.executable).parent / "py-spy"), "record", "--idle", "--format", "raw",
                        "--rate", str(RATE), "--output", str(raw), "--", sys.executable, *command,
                        args.start, args.end], check=True, env=os.environ)
        text = f"pmkpi backfill {args.start} {args.end}\n" + summary(raw.read_text(), args.top)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
