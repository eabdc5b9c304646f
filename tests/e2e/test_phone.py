"""A phone caller (SIPp signalling, the test's socket playing a 440 Hz tone as PCMU) keys
through the menu of `parley serve`, and a lawyer in real headless Chromium takes the case on the
agent page: the page receives the caller's audio (getStats: audio bytes and energy), and the
caller's socket receives the page's audio (Chromium's fake microphone) over RTP."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from signaling.telephony.build_prompts import build
from tests.e2e.harness import new_page, start_server, wait_until
from tests.e2e.test_consultation import consent_to_recording, sign_in, take_next
from tests.telephony.phone_media import open_phone_media
from tests.telephony.sipp import RTP_PORTS, SIP_PORTS, free_udp_port, sipp

AUDIO_STATS_JS = """
async () => {
  const pc = window.parleyCall && window.parleyCall.pc;
  const result = {bytes: 0, energy: 0, state: pc ? pc.connectionState : 'none'};
  if (!pc) return result;
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      result.bytes += s.bytesReceived || 0;
      result.energy += s.totalAudioEnergy || 0;
    }
  });
  return result;
}
"""


async def audio_stats(page: Page) -> dict[str, Any]:
    stats: dict[str, Any] = await page.evaluate(AUDIO_STATS_JS)
    return stats


async def test_a_lawyer_in_chromium_talks_with_a_phone_caller(tmp_path: Path, browser: Browser
                                                              ) -> None:
    if shutil.which("sipp") is None or shutil.which("espeak-ng") is None:
        pytest.fail("sipp and espeak-ng are missing: `make test` installs them")
    build()
    sip_port = free_udp_port(SIP_PORTS)
    server = await start_server(tmp_path / "var", {
        "PARLEY_SIP_LISTEN": f"127.0.0.1:{sip_port}", "PARLEY_SIP_RTP_PORTS": RTP_PORTS,
        "PARLEY_SIP_ANNOUNCE_S": "2"})
    phone = await open_phone_media()
    caller = None
    tone: asyncio.Task[None] | None = None
    try:
        adding = asyncio.ensure_future(asyncio.to_thread(server.add_lawyer, "lawyer1"))
        caller = await sipp("uac_call.xml", ("127.0.0.1", sip_port), hold_ms=40000,
                            keys={"caller": "13700137000", "rtp_port": str(phone.port)})
        await phone.key_menu()  # agree to recording, consultation, Mandarin
        tone = asyncio.ensure_future(phone.play_tone(440.0))
        await adding
        _, lawyer = await new_page(browser, server.url)
        await sign_in(lawyer, "lawyer1")
        await take_next(lawyer)
        await consent_to_recording(lawyer)

        async def page_hears() -> Any:
            s = await audio_stats(lawyer)
            return s if s["bytes"] > 8000 and s["energy"] > 0.01 else None

        await wait_until(page_hears, 20, "the caller's audio in the lawyer's page")
        start = phone.packets
        phone.peak_rms = 0.0  # the prompts are over: from here on it is the page's audio

        async def phone_hears() -> Any:
            return (phone.peak_rms > 300 and phone.packets > start + 50) or None

        await wait_until(phone_hears, 20, "the page's audio at the caller")
    finally:
        if tone is not None:
            tone.cancel()
        if caller is not None:
            caller.stop()
        phone.close()
        server.stop()
