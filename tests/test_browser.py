"""The Dagster UI as a data team sees it: headless Chromium opens a KPI asset's page.

The running webserver of ``tests/dagster_stack.py`` (PostgreSQL instance, the backfill of a week
done through GraphQL) serves its React app; Debian's ``chromium`` renders ``/assets/kpi_web``,
and the rendered DOM must hold the asset's description (its formulas from the KPI catalog) and
the latest KPI value recorded in the instance. A screenshot is saved in the test's temp folder.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import time

import pytest
from dagster_stack import release_stack, require, session_stack, wait_for_backfill

USES_DAGSTER_STACK = True  # see dagster_stack.release_stack

# Headless flags for a closed network: without the background-networking ones Chromium keeps
# trying to reach Google's services and gets refused.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1400,1000", "--hide-scrollbars",
    # Virtual time runs ahead while the page is idle and waits while it fetches: the React app
    # gets 20 s of its own time to load its GraphQL data, usually in a few real seconds.
    "--virtual-time-budget=20000",
]


def chromium_binary() -> str | None:
    for name in (os.environ.get("PMKPI_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def render(binary: str, url: str, profile, *args: str, timeout: float = 90) -> str:
    """Run headless Chromium on ``url`` with a fresh profile; its stdout (the DOM with --dump-dom)."""
    done = subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, url],
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def visible_text(dom: str) -> str:
    """The page's text, tags dropped and whitespace collapsed."""
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", dom)))


def ui_number(value: float) -> str:
    """A float as the UI prints it (JavaScript's Number.toString: 75 rather than 75.0)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@pytest.fixture(scope="module")
def stack(sandbox, request, tmp_path_factory):
    yield session_stack(request, tmp_path_factory)
    release_stack(request)


@pytest.fixture(scope="module")
def chromium():
    binary = chromium_binary()
    require(binary is not None, "no chromium binary (Debian package 'chromium'; .ci/run installs it)")
    return binary


def test_kpi_asset_page_shows_description_and_latest_value(chromium, stack, tmp_path):
    from dagster import AssetKey

    from pmkpi_pipeline.defs.kpis.catalog import BY_ID

    backfill = wait_for_backfill(stack)
    assert backfill.status == "COMPLETED_SUCCESS", stack.log_tail()
    with stack.instance() as instance:
        metadata = instance.get_latest_materialization_event(AssetKey("kpi_web")).asset_materialization.metadata
    latest = ui_number(metadata["bounce_rate"].value)
    formula = BY_ID["bounce_rate"].formula
    # The "join the community" dialog greets a first visit on loopback; an operator dismisses it
    # once (the UI's Skip button sends this mutation). It would cover the screenshot.
    stack.graphql("mutation { setNuxSeen }")

    url = f"{stack.webserver_url}/assets/kpi_web"
    started, text = time.monotonic(), ""
    for attempt in range(3):  # the first render after start-up can outrun the webserver's caches
        text = visible_text(render(chromium, url, tmp_path / f"profile{attempt}", "--dump-dom"))
        if formula in text and latest in text:
            break
    rendered = time.monotonic() - started
    assert "KPI family web" in text, text[:3000]
    assert formula in text, f"formula of bounce_rate not on the page: {text[:3000]}"
    # In the metadata table: key, timestamp, value.
    assert re.search(rf"bounce_rate .{{0,40}}?{re.escape(latest)}", text), (
        f"latest bounce_rate {latest} not on the page: {text[:3000]}")

    screenshot = tmp_path / "kpi_web.png"
    render(chromium, url, tmp_path / "profile_shot", f"--screenshot={screenshot}")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000
    print(f"\nrendered {url} in {rendered:.1f}s; screenshot {screenshot}")
