"""The catalog drives everything: 26 KPIs, each with an asset, three checks, a description and a README line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmkpi_pipeline.defs.kpis.catalog import CATALOG, FAMILIES
from pmkpi_pipeline.defs.kpis.reference import BEGIN, END, render_reference
from pmkpi_pipeline.defs.kpis.targets import TargetsFileError, load_targets
from pmkpi_pipeline.lib.settings import KpiSettings

SPEC_IDS = {"nps", "csat", "churn_rate", "content_usage", "conversion_rate", "lead_conversion_rate",
            "cost_per_lead", "social_engagement_rate", "avg_session_duration", "pages_per_session",
            "email_open_rate", "email_click_rate", "bounce_rate", "cac", "clv", "onboarding_guide_views", "romi",
            "feature_adoption_rate", "cart_abandonment_rate", "customer_engagement_score", "retention_rate",
            "return_rate", "time_to_value", "market_share", "arpu", "mrr"}


def test_catalog_holds_exactly_the_spec_ids():
    assert {k.id for k in CATALOG} == SPEC_IDS and len(CATALOG) == 26


def test_every_kpi_has_an_asset_and_three_checks(code_location):
    graph = code_location.defs.resolve_asset_graph()
    checks = {key.name for key in graph.asset_check_keys}
    for kpi in CATALOG:
        assert any(k.to_user_string() == f"kpi_{kpi.family}" for k in graph.get_all_asset_keys())
        assert {f"{kpi.id}_bounds", f"{kpi.id}_anomaly", f"{kpi.id}_target"} <= checks


def test_descriptions_state_formula_and_window():
    cfg = KpiSettings(window_days=28)
    text = {k.id: k.describe(cfg) for k in CATALOG}
    assert "28-day trailing window" in text["churn_rate"]
    assert "7-day trailing window" in text["email_open_rate"]
    assert "point in time" in text["mrr"] and "quarter ÷ 3" in text["mrr"]
    assert sum(len(v) for v in FAMILIES.values()) == 26


def test_readme_reference_is_generated_from_the_catalog():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    block = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert block == render_reference(), "run: python -m pmkpi_pipeline.defs.kpis.reference"


def test_targets_from_yaml_and_toml(tmp_path):
    yaml_file = tmp_path / "targets.yaml"
    yaml_file.write_text("nps: {target: 40}\nchurn_rate: {target: 3}\ncsat: 80\n")
    targets = load_targets(yaml_file)
    assert targets["nps"].on_track(41) and not targets["nps"].on_track(39)
    assert targets["churn_rate"].on_track(2.5) and not targets["churn_rate"].on_track(3.5)  # lower is better
    assert targets["csat"].value == 80
    toml_file = tmp_path / "targets.toml"
    toml_file.write_text('[bounce_rate]\ntarget = 50\ndirection = "up"\n')
    assert load_targets(toml_file)["bounce_rate"].on_track(60)


@pytest.mark.parametrize("text, message", [
    ("nope: {target: 1}\n", "unknown KPI id 'nope'"),
    ("nps: {target: high}\n", "'target' must be a number"),
    ("nps: {target: 1, direction: sideways}\n", "direction must be 'up' or 'down'"),
])
def test_bad_targets_file_is_named(tmp_path, text, message):
    path = tmp_path / "targets.yaml"
    path.write_text(text)
    with pytest.raises(TargetsFileError, match=message):
        load_targets(path)
