#!/bin/sh
# Entrypoint of the pmkpi_pipeline image. With the Docker secrets convention, the instance's
# PostgreSQL password is a file (DAGSTER_PG_PASSWORD_FILE, e.g. /run/secrets/dagster_pg_password):
# DAGSTER_POSTGRES_URL, which docker/dagster.yaml reads, is then built here from DAGSTER_PG_USER,
# DAGSTER_PG_HOST, DAGSTER_PG_PORT, DAGSTER_PG_DB and that file, in this process's environment only,
# so `docker inspect` never shows the password. A DAGSTER_POSTGRES_URL given directly is kept.
# The PMKPI_*_FILE secrets are read by the pipeline itself (pmkpi_pipeline/lib/settings.py).
set -eu
if [ -z "${DAGSTER_POSTGRES_URL:-}" ] && [ -n "${DAGSTER_PG_PASSWORD_FILE:-}" ]; then
  if [ ! -r "$DAGSTER_PG_PASSWORD_FILE" ]; then
    echo "pmkpi-entrypoint: DAGSTER_PG_PASSWORD_FILE=$DAGSTER_PG_PASSWORD_FILE is not a readable file" >&2
    exit 1
  fi
  DAGSTER_POSTGRES_URL=$(python3 -c '
import os
from urllib.parse import quote
with open(os.environ["DAGSTER_PG_PASSWORD_FILE"], encoding="utf-8") as secret:
    password = secret.read().rstrip("\r\n")
env = os.environ.get
print("postgresql+psycopg2://{}:{}@{}:{}/{}".format(
    quote(env("DAGSTER_PG_USER", "dagster"), safe=""), quote(password, safe=""),
    env("DAGSTER_PG_HOST", "postgres"), env("DAGSTER_PG_PORT", "5432"), quote(env("DAGSTER_PG_DB", "dagster"), safe="")))
')
  export DAGSTER_POSTGRES_URL
fi
exec "$@"
