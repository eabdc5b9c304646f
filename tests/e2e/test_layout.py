"""Every page as its users see it, in real Chromium on a 360x740 phone and a 1280x800 desk: no
page pans sideways, nothing sits over a control, the mediator's controls are all on screen,
deadlines show their date and the days left, states are words (docs/ui.md, "Fitting the
screen" and "Dates and times"), errors name their field."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.e2e.harness import PASSWORD, ServerProcess
from tests.e2e.scene import agreed_case, staff_sign_in
from tests.e2e.test_consultation import submit_intake
from tests.e2e.test_mediation import join, open_room

PHONE = {"width": 360, "height": 740}
DESK = {"width": 1280, "height": 800}

# The page's width against the window's, and every visible element that reaches past either
# edge of the window, unless a container scrolls it on purpose (overflow-x: auto | scroll). A
# box clipped by overflow: hidden still counts: its content is cut off.
OVERFLOW_JS = """() => {
  const inner = window.innerWidth;
  const offenders = [];
  for (const e of document.body.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) continue;
    if (r.right <= inner + 1 && r.left >= -1) continue;
    let scrolled = false;
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) { scrolled = true; break; }
    }
    if (scrolled || getComputedStyle(e).visibility === 'hidden') continue;
    const name = e.dataset.testid || (e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''));
    offenders.push(`${name} [${Math.round(r.left)}, ${Math.round(r.right)}]`);
  }
  return { scroll: document.documentElement.scrollWidth, inner, offenders: offenders.slice(0, 8) };
}"""

# Two elements' boxes overlap (by more than a pixel each way).
OVERLAP_JS = """([a, b]) => {
  const box = (id) => document.querySelector(`[data-testid="${id}"]`).getBoundingClientRect();
  const r = box(a), s = box(b);
  return r.left < s.right - 1 && s.left < r.right - 1 && r.top < s.bottom - 1 && s.top < r.bottom - 1;
}"""

IN_VIEW_JS = """(id) => { const r = document.querySelector(`[data-testid="${id}"]`).getBoundingClientRect();
  return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth; }"""

# PARLEY_SHOTS=<folder>: a full-page screenshot of every page checked, to look at them.
SHOTS = os.environ.get("PARLEY_SHOTS")

DATE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日")
DAYS_LEFT = re.compile(r"还有 \d+ 天")


async def fits(page: Page, what: str) -> None:
    await page.wait_for_load_state("networkidle")
    found: dict[str, Any] = await page.evaluate(OVERFLOW_JS)
    if SHOTS:
        name = re.sub(r"[^a-z0-9]+", "-", f"{what} {found['inner']}".lower()).strip("-")
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)
    assert found["scroll"] <= found["inner"] and not found["offenders"], (what, found)


async def context(browser: Browser, server: ServerProcess, viewport: dict[str, int]
                  ) -> BrowserContext:
    return await browser.new_context(base_url=server.url, permissions=["camera", "microphone"],
                                     viewport=viewport, locale="zh-CN")


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["360x740", "1280x800"])
async def test_every_page_fits_and_shows_dates(server: ServerProcess, browser: Browser,
                                               viewport: dict[str, int]) -> None:
    scene = await agreed_case(server)
    width = viewport["width"]
    applicant_id = scene.invites["applicant"]["participant"]["id"]

    citizen = await (await context(browser, server, viewport)).new_page()
    await citizen.goto("/")
    await expect(citizen.get_by_test_id("intake-name")).to_be_visible()
    await fits(citizen, "citizen intake")
    await submit_intake(citizen)
    await expect(citizen.get_by_test_id("queue-case-id-value")).to_be_visible()
    await fits(citizen, "citizen waiting")

    staff = await (await context(browser, server, viewport)).new_page()
    for path in ("/agent", "/supervisor", "/recordings/no-such-recording", "/apply", "/desk",
                 "/my", "/apply?for=citizen", "/court"):
        await staff.goto(path)
        await expect(staff.get_by_test_id("lang-switch")).to_be_visible()
        await fits(staff, path)
    await expect(staff.locator('[data-view="login"] h1')).to_have_text("法院工作人员登录")

    # The court clerk: the application with its two time limits as dates, states in words.
    await staff_sign_in(staff, "/court", "clerk2")
    await expect(staff.get_by_test_id("court-applications")).to_contain_text("已提交法院")
    await staff.locator('[data-testid^="court-open-"]').first.click()
    deadlines = staff.get_by_test_id("court-deadlines")
    await expect(deadlines).to_contain_text("年")
    assert len(DATE.findall(await deadlines.inner_text())) == 2, await deadlines.inner_text()
    await expect(staff.get_by_test_id("decision-ground")).not_to_contain_text("breaks")
    await fits(staff, "court application")

    # The supervisor's dashboard signed in, with the quality review panel's draw form.
    server.parley("user", "add", "--role", "supervisor", "--username", "boss", "--password",
                  PASSWORD, "--display-name", "值班长")
    await staff_sign_in(staff, "/supervisor", "boss")
    await expect(staff.get_by_test_id("qa-draw-submit")).to_be_visible()
    await fits(staff, "supervisor dashboard")

    # The mediator: the case (deadline as a date), a new invitation (its long link), the room
    # with a party admitted; every control on screen.
    mediator = await (await context(browser, server, viewport)).new_page()
    await open_room(mediator, scene.case_id)
    await expect(mediator.get_by_test_id("case-status")).to_have_text("已受理，调解中")
    deadline = await mediator.get_by_test_id("case-deadline").inner_text()
    assert DATE.search(deadline) and DAYS_LEFT.search(deadline), deadline
    await mediator.get_by_test_id("invite-name").fill("王五")
    await mediator.get_by_test_id("invite-id4").fill("11")  # refused: the error names the field
    await mediator.get_by_test_id("invite-submit").click()
    await expect(mediator.get_by_test_id("invite-error")).to_contain_text("身份证号后4位")
    await mediator.get_by_test_id("invite-id4").fill("1111")
    await mediator.get_by_test_id("invite-submit").click()
    await expect(mediator.locator('[data-testid^="invite-link-"][data-full]')).to_have_count(1)
    # Codes are shown once to hand over and never listed again (docs/security.md).
    await expect(mediator.get_by_test_id(f"invite-code-{applicant_id}")).to_have_count(0)

    party = await (await context(browser, server, viewport)).new_page()
    # The scene redeemed the party's one-time code; this browser keeps the token it got.
    await party.goto(f"{server.url}/join")
    await party.evaluate("([t, c]) => localStorage.setItem('parley.invite', "
                         "JSON.stringify({token: t, case_id: c}))",
                         [scene.invites["applicant"]["token"], scene.case_id])
    await party.goto(f"{server.url}/join")
    await expect(party.get_by_test_id("lobby-consent-mediation")).to_be_visible()
    for box in ("lobby-consent-mediation", "lobby-consent-recording", "lobby-enter"):
        assert not await party.evaluate(OVERLAP_JS, ["lobby-preview", box]), box
    agreement = await party.get_by_test_id("agreement-deadline").inner_text()
    assert DATE.search(agreement) and DAYS_LEFT.search(agreement), agreement
    await fits(party, "party lobby")
    await join(party, scene.invites["applicant"])
    await mediator.get_by_test_id(f"admit-{applicant_id}").click()
    await expect(party.get_by_test_id("mediation-room")).to_be_visible()
    await expect(party.get_by_test_id("chat-send")).to_be_visible()
    assert not await party.evaluate(OVERLAP_JS, ["local-video", "chat-send"])
    assert not await party.evaluate(OVERLAP_JS, ["local-video", "chat-input"])
    await fits(party, "party in the room")

    await expect(mediator.get_by_test_id(f"member-{applicant_id}")).to_be_visible()
    await fits(mediator, "mediator console")
    if viewport == DESK:
        for control in ("room-enter", "caucus-start", "caucus-start-respondent", "caucus-end",
                        "recording-toggle", "end-session", "invite-submit", "close-case",
                        "chat-send", "agreement-pdf"):
            assert await mediator.evaluate(IN_VIEW_JS, control), (control, width)
