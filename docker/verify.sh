#!/usr/bin/env bash
# docker/verify.sh: build the docker/ deployment and run it end to end, then take it all down.
#
#   bash docker/verify.sh          (as root on a Debian machine like CI's; .ci/run calls it)
#
# 1. The engine: Docker when a Docker daemon and its compose plugin answer, else Podman (installed
#    from apt with podman-compose from PyPI, configured by docker/verify/containers.conf).
# 2. The images: python:3.11-slim-bookworm, debian:bookworm-slim and postgres:15-bookworm when a
#    registry answers; else a bookworm base made with mmdebstrap from Debian's mirror (a venv on PATH,
#    since Debian's Python refuses a system-wide pip install) and a PostgreSQL 15 stand-in built from
#    Debian's postgresql-15 (docker/verify/postgres). Then docker/Dockerfile (BASE_IMAGE) and the
#    auth proxy (docker/auth-proxy, DEBIAN_IMAGE).
# 3. The stack, with the auth and viewer profiles, as its own compose project (pmkpi-verify), on free
#    loopback ports, with fresh secret files; each service is started once the ones it depends on
#    pass their health checks, run here by hand (Podman without systemd runs none by itself).
# 4. The sandbox (`pmkpi sandbox`, from the repository's .venv) runs on the host inside the code
#    server's network namespace: the code location reaches it on its own loopback, as in the tests.
# 5. A three-day backfill of every asset through the webserver's GraphQL API; its runs must succeed
#    and its materialisations must be in the stack's PostgreSQL.
# 6. Locked down: the auth proxy answers 401 without credentials and 200 with them, the read-only
#    webserver refuses a launch, `inspect` of every container shows no secret value, PostgreSQL is
#    published nowhere and the webserver on loopback only.
# Everything is taken down with its volumes on exit, whatever happened. Kept between runs: the
# podman-compose venv (PMKPI_VERIFY_CACHE, default ~/.cache/pmkpi-verify) and, in the engine, the
# local bookworm base of the ISO week and the image layers whose inputs did not change.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
T0=$SECONDS
say() { printf '[verify.sh %4ds] %s\n' $((SECONDS - T0)) "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }
quietly() {  # run a command with its output in $WORK/quiet.log, shown only when it fails
  "$@" >"$WORK/quiet.log" 2>&1 || { local rc=$?; cat "$WORK/quiet.log" >&2; fail "exit $rc: $*"; }
}

PROJECT=pmkpi-verify
START=2025-04-28
END=2025-04-30
BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm   # fully qualified: Podman resolves no short names
DEBIAN_IMAGE=docker.io/library/debian:bookworm-slim
PG_IMAGE=docker.io/library/postgres:15-bookworm            # what the compose file's postgres:15-bookworm names
PODMAN_COMPOSE_VERSION=1.6.0
CACHE=${PMKPI_VERIFY_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/pmkpi-verify}
PY=${PMKPI_VERIFY_PYTHON:-$REPO/.venv/bin/python}
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
WORK=$(mktemp -d /tmp/pmkpi-verify.XXXXXX)
SANDBOX_PID=
ENGINE=
COMPOSE=()
BACKGROUND=()   # NAME:PID of what runs in the background (installs, builds)

# ------------------------------------------------------------------ teardown, whatever happens

container() {  # the container id of a service of the project
  $ENGINE ps -aq --filter "label=com.docker.compose.project=$PROJECT" \
    --filter "label=com.docker.compose.service=$1" | head -1
}

teardown() {
  local rc=$?
  set +e
  [ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null && wait "$SANDBOX_PID" 2>/dev/null
  if [ "$rc" != 0 ] && [ -n "${ENGINE:-}" ]; then
    for service in postgres user_code webserver daemon webserver_readonly auth_proxy viewer_proxy; do
      id=$(container "$service")
      [ -n "$id" ] && { echo "--- logs of $service"; $ENGINE logs --tail 40 "$id" 2>&1; }
    done
    [ -f "$WORK/sandbox.log" ] && { echo "--- sandbox"; tail -20 "$WORK/sandbox.log"; }
  fi
  if [ -f "$WORK/compose" ]; then
    "${COMPOSE[@]}" down -v --remove-orphans >"$WORK/down.log" 2>&1 || { say "compose down failed:"; cat "$WORK/down.log"; }
  fi
  [ -n "$ENGINE" ] && $ENGINE image prune -f >/dev/null 2>&1   # layers of images this run replaced
  rm -rf "$WORK"
  say "$([ "$rc" = 0 ] && echo passed || echo "FAILED (exit $rc)") in $((SECONDS - T0))s"
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ engine

use_docker() {
  command -v docker >/dev/null 2>&1 && timeout 30 docker info >/dev/null 2>&1 \
    && docker compose version >/dev/null 2>&1
}

install_podman() {
  local packages=() tool
  declare -A package_of=([podman]=podman [buildah]=buildah [mmdebstrap]=mmdebstrap [newuidmap]=uidmap
                         [slirp4netns]=slirp4netns [fuse-overlayfs]=fuse-overlayfs [runc]=runc)
  for tool in "${!package_of[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || packages+=("${package_of[$tool]}")
  done
  if [ ${#packages[@]} -gt 0 ]; then
    say "apt: installing ${packages[*]}"
    quietly apt-get update -qq
    quietly env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"
  fi
  export CONTAINERS_CONF=$REPO/docker/verify/containers.conf
  local tools=$CACHE/podman-compose-$PODMAN_COMPOSE_VERSION
  PODMAN_COMPOSE=$tools/bin/podman-compose
  if ! "$PODMAN_COMPOSE" --version 2>/dev/null | grep -q "version $PODMAN_COMPOSE_VERSION"; then
    say "pip: podman-compose==$PODMAN_COMPOSE_VERSION into $tools (in the background)"
    rm -rf "$tools"
    ( { python3 -m venv "$tools" && "$tools/bin/pip" install -q "podman-compose==$PODMAN_COMPOSE_VERSION"; } \
        >"$WORK/podman-compose.log" 2>&1 || { cat "$WORK/podman-compose.log" >&2; exit 1; } ) &
    BACKGROUND+=("podman-compose:$!")
  fi
}

if [ "${PMKPI_ENGINE:-}" = docker ] || { [ -z "${PMKPI_ENGINE:-}" ] && use_docker; }; then
  ENGINE=docker
  COMPOSE=(docker compose)
  BUILD=(docker build)
else
  ENGINE=podman
  install_podman
  COMPOSE=("$PODMAN_COMPOSE")
  BUILD=(podman build --format docker)   # the docker format keeps HEALTHCHECK
fi
COMPOSE+=(-p "$PROJECT" -f docker/docker-compose.yml --profile auth --profile viewer)
say "engine: $($ENGINE --version)"

# ------------------------------------------------------------------ images

pulled() { timeout 180 $ENGINE pull -q "$1" >/dev/null 2>&1; }

local_base() {  # a bookworm image with Python 3.11 in a venv on PATH, built from Debian's mirror
  local tag=localhost/pmkpi-verify/bookworm-python:$(date -u +%G-w%V)
  if ! $ENGINE image inspect "$tag" >/dev/null 2>&1; then
    say "no registry answers: building $tag with mmdebstrap from Debian's mirror"
    $ENGINE images --format '{{.Repository}}:{{.Tag}}' | grep '^localhost/pmkpi-verify/bookworm-python:' \
      | xargs -r $ENGINE rmi >/dev/null 2>&1 || true
    mmdebstrap --quiet --variant=minbase --dpkgopt=force-unsafe-io \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --include=ca-certificates,python3,python3-venv \
      --customize-hook='chroot "$1" python3 -m venv /opt/venv' \
      bookworm - ${PMKPI_DEBIAN_MIRROR:-} \
      | $ENGINE import -q --change 'ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
          --change 'CMD ["python3"]' - "$tag" >/dev/null
  fi
  echo "$tag"
}

build_in_background() {  # NAME BUILD-ARGS...: a build in the background, its output in $WORK/NAME.log
  local name=$1
  shift
  ( "${BUILD[@]}" "$@" >"$WORK/$name.log" 2>&1 || { cat "$WORK/$name.log" >&2; exit 1; } ) &
  BACKGROUND+=("$name:$!")
}
if pulled "$BASE_IMAGE" && pulled "$DEBIAN_IMAGE" && pulled "$PG_IMAGE"; then
  say "pulled $BASE_IMAGE, $DEBIAN_IMAGE, $PG_IMAGE"
else
  BASE_IMAGE=$(local_base)
  DEBIAN_IMAGE=$BASE_IMAGE
  say "building the $PG_IMAGE stand-in from Debian's postgresql-15 (in the background)"
  build_in_background postgres --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" -t "$PG_IMAGE" docker/verify/postgres
fi
say "building pmkpi_auth_proxy:latest FROM $DEBIAN_IMAGE (in the background)"
build_in_background auth_proxy --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" -t pmkpi_auth_proxy:latest docker/auth-proxy
say "building pmkpi_pipeline:latest FROM $BASE_IMAGE"
build_args=(--build-arg "BASE_IMAGE=$BASE_IMAGE" -f docker/Dockerfile -t pmkpi_pipeline:latest)
[ -s "$CA_BUNDLE" ] && build_args+=(--secret "id=ca,src=$CA_BUNDLE")   # for a TLS-intercepting proxy
[ "$ENGINE" = podman ] && build_args+=(--ignorefile docker/Dockerfile.dockerignore)
quietly "${BUILD[@]}" "${build_args[@]}" .
for job in "${BACKGROUND[@]}"; do
  wait "${job#*:}" || fail "${job%%:*} (above)"
done
say "built"

# ------------------------------------------------------------------ the stack

if [ ! -x "$PY" ]; then   # CI runs this after `make test`, which made .venv; alone, make it
  say "make .venv/.installed (the sandbox's Python)"
  quietly make .venv/.installed
fi
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
WEB_PORT=$(free_port) AUTH_PORT=$(free_port) VIEWER_PORT=$(free_port)
mkdir -p "$WORK/sandbox/inputs"
"$PY" docker/verify/stack.py secrets "$WORK/secrets"
declare -A PASSWORD=([editor]=$(openssl rand -hex 12) [viewer]=$(openssl rand -hex 12))
printf 'editor:%s\n' "$(openssl passwd -6 -stdin <<<"${PASSWORD[editor]}")" >"$WORK/secrets/auth_htpasswd"
printf 'viewer:%s\n' "$(openssl passwd -6 -stdin <<<"${PASSWORD[viewer]}")" >"$WORK/secrets/viewer_htpasswd"
chmod 444 "$WORK/secrets/auth_htpasswd" "$WORK/secrets/viewer_htpasswd"
# What compose interpolates (docker/.env.example names them all); the sandbox's addresses are on the
# code server's own loopback (step 4).
export PMKPI_SECRETS_DIR=$WORK/secrets PMKPI_GA4_CREDENTIALS_FILE=$WORK/secrets/ga4-service-account.json \
  PMKPI_INPUTS_HOST_DIR=$WORK/sandbox/inputs PMKPI_START_DATE=$START PMKPI_TIMEZONE=UTC \
  PMKPI_GA4_PROPERTY_ID=100000001 PMKPI_GA4_ENDPOINT=grpc://127.0.0.1:8703 \
  PMKPI_MAILCHIMP_BASE_URL=http://127.0.0.1:8702/3.0 PMKPI_DEBIAN_IMAGE=$DEBIAN_IMAGE \
  DAGSTER_WEBSERVER_PORT=$WEB_PORT DAGSTER_AUTH_PORT=$AUTH_PORT DAGSTER_VIEWER_PORT=$VIEWER_PORT
touch "$WORK/compose"   # from here on, teardown takes the project down
"${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 || true   # what an interrupted run left

healthy() {  # the service's container passes its health check (run by hand on Podman)
  local id
  id=$(container "$1")
  [ -n "$id" ] || return 1
  if [ "$($ENGINE inspect -f '{{.State.Running}}' "$id")" != true ]; then
    fail "$1 is not running: $($ENGINE inspect -f '{{.State.Status}} (exit {{.State.ExitCode}})' "$id")"
  fi
  if [ "$ENGINE" = podman ]; then
    podman healthcheck run "$id" >/dev/null 2>&1
  else
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ]
  fi
}

up() {  # start services (and what they depend on), then wait until each passes its health check
  local service deadline=$((SECONDS + 300))
  "${COMPOSE[@]}" up -d "$@" >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; fail "compose up $*"; }
  for service in "$@"; do
    until healthy "$service"; do
      [ $SECONDS -lt $deadline ] || fail "$service not healthy after 300s"
      sleep 2
    done
  done
  say "healthy: $*"
}

up postgres
up user_code

USER_CODE=$(container user_code)
say "sandbox: pmkpi sandbox in the network namespace of user_code"
PMKPI_DATA_DIR=$WORK/sandbox nsenter --net="/proc/$($ENGINE inspect -f '{{.State.Pid}}' "$USER_CODE")/ns/net" \
  "$PY" -m pmkpi_pipeline.cli sandbox --start 2025-04-01 --end "$END" --ga4-port 8701 --mailchimp-port 8702 \
  --ga4-grpc-port 8703 >"$WORK/sandbox.log" 2>&1 &
SANDBOX_PID=$!
for _ in $(seq 1 120); do
  grep -qs "sandbox running" "$WORK/sandbox.log" || ! kill -0 "$SANDBOX_PID" 2>/dev/null && break
  sleep 1
done
grep -q "sandbox running" "$WORK/sandbox.log" || fail "the sandbox did not start: $(tail -5 "$WORK/sandbox.log")"
cp "$WORK/sandbox/billing.sqlite" "$WORK/sandbox/inputs/billing.sqlite"   # billing_db_url names it there

# The backfill is launched before the daemon starts, whose first iteration then picks it up.
up webserver
say "backfill $START..$END through http://127.0.0.1:$WEB_PORT/graphql"
BACKFILL=$("$PY" docker/verify/stack.py launch "http://127.0.0.1:$WEB_PORT" "$START" "$END" | tail -1)
up daemon webserver_readonly auth_proxy viewer_proxy

# ------------------------------------------------------------------ locked down (while the backfill runs)

status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
for proxy in "auth_proxy $AUTH_PORT editor" "viewer_proxy $VIEWER_PORT viewer"; do
  read -r name port user <<<"$proxy"
  url=http://127.0.0.1:$port/server_info
  anonymous=$(status "$url") wrong=$(status -u "$user:wrong" "$url") right=$(status -u "$user:${PASSWORD[$user]}" "$url")
  [ "$anonymous $wrong $right" = "401 401 200" ] \
    || fail "$name answered $anonymous without credentials, $wrong with wrong ones, $right with the right ones"
  say "$name: 401 without credentials, 401 with wrong ones, 200 with the right ones"
done
"$PY" docker/verify/stack.py read-only "http://viewer:${PASSWORD[viewer]}@127.0.0.1:$VIEWER_PORT"

SERVICES=(postgres user_code webserver daemon webserver_readonly auth_proxy viewer_proxy)
for service in "${SERVICES[@]}"; do $ENGINE inspect "$(container "$service")" >"$WORK/inspect-$service.json"; done
leaks=()
while IFS= read -r -d '' file; do
  # Each secret whole, and each line of the GA4 key's PEM body.
  secret_values=()
  if [ "${file##*/}" = ga4-service-account.json ]; then
    mapfile -t secret_values < <("$PY" -c 'import json, sys; k = json.load(open(sys.argv[1]))
print(k["private_key_id"]); print("\n".join(k["private_key"].splitlines()[1:-1]))' "$file")
  elif [ -s "$file" ]; then
    secret_values=("$(cat "$file")")
  fi
  for value in "${secret_values[@]}"; do
    for service in "${SERVICES[@]}"; do
      grep -qF -- "$value" "$WORK/inspect-$service.json" && leaks+=("${file##*/} in $service")
    done
  done
done < <(find "$WORK/secrets" -type f -print0)
[ ${#leaks[@]} -eq 0 ] || fail "$ENGINE inspect shows secret values: ${leaks[*]}"
say "$ENGINE inspect of every container shows no secret value"

published=$($ENGINE ps --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}} {{.Ports}}')
grep -q "postgres.*[0-9]->" <<<"$published" && fail "PostgreSQL is published: $published"
grep "webserver" <<<"$published" | grep -v readonly | grep -q "127.0.0.1:$WEB_PORT->3000" \
  || fail "the webserver is not published on 127.0.0.1:$WEB_PORT only: $published"
grep -E -q "0\.0\.0\.0:[0-9]+->|:::[0-9]+->" <<<"$published" && fail "a port is published on every interface: $published"
say "published: the webserver and both proxies on 127.0.0.1 only, PostgreSQL nowhere"

# ------------------------------------------------------------------ the backfill's outcome

ASSETS=$("$PY" docker/verify/stack.py wait "http://127.0.0.1:$WEB_PORT" "$BACKFILL" | tail -1)
MATERIALISED=$($ENGINE exec "$(container postgres)" psql -U dagster -d dagster -Atc "
  SELECT count(DISTINCT (asset_key, partition)) FROM event_logs
  WHERE dagster_event_type = 'ASSET_MATERIALIZATION' AND partition BETWEEN '$START' AND '$END'")
[ "$MATERIALISED" = $((ASSETS * 3)) ] \
  || fail "PostgreSQL holds $MATERIALISED materialisations of $START..$END, expected $ASSETS assets x 3 days"
say "PostgreSQL: $MATERIALISED materialisations ($ASSETS assets x 3 days)"
