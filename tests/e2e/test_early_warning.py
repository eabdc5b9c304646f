"""The supervisor page in real Chromium: an early warning shown with why it fired and
acknowledged by the signed-in supervisor by name; a low rating's follow-up recorded from the
page, which the citizen then sees as followed up."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.clients import SocketClient, get_json, intake_body, post_json
from tests.e2e.harness import PASSWORD, ServerProcess, new_page, start_server

RULES = '''
[[rule]]
name = "anyone_waiting"
kind = "longest_wait"
threshold = 0
per_category = false
'''


@pytest.fixture
async def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    process = await start_server(tmp_path / "var", {"PARLEY_ALERT_RULES": str(rules),
                                                    "PARLEY_ALERT_INTERVAL_S": "1"})
    try:
        yield process
    finally:
        process.stop()


async def login(server: ServerProcess, username: str) -> str:
    status, body = await post_json(server.url, "/api/login",
                                   {"username": username, "password": PASSWORD})
    assert status == 200, body
    token: str = body["token"]
    return token


async def test_alerts_and_follow_ups_on_the_supervisor_page(server: ServerProcess,
                                                           browser: Browser) -> None:
    server.add_lawyer("lawyer1")
    server.parley("user", "add", "--role", "supervisor", "--username", "boss",
                  "--password", PASSWORD, "--display-name", "值班长 王")
    status, first = await post_json(server.url, "/api/intake", intake_body(mode="text"))
    assert status == 201

    _, page = await new_page(browser, server.url)
    await page.goto("/supervisor")
    await page.get_by_test_id("login-username").fill("boss")
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    alert = page.get_by_test_id("ew-alert").first
    await expect(alert).to_be_visible(timeout=15_000)  # pushed by the next round
    await expect(alert.get_by_test_id("ew-why")).to_contain_text("anyone_waiting")
    await expect(alert.get_by_test_id("ew-why")).to_contain_text("threshold=0")
    await alert.get_by_test_id("ew-ack-note").fill("已通知律师上线")
    await alert.get_by_test_id("ew-ack").click()
    await expect(alert.get_by_test_id("ew-acked")).to_contain_text("值班长 王")
    await expect(alert.get_by_test_id("ew-acked")).to_contain_text("已通知律师上线")

    # A consultation rated 1 of 5 opens a follow-up the page lists and records.
    lawyer = SocketClient(server.url)
    citizen = SocketClient(server.url)
    try:
        await lawyer.connect(await login(server, "lawyer1"))
        await citizen.connect(first["token"])
        await lawyer.wait_for("offer:new", timeout=15)
        assert (await lawyer.call("offer:accept", {"case_id": first["case_id"]}))["ok"]
        assert (await lawyer.call("case:end", {"case_id": first["case_id"],
                                               "outcome": "answered"}))["ok"]
        reply = await citizen.call("case:rate", {"score": 1, "reasons": ["not_solved"],
                                                 "comment": "没有解决我的问题"})
        assert reply["ok"], reply
    finally:
        await lawyer.close()
        await citizen.close()
    await page.reload()
    row = page.get_by_test_id("fu-row")
    await expect(row).to_be_visible(timeout=15_000)
    await expect(row).to_contain_text("没有解决我的问题")
    await row.get_by_test_id("fu-note").fill("电话回访：已约律师再次解答")
    await row.get_by_test_id("fu-result").select_option("resolved")
    await row.get_by_test_id("fu-close").click()
    await expect(page.get_by_test_id("fu-empty")).to_be_visible()
    status, mine = await get_json(
        server.url, f"/api/ratings/mine?subject_kind=consultation&subject_id={first['case_id']}",
        first["token"])
    assert status == 200 and mine["rating"]["follow_up"]["result"] == "resolved"
