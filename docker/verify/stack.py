"""The parts of docker/verify.sh that are easier in Python (standard library only, but ``secrets``).

    python docker/verify/stack.py secrets DIR                 # fresh secret files for the stack
    python docker/verify/stack.py launch URL START END        # a backfill of every asset; prints its id
    python docker/verify/stack.py wait URL BACKFILL_ID        # its runs succeed; prints the asset count
    python docker/verify/stack.py read-only URL               # a read-only webserver refuses a launch

URL is a webserver's address (``http://127.0.0.1:3000``, or a proxy's with ``user:password@``).
Each command prints what it found and exits non-zero with the reason when something is wrong.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

BACKFILL_TIMEOUT = 480.0
FINISHED = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
  }
}"""


def say(message: str) -> None:
    """One line of verify.sh's output (on stderr: stdout carries results for verify.sh)."""
    print(f"[stack.py] {message}", file=sys.stderr, flush=True)


def graphql(url: str, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    """POST a GraphQL query to the webserver at ``url`` (credentials in the URL go in a basic-auth header)."""
    parts = urlsplit(url)
    headers = {"Content-Type": "application/json"}
    if parts.username:
        token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    endpoint = f"{parts.scheme}://{parts.hostname}:{parts.port}/graphql"
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(endpoint, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.load(response)
    if answer.get("errors"):
        raise RuntimeError(f"GraphQL errors: {answer['errors']}")
    return answer["data"]


def wait_for(what: str, probe, timeout: float, interval: float = 2.0):
    """Call ``probe`` until it returns something truthy; exit with the last error after ``timeout``."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
        except (OSError, RuntimeError, urllib.error.URLError) as error:
            last = error
        time.sleep(interval)
    sys.exit(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last})")


def write_secrets(folder: Path) -> None:
    """One file per compose secret: a fresh instance password and GA4 key, the sandbox's Mailchimp key,
    the billing database the sandbox writes (mounted with the inputs), and empty optional ones."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    # Parsed by the GA4 resource, never used: the sandbox's GA4 is reached over plaintext gRPC on loopback.
    account = {"type": "service_account", "project_id": "pmkpi-verify", "private_key_id": secrets.token_hex(20),
               "private_key": pem, "client_email": "pmkpi@pmkpi-verify.iam.gserviceaccount.com",
               "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token"}
    files = {
        "dagster_pg_password": f"pg-{secrets.token_urlsafe(18)}",
        "ga4-service-account.json": json.dumps(account),
        "mailchimp_api_key": "0123456789abcdef0123456789abcdef-us1",  # the one key the sandbox accepts
        "billing_db_url": "sqlite:////opt/dagster/inputs/billing.sqlite",
        "mailchimp_access_token": "", "publish_url": "", "alert_webhook_url": "",
    }
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, value in files.items():
        path = folder / name
        path.write_text(value + "\n" if value else "")
        path.chmod(0o444)  # bind-mounted: read by the containers' own users (dagster, postgres)
    say(f"secret files in {folder}: {', '.join(sorted(files))}")


def location_loaded(url: str) -> bool:
    """True once the webserver has loaded the code location; exits when it failed to load."""
    data = graphql(url, """{ workspaceOrError { __typename ... on Workspace { locationEntries {
        name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }""")
    entries = data["workspaceOrError"].get("locationEntries") or []
    for entry in entries:
        error = entry["locationOrLoadError"] or {}
        if error.get("__typename") == "PythonError" and entry["loadStatus"] == "LOADED":
            sys.exit(f"code location {entry['name']} failed to load: {error['message']}")
    return bool(entries) and all(e["loadStatus"] == "LOADED" for e in entries)


def daemons_healthy(url: str) -> bool:
    """True once the scheduler, sensor, run queue and backfill daemons report healthy."""
    data = graphql(url, "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy } } } }")
    healthy = {s["daemonType"] for s in data["instance"]["daemonHealth"]["allDaemonStatuses"] if s["healthy"]}
    return {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR", "BACKFILL"} <= healthy


def partitioned_assets(url: str) -> list[list[str]]:
    """Every partitioned asset's key path."""
    nodes = graphql(url, "{ assetNodes { assetKey { path } isPartitioned } }")["assetNodes"]
    return sorted(n["assetKey"]["path"] for n in nodes if n["isPartitioned"])


def launch(url: str, start: str, end: str, assets: list[list[str]]) -> dict:
    """The answer to launchPartitionBackfill for ``assets`` over start..end."""
    params = {"title": f"docker/verify.sh {start}..{end}", "tags": [{"key": "pmkpi/launched_by", "value": "verify"}],
              "partitionsByAssets": [{"assetKey": {"path": path},
                                      "partitions": {"range": {"start": start, "end": end}}} for path in assets]}
    return graphql(url, LAUNCH, {"params": params})["launchPartitionBackfill"]


def run_failures(url: str, run_id: str) -> list[str]:
    """The error messages of a run's failed steps and of the run itself."""
    data = graphql(url, """query($id: ID!) { logsForRun(runId: $id, limit: 5000) { __typename
        ... on EventConnection { events { __typename ... on MessageEvent { message stepKey }
          ... on ExecutionStepFailureEvent { error { message } } ... on RunFailureEvent { error { message } } } } } }""",
                   {"id": run_id})
    events = data["logsForRun"].get("events") or []
    return [f"{e.get('stepKey') or 'run'}: {(e.get('error') or {}).get('message') or e['message']}"
            for e in events if e["__typename"] in ("ExecutionStepFailureEvent", "RunFailureEvent")]


def launch_backfill(url: str, start: str, end: str) -> None:
    """Launch every partitioned asset for start..end through GraphQL once the code location is loaded."""
    wait_for("the code location to load", lambda: location_loaded(url), 240)
    assets = partitioned_assets(url)
    answer = launch(url, start, end, assets)
    if answer["__typename"] != "LaunchBackfillSuccess":
        sys.exit(f"launchPartitionBackfill answered {answer}")
    say(f"backfill {answer['backfillId']} launched: {len(assets)} assets x {start}..{end}")
    print(answer["backfillId"])


def wait_backfill(url: str, backfill_id: str) -> None:
    """Wait for the daemon to finish the backfill; it must complete with every run a success."""
    began = time.monotonic()
    wait_for("the daemons' heartbeats", lambda: daemons_healthy(url), 240)
    status_query = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
        __typename ... on PartitionBackfill { status } ... on Error { message } } }"""

    def finished() -> str | None:
        status = graphql(url, status_query, {"id": backfill_id})["partitionBackfillOrError"].get("status")
        return status if status in FINISHED else None

    status = wait_for(f"backfill {backfill_id} to finish", finished, BACKFILL_TIMEOUT, interval=3)
    runs = graphql(url, """query($id: String!) { runsOrError(filter: {tags: [{key: "dagster/backfill", value: $id}]}) {
        ... on Runs { results { runId status } } } }""", {"id": backfill_id})["runsOrError"]["results"]
    say(f"backfill {backfill_id}: {status} {time.monotonic() - began:.0f}s after the daemon started; runs: "
        + ", ".join(f"{r['runId'][:8]} {r['status']}" for r in runs))
    bad = [r for r in runs if r["status"] != "SUCCESS"]
    if status != "COMPLETED_SUCCESS" or not runs or bad:
        for run in bad:
            for line in run_failures(url, run["runId"])[-10:]:
                say(f"  {run['runId'][:8]} {line}")
        sys.exit(f"backfill {backfill_id} did not succeed ({status}; {len(bad)} of {len(runs)} runs not SUCCESS)")
    print(len(partitioned_assets(url)))  # for verify.sh: the materialisations to find in PostgreSQL per day


def read_only(url: str) -> None:
    """A launch through a read-only webserver is refused (UnauthorizedError), while reading works."""
    wait_for("the code location to load in the read-only webserver", lambda: location_loaded(url), 240)
    assets = partitioned_assets(url)
    answer = launch(url, "2025-01-01", "2025-01-01", assets[:1])
    if answer["__typename"] != "UnauthorizedError":
        sys.exit(f"the read-only webserver accepted or mis-answered a launch: {answer}")
    say(f"read-only webserver: lists {len(assets)} assets, refuses a launch ({answer['__typename']})")


def main(argv: list[str]) -> None:
    """Dispatch one command of the module docstring."""
    commands = {"secrets": (write_secrets, Path), "launch": (launch_backfill, str), "wait": (wait_backfill, str),
                "read-only": (read_only, str)}
    if not argv or argv[0] not in commands:
        sys.exit(__doc__)
    command, convert = commands[argv[0]]
    command(convert(argv[1]), *argv[2:])


if __name__ == "__main__":
    os.umask(0o077)
    main(sys.argv[1:])
