"""ForwardingTrack: source swaps, timestamp continuity, keyframe gating, never ending early."""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import Any

import av
import pytest
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from rooms.media.counters import MediaCounters
from rooms.media.forwarding import ForwardingTrack

VIDEO_TB = Fraction(1, 90000)
AUDIO_TB = Fraction(1, 48000)


class FakeClock:
    def __init__(self) -> None:
        self.now = 10.0

    def __call__(self) -> float:
        return self.now


class Source(MediaStreamTrack):
    """A publisher's subscriber track: yields what the test puts in, ends on ``end()``."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.queue: asyncio.Queue[av.Packet[Any] | None] = asyncio.Queue()

    async def recv(self) -> av.Packet[Any]:
        item = await self.queue.get()
        if item is None:
            raise MediaStreamError
        return item

    def push(self, pts: int, keyframe: bool = False, time_base: Fraction = VIDEO_TB) -> None:
        packet = av.Packet(b"key" if keyframe else b"delta")
        packet.pts, packet.time_base, packet.is_keyframe = pts, time_base, keyframe
        self.queue.put_nowait(packet)

    def end(self) -> None:
        self.queue.put_nowait(None)


class Publisher:
    def __init__(self) -> None:
        self.requests = 0

    def request_keyframe(self) -> None:
        self.requests += 1


async def next_packet(track: ForwardingTrack) -> av.Packet[Any]:
    packet = await asyncio.wait_for(track.recv(), timeout=5)
    assert isinstance(packet, av.Packet)
    return packet


async def test_video_waits_for_keyframe_and_stays_continuous_across_sources() -> None:
    clock, counters = FakeClock(), MediaCounters()
    track = ForwardingTrack("video", counters, clock)
    first, pub1 = Source("video"), Publisher()
    track.attach(first, pub1)
    assert pub1.requests == 1, "a keyframe is asked for at once on attach"
    first.push(1000)  # delta before any keyframe: dropped
    first.push(4000, keyframe=True)
    first.push(7000)
    p = await next_packet(track)
    assert (p.pts, p.is_keyframe, p.time_base) == (0, True, VIDEO_TB)
    assert (await next_packet(track)).pts == 3000

    # The publisher reloads: the old source ends, then a new one is attached.
    first.end()
    clock.now += 1.0
    second, pub2 = Source("video"), Publisher()
    track.attach(second, pub2)
    assert pub2.requests == 1
    for pts in (500, 3500, 6500):
        second.push(pts)  # deltas: dropped until the keyframe
    second.push(9500, keyframe=True)
    clock.now += 0.35  # the deltas are seen 0.35 s after the attach's request
    p = await next_packet(track)
    assert p.is_keyframe and p.pts == 3000 + round(1.35 * 90000), "wall-clock gap kept"
    assert pub2.requests == 2, "asked again once (every 0.3 s), not once per dropped frame"
    assert pub1.requests == 1
    assert counters.snapshot()[0] == {"video": 3}

    track.request_keyframe()  # a subscriber's PLI goes to the current publisher
    assert pub2.requests == 3
    track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()


async def test_audio_is_not_gated_and_gets_a_frame_step_on_a_quick_swap() -> None:
    clock = FakeClock()
    track = ForwardingTrack("audio", MediaCounters(), clock)
    first = Source("audio")
    track.attach(first, Publisher())
    first.push(48000, time_base=AUDIO_TB)
    assert (await next_packet(track)).pts == 0
    second = Source("audio")
    track.attach(second, Publisher())
    second.push(7, time_base=AUDIO_TB)
    assert (await next_packet(track)).pts == 960, "at least one 20 ms step forward"
    track.stop()


async def test_old_source_is_ignored_after_a_swap_and_packets_are_copied() -> None:
    track = ForwardingTrack("audio", MediaCounters(), FakeClock())
    first, second = Source("audio"), Source("audio")
    track.attach(first, Publisher())
    track.attach(second, Publisher())
    assert first.readyState == "ended", "the old subscriber track is stopped"
    original = av.Packet(b"op")
    original.pts, original.time_base = 123, AUDIO_TB
    second.queue.put_nowait(original)
    forwarded = await next_packet(track)
    assert forwarded is not original and original.pts == 123 and forwarded.pts == 0
    track.attach(None, None)  # nobody to forward: recv just waits
    third = Source("audio")
    track.attach(third, Publisher())
    third.push(5, time_base=AUDIO_TB)
    assert ((await next_packet(track)).pts or 0) > 0
    track.stop()
