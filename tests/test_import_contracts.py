"""The import fences of pyproject.toml's ``[tool.importlinter]`` hold (what ``lint-imports`` checks).

The pipeline does not import the sandbox (only the CLI's ``demo`` and ``sandbox`` commands do),
the sandbox does not import the pipeline, ``pmkpi_pipeline.lib`` does not import ``defs``, and the
sandbox company's per-source modules stay independent of one another.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_import_contracts_hold(monkeypatch):
    cli = pytest.importorskip("importlinter.cli")
    monkeypatch.syspath_prepend(str(REPO))  # this checkout's packages, not an installed copy
    assert cli.lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True, no_logo=True) == 0
