"""The worker's RTP path below aiortc's coroutines: straight from the socket, straight to it.

aiortc hands every datagram from the socket callback to an ``asyncio.Queue``, wakes the DTLS
transport's task, which decrypts and parses it and awaits the receiver; each packet sent goes
down five coroutines (DTLS, ICE transport, ICE connection, protocol) to ``sendto``. For a
forwarder that is most of the cost of a packet. Here, for the worker's own connections:

- ``install_receive``: each of the connection's UDP protocols gets a ``datagram_received`` of
  its own. An SRTP (not SRTCP) datagram is decrypted, parsed and routed exactly as aiortc's
  DTLS transport does, then handed to the publication's synchronous ``on_rtp``, in the socket
  callback itself. Everything else (STUN, DTLS, RTCP) goes the stock way.
- the connection's sockets are read in batches, with a receive buffer sized for bursts;
- ``send_rtp``: encrypt with the DTLS transport's SRTP session and ``sendto`` the nominated
  ICE pair; ``send_media`` (forwarded RTP) batches each connection's packets of one event-loop
  iteration into one ``sendmmsg`` (``rooms.media.sendbatch``). Before the transport is
  connected nothing is sent, like aiortc's ConnectionError.

The names touched are aiortc's and aioice's private attributes listed in docs/media.md and
pinned by tests/rooms/test_media_canary.py.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import sys
from collections.abc import Callable
from typing import Any

import pylibsrtp
from aiortc.rtcdtlstransport import RTCDtlsTransport, State
from aiortc.rtp import RtpPacket, is_rtcp

from rooms.media.sendbatch import DatagramBatch, batching, load_sendmmsg
from rooms.media.srtp import FastSrtp

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
DTLS_STATE = "_state"  # a ``State``; the public ``state`` property formats a string
ROUTE_ATTR = "parley_route"  # where the send path keeps its lookups on the DTLS transport

#: The asyncio datagram transport's socket (read directly, in batches).
TRANSPORT_SOCKET = "_sock"
LOOP_ADD_READER = "_add_reader"
LOOP_REMOVE_READER = "_remove_reader"
READ_BATCH = 64          # datagrams read per wake-up of the event loop, at most
#: Asked for per socket (the kernel doubles it, and caps what it grants at
#: ``net.core.rmem_max``; a process with CAP_NET_ADMIN gets it regardless, SO_RCVBUFFORCE).
#: Each browser has its own socket, so this holds one participant's burst while the loop is
#: busy with everyone else's: 1 MiB is over a second of 640x480 video at 1 Mbit/s.
RECEIVE_BUFFER = 1 << 20
RECEIVE_SIZE = 2048      # larger than any datagram of a 1500-byte MTU path

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

        fast: list[FastSrtp] = []  # the receiving session's, once keys exist

        def datagram_received(data: bytes, addr: Any, stock: Callable[[bytes, Any], None] = stock,
                              fast: list[FastSrtp] = fast) -> None:
            # RTP, not RTCP (RFC 5761: RTCP packet types 192-223 in the second byte).
            if not data or not 127 < data[0] < 192 or len(data) < 2 or 191 < data[1] < 224:
                stock(data, addr)
                return
            rx = getattr(dtls, DTLS_RX_SRTP)
            if rx is None:
                stock(data, addr)
                return
            if not fast or fast[0].session is not rx:
                fast[:] = [FastSrtp(rx)]
            try:
                plain = fast[0].unprotect(data)
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
        _read_in_batches(protocol, datagram_received)


def _read_in_batches(protocol: Any, deliver: Callable[[bytes, Any], None]) -> None:
    """Read every datagram that is waiting when the socket becomes readable, not one per
    event-loop iteration (asyncio's datagram transport reads one), and give the socket a
    receive buffer that holds a burst while the loop is busy: an overflowing buffer loses
    packets silently."""
    transport = protocol.transport
    sock: socket.socket | None = getattr(transport, TRANSPORT_SOCKET, None)
    if sock is None or transport.is_closing():
        return
    size_receive_buffer(sock, RECEIVE_BUFFER)
    loop = asyncio.get_running_loop()
    fd = sock.fileno()

    def read_ready() -> None:
        waiting: list[tuple[bytes, Any]] = []
        failed: OSError | None = None
        for _ in range(READ_BATCH):
            try:
                waiting.append(sock.recvfrom(RECEIVE_SIZE))
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                failed = exc
                break
        if len(waiting) == 1:
            deliver(*waiting[0])
        elif waiting:
            with batching():  # what this burst makes each connection send: one sendmmsg
                for data, addr in waiting:
                    if transport.is_closing():
                        break
                    deliver(data, addr)
        if failed is not None:
            protocol.error_received(failed)

    # The public add_reader refuses an fd a transport owns; the transport removes whatever
    # reader the fd has when it closes, this one included.
    getattr(loop, LOOP_REMOVE_READER)(fd)
    getattr(loop, LOOP_ADD_READER)(fd, read_ready)


@functools.cache
def _warn_small_buffer(granted: int, wanted: int) -> None:
    # Cached: said once per figure and process, not for every socket.
    logger.warning("media sockets got a %d-byte receive buffer, not %d: raise the "
                   "sysctl net.core.rmem_max to at least %d (docs/media.md)",
                   granted, wanted, wanted)


def size_receive_buffer(sock: socket.socket, wanted: int) -> int:
    """Give ``sock`` a receive buffer of ``wanted`` bytes if the kernel allows (forced when the
    process may, else capped at ``net.core.rmem_max``); returns what it got (the kernel's
    figure, doubled for its bookkeeping). Warns once when it got less than asked."""
    # Python's socket module names SO_RCVBUFFORCE only from 3.12 on; Linux's value is 33.
    force = getattr(socket, "SO_RCVBUFFORCE", 33 if sys.platform == "linux" else None)
    try:
        if force is None:
            raise PermissionError
        sock.setsockopt(socket.SOL_SOCKET, force, wanted)
    except OSError:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, wanted)
        except OSError:
            pass
    granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    if granted < wanted:
        _warn_small_buffer(granted, wanted)
    return int(granted)


class _Route:
    """What sending on a connected transport needs, looked up once: its SRTP session (and
    the fast wrapper of it) and the nominated pair's transport and address."""

    def __init__(self, tx: Any, pair: Any) -> None:
        self.tx = tx
        self.fast = FastSrtp(tx)
        self.pair = pair
        self.transport = pair.protocol.transport
        self.addr = pair.remote_addr
        self.batch = DatagramBatch(self.transport, self.addr, load_sendmmsg())


def _route(dtls: RTCDtlsTransport) -> _Route | None:
    if getattr(dtls, DTLS_STATE) is not State.CONNECTED:
        return None
    tx = getattr(dtls, DTLS_TX_SRTP)
    route: _Route | None = getattr(dtls, ROUTE_ATTR, None)
    if route is not None and route.tx is tx:
        return route  # aioice nominates a pair once; the keys are set once, when connected
    pair = getattr(_connection(dtls), ICE_NOMINATED).get(1)
    if tx is None or pair is None:
        return None
    route = _Route(tx, pair)
    setattr(dtls, ROUTE_ATTR, route)
    return route


def send_rtp(dtls: RTCDtlsTransport, data: bytes) -> bool:
    """Encrypt and send one RTP or RTCP packet; False when the transport cannot send yet."""
    route = _route(dtls)
    if route is None:
        return False
    try:
        protected = route.tx.protect_rtcp(data) if is_rtcp(data) else route.fast.protect(data)
    except (pylibsrtp.Error, ValueError):
        return False
    route.transport.sendto(protected, route.addr)
    return True


def send_media(dtls: RTCDtlsTransport, data: bytes) -> bool:
    """``send_rtp`` for a packet known to be RTP (the forward path's), sent with the others
    of this event-loop iteration (``rooms.media.sendbatch``)."""
    route = _route(dtls)
    if route is None:
        return False
    try:
        protected = route.fast.protect(data)
    except (pylibsrtp.Error, ValueError):
        return False
    route.batch.send(protected)
    return True
