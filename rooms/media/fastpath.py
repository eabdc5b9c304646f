"""The worker's RTP path below aiortc's coroutines: straight from the socket, straight to it.

aiortc hands every datagram from the socket callback to an ``asyncio.Queue``, wakes the DTLS
transport's task, which decrypts and parses it and awaits the receiver; each packet sent goes
down five coroutines (DTLS, ICE transport, ICE connection, protocol) to ``sendto``. For a
forwarder that is most of the cost of a packet. Here, for the worker's own connections:

- ``install_receive``: each of the connection's UDP protocols gets a ``datagram_received`` of
  its own. An SRTP (not SRTCP) datagram is decrypted, parsed and routed exactly as aiortc's
  DTLS transport does, then handed to the publication's synchronous ``on_rtp``, in the socket
  callback itself. Everything else (STUN, DTLS, RTCP) goes the stock way.
- ``send_rtp``: encrypt with the DTLS transport's SRTP session and ``sendto`` the nominated
  ICE pair. Before the transport is connected nothing is sent, like aiortc's ConnectionError.

The names touched are aiortc's and aioice's private attributes listed in docs/media.md and
pinned by tests/rooms/test_media_canary.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pylibsrtp
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtp import RtpPacket, is_rtcp

logger = logging.getLogger(__name__)

#: RTCIceTransport -> aioice Connection -> its UDP protocols and nominated pairs.
ICE_CONNECTION = "_connection"
ICE_PROTOCOLS = "_protocols"
ICE_NOMINATED = "_nominated"
#: The DTLS transport's SRTP sessions, RTP router and header extension map.
DTLS_RX_SRTP = "_rx_srtp"
DTLS_TX_SRTP = "_tx_srtp"
DTLS_ROUTER = "_rtp_router"
DTLS_EXTENSIONS = "_rtp_header_extensions_map"

OnRtp = Callable[[RtpPacket], None]
#: Which receiver's packets go to which handler (the worker's publications).
Handlers = dict[Any, OnRtp]


def _connection(dtls: RTCDtlsTransport) -> Any:
    return getattr(dtls.transport, ICE_CONNECTION)


def install_receive(dtls: RTCDtlsTransport, handlers: Handlers) -> None:
    """Decrypt and hand on this transport's SRTP packets in the socket callback."""
    for protocol in getattr(_connection(dtls), ICE_PROTOCOLS):
        if getattr(protocol, "parley_fast", False):
            continue
        stock: Callable[[bytes, Any], None] = protocol.datagram_received

        def datagram_received(data: bytes, addr: Any, stock: Callable[[bytes, Any], None] = stock
                              ) -> None:
            rx = getattr(dtls, DTLS_RX_SRTP)
            if not data or not 127 < data[0] < 192 or rx is None or is_rtcp(data):
                stock(data, addr)
                return
            try:
                plain = rx.unprotect(data)
                packet = RtpPacket.parse(plain, getattr(dtls, DTLS_EXTENSIONS))
            except (pylibsrtp.Error, ValueError):
                return  # undecryptable or malformed: aiortc drops these too
            handler = handlers.get(getattr(dtls, DTLS_ROUTER).route_rtp(packet))
            if handler is None:
                return
            try:
                handler(packet)
            except Exception:  # never into the event loop's socket callback
                logger.exception("forwarding an RTP packet failed")

        protocol.datagram_received = datagram_received
        protocol.parley_fast = True


def send_rtp(dtls: RTCDtlsTransport, data: bytes) -> bool:
    """Encrypt and send one RTP or RTCP packet; False when the transport cannot send yet."""
    if dtls.state != "connected":
        return False
    tx = getattr(dtls, DTLS_TX_SRTP)
    pair = getattr(_connection(dtls), ICE_NOMINATED).get(1)
    if tx is None or pair is None:
        return False
    try:
        protected = tx.protect_rtcp(data) if is_rtcp(data) else tx.protect(data)
    except pylibsrtp.Error:
        return False
    pair.protocol.transport.sendto(protected, pair.remote_addr)
    return True
