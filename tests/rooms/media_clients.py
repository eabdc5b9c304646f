"""In-process "browsers" for the media worker tests: aiortc peer connections that send a
synthetic 640x480 VP8 video (encoded by aiortc on the client side) and Opus audio, negotiate
through worker messages, and decode what they receive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack, VideoStreamTrack
from av.frame import Frame

from rooms.messages import Answer, Negotiate, ParticipantId, RoomId
from rooms.worker import MediaWorker

WIDTH, HEIGHT = 640, 480


class SyntheticVideo(VideoStreamTrack):
    """A flat grey picture of brightness ``luma`` with a bright bar moving across it, so
    every frame differs and a receiver can tell senders apart by mean brightness."""

    def __init__(self, luma: int) -> None:
        super().__init__()
        self._luma = luma
        self._count = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        bar = (self._count * 8) % (WIDTH - 16)
        row = bytes([self._luma]) * bar + b"\xff" * 16 + bytes([self._luma]) * (WIDTH - bar - 16)
        frame.planes[0].update(row * HEIGHT)
        for plane in frame.planes[1:]:
            plane.update(b"\x80" * (plane.line_size * plane.height))
        frame.pts = pts
        frame.time_base = time_base
        self._count += 1
        return frame


class CountedAudio(AudioStreamTrack):
    """aiortc's silent Opus source, counting the frames it hands to the sender: on a busy
    machine a client sends fewer than 50 a second, and a share is taken of what was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def recv(self) -> Frame:
        frame = await super().recv()
        self.sent += 1
        return frame


def mean_luma(frame: av.VideoFrame) -> float:
    plane = frame.planes[0]
    data = bytes(plane)
    sample = data[:: 97]
    return sum(sample) / len(sample)


class Client:
    """One browser: one peer connection, sendrecv audio (and video) transceivers."""

    def __init__(self, worker: MediaWorker, room_id: RoomId, participant_id: str, *,
                 luma: int, video: bool = True) -> None:
        self.worker = worker
        self.room_id = room_id
        self.participant_id = ParticipantId(participant_id)
        self.luma = luma
        self.pc = RTCPeerConnection()
        self.video_frames: list[av.VideoFrame] = []
        self.audio_frames = 0
        self.received_video = 0  # total, unlike video_frames which keeps the last 50
        # Media time (90 kHz RTP clock) of each video frame received: the sender's clock
        # advances one frame per frame even when a busy machine makes it late, so a gap here
        # is video that never arrived, not a sender that ran late.
        self.received_pts: list[int] = []
        self._consumers: list[asyncio.Task[None]] = []
        self.audio = CountedAudio()
        self.pc.addTrack(self.audio)
        if video:
            self.pc.addTrack(SyntheticVideo(luma))
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._consumers.append(asyncio.ensure_future(self._consume(track)))

    async def _consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if isinstance(frame, av.VideoFrame):
                    self.video_frames.append(frame)
                    self.received_video += 1
                    if frame.pts is not None:
                        self.received_pts.append(frame.pts)
                    del self.video_frames[:-50]  # keep memory flat
                else:
                    self.audio_frames += 1
        except MediaStreamError:
            pass

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def negotiate(self) -> None:
        reply = await self.worker.request(
            Negotiate(self.room_id, self.participant_id, await self.offer()))
        assert isinstance(reply, Answer), reply
        await self.pc.setRemoteDescription(RTCSessionDescription(reply.sdp, "answer"))

    @property
    def video_count(self) -> int:
        return len(self.video_frames)

    async def close(self) -> None:
        for task in self._consumers:
            task.cancel()
        await asyncio.gather(*self._consumers, return_exceptions=True)
        await self.pc.close()


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {what}")
        await asyncio.sleep(0.05)


__all__ = ["Client", "eventually", "mean_luma"]
