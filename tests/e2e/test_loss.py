"""Point 9 of the spine: 2% loss on the media reaching the server, measured in the browsers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from tests.e2e.harness import ServerProcess, new_page, start_server, video_stats, wait_video_playing
from tests.e2e.test_consultation import sign_in, submit_intake, take_next

# Longest gap between two frames presented by the remote <video>, from requestVideoFrameCallback.
GAP_TRACKER_JS = """
() => {
  const video = document.querySelector('[data-testid="remote-video"]');
  const gaps = {max: 0, last: null, frames: 0};
  window.parleyGaps = gaps;
  const onFrame = (now) => {
    if (gaps.last !== null) gaps.max = Math.max(gaps.max, now - gaps.last);
    gaps.last = now;
    gaps.frames += 1;
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}
"""


@pytest.fixture
async def lossy_server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    process = await start_server(tmp_path / "var", {"PARLEY_LAB_INBOUND_LOSS": "0.02"})
    try:
        yield process
    finally:
        process.stop()


async def measure(page: Page, seconds: float) -> dict[str, float]:
    before = await video_stats(page)
    await page.evaluate(GAP_TRACKER_JS)
    await asyncio.sleep(seconds)  # the measurement window itself, not a synchronisation
    after = await video_stats(page)
    gaps = await page.evaluate("() => window.parleyGaps")
    samples = after["totalSamplesReceived"] - before["totalSamplesReceived"]
    concealed = after["concealedSamples"] - before["concealedSamples"]
    return {
        "max_gap_s": gaps["max"] / 1000,
        "frames": gaps["frames"],
        "freezes": after["freezeCount"] - before["freezeCount"],
        "freeze_s": after["totalFreezesDuration"] - before["totalFreezesDuration"],
        "concealment": concealed / samples if samples else 1.0,
    }


async def test_two_percent_inbound_loss(lossy_server: ServerProcess, browser: Browser) -> None:
    lossy_server.add_lawyer("lawyer1")
    _, citizen = await new_page(browser, lossy_server.url)
    _, lawyer = await new_page(browser, lossy_server.url)
    await submit_intake(citizen)
    await sign_in(lawyer, "lawyer1")
    await take_next(lawyer)
    await wait_video_playing(citizen)
    await wait_video_playing(lawyer)

    results = await asyncio.gather(measure(citizen, 20), measure(lawyer, 20))
    print("loss results (citizen, lawyer):", results)
    for result in results:
        assert result["frames"] > 200, result
        assert result["max_gap_s"] <= 0.3, result
        assert result["concealment"] < 0.03, result
