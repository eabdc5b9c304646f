"""The audio-only fallback: the link guard's rules (pure), and the worker acting on a
subscriber's reports (in-process aiortc clients)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtpPacket, pack_remb_fci

from rooms.media import link as link_rules
from rooms.media.link import LinkGuard, LinkState
from rooms.media.local import LocalMediaWorker
from rooms.messages import Ack, OpenRoom, ParticipantId, RoomId
from tests.rooms.media_clients import Client, eventually

ROOM = RoomId("room-link")


REPORT_EVERY = 0.25  # s: how often Chromium's REMB came in bench/shaped.py


def feed(guard: LinkGuard, start: float, end: float,
         estimate: Callable[[float], int]) -> list[tuple[float, LinkState]]:
    """Report ``estimate(t)`` from ``start`` to ``end`` as a browser does; the changes."""
    changes = []
    steps = round((end - start) / REPORT_EVERY)
    for i in range(steps + 1):
        now = start + i * REPORT_EVERY
        change = guard.observe(now, estimate=estimate(now))
        if change is not None:
            changes.append((now, change))
    return changes


LOW = link_rules.AUDIO_ONLY_BELOW // 2


def test_a_low_flat_estimate_falls_back_and_a_climbing_one_does_not() -> None:
    climbing = LinkGuard(0.0)
    assert feed(climbing, 0.0, 12.0, lambda t: int(20_000 * 1.05 ** t)) == [], (
        "an estimate climbing back by 5% a second (a widened link) is not a bad sign")
    dip = LinkGuard(0.0)
    assert feed(dip, 0.0, 10.0, lambda t: 300_000) == []
    assert feed(dip, 10.0, 10.0 + link_rules.BAD_FOR - 0.5, lambda t: LOW) == [], (
        "a dip shorter than BAD_FOR keeps video")
    assert feed(dip, 10.0 + link_rules.BAD_FOR, 20.0, lambda t: 200_000) == []
    assert feed(LinkGuard(0.0), 0.0, 20.0,
                lambda t: link_rules.AUDIO_ONLY_BELOW + 1000) == [], "just over the line is video"
    flat = LinkGuard(0.0)
    changes = feed(flat, 0.0, 20.0, lambda t: 300_000 if t < 5 else LOW)
    assert [state for _, state in changes][:1] == [LinkState.AUDIO_ONLY]
    when = changes[0][0]
    assert 5 + link_rules.BAD_FOR <= when <= 5 + link_rules.CLIMB_WINDOW + link_rules.BAD_FOR, (
        "a flat low estimate falls back once it has been flat and low for BAD_FOR")
    assert not flat.sends_video and not flat.holds_publisher_back


def test_a_trial_on_a_narrow_link_fails_and_one_on_a_widened_link_brings_video_back() -> None:
    guard = LinkGuard(0.0)
    down = feed(guard, 0.0, link_rules.CLIMB_WINDOW + link_rules.BAD_FOR + 0.5, lambda t: LOW)[0][0]
    assert guard.state is LinkState.AUDIO_ONLY
    assert feed(guard, down, down + link_rules.RETRY_AFTER - 0.25, lambda t: LOW) == []
    start = down + link_rules.RETRY_AFTER
    assert guard.observe(start, estimate=LOW) is LinkState.TRIAL
    assert guard.sends_video and not guard.holds_publisher_back, (
        "a trial sends video, and its estimate does not cap the publisher")
    failed = feed(guard, start, start + link_rules.BAD_FOR + 1, lambda t: LOW)
    assert [state for _, state in failed] == [LinkState.AUDIO_ONLY], (
        "an estimate as flat as audio's alone fails the trial")
    assert failed[0][0] - start <= link_rules.BAD_FOR + 0.5, "and fails it quickly"
    again = failed[0][0]
    assert feed(guard, again, again + link_rules.RETRY_AFTER, lambda t: LOW) == [], (
        "the next trial waits longer")
    second = again + 1.5 * link_rules.RETRY_AFTER
    assert guard.tick(second) is LinkState.TRIAL
    # Still narrow: the estimate climbs for a while (18 to 54 kbit/s in 8 s, measured at
    # 100 kbit/s), then lies flat under the line: the trial goes on while it climbs, then fails.
    plateau = feed(guard, second, second + 14,
                   lambda t: int(LOW * 1.12 ** min(t - second, 5.0)))
    assert [state for _, state in plateau] == [LinkState.AUDIO_ONLY], (
        "a climb that stops under the line does not pass the trial")
    assert plateau[0][0] - second >= 5.0 + link_rules.BAD_FOR
    third = plateau[0][0] + link_rules.RETRY_MAX
    assert guard.tick(third) is LinkState.TRIAL
    # The limit lifted: once video flows the estimate climbs from audio's, over the line.
    passed = feed(guard, third, third + 25, lambda t: int(LOW * 1.05 ** (t - third)))
    assert [state for _, state in passed] == [LinkState.VIDEO]
    over = math.log(link_rules.AUDIO_ONLY_BELOW / LOW) / math.log(1.05)  # s to the line
    assert over + link_rules.GOOD_FOR - 0.5 <= passed[0][0] - third <= over + link_rules.GOOD_FOR + 1
    assert guard.holds_publisher_back
    assert feed(guard, third + 25, third + 40,
                lambda t: int(LOW * 1.05 ** (t - third))) == [], (
        "a climb that goes on is not held against the video")


def test_the_two_sides_of_a_call_fall_back_and_try_again_together() -> None:
    guard = LinkGuard(0.0)
    assert guard.try_again(1.0) is None, "a trial only from audio only"
    assert guard.fall_back(1.0) is LinkState.AUDIO_ONLY
    assert guard.fall_back(1.5) is None
    assert guard.try_again(2.0) is LinkState.TRIAL and guard.sends_video
    assert guard.fall_back(3.0) is LinkState.AUDIO_ONLY, "the other side's trial failed"
    assert guard.tick(3.0 + link_rules.RETRY_AFTER) is None, (
        "a trial that failed on the other side makes this side wait longer too")
    assert guard.tick(3.0 + 1.5 * link_rules.RETRY_AFTER) is LinkState.TRIAL


def test_loss_falls_back_a_failed_trial_waits_longer_and_a_brief_dip_does_not() -> None:
    guard = LinkGuard(0.0)
    assert guard.observe(0.0, loss=0.30) is None
    assert guard.observe(1.0, loss=0.02) is None, "loss that stops is forgotten"
    assert guard.tick(0.0 + link_rules.BAD_FOR + 0.5) is None
    guard.observe(10.0, loss=0.25)
    assert guard.tick(10.0 + link_rules.BAD_FOR) is LinkState.AUDIO_ONLY
    down = 10.0 + link_rules.BAD_FOR
    assert guard.tick(down + link_rules.RETRY_AFTER) is LinkState.TRIAL
    trial = down + link_rules.RETRY_AFTER
    guard.observe(trial + 0.5, loss=0.4)
    assert guard.tick(trial + 0.5 + link_rules.BAD_FOR) is LinkState.AUDIO_ONLY
    again = trial + 0.5 + link_rules.BAD_FOR
    assert guard.tick(again + link_rules.RETRY_AFTER) is None, "the next trial waits longer"
    assert guard.tick(again + 1.5 * link_rules.RETRY_AFTER) is LinkState.TRIAL


@pytest.fixture
async def quick_rules(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    monkeypatch.setattr(link_rules, "BAD_FOR", 0.4)
    monkeypatch.setattr(link_rules, "CLIMB_WINDOW", 0.3)
    monkeypatch.setattr(link_rules, "HISTORY", 0.6)
    monkeypatch.setattr(link_rules, "RETRY_AFTER", 1.0)
    monkeypatch.setattr(link_rules, "GOOD_FOR", 0.5)
    yield


async def test_the_worker_stops_a_weak_subscribers_video_and_brings_it_back(
        quick_rules: None) -> None:
    told: list[tuple[str, str]] = []

    async def on_link(room_id: RoomId, pid: ParticipantId, state: str) -> None:
        told.append((pid, state))

    worker = LocalMediaWorker(ice_servers=[], allow_private_candidates=True, on_link=on_link)
    assert await worker.request(OpenRoom(ROOM)) == Ack()
    alice = Client(worker, ROOM, "alice", luma=60)
    bob = Client(worker, ROOM, "bob", luma=200)
    video = next(t for t in bob.pc.getTransceivers() if t.kind == "video").receiver
    # Bob's estimates are the test's alone (aiortc's own would be interleaved with them).
    video._RTCRtpReceiver__remote_bitrate_estimator = None
    packets = {"video": 0}
    stock = video._handle_rtp_packet

    async def counting(packet: RtpPacket, arrival_time_ms: int) -> None:
        packets["video"] += 1
        await stock(packet, arrival_time_ms)

    video._handle_rtp_packet = counting

    async def report(bitrate: int) -> None:
        peer = worker._rooms[ROOM].peers[ParticipantId("bob")]
        ssrc = peer.forwarders["video"].sender._ssrc
        remb = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=4321, media_ssrc=0,
                              fci=pack_remb_fci(bitrate, [ssrc]))
        await video.transport._send_rtp(bytes(remb))

    async def keep_reporting(bitrate: int, until: Any) -> None:
        deadline = asyncio.get_running_loop().time() + 15
        while not until():
            assert asyncio.get_running_loop().time() < deadline, f"no change: {told}"
            await report(bitrate)
            await asyncio.sleep(0.1)  # a browser reports about this often on a weak link

    try:
        await alice.negotiate()
        await bob.negotiate()
        await eventually(lambda: bob.received_video > 10, "bob sees alice")
        await keep_reporting(30_000, lambda: ("bob", "audio_only") in told)
        audio_before, video_before = bob.audio_frames, packets["video"]
        await eventually(lambda: bob.audio_frames > audio_before + 25, "audio goes on")
        assert packets["video"] <= video_before + 2, "no video reaches bob while audio only"
        await keep_reporting(900_000, lambda: ("bob", "video") in told)
        assert [s for p, s in told if p == "bob"] == ["audio_only", "trial", "video"]
        seen = bob.received_video
        await eventually(lambda: bob.received_video > seen + 10, "bob sees alice again")
    finally:
        await alice.close()
        await bob.close()
        await worker.close()
