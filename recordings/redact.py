"""A copy of a segment that keeps only the packets inside given time ranges (mux only, never a
codec call): what a viewer may receive of a file that spans a caucus they were shut out of
(``recordings.privacy``).

Audio packets are kept one by one. Video after a cut resumes on the next keyframe, since a
delta frame without its references would decode to garbage: a viewer may lose up to a
keyframe interval of picture at the start of each allowed range, never gain any.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av

from recordings.privacy import Range, allowed_at
from recordings.webm import DEFAULT_SIZE, SegmentFile


def redact(source: Path, dest: Path, ranges: Sequence[Range]) -> int:
    """Write to ``dest`` the packets of ``source`` whose timestamp lies in ``ranges``; return
    how many were kept. ``dest`` appears whole (written beside it, then renamed)."""
    tmp = dest.with_name(dest.name + ".tmp")
    kept = 0
    with av.open(str(source)) as container:
        size = DEFAULT_SIZE
        for stream in container.streams.video:
            width = getattr(stream.codec_context, "width", 0)
            height = getattr(stream.codec_context, "height", 0)
            if width and height:
                size = (width, height)
        out = SegmentFile(tmp, size=size)
        try:
            waiting_key = True  # video resumes on a keyframe after every cut
            for packet in container.demux():
                if packet.size == 0 or packet.pts is None or packet.time_base is None:
                    continue
                kind = packet.stream.type
                if kind not in ("audio", "video"):
                    continue
                ms = round(float(packet.pts * packet.time_base) * 1000)
                if not allowed_at(ranges, ms):
                    if kind == "video":
                        waiting_key = True
                    continue
                if kind == "video":
                    if waiting_key and not packet.is_keyframe:
                        continue
                    waiting_key = False
                out.write(kind, bytes(packet), ms, bool(packet.is_keyframe))
                kept += 1
        finally:
            out.close()
    tmp.replace(dest)
    return kept
