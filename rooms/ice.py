"""ICE configuration and the filter on candidates that clients offer to the media worker.

Pure functions: the media worker calls them, nothing here does I/O.

Why filter: a client could name private, loopback or link-local addresses (or a form that
hides one: NAT64, 6to4, Teredo, IPv4-mapped) as its candidates and make the server probe its own
network (an SSRF through ICE connectivity checks), or name a host's service port. Unless the
worker is configured for a lab (``allow_private_candidates``, PARLEY_ICE_ALLOW_PRIVATE), only
globally routable unicast IP addresses on ports from ``MIN_PORT`` are accepted.
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


# Never globally reachable unicast, or a form that hides another address (NAT64, 6to4,
# Teredo, IPv4-mapped and -compatible), by the IANA special-purpose registries. Refused unless
# the deployment allows private addresses; ``is_global`` below catches what a table misses.
_REFUSED_NETWORKS: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "unspecified"), ("10.0.0.0/8", "private"), ("100.64.0.0/10", "cgnat"),
    ("127.0.0.0/8", "loopback"), ("169.254.0.0/16", "link-local"), ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"), ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4-relay"), ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"), ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"), ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"), ("::1/128", "loopback"), ("::ffff:0:0/96", "ipv4-mapped"),
    ("::/96", "ipv4-compatible"), ("64:ff9b::/96", "nat64"), ("64:ff9b:1::/48", "nat64"),
    ("100::/64", "discard"), ("2001::/32", "teredo"), ("2001:2::/48", "benchmarking"),
    ("2001:10::/28", "orchid"), ("2001:20::/28", "orchid"), ("2001:db8::/32", "documentation"),
    ("2002::/16", "6to4"), ("3fff::/20", "documentation"), ("5f00::/16", "srv6"),
    ("fc00::/7", "private"), ("fe80::/10", "link-local"), ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)
_NETWORKS = tuple((ipaddress.ip_network(n), why) for n, why in _REFUSED_NETWORKS)
# Not a place a peer can be, even in a lab.
_NEVER = frozenset({"unspecified", "multicast"})
_BROADCAST = ipaddress.ip_address("255.255.255.255")
#: Lowest port the worker sends connectivity checks to: below it are the host's services
#: (ssh, smtp, dns, http...). Browsers and TURN relays use ephemeral ports far above it.
MIN_PORT = 1024


def address_refusal(host: str, *, allow_private: bool) -> str | None:
    """Why the worker must not send connectivity checks to ``host`` (None: it may).

    Only IP literals in their plain form pass, and outside a lab only globally routable
    unicast ones. Names are refused (they could resolve to anything), except ``.local`` mDNS
    names in a lab; so are zone indexes (``fe80::1%eth0``). With ``allow_private`` private,
    loopback, link-local and the other local forms pass; unspecified and multicast never do.
    """
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if "%" in bare:
        return "zone-index"
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        return None if allow_private and host.endswith(".local") else "name"
    if address == _BROADCAST:
        return "broadcast"
    for network, why in _NETWORKS:
        if address.version == network.version and address in network:
            return None if allow_private and why not in _NEVER else why
    if not allow_private and not address.is_global:
        return "not-global"
    return None


def address_allowed(host: str, *, allow_private: bool) -> bool:
    """Whether the worker may send connectivity checks to ``host`` (see ``address_refusal``)."""
    return address_refusal(host, allow_private=allow_private) is None


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
    if not MIN_PORT <= int(bits[5]) < 65536:
        raise CandidateError(f"candidate port must be {MIN_PORT}-65535")
    refusal = address_refusal(bits[4], allow_private=allow_private)
    if refusal is not None:
        raise CandidateError(f"candidate address is not allowed ({refusal})")
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
