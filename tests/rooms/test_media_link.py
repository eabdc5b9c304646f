"""The audio-only fallback: the link guard's rules (pure), and the worker acting on a
subscriber's reports (in-process aiortc clients)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtpPacket, pack_remb_fci

from rooms.media import link as link_rules
from rooms.media.link import LinkGuard, LinkState
from rooms.media.local import LocalMediaWorker
from rooms.messages import Ack, OpenRoom, ParticipantId, RoomId
from tests.rooms.media_clients import Client, eventually

ROOM = RoomId("room-link")


def test_a_sustained_low_estimate_falls_back_and_a_good_trial_brings_video_back() -> None:
    early = LinkGuard(0.0)
    early.observe(0.5, estimate=40_000)
    assert early.tick(0.5 + 2 * link_rules.BAD_FOR) is None, (
        "a call's first estimates, while the browser's estimator warms up, do not count")
    guard = LinkGuard(0.0)
    assert guard.observe(0.0, estimate=800_000) is None and guard.sends_video
    assert guard.observe(1.0, estimate=90_000) is None, "one low report is not sustained"
    assert guard.observe(2.0, estimate=95_000) is None
    assert guard.observe(2.5, estimate=120_000) is None, "300 kbit/s links keep video"
    assert guard.observe(3.0, estimate=95_000) is None
    assert guard.tick(3.0 + link_rules.BAD_FOR - 0.5) is None
    down = 3.0 + link_rules.BAD_FOR
    assert guard.tick(down) is LinkState.AUDIO_ONLY
    assert not guard.sends_video and not guard.holds_publisher_back
    assert guard.tick(down + link_rules.RETRY_AFTER - 0.1) is None
    assert guard.tick(down + link_rules.RETRY_AFTER) is LinkState.TRIAL
    start = down + link_rules.RETRY_AFTER
    assert guard.sends_video and not guard.holds_publisher_back, (
        "a trial sends video, and its first, low estimates do not cap the publisher")
    assert guard.observe(start + 1, estimate=60_000) is None, (
        "a trial's estimate starts from audio's and is not held against it")
    assert guard.tick(start + link_rules.GOOD_FOR) is LinkState.VIDEO
    assert guard.holds_publisher_back
    back = start + link_rules.GOOD_FOR
    guard.observe(back, estimate=70_000)
    assert guard.tick(back + 2 * link_rules.BAD_FOR) is None, (
        "the estimate is still climbing back: it does not count yet")
    guard.observe(back + 7, estimate=300_000)
    guard.observe(back + 8, estimate=80_000)
    assert guard.tick(back + 8 + link_rules.BAD_FOR) is LinkState.AUDIO_ONLY, (
        "once it has climbed, a low estimate counts again")
    guard.tick(back + 8 + link_rules.BAD_FOR + link_rules.RETRY_MAX)
    assert guard.state is LinkState.TRIAL
    trial = back + 8 + link_rules.BAD_FOR + link_rules.RETRY_MAX
    guard.tick(trial + link_rules.GOOD_FOR)
    assert guard.state is LinkState.VIDEO
    guard.observe(trial + link_rules.GOOD_FOR + 1, estimate=40_000)  # adapted, and stays low
    settled = trial + link_rules.GOOD_FOR + link_rules.SETTLE
    assert guard.tick(settled - 0.5) is None
    assert guard.tick(settled) is None  # from now on it counts (the worker ticks every 0.1 s)
    assert guard.tick(settled + link_rules.BAD_FOR) is LinkState.AUDIO_ONLY, (
        "a browser that adapted to a narrow link does not keep video for ever")


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
        await keep_reporting(80_000, lambda: ("bob", "audio_only") in told)
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
