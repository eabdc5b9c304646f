"""A citizen's "my cases" page (/my) in real Chromium at 360 px: sign in with the phone and the
one-time code the local outbox holds, see every case of that number in one history (state in
words, what is missing, the next deadline with its date and days left, who is answerable, the
consultation), acknowledge the one-time notice, upload what was missing and confirm a lawyer's
转人民调解 draft."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from tests.clients import intake_body
from tests.e2e.harness import PASSWORD, ServerProcess, new_page, start_server
from tests.e2e.test_mediation import api
from tests.e2e.test_one_window import PDF, staff

PHONE = "13800138000"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    # The outbox is readable by staff in development: the test reads the code the phone got.
    process = await start_server(tmp_path / "var", {"PARLEY_DEV_OUTBOX": "1"})
    try:
        yield process
    finally:
        process.stop()


async def login(s: aiohttp.ClientSession, url: str, username: str) -> str:
    return str((await api(s, url, "/api/login", {"username": username, "password": PASSWORD}))["token"])


async def last_code(s: aiohttp.ClientSession, url: str, token: str, phone: str) -> str:
    async with s.get(f"{url}/api/dev/outbox?recipient={phone}",
                     headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200, await response.text()
        messages = (await response.json())["messages"]
    codes = [m["params"]["code"] for m in messages if m["template"] == "citizen_sign_in_code"]
    assert codes, messages
    return str(codes[0])


async def phone_sign_in(page: Page, s: aiohttp.ClientSession, url: str, staff_token: str,
                        phone: str) -> None:
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.goto("/my")
    await page.get_by_test_id("my-phone").fill(phone)
    await page.get_by_test_id("my-send-code").click()
    await expect(page.get_by_test_id("my-code-sent")).to_be_visible()
    await page.get_by_test_id("my-code").fill(await last_code(s, url, staff_token, phone))
    await page.get_by_test_id("my-sign-in").click()
    await expect(page.get_by_test_id("my-history")).to_be_visible()


async def prepare(server: ServerProcess, s: aiohttp.ClientSession) -> dict[str, Any]:
    """A legal-aid application told once what is missing, a consultation, and the lawyer's
    转人民调解 draft from it: all of the same phone."""
    staff(server, "legal_aid", "aid1", "qz-kecheng-legal-aid", display_name="柯城援助中心")
    staff(server, "mediator", "med1", "qz-kecheng-committee", display_name="王调解员")
    server.add_lawyer("lawyer1")
    url = server.url
    aid = (await api(s, url, "/api/applications", {
        "item": "legal_aid", "region": "qz-kecheng", "category": "labour",
        "applicant_name": "张三", "applicant_phone": PHONE, "statement": "公司拖欠工资三个月",
        "hardship": "statement",
        "materials": [{"code": "id_proof", "status": "provided"},
                      {"code": "hardship", "status": "provided"}]}))["application"]
    centre = await login(s, url, "aid1")
    await api(s, url, f"/api/applications/{aid['id']}/actions/request_materials",
              {"version": aid["version"], "materials": ["case_materials"]}, centre)
    consultation = await api(s, url, "/api/intake", intake_body(category="neighbour"))
    lawyer = await login(s, url, "lawyer1")
    draft = (await api(s, url, "/api/applications", {
        "item": "mediation", "region": "qz-kecheng", "category": "neighbour",
        "applicant_name": "张三", "applicant_phone": PHONE, "statement": "邻居加盖挡住采光",
        "source_case_id": consultation["case_id"]}, lawyer))["application"]
    assert draft["state"] == "draft"
    return {"aid": aid, "draft": draft, "mediator": await login(s, url, "med1")}


def card(page: Page, number: str) -> Any:
    return page.locator(f"[data-testid='my-case'][data-number='{number}']")


async def test_a_citizen_signs_in_by_phone_and_works_on_every_case(
        server: ServerProcess, browser: Browser, tmp_path: Path) -> None:
    async with aiohttp.ClientSession() as s:
        made = await prepare(server, s)
        _, page = await new_page(browser, server.url)
        await phone_sign_in(page, s, server.url, made["mediator"], PHONE)

    history = page.get_by_test_id("my-history")
    await expect(history.get_by_test_id("my-case")).to_have_count(3)
    await expect(history.locator("[data-kind='consultation']")).to_contain_text("法律咨询")
    await expect(history.locator("[data-kind='consultation']")).to_contain_text("排队等候中")

    aid = card(page, made["aid"]["number"])
    # The state in words, who is answerable, and the deadline with its date and days left.
    await expect(aid.get_by_test_id("case-state")).to_contain_text("待补充材料")
    await expect(aid.get_by_test_id("case-answerable")).to_contain_text("法律援助中心")
    deadline = aid.get_by_test_id("case-deadline")
    await expect(deadline).to_contain_text("年")
    await expect(deadline).to_contain_text("天")
    # The one-time notice lists everything; the citizen acknowledges it, once.
    notice = aid.get_by_test_id("case-notice")
    await expect(notice).to_contain_text("与所申请法律援助事项有关的材料")
    await aid.get_by_test_id("case-action-acknowledge_notice").click()
    await expect(aid.get_by_test_id("case-acknowledged")).to_be_visible()
    await expect(aid.get_by_test_id("case-action-acknowledge_notice")).to_have_count(0)
    # What is missing is uploaded here and the review starts again.
    document = tmp_path / "劳动合同.pdf"
    document.write_bytes(PDF)
    await aid.get_by_test_id("case-upload-case_materials").set_input_files(str(document))
    await expect(aid.get_by_test_id("case-missing-block")).to_have_count(0)
    await aid.get_by_test_id("case-action-supply_materials").click()
    await expect(aid.get_by_test_id("case-state")).to_have_attribute("data-state", "received")

    # The lawyer's referral draft is completed and confirmed by the citizen.
    draft = card(page, made["draft"]["number"])
    await expect(draft.get_by_test_id("case-state")).to_have_attribute("data-state", "draft")
    await expect(draft.get_by_test_id("case-confirm")).to_contain_text("邻居加盖挡住采光")
    await draft.get_by_test_id("case-confirm-respondent_name").fill("李四")
    await draft.get_by_test_id("case-action-confirm").click()
    await expect(draft.get_by_test_id("case-state")).to_have_attribute("data-state", "received")
    await expect(draft.get_by_test_id("case-answerable")).to_contain_text("人民调解委员会")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360

    # The details page opens with the same sign-in and shows the whole timeline.
    await aid.get_by_test_id("case-open").click()
    timeline = page.get_by_test_id("status-timeline")
    for step in ("一次性告知需补充的材料", "申请人确认收到一次性告知", "上传材料", "补齐材料"):
        await expect(timeline).to_contain_text(step)

    # A wrong code is refused with its reason, at the field.
    _, other = await new_page(browser, server.url)
    await other.set_viewport_size({"width": 360, "height": 740})
    await other.goto("/my")
    await other.get_by_test_id("my-phone").fill("13900139000")
    await other.get_by_test_id("my-code").fill("123456")
    await other.get_by_test_id("my-sign-in").click()
    await expect(other.get_by_test_id("my-code-error")).to_be_visible()
