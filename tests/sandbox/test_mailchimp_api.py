"""Clients written against the real Mailchimp Marketing API read every endpoint of the sandbox without an error.

Every endpoint, for every campaign kind, whole and cut by ``fields``/``exclude_fields``, is read
through the official ``mailchimp-marketing`` client and validated against the reference's schemas
(:mod:`mailchimp_reference`); a third-party client (``mailchimp3``) pages through the same
collections; the filters, sorting and errors behave as the reference describes; and the objects
agree with the company they come from.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import jsonschema
import mailchimp_marketing
import pandas as pd
import pytest
import requests
from mailchimp3 import MailChimp
from mailchimp3.mailchimpclient import MailChimpError
from mailchimp_marketing.api_client import ApiClientError
from mailchimp_reference import (
    ACTIVITY,
    CAMPAIGN,
    CAMPAIGNS,
    LIST,
    LISTS,
    MEMBER,
    MEMBERS,
    PING,
    PROBLEM,
    REPORT,
    REPORTS,
    relaxed,
)

from pmkpi_sandbox.company import SIZES, generate_company
from pmkpi_sandbox.servers import start_sandbox

COMPANY = generate_company(
    5, dataclasses.replace(SIZES["tiny"], campaign_kinds=True), start=date(2025, 1, 1), end=date(2025, 2, 28),
    timezone="Europe/Berlin",
)
FRAME = COMPANY.mailchimp_campaigns


def _kinds() -> dict[str, str]:
    """One campaign id of each kind the company has."""
    child = FRAME["parent_campaign_id"] != ""
    found = {
        "regular": (FRAME["type"] == "regular") & ~child & (FRAME["status"] == "sent") & (FRAME["list_id"] != ""),
        "variate": FRAME["type"] == "variate",
        "rss parent": (FRAME["type"] == "rss") & ~child,
        "rss child": (FRAME["type"] == "rss") & child,
        "plaintext": FRAME["type"] == "plaintext",
        "resend": (FRAME["type"] == "regular") & child,
        "sending": (FRAME["type"] == "regular") & (FRAME["status"] == "sending"),
        "deleted audience": FRAME["list_id"] == "",
    }
    return {kind: FRAME.loc[rows, "id"].iloc[0] for kind, rows in found.items()}


KINDS = _kinds()
REPORTED = {kind for kind in KINDS if kind != "rss parent"}  # the RSS parent never sent itself


@pytest.fixture(scope="module")
def sandbox():
    with start_sandbox(COMPANY) as running:
        yield running


@pytest.fixture(scope="module")
def chimp(sandbox):
    client = mailchimp_marketing.Client()
    client.set_config({"api_key": sandbox.api_key, "server": "us1"})
    client.api_client.host = sandbox.mailchimp_base_url
    return client


def valid(schema: dict, body: object) -> object:
    """``body``, after checking it against ``schema`` (the error names the path at fault)."""
    jsonschema.Draft202012Validator(schema).validate(body)
    return body


def leaves(value: object, prefix: str = "") -> set[str]:
    """The dotted paths of ``value``'s leaves, through arrays (``campaigns.settings.title``)."""
    if isinstance(value, list):
        return set().union(*(leaves(item, prefix) for item in value)) if value else {prefix}
    if isinstance(value, dict) and value:
        return set().union(*(leaves(v, f"{prefix}.{k}" if prefix else k) for k, v in value.items()))
    return {prefix}


def test_every_endpoint_and_campaign_kind_answers_the_reference_shape(chimp):
    valid(PING, chimp.ping.get())
    lists = valid(LISTS, chimp.lists.get_all_lists(include_total_contacts=True))
    assert lists["total_items"] == len(COMPANY.mailchimp_lists) == len(lists["lists"])
    for item in lists["lists"]:
        assert valid(LIST, chimp.lists.get_list(item["id"]))["stats"]["member_count"] == item["stats"]["member_count"]
        valid(ACTIVITY, chimp.lists.get_list_recent_activity(item["id"], count=1000))
    campaigns = valid(CAMPAIGNS, chimp.campaigns.list(count=1000))
    assert campaigns["total_items"] == len(FRAME) == len(campaigns["campaigns"])
    reports = valid(REPORTS, chimp.reports.get_all_campaign_reports(count=1000))
    assert reports["total_items"] == (FRAME["status"] == "sent").sum()
    for kind, campaign_id in KINDS.items():
        assert valid(CAMPAIGN, chimp.campaigns.get(campaign_id))["id"] == campaign_id, kind
        if kind in REPORTED:
            assert valid(REPORT, chimp.reports.get_campaign_report(campaign_id))["id"] == campaign_id, kind


LIST_ID = COMPANY.mailchimp_lists["id"].iloc[0]


@pytest.mark.parametrize(
    ("call", "targets", "fields", "excluded", "schema"),
    [
        ("lists.get_all_lists", [()], ["lists.id", "lists.stats.member_count", "total_items"], [], LISTS),
        ("lists.get_all_lists", [()], [], ["lists._links", "lists.contact", "lists.stats", "_links"], LISTS),
        ("lists.get_list", [(LIST_ID,)], ["id", "name", "stats.campaign_last_sent"], [], LIST),
        ("lists.get_list_recent_activity", [(LIST_ID,)], ["activity.day", "activity.subs", "total_items"], [],
         ACTIVITY),
        ("campaigns.list", [()], ["campaigns.id", "campaigns.settings.title", "campaigns.recipients", "total_items"],
         [], CAMPAIGNS),
        ("campaigns.list", [()], [], ["campaigns._links", "campaigns.settings", "campaigns.variate_settings", "_links"],
         CAMPAIGNS),
        ("campaigns.get", [(i,) for i in KINDS.values()], ["id", "type", "recipients.list_id", "settings.title"], [],
         CAMPAIGN),
        ("campaigns.get", [(i,) for i in KINDS.values()], [], ["_links", "settings", "recipients", "tracking"],
         CAMPAIGN),
        ("reports.get_all_campaign_reports", [()], ["reports.id", "reports.opens.unique_opens", "total_items"], [],
         REPORTS),
        ("reports.get_campaign_report", [(KINDS[kind],) for kind in REPORTED], ["id", "list_id", "clicks"], [],
         REPORT),
        ("reports.get_campaign_report", [(KINDS[kind],) for kind in REPORTED], [],
         ["timeseries", "_links", "industry_stats", "opens"], REPORT),
    ],
)
def test_fields_and_exclude_fields_cut_every_answer(chimp, call, targets, fields, excluded, schema):
    group, method = call.split(".")
    for target in targets:
        options = {"fields": fields} if fields else {"exclude_fields": excluded}
        answer = valid(relaxed(schema), getattr(getattr(chimp, group), method)(*target, **options))
        paths = leaves(answer)
        if fields:  # exactly the fields asked for
            assert {f for f in fields if any(p == f or p.startswith(f"{f}.") for p in paths)} == set(fields), paths
            assert all(any(p == f or p.startswith(f"{f}.") for f in fields) for p in paths), paths
        else:
            assert not any(p == e or p.startswith(f"{e}.") for p in paths for e in excluded), paths
            assert len(paths) > 3, paths


def test_campaign_filters_and_sorting(sandbox, chimp):
    sent = FRAME.dropna(subset=["send_time"])

    def ids(**query) -> list[str]:
        return [c["id"] for c in chimp.campaigns.list(count=1000, fields=["campaigns.id"], **query)["campaigns"]]

    since, before = "2025-01-20T00:00:00+00:00", "2025-02-10T12:00:00+00:00"
    created = FRAME[(FRAME["create_time"] >= since) & (FRAME["create_time"] < before)]
    assert sorted(ids(since_create_time=since, before_create_time=before)) == sorted(created["id"])
    in_window = sent[(sent["send_time"] >= since) & (sent["send_time"] < before)]
    assert sorted(ids(since_send_time=since, before_send_time=before)) == sorted(in_window["id"])
    assert ids(sort_field="create_time", sort_dir="DESC") == list(
        FRAME.sort_values(["create_time", "id"], ascending=False)["id"])
    assert ids(sort_field="send_time") == list(sent.sort_values(["send_time", "id"])["id"]) + [KINDS["rss parent"]]
    assert sorted(ids(status="sending")) == sorted([KINDS["sending"], KINDS["rss parent"]])
    assert ids(type="variate") == list(sent[sent["type"] == "variate"].sort_values("send_time")["id"])
    children = FRAME[FRAME["parent_campaign_id"] == KINDS["rss parent"]]
    assert sorted(ids(type="rss", status="sent")) == sorted(children["id"])
    list_id = COMPANY.mailchimp_lists["id"].iloc[0]
    assert sorted(ids(list_id=list_id)) == sorted(FRAME.loc[FRAME["list_id"] == list_id, "id"])
    reports = chimp.reports.get_all_campaign_reports(type="rss", count=1000, fields=["reports.id"])["reports"]
    assert sorted(r["id"] for r in reports) == sorted(children["id"])
    unsorted = requests.get(f"{sandbox.mailchimp_base_url}/reports", params={"sort_field": "title"},
                            auth=("any", sandbox.api_key), timeout=5)  # not a parameter of /reports: ignored
    assert unsorted.status_code == 200


def test_list_filters_sorting_and_stats(chimp):
    lists = COMPANY.mailchimp_lists
    created = pd.to_datetime(lists["date_created"], utc=True)
    middle = created.sort_values().iloc[len(lists) // 2].isoformat()

    def ids(**query) -> list[str]:
        return [item["id"] for item in chimp.lists.get_all_lists(fields=["lists.id"], **query)["lists"]]

    assert sorted(ids(since_date_created=middle)) == sorted(lists.loc[created >= middle, "id"])
    assert sorted(ids(before_date_created=middle)) == sorted(lists.loc[created < middle, "id"])
    assert ids(sort_field="date_created", sort_dir="DESC") == list(lists.loc[created.sort_values(
        ascending=False).index, "id"])
    sent = FRAME[FRAME["status"] == "sent"]
    for item in chimp.lists.get_all_lists()["lists"]:
        stats, own = item["stats"], FRAME[FRAME["list_id"] == item["id"]]
        assert "total_contacts" not in stats
        assert stats["campaign_count"] == len(own)
        last = sent.loc[sent["list_id"] == item["id"], "send_time"].max()
        assert stats["campaign_last_sent"] == last.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def test_objects_agree_with_the_company_and_each_other(sandbox, chimp):
    campaigns = {c["id"]: c for c in chimp.campaigns.list(count=1000)["campaigns"]}
    reports = {r["id"]: r for r in chimp.reports.get_all_campaign_reports(count=1000)["reports"]}
    for campaign_id, report in reports.items():
        summary, row = campaigns[campaign_id]["report_summary"], FRAME.set_index("id").loc[campaign_id]
        assert (summary["unique_opens"], summary["opens"], summary["subscriber_clicks"], summary["clicks"]) == (
            report["opens"]["unique_opens"], report["opens"]["opens_total"],
            report["clicks"]["unique_subscriber_clicks"], report["clicks"]["clicks_total"])
        assert summary["open_rate"] == report["opens"]["open_rate"]
        assert (report["emails_sent"], report["opens"]["unique_opens"]) == (row["emails_sent"], row["unique_opens"])
    deleted = campaigns[KINDS["deleted audience"]]
    assert deleted["recipients"]["list_id"] == "" and deleted["recipients"]["list_is_active"] is False
    deleted_report = reports[KINDS["deleted audience"]]
    assert deleted_report["list_id"] == "" and "list_stats" not in deleted_report
    sending = campaigns[KINDS["sending"]]
    assert sending["delivery_status"]["enabled"] and KINDS["sending"] not in reports
    assert chimp.reports.get_campaign_report(KINDS["sending"])["delivery_status"]["status"] == "delivering"
    parent = campaigns[KINDS["rss parent"]]
    children = [c for c in campaigns.values() if c.get("parent_campaign_id") == KINDS["rss parent"]]
    assert parent["send_time"] == "" and "report_summary" not in parent
    assert parent["rss_opts"]["last_sent"] == max(c["send_time"] for c in children)
    resend = campaigns[KINDS["resend"]]
    assert resend["recipients"]["segment_text"] and resend["parent_campaign_id"] in campaigns
    variate = campaigns[KINDS["variate"]]["variate_settings"]
    assert sum(c["recipients"] for c in variate["combinations"]) == campaigns[KINDS["variate"]]["emails_sent"]
    for item in (deleted, reports[KINDS["resend"]], chimp.lists.get_all_lists()):  # every self link answers
        self_link = next(link for link in item["_links"] if link["rel"] == "self")
        answer = requests.get(self_link["href"], auth=("any", sandbox.api_key), timeout=5)
        assert answer.status_code == 200, self_link


@pytest.mark.parametrize(
    ("query", "parameter"),
    [({"status": "done"}, "status"), ({"type": "ab"}, "type"), ({"sort_field": "title"}, "sort_field"),
     ({"sort_dir": "down"}, "sort_dir"), ({"since_create_time": "yesterday"}, "since_create_time"),
     ({"count": -1}, "count")],
)
def test_bad_parameters_answer_400_problems(chimp, query, parameter):
    with pytest.raises(ApiClientError) as refused:
        chimp.campaigns.list(**query)
    assert refused.value.status_code == 400
    problem = valid(PROBLEM, json.loads(refused.value.text))
    assert problem["title"] == "Invalid Resource" and parameter in problem["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/automations"), ("GET", "/campaigns/nope"), ("GET", "/lists/nope"), ("GET", "/reports/nope"),
     ("GET", f"/reports/{KINDS['rss parent']}"), ("GET", f"/campaigns/{KINDS['regular']}/content"),
     ("POST", "/campaigns"), ("GET", "/")],
)
def test_what_the_sandbox_does_not_model_is_a_resource_not_found(sandbox, method, path):
    answer = requests.request(method, f"{sandbox.mailchimp_base_url}{path}", auth=("any", sandbox.api_key),
                              timeout=5)
    assert answer.status_code == 404 and answer.headers["Content-Type"].startswith("application/problem+json")
    assert valid(PROBLEM, answer.json())["title"] == "Resource Not Found"


def test_a_third_party_client_pages_through_every_collection(sandbox, chimp):
    client = MailChimp(mc_api=sandbox.api_key)
    client.base_url = f"{sandbox.mailchimp_base_url}/"
    assert valid(PING, client.ping.get())["health_status"]
    lists = valid(LISTS, client.lists.all(get_all=True, count=1))
    for item in lists["lists"]:
        valid(LIST, client.lists.get(item["id"]))
        valid(ACTIVITY, client.lists.activity.all(list_id=item["id"]))
        members = valid(MEMBERS, client.lists.members.all(item["id"], get_all=True, count=500))
        assert len(members["members"]) == members["total_items"] > 0
        valid(MEMBER, client.lists.members.get(item["id"], members["members"][-1]["id"]))
    campaigns = valid(CAMPAIGNS, client.campaigns.all(get_all=True, count=7))
    assert [c["id"] for c in campaigns["campaigns"]] == [c["id"] for c in chimp.campaigns.list(count=1000)["campaigns"]]
    reports = client.reports.all(get_all=True, count=7, fields="reports.id,reports.emails_sent")
    valid(relaxed(REPORTS), reports)
    assert len(reports["reports"]) == reports["total_items"] == (FRAME["status"] == "sent").sum()
    for campaign_id in KINDS.values():
        valid(CAMPAIGN, client.campaigns.get(campaign_id))
    valid(REPORT, client.reports.get(KINDS["variate"]))
    with pytest.raises(MailChimpError) as missing:
        client.campaigns.get("nope")
    assert missing.value.args[0]["status"] == 404
