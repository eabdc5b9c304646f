"""Outgoing datagrams of one connection, sent together once per event-loop iteration.

The forward path sends each RTP packet as it is rewritten; a video frame arrives as a burst of
packets, read in one batch (``fastpath``), so each subscriber gets several packets in the same
iteration. Instead of one ``sendto`` per packet (one system call each, and asyncio's checks),
``DatagramBatch.send`` queues the packet and the first one of an iteration schedules a flush
(``loop.call_soon``: it runs at the start of the next iteration, before the next reads, so a
packet waits no longer than the rest of its batch). The flush hands the queue to the kernel in
one ``sendmmsg(2)`` (Linux, through ctypes: Python's socket module has no binding); elsewhere,
or for a single packet, or when asyncio is already buffering for the socket (keeping order),
each goes by the transport's ``sendto``, which also buffers whatever the kernel refuses.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import socket
import sys
from collections.abc import Callable
from typing import Any

#: Packets per flush at most (a flush also happens at once when the queue reaches it).
MAX_BATCH = 64


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


class DatagramBatch:
    """The outgoing RTP of one connection (a transport and the remote address it sends to).

    ``sendmmsg`` None: every packet goes at once by ``transport.sendto``, as before."""

    def __init__(self, transport: asyncio.DatagramTransport, addr: tuple[Any, ...],
                 sendmmsg: SendMmsg | None) -> None:
        self._transport: Any = transport  # asyncio's, with get_write_buffer_size
        self._addr = addr
        self._pending: list[bytes] = []
        sock: socket.socket | None = transport.get_extra_info("socket")
        name = sockaddr(addr) if sendmmsg is not None and sock is not None else None
        self._sendmmsg = sendmmsg if name is not None else None
        self._fd = sock.fileno() if sock is not None else -1
        self.syscalls = 0  # sendmmsg calls and sendto calls made, for the benches
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
        if self._sendmmsg is None:
            self._sendto(data)
            return
        if not self._pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self._pending.append(data)
        if len(self._pending) >= MAX_BATCH:
            self.flush()

    def _sendto(self, data: bytes) -> None:
        self.syscalls += 1
        self._transport.sendto(data, self._addr)

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending or self._transport.is_closing():
            return
        if (len(pending) == 1 or self._sendmmsg is None
                or self._transport.get_write_buffer_size()):
            for data in pending:
                self._sendto(data)
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
            self._sendto(data)
