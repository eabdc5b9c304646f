"""From an agreed mediation to a court's confirmation, in real Chromium: the case, invitations and
the agreement's text are made through the API (fast); both parties sign in two real pages with
WebCrypto keys made and kept there; the agreement takes effect; they apply jointly; a clerk at
/court sees the verified package and confirms; the parties see the outcome and the service
receipts are recorded; `parley verify package` checks the package offline."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import aiohttp
from playwright.async_api import Browser, Page, expect

from tests.clients import SocketClient
from tests.e2e.harness import PARLEY, PASSWORD, ServerProcess, new_page
from tests.e2e.test_mediation import api, join, parley_user, playing, prepare_case
from tests.server.agreement_samples import Signer, content_dict


async def get(session: aiohttp.ClientSession, url: str, token: str) -> Any:
    async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200, await response.text()
        if response.content_type == "application/json":
            return await response.json()
        return await response.read()


async def sign_in_page(page: Page, invite: dict[str, Any]) -> None:
    await page.goto(invite["link"])
    panel = page.get_by_test_id("agreement-panel")
    await expect(panel.get_by_test_id("agreement-status")).to_have_attribute("data-status",
                                                                             "drafting")
    await expect(panel.get_by_test_id("agreement-terms")).to_contain_text("5000.00")
    await panel.get_by_test_id("sign-name").fill(invite["name"])
    await panel.get_by_test_id("sign-id4").fill(invite["id4"])
    await panel.get_by_test_id("sign-submit").click()
    mine = invite["participant"]["id"]
    await expect(panel.get_by_test_id(f"signer-{mine}")).to_have_attribute("data-signed", "true")


async def test_parties_sign_in_chromium_and_a_clerk_confirms(server: ServerProcess,
                                                            browser: Browser) -> None:
    case_id, invites = await prepare_case(server)
    parley_user(server, "clerk1", "clerk")
    server.parley("user", "add", "--role", "clerk", "--username", "clerk2", "--password",
                  PASSWORD, "--court", "qz-kecheng-court")
    async with aiohttp.ClientSession() as s:
        token = (await api(s, server.url, "/api/login",
                           {"username": "med1", "password": PASSWORD}))["token"]
        mediator_id = (await get(s, f"{server.url}/api/mediations/{case_id}", token))["self"]["id"]
        editor = SocketClient(server.url)
        await editor.connect(token)
        try:
            drafted = await editor.call("agreement:draft", {"case_id": case_id})
            assert drafted["ok"], drafted
            saved = await editor.call("agreement:save", {
                "case_id": case_id, "base_version": 1,
                "content": content_dict(invites["applicant"]["participant"]["id"],
                                        invites["respondent"]["participant"]["id"],
                                        mediator_id)})
            assert saved["ok"] and saved["problems"] == [], saved
        finally:
            await editor.close()
        # The mediator signs first (a browser-like key in Python; the parties use Chromium's).
        version = saved["version"]
        signer = Signer()
        async with s.post(f"{server.url}/api/mediations/{case_id}/agreement/signatures", json={
                "version": version["number"], "sha256": version["sha256"],
                "signature": signer.sign(version["sha256"]), "public_key": signer.jwk},
                headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status == 201, await response.text()

        _, applicant = await new_page(browser, server.url)
        _, respondent = await new_page(browser, server.url)
        await sign_in_page(applicant, invites["applicant"])
        await sign_in_page(respondent, invites["respondent"])
        for page in (applicant, respondent):
            panel = page.get_by_test_id("agreement-panel")
            await expect(panel.get_by_test_id("agreement-status")).to_have_attribute(
                "data-status", "effective")
            await expect(panel.get_by_test_id("agreement-deadline")).to_be_visible()
        view = await get(s, f"{server.url}/api/mediations/{case_id}/agreement", token)
        signatures = [x for x in view["signatures"] if x["voided_at"] is None]
        assert [x["role"] for x in signatures] == ["mediator", "applicant", "respondent",
                                                   "committee"]
        assert all("HeadlessChrome" in (x["context"]["user_agent"] or "")
                   for x in signatures[1:3])

        # The joint application: the applicant proposes, the respondent confirms.
        a_panel = applicant.get_by_test_id("agreement-panel")
        await expect(a_panel.get_by_test_id("apply-court").locator("option")).to_have_count(2)
        await a_panel.get_by_test_id("apply-court").select_option("qz-kecheng-court")
        await a_panel.get_by_test_id("apply-submit").click()
        r_panel = respondent.get_by_test_id("agreement-panel")
        await r_panel.get_by_test_id("application-confirm").click()
        await expect(r_panel.locator('[data-testid^="application-"][data-status]')).to_have_attribute(
            "data-status", "submitted")

        # The clerk of that court.
        _, court = await new_page(browser, server.url)
        await court.set_viewport_size({"width": 1280, "height": 800})
        await court.goto("/court")
        await court.get_by_test_id("login-username").fill("clerk2")
        await court.get_by_test_id("login-password").fill(PASSWORD)
        await court.get_by_test_id("login-submit").click()
        await expect(court.get_by_test_id("court-name")).to_have_text("衢州市柯城区人民法院")
        # Cases told apart by their readable number and parties, not an id.
        listed = court.get_by_test_id("court-applications").locator("li").first
        await expect(listed).to_have_attribute("data-case-number", re.compile(r"^柯调〔\d{4}〕\d+号$"))
        await expect(listed).to_contain_text("张三 与 李四")
        await court.locator('[data-testid^="court-open-"]').first.click()
        await expect(court.get_by_test_id("court-case-number")).to_have_text(
            re.compile(r"^柯调〔\d{4}〕\d+号$"))
        await expect(court.get_by_test_id("court-verification")).to_have_attribute("data-ok", "true")
        # The clerk reads what they confirm: the parties by name, each term with its amount.
        await expect(court.get_by_test_id("court-parties")).to_contain_text("张三")
        await expect(court.get_by_test_id("court-parties")).to_contain_text("李四")
        await expect(court.get_by_test_id("court-terms").locator('[data-term="o1"]')).to_contain_text(
            "5000.00")
        await expect(court.get_by_test_id("court-terms").locator('[data-term="o1"]')).to_contain_text(
            "李四 向 张三")
        await expect(court.get_by_test_id("court-signatures").locator(
            '[data-state="valid"]')).not_to_have_count(0)
        await expect(court.get_by_test_id("court-signatures").locator(
            ':not([data-state="valid"])')).to_have_count(0)
        # The confirmation session in a room: the clerk presides, both parties come in through
        # their /join lobby and are admitted; the clerk sees and hears both.
        await court.get_by_test_id("court-room-start").click()
        await expect(court.get_by_test_id("court-room-status")).to_have_attribute("data-state",
                                                                                  "live")
        for page in (applicant, respondent):
            await expect(page.get_by_test_id("lobby-court-session")).to_be_visible()
        await join(applicant, invites["applicant"])
        await join(respondent, invites["respondent"])
        party_ids = [invites[r]["participant"]["id"] for r in ("applicant", "respondent")]
        for pid in party_ids:
            await court.get_by_test_id(f"court-admit-{pid}").click()
            await expect(court.get_by_test_id(f"court-member-{pid}")).to_be_visible()
        await playing(court, party_ids)
        await court.get_by_test_id("court-room-end").click()
        await expect(court.get_by_test_id("court-room-status")).to_have_attribute("data-state",
                                                                                  "ended")
        await expect(court.get_by_test_id("court-room-status")).to_contain_text("张三")
        await court.get_by_test_id("session-record").fill("双方均到场，表示自愿，理解协议内容")
        await court.get_by_test_id("session-submit").click()
        # No reason, no decision; with one, a second step says what will be decided.
        await court.get_by_test_id("decision-confirm").click()
        await expect(court.get_by_test_id("court-error")).to_contain_text("裁定理由")
        await expect(court.get_by_test_id("decision-review")).to_be_hidden()
        await court.get_by_test_id("decision-reasons").fill("协议不违反法律规定")
        await court.get_by_test_id("decision-confirm").click()
        await expect(court.get_by_test_id("decision-review-text")).to_contain_text("协议不违反法律规定")
        await expect(court.get_by_test_id("court-decision")).to_have_attribute("data-decision", "")
        await court.get_by_test_id("decision-final").click()
        await expect(court.get_by_test_id("court-decision")).to_have_attribute("data-decision",
                                                                               "confirmed")
        for page in (applicant, respondent):
            await expect(page.get_by_test_id("agreement-decision")).to_have_attribute(
                "data-decision", "confirmed")
        await court.locator('[data-testid^="court-open-"]').first.click()
        await expect(court.get_by_test_id("court-receipts").locator(
            '[data-delivered="true"]')).to_have_count(2)

        clerk = (await api(s, server.url, "/api/login",
                           {"username": "clerk2", "password": PASSWORD}))["token"]
        listing = await get(s, f"{server.url}/api/court/applications", clerk)
        app_id = listing["applications"][0]["id"]
        package = await get(s, f"{server.url}/api/court/applications/{app_id}/package", clerk)
        assert isinstance(package, bytes)
        path = server.log_path.parent / "package.zip"
        path.write_bytes(package)
        result = subprocess.run([PARLEY, "verify", "package", str(path)], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0 and result.stdout.startswith("OK"), result.stdout
        path.write_bytes(package[:100] + bytes([package[100] ^ 1]) + package[101:])
        result = subprocess.run([PARLEY, "verify", "package", str(path)], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 1 and "FAILED" in result.stdout
