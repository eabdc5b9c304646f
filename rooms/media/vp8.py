"""What the worker needs to know about VP8 frames: whether one is a keyframe.

RFC 6386 section 9.1: the first three bytes of a frame are the frame tag; bit 0 of the first
byte is 0 for a keyframe, and a keyframe's tag is followed by the start code 9d 01 2a. The
start code is checked too, so the tail of a frame cut by packet loss is not mistaken for one.
"""

from __future__ import annotations

VP8_START_CODE = b"\x9d\x01\x2a"


def is_vp8_keyframe(frame: bytes) -> bool:
    """Whether ``frame`` (a whole VP8 frame, payload descriptors removed) is a keyframe."""
    return len(frame) >= 10 and frame[0] & 0x01 == 0 and frame[3:6] == VP8_START_CODE
