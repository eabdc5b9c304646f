"""Live assist in real Chromium: a supervisor listens to a video consultation unheard (their
page receives the citizen's and the lawyer's audio and video; the parties' pages get nothing
from them), then joins (both parties' pages receive the supervisor's audio). Both steps are on
the case's timeline."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, expect

from tests.e2e.harness import PASSWORD, ServerProcess, new_page, wait_until, wait_video_playing
from tests.e2e.test_consultation import sign_in, submit_intake, take_next

# Per transceiver of the page's peer connection (window[name].pc): kind, direction, bytes in
# and out, read from getStats by mid.
STATS_JS = """
async (name) => {
  const pc = window[name] && window[name].pc;
  if (!pc || pc.connectionState !== 'connected') return null;
  const stats = await pc.getStats();
  const inbound = {}, outbound = {};
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp') inbound[s.mid] = (inbound[s.mid] || 0) + (s.bytesReceived || 0);
    if (s.type === 'outbound-rtp') outbound[s.mid] = (outbound[s.mid] || 0) + (s.bytesSent || 0);
  });
  return pc.getTransceivers().map((t) => ({
    mid: t.mid, kind: t.receiver.track.kind, direction: t.currentDirection,
    received: inbound[t.mid] || 0, sent: outbound[t.mid] || 0}));
}
"""


async def transceivers(page: Page, name: str) -> list[dict[str, Any]] | None:
    found: list[dict[str, Any]] | None = await page.evaluate(STATS_JS, name)
    return found


def timeline(server: ServerProcess) -> list[str]:
    with sqlite3.connect(Path(server.env["PARLEY_DATA_DIR"]) / "parley.db") as db:
        return [k for (k,) in db.execute(
            "SELECT kind FROM case_events WHERE kind LIKE 'supervisor_%' ORDER BY id")]


async def test_a_supervisor_listens_unheard_then_joins(server: ServerProcess,
                                                      browser: Browser) -> None:
    server.add_lawyer("lawyer1")
    server.parley("user", "add", "--role", "supervisor", "--username", "boss",
                  "--password", PASSWORD, "--display-name", "值班长 王")
    _, citizen = await new_page(browser, server.url)
    _, lawyer = await new_page(browser, server.url)
    _, supervisor = await new_page(browser, server.url)

    await submit_intake(citizen)
    # The citizen was told before the session that it may be supervised.
    await expect(citizen.get_by_test_id("intake-supervised")).to_contain_text("旁听")
    await sign_in(lawyer, "lawyer1")
    await take_next(lawyer)
    await wait_video_playing(citizen)
    await wait_video_playing(lawyer)

    await supervisor.goto("/supervisor")
    await supervisor.get_by_test_id("login-username").fill("boss")
    await supervisor.get_by_test_id("login-password").fill(PASSWORD)
    await supervisor.get_by_test_id("login-submit").click()
    await supervisor.get_by_test_id("assist-listen").click(timeout=15_000)
    await expect(supervisor.get_by_test_id("assist-status")).to_contain_text("旁听", timeout=20_000)

    # The supervisor's page receives both parties' audio and video, and sends nothing.
    async def hears_both() -> list[dict[str, Any]] | None:
        found = await transceivers(supervisor, "parleyAssist")
        if not found:
            return None
        moving = [t for t in found if t["received"] > 2000]
        kinds = sorted(t["kind"] for t in moving)
        return found if kinds == ["audio", "audio", "video", "video"] else None

    listening = await wait_until(hears_both, 30, "the supervisor receiving both parties")
    assert all(t["sent"] == 0 for t in listening)
    # The parties' pages have one slot each: the other party; nothing from the supervisor.
    for page in (citizen, lawyer):
        found = await transceivers(page, "parleyCall")
        assert found is not None and len(found) == 2, found
    assert timeline(server) == ["supervisor_listening"]

    # Join: the supervisor's microphone goes on; both parties' pages add a slot and hear it.
    await supervisor.get_by_test_id("assist-join").click()
    # (the page says so once its new offer, with the microphone, is answered: slow under load)
    await expect(supervisor.get_by_test_id("assist-status")).to_contain_text("加入", timeout=20_000)
    for page in (citizen, lawyer):
        await expect(page.get_by_test_id("call-link")).to_contain_text("值班长 王", timeout=20_000)

        async def hears_supervisor(page: Page = page) -> bool:
            found = await transceivers(page, "parleyCall")
            if not found or len(found) != 3:
                return False
            extra = found[2]
            return extra["kind"] == "audio" and extra["received"] > 2000

        await wait_until(hears_supervisor, 30, "a party's page receiving the supervisor")

    async def supervisor_sends() -> bool:
        found = await transceivers(supervisor, "parleyAssist")
        return bool(found) and any(t["kind"] == "audio" and t["sent"] > 2000 for t in found)

    await wait_until(supervisor_sends, 20, "the supervisor's microphone reaching the worker")
    assert timeline(server) == ["supervisor_listening", "supervisor_joined"]

    await supervisor.get_by_test_id("assist-leave").click()

    async def left() -> bool:
        return timeline(server)[-1:] == ["supervisor_left"]

    await wait_until(left, 10, "the supervisor's leaving on the timeline")
    for page in (citizen, lawyer):
        await expect(page.get_by_test_id("call-link")).to_contain_text("离开", timeout=20_000)
