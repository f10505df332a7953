# The two commands of the README. Each sets up what it needs on a fresh clone.
PY ?= python3
VENV := .venv
COMPOSE := docker compose -f docker/docker-compose.yml

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

.PHONY: demo test docker-up docker-down docker-logs
demo: $(VENV)/.installed  ## generate the sandbox company, backfill it, print the KPI table
	$(VENV)/bin/pmkpi demo

test: $(VENV)/.installed  ## the whole test suite
	$(VENV)/bin/python -m pytest

# The docker/ deployment (docker/README.md); needs Docker with the compose plugin and docker/.env.
docker-up:  ## build the image and start postgres, user_code, webserver and daemon
	$(COMPOSE) up -d --build

docker-down:  ## stop the deployment (volumes are kept)
	$(COMPOSE) down

docker-logs:  ## follow the logs of the Dagster services
	$(COMPOSE) logs -f user_code webserver daemon
