"""The ICE candidate filter (issue 14, point 6): every address form that reaches the worker's
own network, or hides another address, is refused outside a lab; so are low ports and port 0.
One row per form: (candidate address, refused outside a lab?, refused in a lab?)."""

from __future__ import annotations

import pytest

from rooms.ice import CandidateError, address_refusal, check_candidate, filter_sdp_candidates

FORMS = [
    # globally routable unicast: accepted everywhere
    ("8.8.8.8", None, None),
    ("2001:4860:4860::8888", None, None),
    ("[2001:4860:4860::8888]", None, None),
    # private, loopback, link-local, CGNAT
    ("10.0.0.1", "private", None), ("172.16.5.4", "private", None),
    ("192.168.1.1", "private", None), ("fd12:3456::1", "private", None),
    ("127.0.0.1", "loopback", None), ("127.255.0.9", "loopback", None), ("::1", "loopback", None),
    ("169.254.169.254", "link-local", None), ("fe80::1", "link-local", None),
    ("fec0::1", "site-local", None),
    ("100.64.0.1", "cgnat", None), ("100.127.255.254", "cgnat", None),
    # forms that hide an IPv4 address
    ("64:ff9b::a00:1", "nat64", None), ("64:ff9b::808:808", "nat64", None),
    ("64:ff9b:1::1", "nat64", None),
    ("2002:a00:1::1", "6to4", None), ("2002:808:808::1", "6to4", None),
    ("192.88.99.1", "6to4-relay", None),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "teredo", None),
    ("::ffff:127.0.0.1", "ipv4-mapped", None), ("::ffff:8.8.8.8", "ipv4-mapped", None),
    ("::ffff:a00:1", "ipv4-mapped", None),
    ("::127.0.0.1", "ipv4-compatible", None), ("::8.8.8.8", "ipv4-compatible", None),
    # never a peer, even in a lab
    ("0.0.0.0", "unspecified", "unspecified"), ("0.1.2.3", "unspecified", "unspecified"),
    ("::", "unspecified", "unspecified"),
    ("224.0.0.251", "multicast", "multicast"), ("239.1.1.1", "multicast", "multicast"),
    ("ff02::fb", "multicast", "multicast"),
    ("255.255.255.255", "broadcast", "broadcast"),
    ("fe80::1%eth0", "zone-index", "zone-index"),
    # reserved, documentation, benchmarking and other special-purpose blocks
    ("192.0.2.1", "documentation", None), ("198.51.100.7", "documentation", None),
    ("203.0.113.9", "documentation", None), ("2001:db8::1", "documentation", None),
    ("3fff::1", "documentation", None),
    ("198.18.0.1", "benchmarking", None), ("2001:2::1", "benchmarking", None),
    ("240.0.0.1", "reserved", None), ("192.0.0.8", "reserved", None),
    ("100::1", "discard", None), ("2001:10::1", "orchid", None), ("2001:20::1", "orchid", None),
    # names: anything could be behind them; mDNS only in a lab
    ("abcd-1234.local", "name", None), ("example.org", "name", "name"),
    ("localhost", "name", "name"), ("0x7f000001", "name", "name"), ("2130706433", "name", "name"),
    ("127.1", "name", "name"), ("010.0.0.1", "name", "name"),
]


@pytest.mark.parametrize(("host", "public", "lab"), FORMS)
def test_address_form(host: str, public: str | None, lab: str | None) -> None:
    assert address_refusal(host, allow_private=False) == public
    assert address_refusal(host, allow_private=True) == lab


@pytest.mark.parametrize(("host", "public", "lab"), FORMS)
def test_the_candidate_filter_applies_the_form_table(host: str, public: str | None,
                                                     lab: str | None) -> None:
    line = f"candidate:1 1 udp 2122260223 {host} 54321 typ host"
    for allow_private, refusal in ((False, public), (True, lab)):
        if refusal is None:
            assert check_candidate(line, allow_private=allow_private)
        else:
            with pytest.raises(CandidateError, match=refusal):
                check_candidate(line, allow_private=allow_private)


PORTS = [
    (0, False), (1, False), (22, False), (53, False), (80, False), (443, False), (1023, False),
    (1024, True), (3478, True), (49152, True), (65535, True), (65536, False), (99999, False),
]


@pytest.mark.parametrize(("port", "accepted"), PORTS)
@pytest.mark.parametrize("allow_private", [False, True])
def test_candidate_port(port: int, accepted: bool, allow_private: bool) -> None:
    line = f"candidate:1 1 udp 2122260223 8.8.8.8 {port} typ srflx raddr 0.0.0.0 rport 0"
    if accepted:
        assert check_candidate(line, allow_private=allow_private)
    else:
        with pytest.raises(CandidateError, match="port"):
            check_candidate(line, allow_private=allow_private)


def test_inline_offer_candidates_pass_the_same_table() -> None:
    bad = [host for host, public, _ in FORMS if public is not None]
    sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 96\r\n" + "".join(
        f"a=candidate:{i} 1 udp 1 {host} 50000 typ host\r\n" for i, host in enumerate(bad)
    ) + "a=candidate:99 1 udp 1 8.8.8.8 50000 typ host\r\na=candidate:98 1 udp 1 8.8.4.4 53 typ host\r\n"
    kept = [line for line in filter_sdp_candidates(sdp, allow_private=False).splitlines()
            if line.startswith("a=candidate:")]
    assert kept == ["a=candidate:99 1 udp 1 8.8.8.8 50000 typ host"]
