"""Outgoing datagrams of one connection, sent together when they come out of one burst.

The forward path sends each RTP packet as it is rewritten. When a socket has several
datagrams waiting (a video frame's packets, or a backlog while the loop was busy),
``fastpath`` reads them all and hands them on inside ``batching()``: each connection's
``DatagramBatch.send`` then only queues, and at the end of the burst each connection's queue
goes to the kernel in one ``sendmmsg(2)`` (Linux, through ctypes: Python's socket module has
no binding) when it holds at least ``MIN_BATCH`` packets (a backlog after the loop was held
up; fewer cost more that way, measured below). A packet outside a burst is sent at once, and
a short queue, or any where there is no ``sendmmsg``, one ``sendto`` each on the socket
itself (not asyncio's, which checks and looks up more per call); whatever the
kernel refuses (a full buffer, an error) goes by asyncio's ``sendto``, which buffers it or
reports the error to the protocol, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import socket
import sys
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

#: Packets per sendmmsg at most (a queue that reaches it is sent at once).
MAX_BATCH = 64
#: Fewer than this go one sendto each. Measured on the 2-core machine (1200-byte datagrams to
#: a loopback socket, CPU per packet, process user+system): sendto 5.2 us; sendmmsg through
#: ctypes 6.9 us for 2 a call, 6.2 for 3, 5.0 for 8, 4.5 for 32. The kernel's own work per
#: datagram (4-5 us on loopback, where the sender also pays for the delivery) is the same
#: either way; what a batch saves (a system call's entry and exit) a small one spends again
#: on the foreign call and filling in its structures.
MIN_BATCH = 16


class _Iovec(ctypes.Structure):
    # iov_base as c_char_p: assigning a bytes object stores a pointer to its buffer, no copy
    # (ctypes keeps the object alive while the structure refers to it).
    _fields_ = [("iov_base", ctypes.c_char_p), ("iov_len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [("msg_name", ctypes.c_void_p), ("msg_namelen", ctypes.c_uint32),
                ("msg_iov", ctypes.POINTER(_Iovec)), ("msg_iovlen", ctypes.c_size_t),
                ("msg_control", ctypes.c_void_p), ("msg_controllen", ctypes.c_size_t),
                ("msg_flags", ctypes.c_int)]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("msg_hdr", _Msghdr), ("msg_len", ctypes.c_uint)]


SendMmsg = Callable[[int, Any, int, int], int]


@functools.cache  # one lookup per process
def load_sendmmsg() -> SendMmsg | None:
    """libc's ``sendmmsg``, or None where there is none (not Linux, or an old libc)."""
    if sys.platform != "linux":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.sendmmsg
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.POINTER(_Mmsghdr), ctypes.c_uint, ctypes.c_int]
    function.restype = ctypes.c_int
    sendmmsg: SendMmsg = function
    return sendmmsg


def sockaddr(addr: tuple[Any, ...]) -> bytes | None:
    """The C ``sockaddr_in``/``sockaddr_in6`` of a numeric (host, port[, flow, scope]) address,
    or None if it is not one."""
    host, port = addr[0], int(addr[1])
    order = sys.byteorder  # sa_family and the scope id are in host order, the rest network
    try:
        packed = socket.inet_pton(socket.AF_INET, host)
        return (int(socket.AF_INET).to_bytes(2, order) + port.to_bytes(2, "big") + packed
                + bytes(8))
    except OSError:
        pass
    try:
        packed = socket.inet_pton(socket.AF_INET6, host.split("%")[0])
    except OSError:
        return None
    flow = int(addr[2]) if len(addr) > 2 else 0
    scope = int(addr[3]) if len(addr) > 3 else 0
    return (int(socket.AF_INET6).to_bytes(2, order) + port.to_bytes(2, "big")
            + flow.to_bytes(4, "big") + packed + scope.to_bytes(4, order))


class Outbox:
    """The connections that queued packets during one burst."""

    def __init__(self) -> None:
        self.queued: list[DatagramBatch] = []

    def flush(self) -> None:
        queued, self.queued = self.queued, []
        for batch in queued:
            batch.flush()


#: The burst being handed on in this callback, if any (set by ``batching``, read by ``send``;
#: a context variable, so nothing outside the callback that set it ever sees it).
_OUTBOX: ContextVar[Outbox | None] = ContextVar("parley_outbox", default=None)


@contextlib.contextmanager
def batching() -> Iterator[None]:
    """Queue what is sent inside, and send each connection's queue once at the end."""
    outbox = Outbox()
    token = _OUTBOX.set(outbox)
    try:
        yield
    finally:
        _OUTBOX.reset(token)
        outbox.flush()


class DatagramBatch:
    """The outgoing RTP of one connection (a transport and the remote address it sends to).

    ``sendmmsg`` None: every packet goes at once, one ``sendto`` each."""

    def __init__(self, transport: asyncio.DatagramTransport, addr: tuple[Any, ...],
                 sendmmsg: SendMmsg | None) -> None:
        self._transport: Any = transport  # asyncio's, with get_write_buffer_size
        self._addr = addr
        self._pending: list[bytes] = []
        # The socket itself (get_extra_info hands out a wrapper that has no sendto).
        sock: socket.socket | None = getattr(transport, "_sock", None)
        self._sock = sock
        name = sockaddr(addr) if sendmmsg is not None and sock is not None else None
        self._sendmmsg = sendmmsg if name is not None else None
        self._fd = sock.fileno() if sock is not None else -1
        self.syscalls = 0  # sendmmsg and sendto calls made (tests, benches)
        if self._sendmmsg is None or name is None:
            return
        self._name = ctypes.create_string_buffer(name, len(name))
        self._iov = (_Iovec * MAX_BATCH)()
        self._msgs = (_Mmsghdr * MAX_BATCH)()
        for i in range(MAX_BATCH):  # everything but each packet's buffer, set once
            header = self._msgs[i].msg_hdr
            header.msg_name = ctypes.cast(self._name, ctypes.c_void_p)
            header.msg_namelen = len(name)
            header.msg_iov = ctypes.pointer(self._iov[i])
            header.msg_iovlen = 1

    def send(self, data: bytes) -> None:
        outbox = _OUTBOX.get()
        if outbox is None or self._sendmmsg is None:
            self._send_now(data)
            return
        if not self._pending:
            outbox.queued.append(self)
        self._pending.append(data)
        if len(self._pending) >= MAX_BATCH:
            self.flush()

    def _send_now(self, data: bytes) -> None:
        self.syscalls += 1
        if self._sock is not None and not self._transport.get_write_buffer_size():
            try:
                self._sock.sendto(data, self._addr)
                return
            except OSError:
                pass  # asyncio's sendto below buffers it (a full buffer) or reports it
        self._transport.sendto(data, self._addr)

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending or self._transport.is_closing():
            return
        if (len(pending) < MIN_BATCH or self._sendmmsg is None
                or self._transport.get_write_buffer_size()):
            for data in pending:
                self._send_now(data)
            return
        iov = self._iov
        for i, data in enumerate(pending):
            entry = iov[i]
            entry.iov_base = data
            entry.iov_len = len(data)
        self.syscalls += 1
        sent = max(0, self._sendmmsg(self._fd, self._msgs, len(pending), 0))
        for data in pending[sent:]:
            # The kernel refused the rest (a full buffer, an error): asyncio's sendto buffers
            # them, or reports the error to the protocol, as for any other packet.
            self.syscalls += 1
            self._transport.sendto(data, self._addr)
