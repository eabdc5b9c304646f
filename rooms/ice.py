"""ICE configuration and the filter on candidates that clients offer to the media worker.

Pure functions: the media worker calls them, nothing here does I/O.

Why filter: a client could name private, loopback or link-local addresses as its candidates and
make the server probe its own network (an SSRF through ICE connectivity checks). Unless the worker
is configured for a lab (``allow_private_candidates``), only globally routable IP addresses are
accepted.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from aiortc import RTCIceServer

CANDIDATE_PREFIX = "candidate:"
MAX_CANDIDATE_CHARS = 1024
_PROTOCOLS = frozenset({"udp", "tcp"})
_TYPES = frozenset({"host", "srflx", "prflx", "relay"})


class CandidateError(ValueError):
    """A candidate line that is malformed or names an address the worker must not probe."""


def address_allowed(host: str, *, allow_private: bool) -> bool:
    """Whether the worker may send connectivity checks to ``host``.

    With ``allow_private`` every IP literal and mDNS name passes. Otherwise only globally
    routable IP literals pass: private, loopback, link-local, CGNAT, multicast, reserved and
    unspecified addresses are refused, and so are names (``.local`` mDNS names always point at
    a local network, and other names could resolve to anything).
    """
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return allow_private and host.endswith(".local")
    if allow_private:
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def strip_candidate_prefix(line: str) -> str:
    """``"candidate:1 1 udp ..."`` (browser form) -> ``"1 1 udp ..."`` (aiortc form)."""
    line = line.strip()
    if line.startswith("a="):
        line = line[2:]
    if line.startswith(CANDIDATE_PREFIX):
        line = line[len(CANDIDATE_PREFIX):]
    return line.strip()


def check_candidate(line: str, *, allow_private: bool) -> str:
    """Validate one candidate line (with or without ``candidate:``) and return it without
    the prefix, ready for ``aiortc.sdp.candidate_from_sdp``. Raises ``CandidateError``."""
    if len(line) > MAX_CANDIDATE_CHARS:
        raise CandidateError("candidate too long")
    body = strip_candidate_prefix(line)
    bits = body.split()
    # foundation component protocol priority address port "typ" type [extensions...]
    if len(bits) < 8 or bits[6] != "typ":
        raise CandidateError("candidate is not 'foundation component protocol priority "
                             "address port typ type'")
    # ASCII only: isdigit() also takes '²', which int() refuses.
    if not all(bits[i].isascii() and bits[i].isdigit() for i in (1, 3, 5)):
        raise CandidateError("candidate component, priority and port must be numbers")
    if bits[2].lower() not in _PROTOCOLS or bits[7] not in _TYPES:
        raise CandidateError("candidate protocol or type is unknown")
    if not 0 < int(bits[5]) < 65536:
        raise CandidateError("candidate port out of range")
    if not address_allowed(bits[4], allow_private=allow_private):
        raise CandidateError("candidate address is not allowed")
    return body


def filter_sdp_candidates(sdp: str, *, allow_private: bool) -> str:
    """Drop every ``a=candidate`` line of ``sdp`` that ``check_candidate`` refuses.

    Browsers usually offer without candidates and trickle them, but an offer may carry them
    inline; they must pass the same filter as trickled ones.
    """
    lines = sdp.splitlines()
    kept: list[str] = []
    for line in lines:
        if line.startswith("a=candidate:"):
            try:
                check_candidate(line, allow_private=allow_private)
            except CandidateError:
                continue
        kept.append(line)
    return "\r\n".join(kept) + "\r\n"


def ice_servers_from_dicts(servers: Sequence[Mapping[str, Any]]) -> list[RTCIceServer]:
    """Turn RTCIceServer-like dicts (``{urls, username?, credential?}``, the shape served by
    ``GET /api/config``) into aiortc's ``RTCIceServer``. Raises ``ValueError`` on a bad entry."""
    result: list[RTCIceServer] = []
    for entry in servers:
        urls = entry.get("urls")
        if isinstance(urls, str):
            url_list = [urls]
        elif isinstance(urls, list) and urls and all(isinstance(u, str) for u in urls):
            url_list = list(urls)
        else:
            raise ValueError(f"ICE server needs 'urls' (a string or a list of strings): {entry!r}")
        unknown = set(entry) - {"urls", "username", "credential", "credentialType"}
        if unknown:
            raise ValueError(f"ICE server has unknown keys {sorted(unknown)}")
        if entry.get("credentialType", "password") != "password":
            raise ValueError("only credentialType 'password' is supported")
        username = entry.get("username")
        credential = entry.get("credential")
        if any(u.startswith(("turn:", "turns:")) for u in url_list) and (
            not isinstance(username, str) or not isinstance(credential, str)
        ):
            raise ValueError("a TURN server needs 'username' and 'credential'")
        result.append(RTCIceServer(urls=url_list, username=username, credential=credential))
    return result
