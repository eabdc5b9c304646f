"""The structured agreement editor driven in real Chromium as a mediator would (docs/agreements.md):
at 1280 px the mediator drafts, fills the parties with form controls, adds and reorders terms;
an invalid resident ID and an amount of "4000元" show their problem once, next to the field,
naming the party or term (while typing, and as the server's word on save); the case number
(柯调〔YYYY〕N号) shows on the console and on the PDF; a second editor's save shows as a notice
and the stale save is refused (version conflict). At 360 px a party reads the same sections as
text under headings, comments on a term by its heading, and the page does not pan sideways."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import aiohttp
from playwright.async_api import Browser, Locator, Page, expect

from tests.clients import SocketClient
from tests.e2e.harness import PASSWORD, ServerProcess
from tests.e2e.test_layout import DESK, PHONE, context, fits
from tests.e2e.test_mediation import api, prepare_case
from tests.server.agreement_samples import APPLICANT_ID, RESPONDENT_ID

NUMBER = re.compile(r"^柯调〔\d{4}〕\d+号$")
HEADINGS = ["一、当事人", "二、纠纷主要事实和争议事项", "三、各方责任", "四、协议内容（约定事项）",
            "五、其他事项"]
BAD_ID = APPLICANT_ID[:-1] + ("0" if APPLICANT_ID[-1] != "0" else "1")


def problems(editor: Locator, path: str) -> Locator:
    return editor.locator(f'[data-problems-for="{path}"] > li')


def control(editor: Locator, path: str) -> Locator:
    return editor.locator(f'[data-path="{path}"]')


async def fill_party(editor: Locator, i: int, *, sex: str, born: str, id_number: str,
                     address: str) -> None:
    await control(editor, f"parties.{i}.sex").select_option(sex)
    await control(editor, f"parties.{i}.date_of_birth").fill(born)
    await control(editor, f"parties.{i}.ethnicity").select_option("汉族")
    await control(editor, f"parties.{i}.id_number").fill(id_number)
    await control(editor, f"parties.{i}.address").fill(address)


async def mediator_page(browser: Browser, server: ServerProcess, case_id: str) -> Page:
    page = await (await context(browser, server, DESK)).new_page()
    await page.goto("/mediator")
    await page.get_by_test_id("login-username").fill("med1")
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await page.get_by_test_id(f"open-case-{case_id}").click()
    return page


async def test_a_mediator_drafts_with_the_structured_editor_and_a_party_comments_by_heading(
        server: ServerProcess, browser: Browser, tmp_path: Path) -> None:
    case_id, invites = await prepare_case(server)
    page = await mediator_page(browser, server, case_id)
    await expect(page.get_by_test_id("case-number")).to_have_text(NUMBER)
    number = (await page.get_by_test_id("case-number").text_content() or "").strip()
    await expect(page.get_by_test_id(f"open-case-{case_id}")).to_contain_text(number)
    panel = page.get_by_test_id("agreement-panel")
    await panel.get_by_test_id("agreement-draft").click()
    editor = panel.get_by_test_id("agreement-editor")
    await expect(editor).to_be_visible()
    await expect(panel.get_by_test_id("agreement-case-number")).to_contain_text(number)
    # No raw JSON anywhere: sections in the law's order, parties as form controls.
    assert await panel.locator("textarea").evaluate_all(
        "(all) => all.every((t) => !t.value.trim().startsWith('{'))")
    assert await editor.locator("fieldset.agreement-section > legend").all_text_contents() == HEADINGS
    assert await control(editor, "parties.0.ethnicity").locator("option").count() == 57  # 56 + 请选择

    # An invalid resident ID: named, once, as it is typed.
    await fill_party(editor, 0, sex="male", born="1985-03-15", id_number=BAD_ID, address="柯城区荷花街道1号")
    await expect(problems(editor, "parties.0.id_number")).to_have_count(1)
    await expect(problems(editor, "parties.0.id_number")).to_contain_text("申请人 张三")
    await expect(problems(editor, "parties.0.id_number")).to_contain_text("校验位")
    await expect(control(editor, "parties.0.id_number")).to_have_attribute("aria-invalid", "true")
    await fill_party(editor, 1, sex="female", born="1990-07-20", id_number=RESPONDENT_ID,
                     address="柯城区荷花街道2号")
    await expect(problems(editor, "parties.1.id_number")).to_have_count(0)
    await control(editor, "issues").fill("漏水损失的赔偿金额")
    await control(editor, "responsibility").fill("李四对漏水负全部责任")

    # Two terms, obligor and obligee chosen by name; an amount with words in it.
    await editor.get_by_test_id("term-add").click()
    await editor.get_by_test_id("term-add").click()
    options = await control(editor, "obligations.0.obligor").locator("option").all_text_contents()
    assert "被申请人 李四" in options and "申请人 张三" in options
    await control(editor, "obligations.0.amount").fill("4000元")
    await expect(problems(editor, "obligations.0.amount")).to_have_count(1)
    await expect(problems(editor, "obligations.0.amount")).to_contain_text("第 1 项约定事项（李四）")
    await expect(editor.get_by_test_id("term-currency-0")).to_have_text("元（人民币）")
    await control(editor, "obligations.1.kind").select_option("act")
    await control(editor, "obligations.1.act").fill("赔礼道歉并修复防水层")
    await control(editor, "obligations.1.place").fill("张三家中")
    await control(editor, "obligations.1.method").fill("当面")
    await control(editor, "obligations.1.deadline").fill("2026-12-20")
    # Saving "4000元": the server refuses at that field, in zh-CN, naming the term.
    await editor.get_by_test_id("agreement-save").click()
    await expect(problems(editor, "obligations.0.amount")).to_contain_text("的金额：金额须为数字")
    await expect(problems(editor, "obligations.0.amount")).to_have_count(1)
    await expect(panel.get_by_test_id("agreement-error")).to_be_hidden()
    await control(editor, "obligations.0.amount").fill("4000")
    await expect(problems(editor, "obligations.0.amount")).to_have_count(0)
    await control(editor, "obligations.0.place").fill("柯城区人民调解委员会")
    await control(editor, "obligations.0.method").fill("银行转账")
    await control(editor, "obligations.0.deadline").fill("2026-12-31")
    # Reorder: the apology first.
    await editor.get_by_test_id("term-down-0").click()
    await expect(control(editor, "obligations.0.act")).to_have_value("赔礼道歉并修复防水层")
    await expect(control(editor, "obligations.1.amount")).to_have_value("4000")
    await editor.get_by_test_id("agreement-save").click()
    await expect(panel.get_by_test_id("agreement-version")).to_have_attribute("data-version", "2")
    # Saved with the bad ID (a draft may be incomplete): the server's problem, once, named.
    await expect(problems(editor, "parties.0.id_number")).to_have_count(1)
    await expect(problems(editor, "parties.0.id_number")).to_have_attribute("data-code", "party_id_invalid")
    await expect(problems(editor, "parties.0.id_number")).to_contain_text("申请人 张三：")
    assert await editor.locator('[data-code="party_id_invalid"]').count() == 1
    await control(editor, "parties.0.id_number").fill(APPLICANT_ID)
    await expect(problems(editor, "parties.0.id_number")).to_have_count(0)
    await editor.get_by_test_id("agreement-save").click()
    await expect(panel.get_by_test_id("agreement-version")).to_have_attribute("data-version", "3")
    await expect(editor.locator('[data-kind="problem"]')).to_have_count(0)
    await fits(page, "agreement editor")

    # A second editor saves meanwhile: this editor keeps its edits, says so, and its stale save
    # is refused as a version conflict, never merged silently.
    await control(editor, "other_terms").fill("双方再无其他争议")
    async with aiohttp.ClientSession() as s:
        token = (await api(s, server.url, "/api/login",
                           {"username": "med1", "password": PASSWORD}))["token"]
        other = SocketClient(server.url)
        await other.connect(token)
        try:
            opened = await other.call("agreement:open", {"case_id": case_id})
            content = opened["version"]["content"]
            saved = await other.call("agreement:save", {"case_id": case_id, "base_version": 3,
                                                        "content": {**content, "copies": 4}})
            assert saved["ok"], saved
        finally:
            await other.close()
        await expect(panel.get_by_test_id("agreement-newer")).to_be_visible()
        await expect(control(editor, "other_terms")).to_have_value("双方再无其他争议")
        await editor.get_by_test_id("agreement-save").click()
        await expect(panel.get_by_test_id("agreement-error")).to_have_attribute("data-code",
                                                                              "version_conflict")
        await panel.get_by_test_id("agreement-reload").first.click()
        await expect(panel.get_by_test_id("agreement-version")).to_have_attribute("data-version", "4")
        await expect(control(panel.get_by_test_id("agreement-editor"), "copies")).to_have_value("4")

        # The PDF: the readable case number.
        async with s.get(f"{server.url}/api/mediations/{case_id}/agreement/pdf",
                         headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status == 200
            (tmp_path / "a.pdf").write_bytes(await response.read())
    text = "".join(subprocess.run(["pdftotext", str(tmp_path / "a.pdf"), "-"], capture_output=True,
                                  text=True, check=True).stdout.split())
    assert f"案号：{number}" in text

    # The party on a 360 px phone: the same sections as text, a comment on a term by heading.
    party = await (await context(browser, server, PHONE)).new_page()
    await party.goto(invites["applicant"]["link"])
    reader = party.get_by_test_id("agreement-panel")
    text_box = reader.get_by_test_id("agreement-text")
    await expect(text_box.locator("h3")).to_have_text(HEADINGS)
    await expect(text_box.locator("[data-party]").first).to_contain_text("申请人：张三")
    terms = text_box.get_by_test_id("agreement-terms").locator("li")
    await expect(terms).to_have_count(2)
    await expect(terms.nth(0)).to_contain_text("赔礼道歉并修复防水层")
    await expect(terms.nth(1)).to_contain_text("4000.00")
    await expect(terms.nth(1).locator("h4")).to_have_text("第 2 项约定事项（李四）")
    heading = "四、协议内容（约定事项） · 第 2 项约定事项（李四）"
    await reader.get_by_test_id("comment-clause").select_option(label=heading)
    await reader.get_by_test_id("comment-text").fill("请把付款期限提前到12月25日")
    await reader.get_by_test_id("comment-submit").click()
    comments = reader.get_by_test_id("agreement-comments")
    await expect(comments).to_contain_text(f"张三 对“{heading}”（第 4 版）：请把付款期限提前到12月25日")
    assert "obligations." not in (await comments.text_content() or "")
    await fits(party, "agreement party view")
    # The mediator sees the comment pushed, by the same heading.
    await expect(panel.get_by_test_id("agreement-comments")).to_contain_text(heading)
