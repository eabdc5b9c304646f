"""Someone acts for the applicant (a family member, a village legal advisor) with the relationship
recorded; staff at a service window file for a citizen, recorded as such; the applicant
acknowledges the one-time notice of missing materials."""

from __future__ import annotations

from server.citizens.api import ACCOUNTS_KEY
from server.registry.api import REGISTRY_KEY
from tests.clients import get_json, post_json
from tests.server.registry.conftest import Window
from tests.server.registry.test_citizen_accounts import Phone


async def phone_token(window: Window, phone: str) -> str:
    sent = Phone()
    window.app[ACCOUNTS_KEY]._notifier = sent
    status, reply = await post_json(window.url, "/api/citizen/code", {"phone": phone})
    assert status == 202, reply
    status, reply = await post_json(window.url, "/api/citizen/sign-in",
                                    {"phone": phone, "code": sent.sent[-1][2]["code"]})
    assert status == 200, reply
    return str(reply["token"])


async def test_a_family_member_files_and_acts_for_the_applicant(window: Window) -> None:
    application, _ = await window.file(proxy={"name": "张小三", "relationship": "child",
                                              "phone": "139 0013 9000"})
    assert application["filed_as"] == "proxy"
    assert application["proxy"] == {"name": "张小三", "relationship": "child",
                                    "phone": "13900139000"}
    son = await phone_token(window, "13900139000")
    status, mine = await get_json(window.url, "/api/my/cases", son)
    assert status == 200 and [a["id"] for a in mine["applications"]] == [application["id"]]
    withdrawn = await window.act(son, application, "withdraw")
    assert withdrawn["state"] == "withdrawn"
    # The step is the proxy's, recorded with the relationship; the proxy's phone is not shown
    # on the timeline.
    entry = withdrawn["timeline"][-1]
    assert entry["kind"] == "withdraw" and entry["data"]["by_proxy"] == "child"
    assert "proxy" not in withdrawn["timeline"][0]["data"]


async def test_the_applicant_names_a_proxy_later_and_only_the_applicant_may(window: Window) -> None:
    application, token = await window.file()
    path = f"/api/applications/{application['id']}/proxy"
    status, reply = await post_json(window.url, path, {
        "version": application["version"], "name": "王顾问", "relationship": "advisor",
        "phone": "13600136000"}, token)
    assert status == 200, reply
    named = reply["application"]
    assert named["proxy"]["relationship"] == "advisor"
    assert named["timeline"][-1]["kind"] == "proxy_named"
    assert named["filed_as"] == "self"  # how it was filed is not rewritten
    advisor = await phone_token(window, "13600136000")
    # The proxy acts for the applicant but does not name further proxies.
    status, reply = await post_json(window.url, path, {
        "version": named["version"], "name": "别人", "relationship": "other"}, advisor)
    assert status == 403 and reply["error"]["code"] == "forbidden"
    # Another citizen cannot name one; a stale version is refused; bad input names its field.
    stranger = await phone_token(window, "13500135000")
    status, reply = await post_json(window.url, path, {
        "version": named["version"], "name": "x", "relationship": "other"}, stranger)
    assert status in (403, 404)
    status, reply = await post_json(window.url, path, {
        "version": application["version"], "name": "x", "relationship": "other"}, token)
    assert status == 409 and reply["error"]["code"] == "stale"
    status, reply = await post_json(window.url, path, {
        "version": named["version"], "name": "x", "relationship": "cousin"}, token)
    assert status == 400 and reply["error"]["field"] == "relationship"
    status, reply = await post_json(window.url, path, {
        "version": named["version"], "name": "x", "relationship": "other",
        "phone": "13800138000"}, token)
    assert status == 400 and reply["error"]["field"] == "phone"


async def test_window_staff_and_village_advisors_file_recorded_as_such(window: Window) -> None:
    _, desk = await window.staff("window1", "window", "qz-kecheng-legal-aid")
    filed, token = await window.file(desk)
    assert token == "" and filed["filed_as"] == "window"
    assert filed["timeline"][0]["data"]["filed_as"] == "window"

    village = window.app[REGISTRY_KEY].catalogue.file.villages[0].code
    advised, _ = await window.file(desk, village=village)
    assert advised["filed_as"] == "advisor"
    # The window follows what it filed (首问负责) but cannot decide it.
    assert (await window.get(desk, filed["id"]))["number"] == filed["number"]
    status, _ = await post_json(window.url, f"/api/applications/{filed['id']}/actions/grant",
                                    {"version": filed["version"]}, desk)
    assert status == 403


async def test_the_applicant_acknowledges_the_one_time_notice_once(window: Window) -> None:
    _, centre = await window.staff("aid1", "legal_aid", "qz-kecheng-legal-aid")
    application, token = await window.file()
    told = await window.act(centre, application, "request_materials", materials=["case_materials"])
    assert told["notice"]["missing"] == ["case_materials"]
    assert told["notice"]["acknowledged_at"] is None
    mine = await window.get(token, application["id"])
    assert "acknowledge_notice" in mine["actions"]
    # The centre cannot acknowledge for the applicant.
    await window.act(centre, mine, "acknowledge_notice", expect=403)
    acknowledged = await window.act(token, mine, "acknowledge_notice")
    assert acknowledged["state"] == "awaiting_materials"
    assert acknowledged["notice"]["acknowledged_at"] is not None
    assert "acknowledge_notice" not in acknowledged["actions"]
    assert acknowledged["timeline"][-1]["kind"] == "acknowledge_notice"
    # The review clock stays paused: acknowledging is not supplying.
    review = next(c for c in acknowledged["clocks"] if c["code"] == "review")
    assert review["state"] == "paused"


async def test_my_cases_join_the_rating_given(window: Window) -> None:
    application, token = await window.file()
    closed = await window.act(token, application, "withdraw")
    status, reply = await post_json(window.url, "/api/ratings", {
        "subject_kind": "application", "subject_id": closed["id"], "score": 4}, token)
    assert status == 201, reply
    mine = await phone_token(window, "13800138000")
    status, cases = await get_json(window.url, "/api/my/cases", mine)
    assert status == 200 and cases["applications"][0]["rating"] == 4
    assert cases["applications"][0]["as_proxy"] is False
