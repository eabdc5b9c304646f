"""A citizen and a lawyer meet by video in real headless Chromium, through the media worker."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiohttp
from playwright.async_api import Browser, Page, expect

from tests.e2e.harness import (
    PASSWORD,
    ServerProcess,
    new_page,
    video_stats,
    wait_until,
    wait_video_playing,
)


async def submit_intake(page: Page, name: str = "张三", mode: str = "video",
                        category: str = "labour", region: str = "qz-kecheng") -> None:
    await page.goto("/")
    await page.get_by_test_id("intake-name").fill(name)
    await page.get_by_test_id("intake-phone").fill("138 0013 8000")
    await page.get_by_test_id("intake-service-type").select_option("consultation")
    await page.get_by_test_id("intake-category").select_option(category)
    await page.get_by_test_id("intake-mode").select_option(mode)
    await page.get_by_test_id("intake-region").select_option(region)
    await page.get_by_test_id("intake-description").fill("公司拖欠三个月工资，怎么办？")
    await page.get_by_test_id("intake-submit").click()
    await expect(page.get_by_test_id("queue-position")).to_be_visible()


async def sign_in(page: Page, username: str) -> None:
    await page.goto("/agent")
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("agent-availability")).to_be_visible()


async def consent_to_recording(*pages: Page) -> None:
    """Every side sees the recording notice with nothing recorded yet, and agrees."""
    for page in pages:
        await expect(page.get_by_test_id("recording-indicator")).to_have_attribute(
            "data-state", "pending")
        # A zh-CN viewer reads the notice in Chinese; the English text is folded away.
        await expect(page.get_by_test_id("recording-consent-text")).to_be_visible()
        await expect(page.get_by_test_id("recording-consent-text-other")).to_be_hidden()
        await expect(page.get_by_test_id("recording-consent-other-language")).to_be_visible()
        await page.get_by_test_id("recording-consent-accept").click()
    for page in pages:
        await expect(page.get_by_test_id("recording-indicator")).to_have_attribute(
            "data-state", "recording")


async def take_next(page: Page) -> None:
    """Answer the citizen the router offers at sign-in, or pull the next one."""
    offer, take = page.get_by_test_id("offer-accept"), page.get_by_test_id("take-next")
    await expect(offer.or_(take.and_(page.locator(":enabled")))).to_be_visible()
    if await offer.is_visible():
        await offer.click()
    else:
        await take.click()


async def test_video_consultation_end_to_end(server: ServerProcess, browser: Browser) -> None:
    server.add_lawyer("lawyer1")
    _, citizen = await new_page(browser, server.url)
    _, lawyer = await new_page(browser, server.url)

    await submit_intake(citizen)
    await expect(citizen.get_by_test_id("queue-eta")).to_be_visible()
    await sign_in(lawyer, "lawyer1")
    await take_next(lawyer)

    # Both pages really play the other side's video.
    await wait_video_playing(citizen)
    await wait_video_playing(lawyer)

    # Both sides are asked for consent before anything is recorded; both agree.
    await consent_to_recording(citizen, lawyer)

    # Chat both ways.
    await citizen.get_by_test_id("chat-input").fill("您好，我想咨询欠薪问题")
    await citizen.get_by_test_id("chat-send").click()
    await expect(lawyer.get_by_test_id("chat-log")).to_contain_text("您好，我想咨询欠薪问题")
    await lawyer.get_by_test_id("chat-input").fill("请保留工资条和考勤记录")
    await lawyer.get_by_test_id("chat-input").press("Enter")
    await expect(citizen.get_by_test_id("chat-log")).to_contain_text("请保留工资条和考勤记录")

    # The citizen reloads mid-call: same room, media resumes on both pages.
    before = await video_stats(lawyer)
    await citizen.reload()
    await wait_video_playing(citizen)

    async def lawyer_resumed() -> bool:
        return (await video_stats(lawyer))["framesDecoded"] > before["framesDecoded"] + 30

    await wait_until(lawyer_resumed, 20, "the lawyer's page decoding the reloaded citizen")
    await expect(citizen.get_by_test_id("chat-log")).to_contain_text("请保留工资条和考勤记录")

    # The media worker forwarded encoded frames and decoded or encoded none.
    metrics = await _metrics(server.url)
    assert metrics['parley_media_forwarded_frames_total{kind="video"}'] > 30
    assert metrics['parley_media_forwarded_frames_total{kind="audio"}'] > 30
    assert metrics["parley_media_decoded_frames_total"] == 0
    assert metrics["parley_media_encoded_frames_total"] == 0
    assert metrics["parley_media_peer_connections"] == 2

    # Mute and camera toggles change the local tracks.
    await citizen.get_by_test_id("mute").click()
    await expect(citizen.get_by_test_id("mute")).to_have_attribute("aria-pressed", "true")

    # Hang up, the lawyer ends with an outcome, the citizen rates.
    await citizen.get_by_test_id("hangup").click()
    await lawyer.get_by_test_id("case-outcome").select_option("answered")
    await lawyer.get_by_test_id("end-case").click()
    # The citizen is told it ended: the "lawyer wrapping up" notice above the scores goes, and
    # the scores move up. Clicking before that could land where a score had been (seen once).
    await expect(citizen.get_by_test_id("rating-pending")).to_be_hidden()
    await citizen.get_by_test_id("rating-4").click()
    await expect(citizen.get_by_test_id("rating-4")).to_have_attribute("aria-pressed", "true")
    await citizen.get_by_test_id("rating-comment").fill("律师很耐心")
    await citizen.get_by_test_id("rating-submit").click()
    await expect(citizen.get_by_test_id("rating-done")).to_be_visible()

    row = _case_row(Path(server.env["PARLEY_DATA_DIR"]) / "parley.db")
    assert row == ("ended", "answered", 4, "律师很耐心")

    # The recording plays in the playback page: both participants' tracks, in sync.
    link = lawyer.get_by_test_id("recording-link")
    await expect(link).to_be_visible(timeout=15_000)
    # A new tab opened from the console: it inherits the console's sign-in.
    async with lawyer.expect_popup() as popup:
        await link.click()
    playback = await popup.value
    videos = playback.locator("[data-testid^='recording-video-']")
    await expect(videos).to_have_count(2)
    await playback.get_by_test_id("recording-play").click()

    async def both_playing() -> bool:
        states = await videos.evaluate_all(
            "(vs) => vs.map((v) => [v.videoWidth, v.currentTime])")
        return all(width > 0 and t > 0.5 for width, t in states)

    await wait_until(both_playing, 20, "both recorded tracks playing")
    await expect(playback.get_by_test_id("recording-timeline")).to_contain_text(":")


async def _metrics(url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as session, session.get(url + "/metrics") as response:
        assert response.status == 200
        text = await response.text()
    return {name: float(value) for name, value in
            (line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))}


def _case_row(db_path: Path) -> tuple[object, ...]:
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT status, outcome, rating, rating_comment FROM cases").fetchall()
    assert len(rows) == 1
    return tuple(rows[0])
