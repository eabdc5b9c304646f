"""Checks on a multi-party browser's offer: several m-lines per kind, one receiving slot each.

The browser of a mediation room offers its own audio and video (sendrecv, the first m-line of
each kind) plus recvonly m-lines, one per remote participant it can show (``max_slots`` per
kind at most). Slot i of a kind is the i-th m-line of that kind. Pure.
"""

from __future__ import annotations

from collections import Counter

from aiortc import sdp as aiortc_sdp

from rooms.ice import filter_sdp_candidates
from rooms.media.offer import MEDIA_KINDS, Offer, bad_sdp, check_transport
from rooms.messages import MAX_SDP_BYTES


def check_slotted_offer(sdp: str, *, allow_private_candidates: bool, max_slots: int) -> Offer:
    """Like ``rooms.media.offer.check_offer`` but ``Offer.kinds`` lists every audio/video
    m-line in order (repeats allowed, ``max_slots`` per kind at most)."""
    if not isinstance(sdp, str) or not sdp.strip():
        raise bad_sdp("empty SDP")
    if len(sdp.encode("utf-8", "replace")) > MAX_SDP_BYTES:
        raise bad_sdp("SDP too large")
    try:
        description = aiortc_sdp.SessionDescription.parse(sdp)
    except Exception as exc:  # the parser raises anything from ValueError to StopIteration
        raise bad_sdp(f"malformed SDP: {exc!r}") from exc
    kinds = tuple(m.kind for m in description.media if m.kind in MEDIA_KINDS)
    if not kinds:
        raise bad_sdp("the offer has no audio or video")
    too_many = [k for k, n in Counter(kinds).items() if n > max_slots]
    if too_many:
        raise bad_sdp(f"more than {max_slots} m-lines of {too_many[0]}")
    check_transport(description)
    return Offer(kinds=kinds,
                 sdp=filter_sdp_candidates(sdp, allow_private=allow_private_candidates))
