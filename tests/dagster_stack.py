"""A Dagster deployment on loopback for the operations and browser tests, shaped like ``docker/``.

Three processes, as in ``docker/docker-compose.yml``: the user-code gRPC server
(``dagster code-server start``), ``dagster-webserver`` and ``dagster-daemon``. They share a
``DAGSTER_HOME`` holding ``docker/dagster.yaml`` unchanged (PostgreSQL storage through
``DAGSTER_POSTGRES_URL``, the queued run coordinator with its limits) and a workspace made from
``docker/workspace.yaml`` with the gRPC host and port pointed at loopback. Each stack gets a
fresh PostgreSQL database (dropped afterwards) and its own DuckDB warehouse; the ``PMKPI_*``
variables come from the environment the ``sandbox`` fixture exported.

One stack (and one backfill) serves every test module of a session: starting it costs seconds
of process start-up, so the modules share it through :func:`session_stack`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import yaml

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("PMKPI_TEST_PG_URL", "").strip()
STARTUP_TIMEOUT = 90.0


def prerequisites_required() -> bool:
    """CI asks for failures instead of skips when a server or binary is missing."""
    return os.environ.get("PMKPI_REQUIRE_POSTGRES") == "1" or os.environ.get("CI", "").lower() == "true"


def require(condition: bool, why: str) -> None:
    """Skip (locally) or fail (in CI) when a prerequisite is missing."""
    if condition:
        return
    if prerequisites_required():
        pytest.fail(f"{why} (PMKPI_REQUIRE_POSTGRES=1 or CI=true: prerequisites are mandatory)")
    pytest.skip(why)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def fresh_database(base_url: str, prefix: str = "pmkpi_test") -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of ``base_url``; its URL; dropped on exit."""
    import psycopg2
    import sqlalchemy as sa

    url = sa.make_url(base_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    dsn = dict(host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username,
               password=url.password, dbname=url.database or "postgres")
    admin = psycopg2.connect(**dsn)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
            # A throwaway database: commits need not wait for the disk (each Dagster event is a
            # commit; on this machine that halves the time a run spends writing its events).
            cur.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        yield url.set(drivername="postgresql+psycopg2", database=name).render_as_string(hide_password=False)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@dataclass
class Stack:
    """A running code server, webserver and daemon, and how to reach them."""

    home: Path
    env: dict[str, str]
    webserver_url: str
    logs: dict[str, Path] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    cache: dict = field(default_factory=dict)

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
        response = requests.post(f"{self.webserver_url}/graphql", json={"query": query, "variables": variables or {}},
                                 timeout=timeout)
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def log_tail(self, lines: int = 40) -> str:
        """The end of every process's log, for assertion messages."""
        parts = []
        for name, path in self.logs.items():
            text = path.read_text(errors="replace").splitlines() if path.exists() else []
            parts.append(f"--- {name} ({path}) ---\n" + "\n".join(text[-lines:]))
        return "\n".join(parts)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}\n{self.log_tail()}")

    def wait_for(self, what: str, probe: Callable[[], object], timeout: float, interval: float = 0.5):
        """Poll ``probe`` until it returns something truthy; fail with the logs after ``timeout``."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                value = probe()
                if value:
                    return value
            except (requests.RequestException, AssertionError) as error:
                last_error = error
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_error})\n"
                             f"{self.log_tail()}")

    def instance(self):
        """A ``DagsterInstance`` on the stack's PostgreSQL storage (``docker/dagster.yaml``)."""
        from dagster import DagsterInstance
        from dagster._core.instance.ref import InstanceRef

        previous = os.environ.get("DAGSTER_POSTGRES_URL")
        os.environ["DAGSTER_POSTGRES_URL"] = self.env["DAGSTER_POSTGRES_URL"]
        try:
            return DagsterInstance.from_ref(InstanceRef.from_dir(str(self.home)))
        finally:
            if previous is None:
                os.environ.pop("DAGSTER_POSTGRES_URL", None)
            else:
                os.environ["DAGSTER_POSTGRES_URL"] = previous


def _start(stack: Stack, name: str, argv: list[str]) -> None:
    log = stack.home / f"{name}.log"
    stack.logs[name] = log
    with open(log, "wb") as out:
        stack.processes[name] = subprocess.Popen(
            argv, env=stack.env, cwd=stack.home, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process group we started (the daemon and code server have children), then SIGKILL."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def _workspace(grpc_port: int) -> dict:
    """``docker/workspace.yaml`` with the gRPC server on loopback."""
    workspace = yaml.safe_load((DOCKER / "workspace.yaml").read_text())
    for entry in workspace["load_from"]:
        entry["grpc_server"].update(host="127.0.0.1", port=grpc_port)
    return workspace


def _location_loaded(stack: Stack) -> bool:
    data = stack.graphql("""{ workspaceOrError { __typename ... on Workspace { locationEntries {
        name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }""")
    entries = data["workspaceOrError"]["locationEntries"]
    errors = [e["locationOrLoadError"] for e in entries if e["locationOrLoadError"]["__typename"] == "PythonError"]
    assert not errors, f"code location failed to load: {errors}"
    return bool(entries) and all(e["loadStatus"] == "LOADED" and e["locationOrLoadError"]["__typename"]
                                 == "RepositoryLocation" for e in entries)


def _daemon_healthy(stack: Stack) -> bool:
    data = stack.graphql("""{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } } }""")
    statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
    needed = {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR", "BACKFILL"}
    return needed <= {s["daemonType"] for s in statuses if s["healthy"]}


@contextmanager
def running_stack(workdir: Path, pg_url: str, before_daemon: Callable[[Stack], None] | None = None,
                  extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """Start code server, webserver and daemon on loopback against a fresh PostgreSQL database.

    ``before_daemon(stack)`` runs once the webserver has loaded the code location and before the
    daemon starts: a backfill launched there is picked up by the daemon's first iteration instead
    of waiting for its second (the backfill daemon wakes every 30 seconds).
    """
    from pmkpi_pipeline.lib.dagster_env import PLANNED_EVENTS_SETTINGS, POSTGRES_SETTINGS

    with ExitStack() as cleanup:
        database_url = cleanup.enter_context(fresh_database(pg_url, "pmkpi_ops"))
        home = workdir / "dagster_home"
        home.mkdir(parents=True)
        shutil.copy(DOCKER / "dagster.yaml", home / "dagster.yaml")
        grpc_port, web_port = free_port(), free_port()
        (home / "workspace.yaml").write_text(yaml.safe_dump(_workspace(grpc_port)))
        env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_POSTGRES_URL": database_url,
               "PMKPI_WAREHOUSE": str(workdir / "warehouse.duckdb"),
               **PLANNED_EVENTS_SETTINGS, **POSTGRES_SETTINGS,  # as in docker/docker-compose.yml
               "PYTHONWARNINGS": "ignore", **(extra_env or {})}
        stack = Stack(home=home, env=env, webserver_url=f"http://127.0.0.1:{web_port}")
        for name in ("code_server", "webserver", "daemon"):  # stopped daemon first (ExitStack is LIFO)
            cleanup.callback(lambda n=name: stack.processes.get(n) and _stop(stack.processes[n]))
        _start(stack, "code_server", [str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1",
                                      "-p", str(grpc_port), "-m", "pmkpi_pipeline.definitions"])
        _start(stack, "webserver", [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(web_port),
                                    "-w", str(home / "workspace.yaml")])
        stack.wait_for("the code location to load in the webserver", lambda: _location_loaded(stack),
                       STARTUP_TIMEOUT)
        if before_daemon:
            before_daemon(stack)
        _start(stack, "daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(home / "workspace.yaml")])
        stack.wait_for("the daemons' heartbeats", lambda: _daemon_healthy(stack), STARTUP_TIMEOUT)
        yield stack


_STACK_KEY = pytest.StashKey[dict]()
OPS_RANGE = ("2025-03-08", "2025-03-14")
"""The session's backfill: a week inside the sandbox company's history (tests/conftest.py)."""


def median_bounce_rate(sandbox) -> float:
    """The median of the company's daily bounce rates over :data:`OPS_RANGE`: as a target, some days of
    the backfill miss it (``bounce_rate_target`` fails on them) and the others meet it."""
    traffic = sandbox.company.ga4_traffic
    week = traffic[traffic["date"].between(*OPS_RANGE)].groupby("date")[["sessions", "engagedSessions"]].sum()
    return float(((week["sessions"] - week["engagedSessions"]) / week["sessions"] * 100).median())


def session_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Stack:
    """The session's one stack, with the backfill of :data:`OPS_RANGE` launched through GraphQL.

    Started on first use (needs the ``sandbox`` fixture's exports in the environment); stopped by
    :func:`release_stack` after the last test module that uses it (``USES_DAGSTER_STACK = True``),
    or at the end of the session.
    """
    cache = request.config.stash.setdefault(_STACK_KEY, {})
    if "stack" not in cache:
        require(bool(PG_URL), "PMKPI_TEST_PG_URL is not set: no PostgreSQL server for the Dagster instance")
        assert os.environ.get("PMKPI_GA4_ENDPOINT"), "start the sandbox fixture before the stack"
        # The deployment's history starts with the backfill, so every trailing window either lies
        # inside landed days or is NULL ("starts before the first partition"), never half-landed.
        workdir = tmp_path_factory.mktemp("dagster_stack")
        targets = workdir / "targets.yaml"
        targets.write_text(f"bounce_rate: {{target: {median_bounce_rate(request.getfixturevalue('sandbox'))}}}\n")
        context = running_stack(workdir, PG_URL,
                                before_daemon=lambda stack: launch_backfill(stack, *OPS_RANGE),
                                extra_env={"PMKPI_START_DATE": OPS_RANGE[0], "PMKPI_TARGETS_FILE": str(targets)})
        cache["stack"] = context.__enter__()
        cache["stop"] = lambda: context.__exit__(None, None, None)
        request.config.add_cleanup(lambda: _stop_stack(cache))
    return cache["stack"]


def _stop_stack(cache: dict) -> None:
    cache.pop("stack", None)  # a module that comes later starts a new one
    stop = cache.pop("stop", None)
    if stop:
        stop()


def release_stack(request: pytest.FixtureRequest) -> None:
    """Stop the stack now if no later test module uses it (frees two cores' worth of daemons early)."""
    if hasattr(request.config, "workerinput"):
        return  # pytest-xdist: this worker runs only some of the items, in its own order; stop at the end
    items = request.session.items
    mine = [i for i, item in enumerate(items) if item.module is request.module]
    later = items[max(mine) + 1:] if mine else []
    if not any(getattr(item.module, "USES_DAGSTER_STACK", False) for item in later):
        _stop_stack(request.config.stash.get(_STACK_KEY, {}))


LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on UnauthorizedError { message }
    ... on PartitionSetNotFoundError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { stepKey invalidOutputName }
    ... on RunConflict { message }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
    ... on ConflictingExecutionParamsError { message }
    ... on NoModeProvidedError { message }
  }
}"""

BACKFILL_STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { id status numPartitions title }
    ... on PythonError { message }
    ... on BackfillNotFoundError { message }
  }
}"""

ASSET_KEYS = """{ assetNodes { assetKey { path } isPartitioned } }"""

FINISHED_BACKFILL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


@dataclass
class Backfill:
    """A backfill launched through the webserver's GraphQL API, and its end state."""

    backfill_id: str
    start: str
    end: str
    asset_keys: list[list[str]]
    launched_at: float  # time.monotonic() at launch
    status: str = "REQUESTED"
    seconds: float | None = None  # from launch to finish


def launch_backfill(stack: Stack, start: str, end: str) -> str:
    """Launch a backfill of every asset for the partitions start..end through GraphQL; its id."""
    nodes = stack.graphql(ASSET_KEYS)["assetNodes"]
    keys = [n["assetKey"]["path"] for n in nodes if n["isPartitioned"]]
    params = {
        "partitionsByAssets": [{"assetKey": {"path": key}, "partitions": {"range": {"start": start, "end": end}}}
                               for key in keys],
        "title": f"ops test {start}..{end}",
        "tags": [{"key": "pmkpi/launched_by", "value": "tests"}],
    }
    launched = stack.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    stack.cache["backfill"] = Backfill(launched["backfillId"], start, end, keys, time.monotonic())
    return launched["backfillId"]


def wait_for_backfill(stack: Stack, timeout: float = 150) -> Backfill:
    """The stack's backfill once it has finished (``status`` and ``seconds`` since launch filled in)."""
    backfill: Backfill = stack.cache["backfill"]
    if backfill.status in FINISHED_BACKFILL:
        return backfill

    def finished():
        state = stack.graphql(BACKFILL_STATUS, {"id": backfill.backfill_id})["partitionBackfillOrError"]
        assert state["__typename"] == "PartitionBackfill", state
        return state["status"] if state["status"] in FINISHED_BACKFILL else None

    backfill.status = stack.wait_for(f"backfill {backfill.backfill_id} to finish", finished, timeout, interval=1.0)
    backfill.seconds = time.monotonic() - backfill.launched_at
    return backfill
