"""Real encoded media for the recorder's tests: VP8 frames and Opus packets made with PyAV's
encoders (libvpx, libopus), timed like what the media worker receives (RTP clock rates)."""

from __future__ import annotations

import fractions
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import av
from av.video.frame import PictureType

VIDEO_RATE = 90000
AUDIO_RATE = 48000
FPS = 30


@dataclass(frozen=True)
class Timed:
    """One packet as the worker hands it to the sink: kind, packet and its media time (s)."""

    kind: str
    packet: av.Packet[Any]
    at: float


def _vp8(width: int, height: int, bitrate: int) -> Any:
    ctx = av.CodecContext.create("libvpx", "w")
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
    ctx.time_base = fractions.Fraction(1, VIDEO_RATE)
    ctx.framerate = fractions.Fraction(FPS, 1)
    ctx.bit_rate = bitrate
    ctx.gop_size = 2 * FPS  # a keyframe every 2 s, as after a PLI
    ctx.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    return ctx


def _opus() -> Any:
    ctx = av.CodecContext.create("libopus", "w")
    ctx.sample_rate, ctx.layout, ctx.format = AUDIO_RATE, "stereo", "s16"
    ctx.time_base = fractions.Fraction(1, AUDIO_RATE)
    return ctx


def media(seconds: float, width: int = 160, height: int = 120, bitrate: int = 200_000,
          wants_keyframe: Callable[[], bool] = lambda: False) -> Iterator[Timed]:
    """Encoded video (30 fps) and audio (20 ms packets) in media-time order, generated as
    consumed. ``wants_keyframe`` is the receiver's request (a PLI's): true, the next frame is
    a keyframe, as a browser answers the media worker."""
    venc, aenc = _vp8(width, height, bitrate), _opus()
    # A moving ramp: cheap to encode (noise would cost libvpx ten times more) yet every frame
    # differs, so no frame is empty.
    ramp = bytes(range(256)) * (width * height // 256 + 8)
    frames = int(seconds * FPS)
    audio_index = 0
    forced = -FPS
    for index in range(frames):
        frame = av.VideoFrame(width, height, "yuv420p")
        shift = (index * 3) % 256
        frame.planes[0].update(ramp[shift:shift + frame.planes[0].buffer_size])
        for plane in frame.planes[1:]:
            plane.update(b"\x80" * plane.buffer_size)
        frame.pts = index * (VIDEO_RATE // FPS)
        frame.time_base = fractions.Fraction(1, VIDEO_RATE)
        if wants_keyframe() and index >= forced + FPS // 2:  # a PLI at most twice a second
            frame.pict_type = PictureType.I
            forced = index
        for packet in venc.encode(frame):
            packet.time_base = fractions.Fraction(1, VIDEO_RATE)
            yield Timed("video", packet, packet.pts / VIDEO_RATE)
        # Audio up to this video frame's time.
        while audio_index * 0.02 <= index / FPS:
            samples = av.AudioFrame(format="s16", layout="stereo", samples=960)
            tone = bytes((audio_index * 13 + i) % 256 for i in range(256))
            for channel in samples.planes:
                size = channel.buffer_size
                channel.update((tone * (size // 256 + 1))[:size])
            samples.sample_rate = AUDIO_RATE
            samples.pts = audio_index * 960
            samples.time_base = fractions.Fraction(1, AUDIO_RATE)
            for packet in aenc.encode(samples):
                packet.time_base = fractions.Fraction(1, AUDIO_RATE)
                yield Timed("audio", packet, packet.pts / AUDIO_RATE)
            audio_index += 1


def decode_all(path: str) -> dict[str, int]:
    """Decode every packet of the file (tests only): frames per kind; raises on any error.
    FFmpeg's VP8 and Opus decoders report corrupt data as exceptions through PyAV."""
    counts = {"video": 0, "audio": 0}
    with av.open(path) as container:
        for packet in container.demux():
            if packet.size == 0:
                continue
            counts[packet.stream.type] += len(packet.decode())
    return counts


def first_video_is_keyframe(path: str) -> bool:
    with av.open(path) as container:
        for packet in container.demux(video=0):
            if packet.size:
                return bool(packet.is_keyframe)
    return False
