"""Checks on a browser's SDP offer before any peer connection is made for it. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from aiortc import sdp as aiortc_sdp
from aiortc.rtcrtpparameters import RTCRtpCodecCapability
from aiortc.rtcrtpsender import RTCRtpSender

from rooms.ice import filter_sdp_candidates
from rooms.messages import MAX_SDP_BYTES, MediaWorkerError

MEDIA_KINDS = ("audio", "video")
#: The only codecs the worker negotiates: it forwards them without decoding (docs/media.md).
FORWARDED_CODECS = {"audio": ("audio/opus",), "video": ("video/vp8", "video/rtx")}
#: Fingerprint hashes accepted (bytes each); sha-1 and md5 are too weak to bind a certificate.
FINGERPRINT_BYTES = {"sha-256": 32, "sha-384": 48, "sha-512": 64}


@dataclass(frozen=True)
class Offer:
    """A checked offer: its media kinds in m-line order, and the SDP with refused
    candidates removed."""

    kinds: tuple[str, ...]
    sdp: str


def bad_sdp(reason: str) -> MediaWorkerError:
    return MediaWorkerError("bad_sdp", reason)


def check_offer(sdp: str, *, allow_private_candidates: bool) -> Offer:
    """Parse and check ``sdp``; raises ``MediaWorkerError('bad_sdp')``.

    Refused: oversized or unparsable SDP; SDP that is not an offer (an offer's DTLS setup is
    ``actpass``, RFC 5763 section 5); no audio or video m-line; more than one m-line of a kind
    (the browser contract is one audio and one video transceiver); and, as
    ``no_dtls_fingerprint``, an m-line without a DTLS fingerprint (``check_transport``).
    """
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
    if len(set(kinds)) != len(kinds):
        raise bad_sdp("one audio and one video m-line at most")
    check_transport(description)
    return Offer(kinds=kinds,
                 sdp=filter_sdp_candidates(sdp, allow_private=allow_private_candidates))


def check_transport(description: aiortc_sdp.SessionDescription) -> None:
    """Every m-line of an offer: DTLS setup ``actpass``, ICE credentials, and a DTLS
    certificate fingerprint (session or media level) of a known hash. Without a fingerprint
    the DTLS handshake would accept any certificate: whoever answers first on the path could
    sit in the middle of the media (RFC 8122, RFC 8842). ``no_dtls_fingerprint`` names that."""
    for media in description.media:
        if media.dtls is None or media.dtls.role != "auto":
            raise bad_sdp("not an offer (DTLS setup must be actpass)")
        if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
            raise bad_sdp("ICE credentials missing")
        if not media.dtls.fingerprints:
            raise MediaWorkerError("no_dtls_fingerprint",
                                   f"m-line {media.kind}: no a=fingerprint (DTLS certificate)")
        for fingerprint in media.dtls.fingerprints:
            size = FINGERPRINT_BYTES.get(fingerprint.algorithm.lower())
            if size is None or not _is_hex_pairs(fingerprint.value, size):
                raise MediaWorkerError(
                    "no_dtls_fingerprint",
                    f"m-line {media.kind}: fingerprint is not sha-256/384/512 hex pairs")


def _is_hex_pairs(value: str, size: int) -> bool:
    pairs = value.split(":")
    return len(pairs) == size and all(
        len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in pairs)


def preferred_codecs(kind: str) -> list[RTCRtpCodecCapability]:
    """aiortc's capabilities restricted to the forwarded codecs, for setCodecPreferences."""
    wanted = FORWARDED_CODECS[kind]
    return [c for c in RTCRtpSender.getCapabilities(kind).codecs
            if c.mimeType.lower() in wanted]
