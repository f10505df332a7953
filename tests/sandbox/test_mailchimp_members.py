"""The sandbox's Mailchimp members, activity horizon, OAuth and edge answers, through the real client."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import mailchimp_marketing
import pandas as pd
import pytest
import requests
from mailchimp_marketing.api_client import ApiClientError

from pmkpi_sandbox.company import generate_company
from pmkpi_sandbox.faults import Fault
from pmkpi_sandbox.servers import start_sandbox

START, END = date(2025, 1, 1), date(2025, 3, 31)
MEMBER_FIELDS = {  # every field of a member object of the real API that the sandbox models
    "id", "email_address", "unique_email_id", "contact_id", "full_name", "web_id", "email_type", "status",
    "consents_to_one_to_one_messaging", "merge_fields", "stats", "ip_signup", "timestamp_signup", "ip_opt",
    "timestamp_opt", "member_rating", "last_changed", "language", "vip", "email_client", "location", "source",
    "tags_count", "tags", "list_id", "_links",
}


@pytest.fixture(scope="module")
def company():
    return generate_company(5, "tiny", start=START, end=END)


@pytest.fixture(scope="module")
def sandbox(company):
    with start_sandbox(company) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh_plan(sandbox):
    sandbox.faults.reset()


def client(sandbox, **config) -> mailchimp_marketing.Client:
    chimp = mailchimp_marketing.Client()
    chimp.set_config({"api_key": sandbox.api_key, **config})
    chimp.api_client.host = sandbox.mailchimp_base_url
    return chimp


def all_members(chimp, list_id: str, **filters) -> list[dict]:
    members: list[dict] = []
    while True:
        page = chimp.lists.get_list_members_info(list_id, count=1000, offset=len(members), **filters)
        members += page["members"]
        if len(members) >= page["total_items"]:
            return members


def iso(times: pd.Series) -> list[str]:
    return times.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").fillna("").tolist()


def test_members_page_filter_and_select_fields(sandbox, company):
    chimp = client(sandbox)
    frame = company.mailchimp_members
    list_id = company.mailchimp_lists["id"].iloc[0]
    members = all_members(chimp, list_id)
    assert [m["id"] for m in members] == frame["id"].tolist()
    assert [m["timestamp_opt"] for m in members] == iso(frame["timestamp_opt"])
    assert [m["timestamp_signup"] for m in members] == iso(frame["timestamp_signup"])
    first = members[0]
    assert set(first) == MEMBER_FIELDS
    assert first["id"] == hashlib.md5(first["email_address"].lower().encode()).hexdigest()
    assert {link["rel"] for link in first["_links"]} >= {"self", "parent", "update", "delete"}
    assert chimp.lists.get_list_member(list_id, first["email_address"])["id"] == first["id"]

    pending = all_members(chimp, list_id, status="pending")
    assert pending and {m["status"] for m in pending} == {"pending"} and {m["timestamp_opt"] for m in pending} == {""}
    window = {"since_timestamp_opt": "2025-02-01T00:00:00+00:00", "before_timestamp_opt": "2025-03-01T00:00:00+00:00"}
    opted = all_members(chimp, list_id, **window)
    in_window = frame["timestamp_opt"].between(pd.Timestamp("2025-02-01", tz="UTC"),
                                               pd.Timestamp("2025-03-01", tz="UTC"), inclusive="left")
    assert [m["id"] for m in opted] == frame.loc[in_window, "id"].tolist()
    changed = all_members(chimp, list_id, since_last_changed="2025-03-01T00:00:00+00:00")
    assert len(changed) == int((frame["last_changed"] >= pd.Timestamp("2025-03-01", tz="UTC")).sum())

    slim = chimp.lists.get_list_members_info(list_id, count=3, fields=["members.id", "members.status", "total_items"])
    assert set(slim) == {"members", "total_items"} and slim["total_items"] == len(frame)
    assert [set(m) for m in slim["members"]] == [{"id", "status"}] * 3
    lean = chimp.lists.get_list_members_info(list_id, count=1, exclude_fields=["_links", "members._links"])
    assert "_links" not in lean and set(lean["members"][0]) == MEMBER_FIELDS - {"_links"}
    with pytest.raises(ApiClientError) as missing:
        chimp.lists.get_list_members_info("nope")
    assert missing.value.status_code == 404


def test_activity_serves_the_180_days_before_a_settable_today(sandbox, company):
    chimp = client(sandbox)
    list_id = company.mailchimp_lists["id"].iloc[0]

    def served() -> list[str]:
        return [d["day"] for d in chimp.lists.get_list_recent_activity(list_id, count=1000)["activity"]]

    assert served()[0] == str(END) and len(served()) == (END - START).days + 1  # default: the day after the data
    sandbox.faults.today = END + timedelta(days=100)
    assert served()[-1] == str(END + timedelta(days=100 - 180)) and served()[0] == str(END)
    control = f"{sandbox.mailchimp_base_url.removesuffix('/3.0')}/_sandbox/faults"
    assert requests.post(control, json={"today": str(END + timedelta(days=365))}, timeout=5).ok
    assert served() == [] and sandbox.faults.today == END + timedelta(days=365)
    assert requests.post(control, json={"today": "not a date"}, timeout=5).status_code == 400


def test_oauth_metadata_token_exchange_and_bearer_tokens(sandbox):
    metadata = requests.get(sandbox.mailchimp_oauth_metadata_url, timeout=5,
                            headers={"Authorization": f"OAuth {sandbox.access_token}"})
    assert metadata.json()["dc"] == "us1" and metadata.json()["api_endpoint"] == sandbox.mailchimp.url
    refused = requests.get(sandbox.mailchimp_oauth_metadata_url, headers={"Authorization": "OAuth nope"}, timeout=5)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"

    oauth = mailchimp_marketing.Client()
    oauth.set_config({"access_token": sandbox.access_token, "server": metadata.json()["dc"]})
    oauth.api_client.host = metadata.json()["api_endpoint"] + "/3.0"
    assert oauth.ping.get() == {"health_status": "Everything's Chimpy!"}
    oauth.set_config({"access_token": "not-issued", "server": "us1"})
    with pytest.raises(ApiClientError) as wrong:
        oauth.ping.get()
    assert wrong.value.status_code == 401

    issued = requests.post(f"{sandbox.mailchimp.url}/oauth2/token", timeout=5, data={
        "grant_type": "authorization_code", "client_id": "app", "client_secret": "s", "code": "abc",
        "redirect_uri": "http://127.0.0.1/cb"}).json()["access_token"]
    oauth.set_config({"access_token": issued, "server": "us1"})
    assert oauth.ping.get()["health_status"]


def test_bodyless_and_html_answers_reach_the_client_as_they_really_do(sandbox):
    """Bodyless 429/403: the client returns the raw response instead of raising; an HTML 503 raises with the page."""
    chimp = client(sandbox)
    sandbox.faults.add(Fault("mailchimp", "status", status=429, body="none", retry_after=2),
                       Fault("mailchimp", "status", status=403, body="none"),
                       Fault("mailchimp", "status", status=503, body="html"))
    for status in (429, 403):
        answer = chimp.ping.get()
        assert isinstance(answer, requests.Response) and answer.status_code == status and answer.content == b""
    assert answer.headers.get("Content-Type") is None
    with pytest.raises(ApiClientError) as edge:
        chimp.ping.get()
    assert edge.value.status_code == 503 and edge.value.text.startswith("<HTML>")
    with pytest.raises(ValueError, match="body"):
        Fault("mailchimp", "slow", body="html")
