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
from dagster_stack import free_port, release_stack, require, session_stack, wait_for_backfill

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


class DevToolsPage:
    """Headless Chromium driven over the DevTools protocol: navigate, click a tab, read text, screenshot.

    ``--dump-dom`` cannot click; a check's Partitions tab is local state of the React app.
    """

    def __init__(self, binary: str, profile):
        self.port = free_port()
        self.process = subprocess.Popen(
            [binary, *[f for f in CHROMIUM_FLAGS if not f.startswith("--virtual-time")],
             f"--remote-debugging-port={self.port}", f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.calls = 0

    async def __aenter__(self):
        import json
        import urllib.request

        import websockets

        deadline = time.monotonic() + 30
        while True:
            try:
                targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json", timeout=2))
                break
            except OSError:
                assert time.monotonic() < deadline, "Chromium's DevTools endpoint did not come up"
                time.sleep(0.2)
        page = next(t for t in targets if t["type"] == "page")
        self.socket = await websockets.connect(page["webSocketDebuggerUrl"], max_size=100_000_000)
        await self.call("Page.enable")
        return self

    async def __aexit__(self, *exc):
        await self.socket.close()
        self.process.terminate()
        self.process.wait(timeout=30)

    async def call(self, method: str, **params) -> dict:
        import json

        self.calls += 1
        await self.socket.send(json.dumps({"id": self.calls, "method": method, "params": params}))
        while True:
            message = json.loads(await self.socket.recv())
            if message.get("id") == self.calls:
                assert "error" not in message, message
                return message.get("result", {})

    async def evaluate(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    async def wait_for_text(self, text: str, timeout: float = 60) -> str:
        import asyncio

        deadline = time.monotonic() + timeout
        body = ""
        while time.monotonic() < deadline:
            body = await self.evaluate("document.body ? document.body.innerText : ''") or ""
            if text in body:
                return body
            await asyncio.sleep(0.5)
        raise AssertionError(f"{text!r} not on the page after {timeout}s: {body[:3000]}")

    async def screenshot(self, path) -> None:
        import base64

        path.write_bytes(base64.b64decode((await self.call("Page.captureScreenshot", format="png"))["data"]))


async def open_check_partition(page: DevToolsPage, url: str, counts_text: str, day: str, shot, narrow: bool = False
                               ) -> tuple[str, str]:
    """On a check's page (``url``), open its Partitions tab, wait for ``counts_text`` (e.g. ``Failed (1)``), open
    ``day`` (with ``narrow``, after filtering the list to it), screenshot to ``shot``; the tab's text and the day's."""
    await page.call("Page.navigate", url=url)
    await page.wait_for_text("Execution history", timeout=90)
    await page.evaluate("[...document.querySelectorAll('[role=tab]')]"
                        ".filter(t => t.innerText.trim() === 'Partitions').pop().click()")
    counts = await page.wait_for_text(counts_text)
    if narrow:  # a React input: set the value, fire 'input'
        await page.evaluate(f"""(() => {{
            const input = [...document.querySelectorAll('input')]
                .find(i => (i.placeholder || '').startsWith('Filter by partition'));
            Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, {day!r});
            input.dispatchEvent(new Event('input', {{bubbles: true}}));
        }})()""")
        await page.wait_for_text("1 Partitions Selected")
    await page.evaluate(f"[...document.querySelectorAll('div, span, a')].filter(e => !e.children.length"
                        f" && (e.innerText || '').trim() === {day!r}).pop().click()")
    opened = await page.wait_for_text("Target materialization")
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(shot)
    return counts, opened


def artifact_dir():
    """Where screenshots are kept after the run: ``$PMKPI_TEST_ARTIFACTS`` or ``test-artifacts/``."""
    from pathlib import Path

    folder = Path(os.environ.get("PMKPI_TEST_ARTIFACTS") or Path(__file__).parent.parent / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_day_that_failed_a_check_shows_as_failed_on_that_checks_partitions(chromium, stack, tmp_path):
    import asyncio

    from dagster import AssetCheckKey, AssetKey

    backfill = wait_for_backfill(stack)
    assert backfill.status == "COMPLETED_SUCCESS", stack.log_tail()
    with stack.instance() as instance:
        history = instance.event_log_storage.get_asset_check_execution_history(
            AssetCheckKey(AssetKey("kpi_web"), "bounce_rate_target"), limit=100)
    verdicts = {r.event.dagster_event.event_specific_data.partition: r.event.dagster_event.event_specific_data.passed
                for r in history}
    failed = sorted(day for day, passed in verdicts.items() if not passed)
    assert len(verdicts) == 7 and failed and len(failed) < 7, verdicts  # the stack's target splits the week
    stack.graphql("mutation { setNuxSeen }")
    url = f"{stack.webserver_url}/assets/kpi_web?view=checks&checkDetail=bounce_rate_target"
    shot = artifact_dir() / "kpi_web_bounce_rate_target_partitions.png"

    async def look() -> tuple[str, str]:
        async with DevToolsPage(chromium, tmp_path / "profile_cdp") as page:
            # Narrow the partition list to the failed day first: it is far down a week's list.
            return await open_check_partition(page, url, f"Failed ({len(failed)})", failed[0], shot, narrow=True)

    counts, day = asyncio.run(look())
    # The check's partition view counts each day's own verdict: the failed days as failed, the others passed.
    assert f"Passed ({7 - len(failed)})" in counts, counts[:3000]
    # The failed day, opened: its own verdict, failed, with the numbers it was judged on.
    assert re.search(rf"{failed[0]}\s+Failed", day) and "off track" in day, day[:3000]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    print(f"\nfailed days {failed}; screenshot kept at {shot}")
