"""Packet loss on both clients' uplinks (audio, video, retransmissions, RTCP alike): the
worker's loss measures keep video flowing without long freezes and pass audio on.

The loss is 10%, five times the 2% the design targets, so that a run of a few seconds on
loopback reliably meets lost retransmissions; stock aiortc then forwards ~40% less audio (its
audio jitter buffer drops late packets) and freezes video for 0.4-0.7 s here."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from rooms.media.local import LocalMediaWorker
from rooms.messages import Ack, GetStats, OpenRoom, RoomId, WorkerStats
from tests.rooms.media_clients import Client, eventually

ROOM = RoomId("lossy")
LOSS = 0.10
# The design's target is < 0.3 s at 2% loss; the bound leaves room for a loaded CI machine
# and for the 50 ms sampling.
MAX_FREEZE = 0.5
WINDOW = 5.0
MIN_AUDIO_SHARE = 0.8  # forwarded Opus packets / packets sent (50 per second per client)


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


def longest_gap(times: list[float]) -> float:
    return max((b - a for a, b in itertools.pairwise(times)), default=float("inf"))


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
        arrivals: dict[str, list[float]] = {"alice": [], "bob": []}
        counts = {"alice": alice.video_count, "bob": bob.video_count}

        def sample() -> bool:
            # Called by the poll loop every 50 ms: note when new frames arrived.
            for name, client in (("alice", alice), ("bob", bob)):
                total = client.received_video
                if total != counts[name]:
                    counts[name] = total
                    arrivals[name].append(time.monotonic())
            return min(len(a) for a in arrivals.values()) > 0 and all(
                a[-1] - a[0] > WINDOW for a in arrivals.values())

        started = time.monotonic()
        await eventually(sample, "5 s of video under loss", timeout=20)
        elapsed = time.monotonic() - started
        for name, times in arrivals.items():
            assert longest_gap(times) < MAX_FREEZE, f"{name}'s video froze {longest_gap(times)} s"
        after = await stats(worker)
        audio_share = (after.forwarded_frames["audio"] - audio_before) / (2 * 50 * elapsed)
        assert audio_share > MIN_AUDIO_SHARE, f"only {audio_share:.0%} of the audio forwarded"
        assert after.decoded_frames == 0 and after.encoded_frames == 0
    finally:
        await alice.close()
        await bob.close()
