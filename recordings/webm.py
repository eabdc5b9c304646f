"""One WebM segment file written from encoded packets with PyAV: mux only, never a codec call.

- VP8 goes on a mux-only stream (``add_mux_stream``): no codec context at all.
- Opus needs its ``OpusHead`` in the track header, which a mux-only stream cannot carry; a
  libopus codec context supplies it when PyAV opens it for the header. It never encodes.
- Clusters are cut every ``CLUSTER_MS`` and the muxer flushes after each packet, so a killed
  process leaves a file that plays to within about half a second of the kill: FFmpeg's
  Matroska muxer keeps the open cluster in memory and writes it whole, so the cluster length
  is what a kill loses (plus whatever the writer's queue still held). The interleaving window
  is short for the same reason.
- Timestamps are milliseconds on the recording's common timeline (``recordings.timeline``).
"""

from __future__ import annotations

import fractions
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

CLUSTER_MS = 500
INTERLEAVE_US = 200_000
MS = fractions.Fraction(1, 1000)
DEFAULT_SIZE = (640, 480)
CODECS = {"video": "vp8", "audio": "opus"}


def vp8_size(frame: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 keyframe header (RFC 6386 9.1), or None."""
    if len(frame) < 10 or frame[0] & 1 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(frame[6:8], "little") & 0x3FFF
    height = int.from_bytes(frame[8:10], "little") & 0x3FFF
    return (width, height) if width and height else None


@dataclass
class TrackStats:
    packets: int = 0
    first_ms: int | None = None
    last_ms: int | None = None


@dataclass
class SegmentFile:
    """An open segment; used by one writer thread only."""

    path: Path
    size: tuple[int, int] = DEFAULT_SIZE
    tracks: dict[str, TrackStats] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._container: Any = av.open(str(self.path), "w", format="webm", options={
            "cluster_time_limit": str(CLUSTER_MS),
            "flush_packets": "1",
            "max_interleave_delta": str(INTERLEAVE_US),
        })
        video = self._container.add_mux_stream("vp8", width=self.size[0], height=self.size[1])
        video.time_base = MS
        audio = self._container.add_stream("libopus", rate=48000)
        audio.layout = "stereo"
        audio.time_base = MS
        self._streams = {"video": video, "audio": audio}
        self.tracks = {"video": TrackStats(), "audio": TrackStats()}
        self._closed = False

    def write(self, kind: str, data: bytes, ms: int, keyframe: bool) -> None:
        packet = av.Packet(data)
        packet.pts = packet.dts = ms
        packet.time_base = MS
        packet.is_keyframe = keyframe
        packet.stream = self._streams[kind]
        self._container.mux(packet)
        stats = self.tracks[kind]
        stats.packets += 1
        stats.first_ms = ms if stats.first_ms is None else stats.first_ms
        stats.last_ms = ms

    @property
    def first_ms(self) -> int | None:
        firsts = [t.first_ms for t in self.tracks.values() if t.first_ms is not None]
        return min(firsts) if firsts else None

    @property
    def last_ms(self) -> int | None:
        lasts = [t.last_ms for t in self.tracks.values() if t.last_ms is not None]
        return max(lasts) if lasts else None

    def close(self) -> None:
        """Write the trailer (cues, duration); idempotent."""
        if not self._closed:
            self._closed = True
            self._container.close()

    def codecs(self) -> dict[str, Any]:
        return {"video": {"codec": "vp8", "width": self.size[0], "height": self.size[1],
                          "frames": self.tracks["video"].packets},
                "audio": {"codec": "opus", "sample_rate": 48000,
                          "packets": self.tracks["audio"].packets}}
