"""Before and after: the same benchmark for a git ref and for the working tree, one after the other, and the ratios.

    python benchmarks/compare.py main --size demo --sample 0 --floors none
    python benchmarks/compare.py REF [backfill.py options]

The ref is checked out in a temporary ``git worktree``; the working tree's ``benchmarks/backfill.py`` then runs
with ``PYTHONPATH`` at that checkout (so the ref's pipeline, CLI and sandbox are what runs), and again with
``PYTHONPATH`` at the working tree. Prints one JSON object: both figure sets and ``ratios`` (working tree / ref)
of every numeric figure both have.

Our own work, compared honestly: ``own_work_compute_seconds`` is counted from outside the code under test
(``timed_run.py``: the seconds inside Dagster's step compute, i.e. our asset and check bodies), so it is
measured the same way for a ref that records no own-work timing; ``own_work_ratio`` is its ratio.
``own_work_seconds`` (what the bodies record, ``own_work.py``) is null for such a ref, and then has no ratio.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent


def run_benchmark(code: Path, options: list[str]) -> dict:
    """The working tree's backfill.py with ``code`` first on PYTHONPATH; its JSON figures."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(code), os.environ.get("PYTHONPATH", "")])}
    completed = subprocess.run([sys.executable, str(HERE / "backfill.py"), *options], env=env,
                               stdout=subprocess.PIPE, text=True)
    if completed.returncode not in (0, 1):  # 1: per-partition rows differ; the figures are still printed
        raise SystemExit(f"the benchmark of {code} failed (exit {completed.returncode})")
    return json.loads(completed.stdout[completed.stdout.index("{"):])


def ratios(tree: dict, ref: dict) -> dict:
    """Working tree / ref for every numeric figure both have (booleans and zeros excluded)."""
    return {key: round(tree[key] / ref[key], 3) for key in tree
            if isinstance(tree[key], int | float) and not isinstance(tree[key], bool)
            and isinstance(ref.get(key), int | float) and not isinstance(ref[key], bool) and ref[key]}


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        raise SystemExit(__doc__)
    ref, options = argv[0], argv[1:]
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{ref}^{{commit}}"],
                            capture_output=True, text=True)
    if commit.returncode != 0:
        raise SystemExit(f"{ref!r} is not a git ref of {ROOT}")
    checkout = Path(tempfile.mkdtemp(prefix="pmkpi-compare-")) / "ref"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(checkout),
                    commit.stdout.strip()], check=True)
    try:
        print(f"[compare] {ref} ({commit.stdout.strip()[:10]}) …", file=sys.stderr, flush=True)
        before = run_benchmark(checkout, options)
        print("[compare] working tree …", file=sys.stderr, flush=True)
        after = run_benchmark(ROOT, options)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(checkout)], check=False)
    result = {"ref": ref, "ref_commit": commit.stdout.strip(), "options": options, "ref_figures": before,
              "working_tree_figures": after, "ratios": ratios(after, before)}
    result["own_work_ratio"] = result["ratios"].get("own_work_compute_seconds")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
