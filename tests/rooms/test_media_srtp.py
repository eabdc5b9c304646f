"""The forward path's SRTP wrapper: the same packets as pylibsrtp's own Session, on the same
context (keys, replay window), so either can protect and the other's peer still unprotects."""

from __future__ import annotations

import os

import pylibsrtp
import pytest

from rooms.media.srtp import FastSrtp

SSRC = 0x1234ABCD


def rtp(seq: int, payload: bytes = b"\x90\x80\x80\x01vp8 frame data") -> bytes:
    return (bytes((0x80, 96)) + seq.to_bytes(2, "big") + (1000 * seq).to_bytes(4, "big")
            + SSRC.to_bytes(4, "big") + payload)


def pair() -> tuple[pylibsrtp.Session, pylibsrtp.Session]:
    key = os.urandom(30)
    tx = pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND))
    rx = pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND))
    return tx, rx


def test_fast_protect_is_unprotected_by_the_stock_session_and_back() -> None:
    tx, rx = pair()
    fast_tx, fast_rx = FastSrtp(tx), FastSrtp(rx)
    for seq in range(1, 40):
        packet = rtp(seq)
        protected = fast_tx.protect(packet) if seq % 2 else tx.protect(packet)
        assert protected != packet and len(protected) > len(packet)  # encrypted, with a tag
        plain = rx.unprotect(protected) if seq % 3 else fast_rx.unprotect(protected)
        assert plain == packet


def test_a_tampered_or_replayed_packet_is_refused() -> None:
    tx, rx = pair()
    fast_rx = FastSrtp(rx)
    protected = FastSrtp(tx).protect(rtp(7))
    assert fast_rx.unprotect(protected) == rtp(7)
    with pytest.raises(pylibsrtp.Error):
        fast_rx.unprotect(protected)  # the session's replay window, shared
    tampered = bytearray(FastSrtp(tx).protect(rtp(8)))
    tampered[-1] ^= 1
    with pytest.raises(pylibsrtp.Error):
        fast_rx.unprotect(bytes(tampered))


def test_an_oversized_packet_is_refused_not_overflowed() -> None:
    tx, _ = pair()
    with pytest.raises(ValueError):
        FastSrtp(tx).protect(rtp(1, b"x" * 1700))
