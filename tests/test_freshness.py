"""Late KPIs: yesterday's partition of every KPI asset is due by 09:00; the UI's policy and the alert agree."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from dagster import AssetKey, AssetMaterialization, DagsterInstance, SkipReason, build_sensor_context

UTC = ZoneInfo("UTC")


def test_kpi_assets_carry_the_deadline_as_a_freshness_policy(code_location):
    graph = code_location.defs.resolve_asset_graph()
    for family in ("web", "email", "customer", "revenue", "marketing"):
        policy = graph.get(AssetKey(f"kpi_{family}")).freshness_policy
        assert policy.deadline_cron == "0 9 * * *" and policy.timezone == "UTC", family


def test_due_day_is_yesterday_once_the_deadline_passed(code_location):
    from pmkpi_pipeline.defs.operations.freshness import due_day

    assert due_day(datetime(2025, 3, 11, 8, 59, tzinfo=UTC)) is None
    assert due_day(datetime(2025, 3, 11, 9, 0, tzinfo=UTC)) == date(2025, 3, 10)
    assert due_day(datetime(2024, 12, 20, 12, 0, tzinfo=UTC)) is None  # before PMKPI_START_DATE


def test_late_kpis_alert_once_per_day_naming_the_late_assets(code_location, monkeypatch):
    from pmkpi_pipeline.defs.operations import freshness

    alerts = []
    monkeypatch.setattr(freshness, "post_alert", lambda payload, log: alerts.append(payload))
    monkeypatch.setattr(freshness, "now_utc", lambda: datetime(2025, 3, 11, 9, 30, tzinfo=UTC))
    with DagsterInstance.ephemeral() as instance:
        for family in ("web", "email", "customer", "revenue"):  # kpi_marketing did not land 2025-03-10
            instance.report_runless_asset_event(AssetMaterialization(f"kpi_{family}", partition="2025-03-10"))
        instance.report_runless_asset_event(AssetMaterialization("kpi_marketing", partition="2025-03-09"))
        assert freshness.late_kpi_assets(instance, date(2025, 3, 10)) == ["kpi_marketing"]

        context = build_sensor_context(instance=instance)
        first = freshness.alert_on_late_kpis(context)
        assert isinstance(first, SkipReason) and "alerted" in first.skip_message
        assert [a["late_assets"] for a in alerts] == [["kpi_marketing"]]
        assert alerts[0]["partition"] == "2025-03-10" and "09:00 UTC" in alerts[0]["text"]
        again = freshness.alert_on_late_kpis(build_sensor_context(instance=instance, cursor=context.cursor))
        assert "already looked at" in again.skip_message and len(alerts) == 1

        instance.report_runless_asset_event(AssetMaterialization("kpi_marketing", partition="2025-03-10"))
        on_time = freshness.alert_on_late_kpis(build_sensor_context(instance=instance))
        assert "every KPI asset has 2025-03-10" in on_time.skip_message and len(alerts) == 1
