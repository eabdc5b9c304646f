"""Reading a segment back without decoding: packet counts, first and last timestamps, codecs.

Used after a crash to learn how far a segment got, and by tests. ``av.open`` and ``demux``
read the container only; nothing is decoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av


@dataclass
class Probe:
    packets: dict[str, int] = field(default_factory=dict)
    first_ms: int | None = None
    last_ms: int | None = None
    codecs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # what stopped the reading early, if anything


def probe(path: Path) -> Probe:
    """Demux ``path`` to its end; ``error`` says what went wrong, if anything."""
    result = Probe()
    try:
        with av.open(str(path)) as container:
            for stream in container.streams:
                kind = stream.type
                name = stream.codec_context.name if stream.codec_context else None
                info: dict[str, Any] = {"codec": name}
                if kind == "video":
                    info.update(width=getattr(stream.codec_context, "width", None),
                                height=getattr(stream.codec_context, "height", None))
                result.codecs[kind] = info
                result.packets[kind] = 0
            for packet in container.demux():
                if packet.size == 0 or packet.pts is None or packet.time_base is None:
                    continue  # the flush packet at the end
                ms = round(float(packet.pts * packet.time_base) * 1000)
                result.packets[packet.stream.type] += 1
                result.first_ms = ms if result.first_ms is None else min(result.first_ms, ms)
                result.last_ms = ms if result.last_ms is None else max(result.last_ms, ms)
    except (av.FFmpegError, OSError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    return result
