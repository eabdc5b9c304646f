"""Only a party signs for a party, in real Chromium (issue 14, point 2): the invitation code goes
to the party's phone (the local outbox), the mediator's console shows only where it went, the
party opens the link with the code, and signs with the code sent to their phone; a mediator
who watches sees the lock after five wrong tries and re-issues."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from tests.clients import SocketClient
from tests.e2e.harness import PASSWORD, ServerProcess, new_page, start_server
from tests.e2e.test_mediation import api, parley_user
from tests.server.agreement_samples import content_dict

PHONE = "13700137000"


@pytest.fixture
async def server(tmp_path: Path) -> Any:
    process = await start_server(tmp_path / "var", {"PARLEY_DEV_OUTBOX": "1"})
    try:
        yield process
    finally:
        process.stop()


async def outbox(s: aiohttp.ClientSession, url: str, token: str, template: str) -> list[str]:
    async with s.get(f"{url}/api/dev/outbox?recipient={PHONE}",
                     headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200, await response.text()
        body = await response.json()
    return [m["params"]["code"] for m in body["messages"] if m["template"] == template]


async def test_a_party_signs_with_the_code_sent_to_their_phone(server: ServerProcess,
                                                               browser: Browser) -> None:
    parley_user(server, "med1", "mediator")
    async with aiohttp.ClientSession() as s:
        token = (await api(s, server.url, "/api/login",
                           {"username": "med1", "password": PASSWORD}))["token"]
        case = (await api(s, server.url, "/api/mediations", {
            "applicant_name": "张三", "applicant_phone": "13800138000",
            "respondent_name": "李四", "respondent_phone": "13900139000",
            "category": "neighbour", "statement": "楼上漏水，协商赔偿"}, token))["case"]
        case_id = case["id"]
        await api(s, server.url, f"/api/mediations/{case_id}/accept",
                  {"disclosure": "与双方无利害关系", "conflict_declared": False}, token)
        applicant = await api(s, server.url, f"/api/mediations/{case_id}/invitations",
                              {"role": "applicant", "name": "张三", "id_last4": "123X",
                               "phone": PHONE}, token)
        respondent = await api(s, server.url, f"/api/mediations/{case_id}/invitations",
                               {"role": "respondent", "name": "李四", "id_last4": "5678"},
                               token)
        assert applicant["code"] is None and applicant["sent_to"] == "137****7000"
        (code,) = await outbox(s, server.url, token, "mediation_invitation")
        editor = SocketClient(server.url)
        await editor.connect(token)
        try:
            assert (await editor.call("agreement:draft", {"case_id": case_id}))["ok"]
            mediator_id = (await editor.call("agreement:open", {"case_id": case_id}))["self"]
            saved = await editor.call("agreement:save", {
                "case_id": case_id, "base_version": 1,
                "content": content_dict(applicant["participant"]["id"],
                                        respondent["participant"]["id"], mediator_id)})
            assert saved["ok"], saved
        finally:
            await editor.close()

        _, page = await new_page(browser, server.url)
        await page.goto(f"/join#code={code}")
        panel = page.get_by_test_id("agreement-panel")
        await expect(panel.get_by_test_id("agreement-status")).to_have_attribute("data-status",
                                                                                 "drafting")
        await panel.get_by_test_id("sign-name").fill("张三")
        await panel.get_by_test_id("sign-id4").fill("123X")
        # Without the code the server refuses, and the page says what is missing.
        await panel.get_by_test_id("sign-submit").click()
        await expect(panel.get_by_test_id("agreement-error")).to_have_attribute(
            "data-code", "signing_code_required")
        await panel.get_by_test_id("sign-code-send").click()
        await expect(panel.get_by_test_id("sign-code-sent")).to_contain_text("137****7000")
        (signing,) = await outbox(s, server.url, token, "signing_code")
        await panel.get_by_test_id("sign-name").fill("张三")
        await panel.get_by_test_id("sign-id4").fill("123X")
        await panel.get_by_test_id("sign-code").fill(signing)
        await panel.get_by_test_id("sign-submit").click()
        mine = applicant["participant"]["id"]
        await expect(panel.get_by_test_id(f"signer-{mine}")).to_have_attribute("data-signed",
                                                                                "true")

        # The respondent's invitation locked by wrong identity tries: the mediator's console
        # shows it (zh-CN) and re-issues; the new code is shown once, to hand over.
        _, console = await new_page(browser, server.url)
        await console.goto("/mediator")
        await console.get_by_test_id("login-username").fill("med1")
        await console.get_by_test_id("login-password").fill(PASSWORD)
        await console.get_by_test_id("login-submit").click()
        await console.get_by_test_id(f"open-case-{case_id}").click()
        redeemed = await api(s, server.url, "/api/mediation/join", {"code": respondent["code"]})
        guesser = SocketClient(server.url)
        await guesser.connect(redeemed["token"])
        try:
            for n in range(5):
                reply = await guesser.call("mediation:lobby", {
                    "case_id": case_id, "name": "李四", "id_last4": f"000{n}",
                    "consent_mediation": True, "consent_recording": True,
                    "sham_warning_read": True})
                assert reply["error"]["code"] in ("credentials_rejected", "attempts_locked")
        finally:
            await guesser.close()
        theirs = respondent["participant"]["id"]
        await expect(console.get_by_test_id(f"locked-{theirs}")).to_contain_text("已锁定")
        await console.get_by_test_id(f"reissue-{theirs}").click()
        await expect(console.get_by_test_id(f"locked-{theirs}")).to_have_count(0)
        await expect(console.get_by_test_id(f"invite-code-{theirs}")).to_have_count(1)
