"""Filing for someone else, in real Chromium at 360 px: a village legal advisor signs in at
/apply?for=citizen and files for a villager (recorded as filed by the advisor on the timeline);
the villager sees it at /my and names the advisor as proxy; a son files for his father as proxy
(the relationship recorded), signs in with his own phone and withdraws for him, recorded as the
proxy's step."""

from __future__ import annotations

import aiohttp
from playwright.async_api import Browser, Dialog, Page, expect

from tests.e2e.harness import PASSWORD, ServerProcess, new_page
from tests.e2e.test_my_cases import card, login, phone_sign_in
from tests.e2e.test_my_cases import server as server  # the fixture with the outbox readable
from tests.e2e.test_one_window import staff


async def fill_legal_aid(page: Page, name: str, phone: str) -> None:
    await page.get_by_test_id("apply-item-legal_aid").click()
    await page.get_by_test_id("apply-name").fill(name)
    await page.get_by_test_id("apply-phone").fill(phone)
    await page.get_by_test_id("apply-region").select_option("qz-kecheng")
    await page.get_by_test_id("apply-category").select_option("labour")
    await page.get_by_test_id("apply-statement").fill("在工地受伤，老板不给工伤赔偿。")
    await page.get_by_test_id("apply-hardship-select").select_option("statement")


async def submitted(page: Page) -> str:
    await page.get_by_test_id("apply-submit").click()
    number = page.get_by_test_id("status-number")
    await expect(number).not_to_be_empty()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    return await number.inner_text()


async def test_a_village_advisor_files_for_a_villager_recorded_as_such(
        server: ServerProcess, browser: Browser) -> None:
    staff(server, "window", "advisor1", display_name="妙源村法律顾问")
    staff(server, "mediator", "med1", "qz-kecheng-committee")
    _, advisor = await new_page(browser, server.url)
    await advisor.set_viewport_size({"width": 360, "height": 740})
    await advisor.goto("/apply?for=citizen")
    await advisor.get_by_test_id("login-username").fill("advisor1")
    await advisor.get_by_test_id("login-password").fill(PASSWORD)
    await advisor.get_by_test_id("login-submit").click()
    await expect(advisor.get_by_test_id("apply-filing-as")).to_contain_text("妙源村法律顾问")
    await fill_legal_aid(advisor, "李老汉", "13600136000")
    # Staff file under their own name: no proxy fields, the village they serve instead.
    await expect(advisor.get_by_test_id("apply-proxy")).to_be_hidden()
    await advisor.get_by_test_id("apply-village").select_option("qz-kecheng-miaoyuan")
    number = await submitted(advisor)
    await expect(advisor.get_by_test_id("status-timeline")).to_contain_text("由村（社区）法律顾问代为提交")

    async with aiohttp.ClientSession() as s:
        _, villager = await new_page(browser, server.url)
        await phone_sign_in(villager, s, server.url, await login(s, server.url, "med1"), "13600136000")
    shown = card(villager, number)
    await expect(shown.get_by_test_id("case-filed-as")).to_have_attribute("data-filed-as", "advisor")
    # The villager names the advisor to act for them from now on.
    await shown.get_by_test_id("case-proxy-form").locator("summary").click()
    await shown.get_by_test_id("case-proxy-name").fill("王顾问")
    await shown.get_by_test_id("case-proxy-relationship").select_option("advisor")
    await shown.get_by_test_id("case-proxy-phone").fill("13500135000")
    await shown.get_by_test_id("case-name-proxy").click()
    await expect(shown.get_by_test_id("case-proxy")).to_contain_text("王顾问（村（社区）法律顾问）")
    assert await villager.evaluate("document.documentElement.scrollWidth") <= 360


async def test_a_son_files_for_his_father_and_acts_for_him(server: ServerProcess,
                                                           browser: Browser) -> None:
    staff(server, "mediator", "med1", "qz-kecheng-committee")
    _, son = await new_page(browser, server.url)
    await son.set_viewport_size({"width": 360, "height": 740})
    await son.goto("/apply")
    await fill_legal_aid(son, "张老三", "13800138000")
    await son.get_by_test_id("apply-for-other").check()
    await son.get_by_test_id("apply-proxy-name").fill("张小三")
    await son.get_by_test_id("apply-proxy-relationship").select_option("child")
    await son.get_by_test_id("apply-proxy-phone").fill("13900139000")
    number = await submitted(son)
    await expect(son.get_by_test_id("status-timeline")).to_contain_text("由代理人代为提交")

    # On another phone the son signs in with his own number and sees his father's case.
    _, later = await new_page(browser, server.url)
    async with aiohttp.ClientSession() as s:
        await phone_sign_in(later, s, server.url, await login(s, server.url, "med1"), "13900139000")
    shown = card(later, number)
    await expect(shown.get_by_test_id("case-proxy")).to_contain_text("您作为代理人（子女）为 张老三")
    await shown.get_by_test_id("case-open").click()

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    later.on("dialog", accept)
    await later.get_by_test_id("action-withdraw").click()
    await expect(later.get_by_test_id("status-state")).to_have_attribute("data-state", "withdrawn")
    await expect(later.get_by_test_id("status-timeline")).to_contain_text("撤回（代理人（子女）办理）")
