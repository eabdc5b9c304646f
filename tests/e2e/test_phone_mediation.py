"""A party of a mediation on the phone (SIPp signalling, the test's socket playing 440 Hz as
PCMU and keying the invitation code by RFC 4733) with the mediator and the other party in real
headless Chromium (`parley serve`): the mediator sees them in the lobby as a phone participant
with their name and admits them; the mediator's page receives the phone's audio and the phone
the pages' (Chromium's fake microphones); during a caucus of the mediator with the other side
the phone receives silence and the other side's page nothing from the phone; after it, both
again."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from server.credentials.keypad import keys_of
from signaling.telephony.build_prompts import build
from tests.e2e.harness import new_page, start_server, wait_until
from tests.e2e.test_mediation import join, open_room, prepare_case
from tests.telephony.phone_media import PhoneMedia, open_phone_media
from tests.telephony.sipp import RTP_PORTS, SIP_PORTS, free_udp_port, sipp

# Inbound audio energy per remote participant of a mediation page (slot -> participant, slot
# -> audio mid, mid -> inbound-rtp totalAudioEnergy).
ENERGY_JS = """
async () => {
  const m = window.parleyMediation;
  if (!m || !m.pc) return {};
  const byMid = {};
  (await m.pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') byMid[s.mid] = s.totalAudioEnergy || 0;
  });
  const out = {};
  (m.mids || []).forEach((mids, slot) => {
    out['slot' + slot] = byMid[mids.audio] || 0;
    const who = (m.slots || [])[slot];
    if (who) out[who] = byMid[mids.audio] || 0;
  });
  return out;
}
"""


async def energy(page: Page) -> dict[str, float]:
    result: dict[str, float] = await page.evaluate(ENERGY_JS)
    return result


async def keys(phone: PhoneMedia, digits: str) -> None:
    for digit in digits:
        await phone.press(digit)
        await asyncio.sleep(0.25)  # the caller's pace between keys (not synchronisation)


async def loudest(phone: PhoneMedia, packets: int) -> float:
    """The loudest 20 ms the phone receives over the next ``packets`` packets."""
    phone.peak_rms, start = 0.0, phone.packets
    await wait_until(lambda: _async(phone.packets >= start + packets), 20, "phone packets")
    return phone.peak_rms


async def _async(value: bool) -> bool:
    return value


async def test_a_phone_party_in_a_mediation_with_chromium_pages(tmp_path: Path,
                                                                browser: Browser) -> None:
    if shutil.which("sipp") is None or shutil.which("espeak-ng") is None:
        pytest.fail("sipp and espeak-ng are missing: `make test` installs them")
    build()
    sip_port = free_udp_port(SIP_PORTS)
    server = await start_server(tmp_path / "var", {
        "PARLEY_SIP_LISTEN": f"127.0.0.1:{sip_port}", "PARLEY_SIP_RTP_PORTS": RTP_PORTS})
    phone = await open_phone_media()
    caller = None
    tone: asyncio.Task[None] | None = None
    try:
        case_id, invites = await prepare_case(server)
        app_id = invites["applicant"]["participant"]["id"]
        resp_id = invites["respondent"]["participant"]["id"]
        _, mediator = await new_page(browser, server.url)
        _, respondent = await new_page(browser, server.url)
        await open_room(mediator, case_id)
        await join(respondent, invites["respondent"])
        await mediator.get_by_test_id(f"admit-{resp_id}").click()

        # The applicant calls 12348: recording 1, mediation 2, the code on the keypad, #;
        # the warning and consent to online mediation 1; ID digits 123X (X on *), #.
        code = invites["applicant"]["code"]
        caller = await sipp("uac_call.xml", ("127.0.0.1", sip_port), hold_ms=90000,
                            keys={"caller": "13500135000", "rtp_port": str(phone.port)})
        await asyncio.wait_for(phone.first.wait(), 10)
        await keys(phone, "12" + keys_of(code) + "#")
        await keys(phone, "1" + "123*#")
        waiting = mediator.get_by_test_id(f"lobby-{app_id}")
        await expect(waiting).to_contain_text("张三", timeout=20000)
        await expect(mediator.get_by_test_id(f"phone-{app_id}")).to_have_text("电话接入")
        tone = asyncio.ensure_future(phone.play_tone(440.0))
        await mediator.get_by_test_id(f"admit-{app_id}").click()
        await expect(mediator.get_by_test_id(f"member-{app_id}")).to_contain_text("电话接入")

        async def pages_hear_the_phone() -> Any:
            med, resp = await energy(mediator), await energy(respondent)
            return (med.get(app_id, 0) > 0.05 and resp.get(app_id, 0) > 0.05) or None

        await wait_until(pages_hear_the_phone, 30, "the phone's audio in both pages")
        await expect(mediator.get_by_test_id(f"tile-flags-{app_id}")).to_contain_text("📞")

        async def phone_hears_the_pages() -> Any:
            return await loudest(phone, 50) > 300 or None

        await wait_until(phone_hears_the_pages, 30, "the pages' audio at the phone")

        # Caucus with the other side: the phone party is left alone, hears nobody, and the
        # other side's page receives only the mediator (one slot's energy grows, not two).
        await mediator.get_by_test_id("caucus-start-respondent").click()
        await expect(respondent.get_by_test_id("caucus-banner")).to_have_attribute(
            "data-state", "private")
        await loudest(phone, 15)  # audio already on its way drains (at most 200 ms)
        before = await energy(respondent)
        during = await loudest(phone, 150)  # 3 s of the caucus
        assert during < 30, f"the phone heard the caucus (rms {during})"
        after = await energy(respondent)
        grown = [k for k in after if k.startswith("slot") and after[k] - before.get(k, 0) > 0.005]
        assert len(grown) == 1, (before, after)  # the mediator's; the phone's slot is silent
        assert app_id not in await respondent.evaluate("window.parleyMediation.slots")

        await mediator.get_by_test_id("caucus-end").click()
        await expect(respondent.get_by_test_id("caucus-banner")).to_have_attribute(
            "data-state", "joint")
        await wait_until(phone_hears_the_pages, 20, "the pages at the phone again")
        await wait_until(pages_hear_the_phone, 20, "the phone in the pages again")
    finally:
        if tone is not None:
            tone.cancel()
        if caller is not None:
            caller.stop()
        phone.close()
        server.stop()

