"""Pure helpers: VP8 keyframe bit, ICE address filter, candidate checks, ICE servers, routing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rooms.ice import (
    CandidateError,
    address_allowed,
    check_candidate,
    filter_sdp_candidates,
    ice_servers_from_dicts,
    strip_candidate_prefix,
)
from rooms.media.offer import preferred_codecs
from rooms.media.routing import route
from rooms.media.vp8 import is_vp8_keyframe
from rooms.messages import ParticipantId

# A real VP8 keyframe header: frame tag (P=0), start code, 640x480.
KEYFRAME = bytes([0x50, 0x42, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01]) + b"\x00" * 20
DELTA = bytes([0x31, 0x0B, 0x00]) + b"\x00" * 30


def test_vp8_keyframe_bit() -> None:
    assert is_vp8_keyframe(KEYFRAME)
    assert not is_vp8_keyframe(DELTA)
    assert not is_vp8_keyframe(b"")
    assert not is_vp8_keyframe(KEYFRAME[:9])
    # P bit clear but no start code: a tail of a frame cut by loss, not a keyframe.
    assert not is_vp8_keyframe(bytes([0x50, 0x42, 0x00, 0x00, 0x00, 0x00]) + b"\x00" * 10)


@given(st.binary(max_size=64))
def test_vp8_keyframe_needs_the_start_code(data: bytes) -> None:
    if is_vp8_keyframe(data):
        assert data[0] & 1 == 0 and data[3:6] == b"\x9d\x01\x2a"


@pytest.mark.parametrize(("host", "public_ok", "lab_ok"), [
    ("8.8.8.8", True, True),
    ("2001:4860:4860::8888", True, True),
    ("10.1.2.3", False, True),
    ("172.16.0.1", False, True),
    ("192.168.1.1", False, True),
    ("127.0.0.1", False, True),
    ("::1", False, True),
    ("169.254.1.1", False, True),
    ("fe80::1", False, True),
    ("fd00::1", False, True),
    ("100.64.0.1", False, True),  # carrier-grade NAT
    ("0.0.0.0", False, False),  # never a peer, even in a lab
    ("224.0.0.1", False, False),
    ("::ffff:192.168.1.1", False, True),  # IPv4-mapped private
    ("::ffff:8.8.8.8", False, True),  # a mapped form hides the address: plain 8.8.8.8 passes
    ("abcd.local", False, True),
    ("example.org", False, False),
])
def test_address_filter(host: str, public_ok: bool, lab_ok: bool) -> None:
    assert address_allowed(host, allow_private=False) is public_ok
    assert address_allowed(host, allow_private=True) is lab_ok


def test_check_candidate() -> None:
    line = "candidate:842163049 1 udp 1677729535 8.8.8.8 3478 typ srflx raddr 0.0.0.0 rport 0"
    assert check_candidate(line, allow_private=False) == line.removeprefix("candidate:")
    assert strip_candidate_prefix("a=candidate:1 1 udp 1 8.8.8.8 1 typ host") == (
        "1 1 udp 1 8.8.8.8 1 typ host")
    for bad in ("", "candidate:", "1 1 udp 1 8.8.8.8 1 typ", "1 1 sctp 1 8.8.8.8 1 typ host",
                "1 1 udp 1 8.8.8.8 1 typ weird", "1 x udp 1 8.8.8.8 1 typ host",
                "1 1 udp 1 8.8.8.8 70000 typ host", "1 1 udp 1 8.8.8.8 1 type host",
                "1 1 udp 1 10.0.0.1 1 typ host"):
        with pytest.raises(CandidateError):
            check_candidate(bad, allow_private=False)


@given(st.text(max_size=200))
def test_check_candidate_never_raises_anything_else(line: str) -> None:
    try:
        check_candidate(line, allow_private=False)
    except CandidateError:
        pass


def test_filter_sdp_candidates() -> None:
    sdp = ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 96\r\n"
           "a=candidate:1 1 udp 1 10.0.0.1 5000 typ host\r\n"
           "a=candidate:2 1 udp 1 8.8.8.8 5000 typ srflx\r\n"
           "a=end-of-candidates\r\n")
    public = filter_sdp_candidates(sdp, allow_private=False)
    assert "10.0.0.1" not in public and "8.8.8.8" in public and "end-of-candidates" in public
    assert filter_sdp_candidates(sdp, allow_private=True) == sdp


def test_ice_servers_from_dicts() -> None:
    servers = ice_servers_from_dicts([
        {"urls": "stun:stun.example.org:3478"},
        {"urls": ["turn:turn.example.org?transport=udp"], "username": "u", "credential": "c"},
    ])
    assert servers[0].urls == ["stun:stun.example.org:3478"]
    assert servers[1].username == "u" and servers[1].credential == "c"
    assert ice_servers_from_dicts([]) == []
    bads: list[dict[str, object]] = [
        {"urls": []}, {"urls": 5}, {"urls": "turn:x"}, {"urls": "stun:x", "pwd": 1}]
    for bad in bads:
        with pytest.raises(ValueError):
            ice_servers_from_dicts([bad])


A, B, C = ParticipantId("a"), ParticipantId("b"), ParticipantId("c")


def test_route_one_to_one_and_alone() -> None:
    assert route([A, B], ("audio", "video")) == {
        (A, "audio"): B, (A, "video"): B, (B, "audio"): A, (B, "video"): A}
    assert route([A], ("audio",)) == {(A, "audio"): None}
    assert route([], ("audio",)) == {}


def test_route_more_than_two_and_restricted() -> None:
    routes = route([A, B, C], ("audio",))
    assert routes == {(A, "audio"): B, (B, "audio"): A, (C, "audio"): A}
    # A caucus-like rule: C may only hear B.
    caucus = route([A, B, C], ("audio",),
                   may_receive=lambda sub, pub, kind: sub != C or pub == B)
    assert caucus[(C, "audio")] == B
    private = route([A, B], ("audio",), may_receive=lambda sub, pub, kind: False)
    assert private == {(A, "audio"): None, (B, "audio"): None}


def test_preferred_codecs_are_only_forwardable_ones() -> None:
    assert [c.mimeType for c in preferred_codecs("video")] == ["video/VP8", "video/rtx"]
    assert [c.mimeType for c in preferred_codecs("audio")] == ["audio/opus"]
