"""The import fences of pyproject.toml's ``[tool.importlinter]`` hold (what ``lint-imports`` checks).

The pipeline does not import the sandbox (only the CLI's ``demo`` and ``sandbox`` commands do),
the sandbox does not import the pipeline, ``pmkpi_pipeline.lib`` does not import ``defs``, and the
sandbox company's per-source modules stay independent of one another.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# In a child process: lint-imports reconfigures logging (disabling the loggers Dagster already made) and sys.path.
LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"


def test_import_contracts_hold():
    pytest.importorskip("importlinter")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", LINT], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
