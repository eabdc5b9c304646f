"""Three real Chromium pages (mediator, applicant, respondent) in one mediation: lobby and
admission, everyone sees two remote videos, a caucus with the applicant during which the
respondent receives no media and no chat, then everyone back together."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from playwright.async_api import Browser, Page, expect

from tests.e2e.harness import PASSWORD, ServerProcess, new_page, wait_until

# Decoded video frames per remote participant: slot -> participant from the page's mapping,
# slot -> mid from its transceivers, mid -> inbound-rtp framesDecoded.
FRAMES_JS = """
async () => {
  const m = window.parleyMediation;
  if (!m || !m.pc) return {};
  const byMid = {};
  (await m.pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') byMid[s.mid] = s.framesDecoded || 0;
  });
  const out = {};
  (m.mids || []).forEach((mids, slot) => {
    out['slot' + slot] = byMid[mids.video] || 0;
    const who = (m.slots || [])[slot];
    if (who) out[who] = byMid[mids.video] || 0;
  });
  return out;
}
"""
WIDTH_JS = """(id) => { const v = document.querySelector(`[data-testid="remote-video-${id}"]`);
                         return v ? v.videoWidth : 0; }"""


def parley_user(server: ServerProcess, username: str, role: str) -> None:
    server.parley("user", "add", "--role", role, "--username", username, "--password", PASSWORD,
                  "--display-name", f"{username} 调解员")


async def api(session: aiohttp.ClientSession, url: str, path: str, body: Any,
              token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.post(url + path, json=body, headers=headers) as response:
        data = await response.json()
        assert response.status in (200, 201), data
        return data


async def prepare_case(server: ServerProcess, mediator: str = "med1"
                       ) -> tuple[str, dict[str, dict[str, Any]]]:
    parley_user(server, mediator, "mediator")
    async with aiohttp.ClientSession() as s:
        token = (await api(s, server.url, "/api/login",
                           {"username": mediator, "password": PASSWORD}))["token"]
        case = (await api(s, server.url, "/api/mediations", {
            "applicant_name": "张三", "applicant_phone": "13800138000",
            "respondent_name": "李四", "respondent_phone": "13900139000",
            "category": "neighbour", "statement": "楼上漏水，协商赔偿"}, token))["case"]
        await api(s, server.url, f"/api/mediations/{case['id']}/accept",
                  {"disclosure": "与双方无利害关系", "conflict_declared": False}, token)
        invites = {}
        for role, name, id4 in (("applicant", "张三", "123X"), ("respondent", "李四", "5678")):
            invites[role] = await api(s, server.url, f"/api/mediations/{case['id']}/invitations",
                                      {"role": role, "name": name, "id_last4": id4}, token)
            invites[role]["id4"] = id4
            invites[role]["name"] = name
    return case["id"], invites


async def frames(page: Page) -> dict[str, int]:
    result: dict[str, int] = await page.evaluate(FRAMES_JS)
    return result


async def playing(page: Page, ids: list[str], timeout: float = 25) -> None:
    """Each of ``ids`` has a tile whose video has a size and whose decoded frames advance."""
    async def sized() -> bool:
        widths = [await page.evaluate(WIDTH_JS, i) for i in ids]
        counts = await frames(page)
        return all(w > 0 for w in widths) and all(counts.get(i, 0) > 0 for i in ids)

    await wait_until(sized, timeout, f"remote videos of {ids}")
    start = await frames(page)

    async def advancing() -> bool:
        now = await frames(page)
        return all(now.get(i, 0) >= start.get(i, 0) + 10 for i in ids)

    await wait_until(advancing, timeout, f"frames advancing for {ids}")


async def join(page: Page, invite: dict[str, Any]) -> None:
    await page.goto(invite["link"])
    await page.get_by_test_id("lobby-identity-name").fill(invite["name"])
    await page.get_by_test_id("lobby-identity-id4").fill(invite["id4"])
    await page.get_by_test_id("lobby-consent-mediation").check()
    await page.get_by_test_id("lobby-consent-recording").check()
    await expect(page.get_by_test_id("lobby-sham-warning")).to_be_visible()
    await page.get_by_test_id("lobby-enter").click()
    await expect(page.get_by_test_id("lobby-waiting")).to_be_visible()


async def open_room(mediator: Page, case_id: str) -> None:
    """Sign in as med1 on /mediator, open the case and enter its room."""
    await mediator.goto("/mediator")
    await mediator.get_by_test_id("login-username").fill("med1")
    await mediator.get_by_test_id("login-password").fill(PASSWORD)
    await mediator.get_by_test_id("login-submit").click()
    await mediator.get_by_test_id(f"open-case-{case_id}").click()
    await mediator.get_by_test_id("room-enter").click()


async def send_chat(page: Page, text: str) -> None:
    await page.get_by_test_id("chat-input").fill(text)
    await page.get_by_test_id("chat-send").click()


async def test_three_party_mediation_with_private_caucus(server: ServerProcess,
                                                         browser: Browser) -> None:
    case_id, invites = await prepare_case(server)
    app_id = invites["applicant"]["participant"]["id"]
    resp_id = invites["respondent"]["participant"]["id"]
    _, mediator = await new_page(browser, server.url)
    _, applicant = await new_page(browser, server.url)
    _, respondent = await new_page(browser, server.url)

    await open_room(mediator, case_id)

    await join(applicant, invites["applicant"])
    await join(respondent, invites["respondent"])
    for pid in (app_id, resp_id):
        await mediator.get_by_test_id(f"admit-{pid}").click()
    # The mediator's participant ID: the one remote tile on the parties' pages that is neither.
    await expect(applicant.locator('[data-testid^="remote-video-"]')).to_have_count(2)
    ids = [await v.get_attribute("data-testid")
           for v in await applicant.locator('[data-testid^="remote-video-"]').all()]
    mediator_id = next(i.removeprefix("remote-video-") for i in ids
                       if i and i != f"remote-video-{resp_id}")

    await asyncio.gather(playing(mediator, [app_id, resp_id]),
                         playing(applicant, [mediator_id, resp_id]),
                         playing(respondent, [mediator_id, app_id]))

    # Caucus with the applicant: the respondent waits apart.
    await mediator.get_by_test_id("caucus-start").click()
    await expect(respondent.get_by_test_id("caucus-banner")).to_have_attribute("data-state", "waiting")
    await expect(applicant.get_by_test_id("caucus-banner")).to_have_attribute("data-state", "private")
    # The mediator reads where each party is in words, not as group numbers.
    await expect(mediator.get_by_test_id(f"member-{resp_id}")).to_contain_text("背靠背等候中")
    await expect(mediator.get_by_test_id(f"member-{app_id}")).to_contain_text("与您单独谈话中")
    await asyncio.sleep(1.0)  # frames already in flight drain
    frozen = await frames(respondent)
    await send_chat(mediator, "单独谈谈：申请人的底线？")
    await expect(applicant.get_by_test_id("chat-log")).to_contain_text("单独谈谈")
    await send_chat(applicant, "底线五千元")
    await expect(mediator.get_by_test_id("chat-log")).to_contain_text("底线五千元")
    await playing(mediator, [app_id])
    await playing(applicant, [mediator_id])
    after = await frames(respondent)
    for slot in ("slot0", "slot1"):
        assert after.get(slot, 0) - frozen.get(slot, 0) <= 2, (frozen, after)
    await expect(respondent.get_by_test_id("chat-log")).not_to_contain_text("底线")
    await send_chat(respondent, "我在等候")
    await expect(mediator.get_by_test_id("chat-log")).not_to_contain_text("我在等候")

    # Everyone back together: all media plays again and chat reaches everyone.
    await mediator.get_by_test_id("caucus-end").click()
    await expect(respondent.get_by_test_id("caucus-banner")).to_have_attribute("data-state", "joint")
    await asyncio.gather(playing(mediator, [app_id, resp_id]),
                         playing(applicant, [mediator_id, resp_id]),
                         playing(respondent, [mediator_id, app_id]))
    await send_chat(applicant, "回到联合会议")
    await expect(respondent.get_by_test_id("chat-log")).to_contain_text("回到联合会议")

    # Raise a hand; the mediator sees it.
    await respondent.get_by_test_id("raise-hand").click()
    await expect(mediator.get_by_test_id(f"member-{resp_id}")).to_contain_text("✋")
