"""The KPI dashboard: built by the full run's ``kpi_dashboard`` asset after the checks, and by ``pmkpi dashboard``;
rendered offline in headless Chromium, every value on it compared with the warehouse.

All of it reads the session's ``full_run`` warehouse (no extra run): the browser test opens the file
``pmkpi dashboard --out`` writes, through the DevTools protocol, and keeps a screenshot in ``test-artifacts/``.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from datetime import date, timedelta

import pytest
from dagster_stack import require
from support import TEST_END
from test_browser import DevToolsPage, artifact_dir, chromium_binary

from pmkpi_pipeline import cli
from pmkpi_pipeline.defs.dashboard.data import PERIOD_DAYS, SECTIONS
from pmkpi_pipeline.defs.dashboard.page import DECIMALS, MAX_BYTES
from pmkpi_pipeline.defs.kpis.catalog import BY_ID, CATALOG


def test_every_kpi_is_in_exactly_one_section():
    placed = [kpi for section in SECTIONS for kpi in section.kpis]
    assert sorted(placed) == sorted(k.id for k in CATALOG) and len(placed) == len(set(placed)) == 26


def test_the_run_builds_the_dashboard_after_the_kpi_checks(full_run):
    from dagster import AssetKey

    result, _, _ = full_run
    starts = [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"]
    checks = [i for i, step in enumerate(starts) if step.startswith("kpi_") and step.endswith("_checks")]
    assert len(checks) == 5 and starts.index("kpi_dashboard") > max(checks), starts
    [built] = [e for e in result.get_asset_materialization_events() if e.asset_key == AssetKey("kpi_dashboard")]
    metadata = built.materialization.metadata
    assert metadata["as_of"].value == TEST_END.isoformat() and 0 < metadata["bytes"].value <= MAX_BYTES


@pytest.fixture
def dashboard(full_run, tmp_path, monkeypatch, capsys):
    """``pmkpi dashboard --out FILE`` on the full run's warehouse, with two targets (one met, one not)."""
    _, warehouse, _ = full_run
    with warehouse.connect(read_only=True) as con:
        bounce, pages = (con.execute("SELECT value FROM kpis WHERE kpi = ? AND date = ? AND dimension IS NULL",
                                     [kpi, TEST_END]).fetchone()[0] for kpi in ("bounce_rate", "pages_per_session"))
    targets = tmp_path / "targets.yaml"
    targets.write_text(f"bounce_rate: {{target: {bounce - 1}}}\npages_per_session: {{target: {pages - 0.5}}}\n")
    monkeypatch.setenv("PMKPI_WAREHOUSE", warehouse.path)
    monkeypatch.setenv("PMKPI_TARGETS_FILE", str(targets))
    out = tmp_path / "kpis.html"
    assert cli.main(["dashboard", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"dashboard as of {TEST_END}: {out}" in printed, printed
    return out, warehouse


def test_dashboard_file_is_self_contained_and_small(dashboard):
    out, _ = dashboard
    page = out.read_text()
    assert len(page.encode()) <= MAX_BYTES
    text = html.unescape(page)
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(|https?://", page)  # nothing fetched at view time
    for kpi in CATALOG:
        assert f'data-kpi="{kpi.id}"' in page and kpi.title in text and kpi.formula in text


def test_dashboard_of_another_day_and_without_a_warehouse(full_run, tmp_path, monkeypatch, capsys):
    _, warehouse, _ = full_run
    monkeypatch.setenv("PMKPI_WAREHOUSE", warehouse.path)
    monkeypatch.setenv("PMKPI_DASHBOARD_PATH", str(tmp_path / "default.html"))
    assert cli.main(["dashboard", "--date", "2025-02-14"]) == 0
    assert f"dashboard as of 2025-02-14: {tmp_path / 'default.html'}" in capsys.readouterr().out
    assert "As of <strong>2025-02-14</strong>" in (tmp_path / "default.html").read_text()
    monkeypatch.setenv("PMKPI_WAREHOUSE", str(tmp_path / "none.duckdb"))
    with pytest.raises(SystemExit, match="no warehouse at .*none.duckdb"):
        cli.main(["dashboard"])


# --- in the browser ---------------------------------------------------------------------------------------

READ_PAGE = """JSON.stringify({
  cards: [...document.querySelectorAll('article[data-kpi]')].map(a => ({
    kpi: a.dataset.kpi, title: a.querySelector('h3').innerText, value: a.querySelector('.value').innerText,
    raw: a.querySelector('.value').dataset.value, target: a.querySelector('.target').innerText,
    svg: a.querySelector('svg') ? a.querySelector('svg').getAttribute('aria-label') : null, text: a.innerText})),
  failed: [...document.querySelectorAll('details[open] table.failed tbody tr')].map(r => [...r.cells]
    .map(c => c.innerText).concat([r.dataset.kpi, r.dataset.check])),
  offTarget: [...document.querySelectorAll('details:not([open]) table.failed tbody tr')].map(r => r.dataset.check),
  movements: Object.fromEntries([...document.querySelectorAll('#mrr-movements tr[data-movement]')]
    .map(r => [r.dataset.movement, r.cells[1].innerText])),
  features: Object.fromEntries([...document.querySelectorAll('#feature-adoption tr[data-feature]')]
    .map(r => [r.dataset.feature, r.cells[1].innerText])),
  fetched: performance.getEntriesByType('resource').map(e => e.name),
  lang: document.documentElement.lang,
  text: document.body.innerText,
})"""

# Every element with text of its own: its colour against the first opaque background behind it (WCAG ratio).
CONTRAST = """(() => {
  const lum = c => { const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(v => v / 255)
      .map(v => v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const background = el => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor;
      if (!c.startsWith('rgba') || !c.endsWith(', 0)')) return c; } return 'rgb(255, 255, 255)'; };
  const worst = [];
  for (const el of document.querySelectorAll('body *')) {
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) || !el.offsetParent) continue;
    const [a, b] = [lum(getComputedStyle(el).color), lum(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) worst.push([el.tagName, el.innerText.slice(0, 40), ratio]);
  }
  return JSON.stringify(worst);
})()"""


def shown_number(text: str) -> float:
    """The number in a value as the page shows it (``12,345.00 USD``, ``41.20%``, ``-3.1 s``)."""
    return float(re.search(r"[-+]?[\d,]+(?:\.\d+)?", text.replace("−", "-")).group().replace(",", ""))


def close(shown: str, value: float, unit: str) -> bool:
    """Whether ``shown`` is ``value`` rounded to the unit's decimals."""
    return abs(shown_number(shown) - value) <= 0.5 * 10 ** -DECIMALS.get(unit, 2) + 1e-9 * abs(value)


def test_browser_renders_the_dashboard_offline_with_the_warehouse_values(dashboard, tmp_path):
    from pmkpi_pipeline.defs.kpis.targets import load_targets
    from pmkpi_pipeline.lib.settings import load_settings

    binary = chromium_binary()
    require(binary is not None, "no chromium binary (Debian package 'chromium'; .ci/run installs it)")
    out, warehouse = dashboard
    shot = artifact_dir() / "dashboard.png"

    async def look() -> dict:
        async with DevToolsPage(binary, tmp_path / "profile") as page:
            await page.call("Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1,
                            mobile=False)
            await page.call("Page.navigate", url=out.as_uri())
            await page.wait_for_text("Days that failed a check")
            seen = json.loads(await page.evaluate(READ_PAGE))
            seen["low_contrast"] = json.loads(await page.evaluate(CONTRAST))
            await page.screenshot(shot)
            return seen

    seen = asyncio.run(look())
    first = TEST_END - timedelta(days=PERIOD_DAYS - 1)
    with warehouse.connect(read_only=True) as con:
        latest = dict(con.execute("SELECT kpi, value FROM kpis WHERE date = ? AND dimension IS NULL",
                                  [TEST_END]).fetchall())
        movements = dict(con.execute(
            "SELECT dimension_value, sum(value) FROM kpis WHERE kpi = 'mrr' AND dimension = 'movement' "
            "AND date > ? AND date <= ? GROUP BY 1", [TEST_END - timedelta(days=30), TEST_END]).fetchall())
        features = dict(con.execute("SELECT dimension_value, value FROM kpis WHERE kpi = 'feature_adoption_rate' "
                                    "AND dimension = 'feature' AND date = ?", [TEST_END]).fetchall())
        failed = con.execute("SELECT date, kpi, check_name FROM kpi_check_results WHERE NOT passed AND date "
                             "BETWEEN ? AND ? ORDER BY date DESC, kpi, check_name", [first, TEST_END]).fetchall()
    targets = load_targets(load_settings().targets_file)

    # All 26 measures by name, grouped as the sections say, each with its latest value as text.
    assert [c["kpi"] for c in seen["cards"]] == [k for s in SECTIONS for k in s.kpis]
    for card in seen["cards"]:
        kpi, value = BY_ID[card["kpi"]], latest[card["kpi"]]
        assert card["title"].startswith(kpi.title), card
        if value is None:
            assert card["value"] == "—" and card["raw"] == "", card
        else:
            assert float(card["raw"]) == value and close(card["value"], value, kpi.unit), (card, value)
        assert card["svg"] and f"last {PERIOD_DAYS} days" in card["svg"], card
    cards = {c["kpi"]: c for c in seen["cards"]}
    assert cards["mrr"]["value"].endswith(" USD") and latest["mrr"] > 0
    for kpi in ("bounce_rate", "pages_per_session"):  # one met, one missed, as the targets were set
        on_track = targets[kpi].on_track(latest[kpi])
        assert cards[kpi]["target"].startswith("On track" if on_track else "Off track"), cards[kpi]
    assert cards["nps"]["target"] == "No target set"
    # MRR movements over the KPI window and adoption per feature, as in the warehouse.
    assert set(seen["movements"]) == {"new", "expansion", "contraction", "churned"}
    assert all(close(seen["movements"][m], movements[m], "currency") for m in seen["movements"])
    assert set(seen["features"]) == set(features) and len(features) > 1
    assert all(close(seen["features"][f], features[f], "%") for f in features)
    # Every day that failed a check, with its ISO date, KPI, value and expected range.
    flagged = [f for f in failed if not f[2].endswith("_target")]  # the open list; days off target are folded
    assert [(date.fromisoformat(r[0]), r[-2], r[-1]) for r in seen["failed"]] == flagged and flagged, seen["failed"]
    assert sorted(seen["offTarget"]) == sorted(f[2] for f in failed if f[2].endswith("_target"))
    for row in seen["failed"]:
        assert row[1] == BY_ID[row[-2]].title and re.search(r"\d", row[4]) and row[5] != "—", row
    for day, kpi, check in failed:  # out-of-bounds and anomalous days are also marked on their KPI's card
        if not check.endswith("_target"):
            assert "Flagged:" in cards[kpi]["text"] and day.isoformat() in cards[kpi]["svg"], cards[kpi]
    assert re.search(r"data last refreshed \d{4}-\d\d-\d\d \d\d:\d\d UTC", seen["text"]), seen["text"][:500]
    # Offline and readable: nothing fetched, a language, every text at least 4.5:1 against its background.
    assert seen["fetched"] == [] and seen["lang"] == "en"
    assert seen["low_contrast"] == [], seen["low_contrast"]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"\nscreenshot kept at {shot}")


def test_dashboard_says_which_kpis_the_anomaly_check_could_not_judge(dashboard):
    out, warehouse = dashboard
    with warehouse.connect(read_only=True) as con:
        unjudged = dict(con.execute(
            "SELECT kpi, description FROM kpi_check_results WHERE date = ? AND check_name = kpi || '_anomaly' "
            "AND passed IS NULL", [TEST_END]).fetchall())
        judged = {kpi for (kpi,) in con.execute(
            "SELECT kpi FROM kpi_check_results WHERE date = ? AND check_name = kpi || '_anomaly' "
            "AND passed IS NOT NULL", [TEST_END]).fetchall()}
    # 90 days: a 30-day window KPI judged as its window has fewer than two earlier windows sharing none of its days.
    assert any("earlier 30-day windows sharing none of its days" in d for d in unjudged.values()), unjudged
    assert {"bounce_rate", "content_usage"} <= judged
    page = html.unescape(out.read_text())
    assert f"{len(unjudged)}</strong> not judged on {TEST_END}" in page
    for kpi_id, description in unjudged.items():
        card = page.split(f'data-kpi="{kpi_id}"', 1)[1].split("</article>", 1)[0]
        assert '<span class="badge not-judged">not judged</span>' in card
        assert description.partition("not judged: ")[2] in card
    for kpi_id in judged:
        card = page.split(f'data-kpi="{kpi_id}"', 1)[1].split("</article>", 1)[0]
        assert "badge not-judged" not in card
