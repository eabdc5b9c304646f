"""The one window in real Chromium: a citizen applies for mediation and the other party refuses;
a legal-aid application with a missing document told once, supplied, granted and assigned to a
lawyer of another region; a consultation the lawyer hands to mediation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from server.catalogue.loader import default_catalogue
from server.clocks.clock import due_date, local_date
from tests.e2e.harness import PASSWORD, ServerProcess, new_page, start_server
from tests.e2e.test_consultation import sign_in, submit_intake, take_next

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
async def server_with_outbox(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    """Messages to phones readable by staff (development): the other party's link is read there."""
    process = await start_server(tmp_path / "var", {"PARLEY_DEV_OUTBOX": "1"})
    try:
        yield process
    finally:
        process.stop()


def staff(server: ServerProcess, role: str, username: str, institution: str | None = None,
          **extra: str) -> None:
    args = ["user", "add", "--role", role, "--username", username, "--password", PASSWORD,
            "--display-name", extra.get("display_name", username)]
    if institution:
        args += ["--institution", institution]
    if "region" in extra:
        args += ["--region", extra["region"]]
    server.parley(*args)


async def desk_sign_in(page: Page, username: str) -> None:
    await page.set_viewport_size({"width": 1280, "height": 800})
    await page.goto("/desk")
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("desk-queue")).to_be_visible()


async def apply(page: Page, item: str, **fields: str) -> str:
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.goto("/apply")
    await page.get_by_test_id(f"apply-item-{item}").click()
    await page.get_by_test_id("apply-name").fill("张三")
    await page.get_by_test_id("apply-phone").fill("138 0013 8000")
    await page.get_by_test_id("apply-region").select_option(fields.pop("region", "qz-kecheng"))
    await page.get_by_test_id("apply-category").select_option(fields.pop("category", "labour"))
    for testid, value in fields.items():
        target = page.get_by_test_id(testid)
        if await target.evaluate("(e) => e.tagName") == "SELECT":
            await target.select_option(value)
        else:
            await target.fill(value)
    await page.get_by_test_id("apply-submit").click()
    number = page.get_by_test_id("status-number")
    await expect(number).not_to_be_empty()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    return await number.inner_text()


async def open_in_desk(desk: Page, number: str) -> None:
    await desk.reload()
    await desk.get_by_role("button", name=number).click()
    await expect(desk.get_by_test_id("desk-detail-number")).to_have_text(number)


async def invite_link(server: ServerProcess, staff_token: str, phone: str) -> str:
    """The link the notifier sent to the other party's phone (the local outbox), as a path."""
    async with aiohttp.ClientSession() as s, s.get(
            f"{server.url}/api/dev/outbox?recipient={phone}",
            headers={"Authorization": f"Bearer {staff_token}"}) as response:
        assert response.status == 200, await response.text()
        messages = (await response.json())["messages"]
    links = [m["params"]["link"] for m in messages if m["template"] == "mediation_application_invite"]
    assert len(links) == 1, messages
    return "/" + links[0].split("/", 3)[3]


async def test_a_citizen_applies_for_mediation_and_the_other_party_refuses(
        server_with_outbox: ServerProcess, browser: Browser) -> None:
    server = server_with_outbox
    staff(server, "mediator", "med1", "qz-kecheng-committee", display_name="王调解员")
    _, citizen = await new_page(browser, server.url)
    _, mediator = await new_page(browser, server.url)
    number = await apply(citizen, "mediation", category="neighbour",
                         **{"apply-respondent-name": "李四", "apply-respondent-phone": "13700137000",
                            "apply-statement": "邻居加盖二层挡住采光，协商不成。"})
    assert number.startswith("柯调〔")
    await expect(citizen.get_by_test_id("status-state")).to_have_attribute("data-state", "received")
    # The deadline shows its date and the days left, never a time alone.
    await expect(citizen.get_by_test_id("status-deadline")).to_contain_text("年")
    await expect(citizen.get_by_test_id("status-deadline")).to_contain_text("天")

    await desk_sign_in(mediator, "med1")
    await open_in_desk(mediator, number)
    await mediator.get_by_test_id("desk-action-accept").click()
    await expect(mediator.get_by_test_id("desk-detail-state")).to_have_attribute(
        "data-state", "awaiting_respondent")

    # The other party, in their own browser, opens the link sent to their phone and refuses:
    # one party's clear refusal ends it (人民调解法 Art 17).
    token = await mediator.evaluate("sessionStorage.getItem('parley.desk')")
    link = await invite_link(server, token, "13700137000")
    _, respondent = await new_page(browser, server.url)
    await respondent.set_viewport_size({"width": 360, "height": 740})
    await respondent.goto(link)
    await expect(respondent.get_by_test_id("status-number")).to_have_text(number)
    await expect(respondent.get_by_test_id("action-respondent_agree")).to_be_visible()
    await respondent.get_by_test_id("status-reason").fill("我不同意调解，准备直接起诉")
    await respondent.get_by_test_id("action-respondent_refuse").click()
    await expect(respondent.get_by_test_id("status-state")).to_have_attribute("data-state", "refused")
    await expect(respondent.get_by_test_id("action-respondent_agree")).to_have_count(0)
    assert await respondent.evaluate("document.documentElement.scrollWidth") <= 360

    await citizen.reload()
    await expect(citizen.get_by_test_id("status-state")).to_have_attribute("data-state", "refused")
    await expect(citizen.get_by_test_id("status-other-routes")).to_be_visible()
    await expect(citizen.get_by_test_id("status-timeline")).to_contain_text("我不同意调解，准备直接起诉")
    # The notice of the other routes (Art 26) opens as a printable page.
    async with citizen.context.expect_page() as opened:
        await citizen.get_by_test_id("status-notice").click()
    notice = await opened.value
    await notice.wait_for_load_state()
    body = notice.locator("body")
    await expect(body).to_contain_text("告知书：其他纠纷解决途径")
    await expect(body).to_contain_text("第二十六条")
    await expect(body).to_contain_text("向人民法院提起诉讼")
    await expect(body).to_contain_text(number)
    await expect(mediator.get_by_test_id("desk-queue")).to_be_visible()
    await mediator.reload()
    await expect(mediator.get_by_test_id("desk-queue")).not_to_contain_text(number)


async def test_legal_aid_told_once_supplied_granted_and_assigned_across_regions(
        server: ServerProcess, browser: Browser, tmp_path: Path) -> None:
    staff(server, "legal_aid", "aid1", "qz-kecheng-legal-aid", display_name="柯城援助中心")
    staff(server, "lawyer", "yushan", display_name="玉山刘律师", region="sr-yushan")
    _, citizen = await new_page(browser, server.url)
    _, centre = await new_page(browser, server.url)
    number = await apply(citizen, "legal_aid", **{
        "apply-statement": "公司拖欠工资三个月。", "apply-hardship-select": "statement"})
    assert number.startswith("柯援〔")

    await desk_sign_in(centre, "aid1")
    await open_in_desk(centre, number)
    clock = centre.get_by_test_id("desk-detail-clocks").locator("[data-code='review']")
    # Seven calendar days from today in China, moved to the next working day when the last
    # one is a day off (Civil Code Art 203): "还有 7 天" only when that day is a working day.
    now = datetime.now(UTC)
    due = due_date(now, 7, False, default_catalogue().calendar)
    await expect(clock).to_have_attribute("data-due", due.isoformat())
    await expect(clock).to_contain_text(f"还有 {(due - local_date(now)).days} 天")
    await centre.get_by_test_id("desk-missing-case_materials").check()
    await centre.get_by_test_id("desk-action-request_materials").click()
    await expect(centre.get_by_test_id("desk-detail-state")).to_have_attribute(
        "data-state", "awaiting_materials")
    # Told once: the centre cannot ask again.
    await expect(centre.get_by_test_id("desk-action-request_materials")).to_have_count(0)

    await citizen.reload()
    await expect(citizen.get_by_test_id("status-missing")).to_contain_text("与所申请法律援助事项有关的材料")
    document = tmp_path / "劳动合同.pdf"
    document.write_bytes(PDF)
    await citizen.get_by_test_id("upload-case_materials").set_input_files(str(document))
    await expect(citizen.get_by_test_id("status-timeline")).to_contain_text("上传材料")
    await citizen.get_by_test_id("action-supply_materials").click()
    await expect(citizen.get_by_test_id("status-state")).to_have_attribute("data-state", "received")

    await open_in_desk(centre, number)
    await centre.get_by_test_id("desk-action-grant").click()
    await expect(centre.get_by_test_id("desk-lawyer")).to_contain_text("玉山刘律师")
    await centre.get_by_test_id("desk-lawyer").select_option(label="玉山刘律师 · 上饶市玉山县 · 在办 0 件")
    await centre.get_by_test_id("desk-action-assign").click()
    await expect(centre.get_by_test_id("desk-queue")).not_to_contain_text(number)

    await citizen.reload()
    await expect(citizen.get_by_test_id("status-state")).to_have_attribute("data-state", "assigned")
    timeline = citizen.get_by_test_id("status-timeline")
    for step in ("一次性告知需补充的材料", "补齐材料", "决定给予法律援助", "指派律师"):
        await expect(timeline).to_contain_text(step)

    # The Yushan lawyer's own work queue holds it, with the applicant's contact.
    _, lawyer = await new_page(browser, server.url)
    await desk_sign_in(lawyer, "yushan")
    await open_in_desk(lawyer, number)
    await expect(lawyer.get_by_test_id("desk-detail-facts")).to_contain_text("13800138000")
    await expect(lawyer.get_by_test_id("desk-detail-state")).to_have_attribute("data-state", "assigned")


async def test_a_consultation_the_lawyer_hands_to_mediation(server: ServerProcess,
                                                            browser: Browser) -> None:
    server.add_lawyer("lawyer1")
    staff(server, "mediator", "med1", "qz-kecheng-committee")
    _, citizen = await new_page(browser, server.url)
    _, lawyer = await new_page(browser, server.url)
    await submit_intake(citizen, mode="text", category="neighbour", region="qz-kecheng")
    await sign_in(lawyer, "lawyer1")
    await take_next(lawyer)
    await lawyer.get_by_test_id("case-outcome").select_option("referred_mediation")
    await lawyer.get_by_test_id("end-case").click()
    link = citizen.get_by_test_id("referral-link")
    await expect(link).to_be_visible()
    await link.click()
    await expect(citizen.get_by_test_id("status-state")).to_have_attribute("data-state", "draft")
    await citizen.get_by_test_id("confirm-respondent-name").fill("王五")
    await citizen.get_by_test_id("action-confirm").click()
    await expect(citizen.get_by_test_id("status-state")).to_have_attribute("data-state", "received")

    _, mediator = await new_page(browser, server.url)
    await desk_sign_in(mediator, "med1")
    rows = mediator.get_by_test_id("desk-queue").locator("tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("张三")
    # The committee accepts; the other party (filed without a phone) agrees by telephone, and
    # the mediator records their phone with the agreement to open the mediation case.
    number = await rows.locator("button").inner_text()
    await open_in_desk(mediator, number)
    await mediator.get_by_test_id("desk-action-accept").click()
    await expect(mediator.get_by_test_id("desk-detail-state")).to_have_attribute(
        "data-state", "awaiting_respondent")
    await expect(mediator.get_by_test_id("desk-respondent-phone-field")).to_be_visible()
    await mediator.get_by_test_id("desk-action-respondent_agree").click()
    await expect(mediator.get_by_test_id("desk-respondent-phone-error")).to_be_visible()
    await mediator.get_by_test_id("desk-respondent-phone").fill("13700137000")
    await mediator.get_by_test_id("desk-action-respondent_agree").click()
    await expect(mediator.get_by_test_id("desk-detail-state")).to_have_attribute(
        "data-state", "in_mediation")
