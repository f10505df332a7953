# The README's commands. Each sets up what it needs on a fresh clone, from the lock file.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
COMPOSE := docker compose -f docker/docker-compose.yml

# Pinned versions of every dependency (requirements.lock, made by `make lock`), then the project itself.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

.PHONY: demo ui test lint lock docker-secrets docker-up docker-down docker-logs
demo: $(VENV)/.installed  ## generate the sandbox company, backfill it, print the KPI table
	$(BIN)/pmkpi demo

ui: $(VENV)/.installed  ## the demo recorded in .pmkpi/dagster_home, then the Dagster UI on it (http://127.0.0.1:3000)
	$(BIN)/pmkpi demo --ui

test: lint  ## the whole test suite, after the static checks
	$(BIN)/python -m pytest

lint: $(VENV)/.installed  ## ruff, the import contracts, and the code location loading with dg and dagster
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/dg check defs
	$(BIN)/dagster definitions validate

lock: $(VENV)/.installed  ## re-pin requirements.lock from pyproject.toml (Python 3.11, Linux x86_64)
	$(BIN)/pip install -q uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra postgres --extra lint --python-version 3.11 \
	  --python-platform x86_64-unknown-linux-gnu --custom-compile-command "make lock" -o requirements.lock

# The docker/ deployment (docker/README.md); needs Docker with the compose plugin and docker/.env.
SECRETS := docker/secrets
SECRET_FILES := mailchimp_api_key mailchimp_access_token billing_db_url publish_url alert_webhook_url \
	auth_htpasswd viewer_htpasswd
docker-secrets:  ## docker/secrets/: a random instance password and an empty file for each other secret not there yet; permissions
	install -d -m 700 $(SECRETS)
	test -s $(SECRETS)/dagster_pg_password || (umask 077; $(PY) -c 'import secrets; print(secrets.token_urlsafe(24))' \
	  > $(SECRETS)/dagster_pg_password)
	for name in $(SECRET_FILES); do test -e $(SECRETS)/$$name || : > $(SECRETS)/$$name; done
	chmod 444 $(SECRETS)/*

docker-up:  ## build the image and start postgres, user_code, webserver and daemon
	$(COMPOSE) up -d --build

docker-down:  ## stop the deployment (volumes are kept)
	$(COMPOSE) down

docker-logs:  ## follow the logs of the Dagster services
	$(COMPOSE) logs -f user_code webserver daemon
