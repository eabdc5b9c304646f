"""Packet loss on both clients' uplinks (audio, video, retransmissions, RTCP alike): the
worker's loss measures keep video flowing without long freezes and pass audio on.

The loss is 10%, five times the 2% the design targets, so that a run of a few seconds on
loopback reliably meets lost retransmissions; stock aiortc then forwards ~40% less audio (its
audio jitter buffer drops late packets) and freezes video for 0.4-0.7 s here."""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from rooms.media.local import LocalMediaWorker
from rooms.messages import Ack, GetStats, OpenRoom, RoomId, WorkerStats
from tests.rooms.media_clients import Client, eventually

ROOM = RoomId("lossy")
LOSS = 0.10
# The design's target is < 0.3 s at 2% loss; the bound leaves room for the 10 % here. In media
# time (the frames' own timestamps), so a loaded machine does not count as a freeze.
MAX_FREEZE = 0.5
WINDOW = 5.0
MIN_AUDIO_SHARE = 0.8  # forwarded Opus packets / packets the clients sent


@pytest.fixture
async def worker() -> AsyncIterator[LocalMediaWorker]:
    w = LocalMediaWorker(ice_servers=[], allow_private_candidates=True)
    assert await w.request(OpenRoom(ROOM)) == Ack()
    yield w
    await w.close()


def lossy_uplink(client: Client, seed: int) -> None:
    """Drop ``LOSS`` of what the client sends over SRTP, retransmissions and RTCP included."""
    rng = random.Random(seed)
    transport = client.pc.getTransceivers()[0].sender.transport
    send: Callable[[bytes], Awaitable[None]] = transport._send_rtp

    async def maybe_send(data: bytes) -> None:
        if rng.random() >= LOSS:
            await send(data)

    transport._send_rtp = maybe_send  # type: ignore[method-assign]


async def stats(worker: LocalMediaWorker) -> WorkerStats:
    reply = await worker.request(GetStats())
    assert isinstance(reply, WorkerStats)
    return reply


VIDEO_CLOCK = 90_000  # RTP clock rate of video


def longest_gap(pts: list[int]) -> float:
    """The longest stretch of media time (seconds) with no frame received."""
    return max((b - a for a, b in itertools.pairwise(pts)), default=0) / VIDEO_CLOCK


async def test_video_keeps_flowing_at_two_percent_loss(worker: LocalMediaWorker) -> None:
    alice = Client(worker, ROOM, "alice", luma=50)
    bob = Client(worker, ROOM, "bob", luma=200)
    try:
        await alice.negotiate()
        await bob.negotiate()
        await eventually(lambda: alice.video_count > 5 and bob.video_count > 5, "call up")
        lossy_uplink(alice, seed=1)
        lossy_uplink(bob, seed=2)
        audio_before = (await stats(worker)).forwarded_frames["audio"]
        sent_before = alice.audio.sent + bob.audio.sent
        # Measured in the media's own time, not the wall clock: on a loaded machine the
        # clients (in this process) encode late, and wall-clock gaps measured the machine.
        first = {c.participant_id: len(c.received_pts) for c in (alice, bob)}

        def since(client: Client) -> list[int]:
            return client.received_pts[first[client.participant_id]:]

        def covered() -> bool:
            return all(len(p := since(c)) > 1 and (p[-1] - p[0]) / VIDEO_CLOCK > WINDOW
                       for c in (alice, bob))

        await eventually(covered, "5 s of video under loss", timeout=60)
        after = await stats(worker)
        sent = alice.audio.sent + bob.audio.sent - sent_before
        for client in (alice, bob):
            gap = longest_gap(since(client))
            assert gap < MAX_FREEZE, f"{client.participant_id}'s video froze {gap:.2f} s"
        audio_share = (after.forwarded_frames["audio"] - audio_before) / sent
        assert audio_share > MIN_AUDIO_SHARE, f"only {audio_share:.0%} of the audio forwarded"
        assert after.decoded_frames == 0 and after.encoded_frames == 0
    finally:
        await alice.close()
        await bob.close()
