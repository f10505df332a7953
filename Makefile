# The two commands of the README. Each sets up what it needs on a fresh clone.
PY ?= python3
VENV := .venv

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

.PHONY: demo test
demo: $(VENV)/.installed  ## generate the sandbox company, backfill it, print the KPI table
	$(VENV)/bin/pmkpi demo

test: $(VENV)/.installed  ## the whole test suite
	$(VENV)/bin/python -m pytest
