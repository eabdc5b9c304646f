"""The audio-only fallback in real browsers: on `call:link audio_only` each page really pauses
its video encoder (outbound video frames and bytes stop) while its audio goes on, and sends
video again once the link is back (issue 18).

The weak link is the lab's (rooms/media/lab.py, PARLEY_LAB_ESTIMATE_CAP_FILE): the estimates
the worker's link guards see are capped at what the test writes in a file, as a narrow downlink
would hold them; the media itself flows as before, so whatever stops is the page's doing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.e2e.harness import ServerProcess, new_page, start_server, wait_until, wait_video_playing
from tests.e2e.test_consultation import sign_in, submit_intake, take_next

NARROW = "20000"  # bit/s: a third of the guard's threshold, as at 100 kbit/s (docs/media.md)

# What this page sends: outbound video frames encoded and bytes, outbound audio packets.
SENT_JS = """
async () => {
  const pc = window.parleyCall && window.parleyCall.pc;
  const out = {framesEncoded: 0, videoBytes: 0, audioPackets: 0};
  if (!pc) return out;
  (await pc.getStats()).forEach((s) => {
    if (s.type !== 'outbound-rtp') return;
    if (s.kind === 'video') {
      out.framesEncoded += s.framesEncoded || 0;
      out.videoBytes += s.bytesSent || 0;
    } else if (s.kind === 'audio') {
      out.audioPackets += s.packetsSent || 0;
    }
  });
  return out;
}
"""


@pytest.fixture
def cap_file(tmp_path: Path) -> Path:
    return tmp_path / "estimate-cap"


@pytest.fixture
async def lab_server(tmp_path: Path, cap_file: Path) -> AsyncIterator[ServerProcess]:
    process = await start_server(tmp_path / "var", {"PARLEY_LAB_ESTIMATE_CAP_FILE": str(cap_file)})
    try:
        yield process
    finally:
        process.stop()


async def sent(page: Page) -> dict[str, Any]:
    stats: dict[str, Any] = await page.evaluate(SENT_JS)
    return stats


async def after_audio(page: Page, packets: int, what: str) -> dict[str, Any]:
    """This page's figures once it has sent ``packets`` more audio packets (20 ms each): the
    clock of the measurement is the page's own audio, not a sleep."""
    start = (await sent(page))["audioPackets"]

    async def done() -> Any:
        now = await sent(page)
        return now if now["audioPackets"] >= start + packets else None

    result: dict[str, Any] = await wait_until(done, 30, what)
    return result


async def link_state(page: Page, wanted: set[str], timeout: float) -> str:
    async def shown() -> Any:
        state = await page.get_attribute('[data-testid="call"]', "data-link")
        return state if state in wanted else None

    result: str = await wait_until(shown, timeout, f"the call's link state in {wanted}")
    return result


async def pause_window(name: str, page: Page) -> tuple[dict[str, Any], dict[str, Any]]:
    """Let the pause reach the encoder (setParameters resolves within a frame or two), then
    1.5 s of audio: no video frame may be encoded or sent meanwhile."""
    paused = await after_audio(page, 20, f"{name} audio after the notice")
    later = await after_audio(page, 75, f"{name} audio while audio only")
    return paused, later


async def test_audio_only_pauses_each_pages_video_encoder_and_resumes_it(
        lab_server: ServerProcess, cap_file: Path, browser: Browser) -> None:
    lab_server.add_lawyer("lawyer1")
    _, citizen = await new_page(browser, lab_server.url)
    _, lawyer = await new_page(browser, lab_server.url)
    await submit_intake(citizen)
    await sign_in(lawyer, "lawyer1")
    await take_next(lawyer)
    await wait_video_playing(citizen)
    await wait_video_playing(lawyer)
    pages = {"citizen": citizen, "lawyer": lawyer}
    for name, page in pages.items():
        before = await sent(page)
        later = await after_audio(page, 50, f"{name} sending audio")
        assert later["framesEncoded"] > before["framesEncoded"] + 10, (name, before, later)

    cap_file.write_text(NARROW)  # the link narrows: the guards see a flat, low estimate
    for page in pages.values():
        await link_state(page, {"audio_only"}, 30)
    # Both pages at once: the spell lasts link.RETRY_AFTER (4 s) before the first trial.
    results = await asyncio.gather(*(pause_window(name, page) for name, page in pages.items()))
    for name, (paused, later) in zip(pages, results, strict=True):
        assert later["framesEncoded"] == paused["framesEncoded"], (
            f"{name}'s video encoder went on while the call was audio only", paused, later)
        assert later["videoBytes"] == paused["videoBytes"], (name, paused, later)
        assert later["audioPackets"] >= paused["audioPackets"] + 75
    for name, page in pages.items():
        state = await page.get_attribute('[data-testid="call"]', "data-link")
        assert state == "audio_only", f"{name}: the window outlasted the audio-only spell"

    cap_file.write_text("")  # the link widens: the next trial's estimate is the browsers' own
    for page in pages.values():
        await link_state(page, {"trial", "video"}, 30)
    for name, page in pages.items():
        resumed = await after_audio(page, 50, f"{name} audio after video came back")
        later = await after_audio(page, 50, f"{name} audio with video again")
        assert later["framesEncoded"] >= resumed["framesEncoded"] + 10, (
            f"{name}'s video encoder did not resume", resumed, later)
        assert later["videoBytes"] > resumed["videoBytes"], (name, resumed, later)
    for page in pages.values():
        await link_state(page, {"video"}, 30)
