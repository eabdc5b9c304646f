"""SRTP protect/unprotect for the forward path, on the libsrtp context aiortc's session holds.

``pylibsrtp.Session`` allocates a new ``int *`` through cffi and checks its arguments in
Python for every packet; on the forward path that wrapper cost about as much as libsrtp's
own work. ``FastSrtp`` calls the same C functions on the same ``srtp_t`` (so the keys, replay
windows and rollover counters are the session's, shared with aiortc's own RTCP) with a
buffer and length cell of its own, allocated once. Event loop only, like the session.

``Session._srtp`` (the ``srtp_t *``) is pylibsrtp's private attribute, pinned by
tests/rooms/test_media_canary.py.
"""

from __future__ import annotations

from typing import Any

import pylibsrtp
from pylibsrtp._binding import ffi, lib

SESSION_CONTEXT = "_srtp"
BUFFER = 1500 + 256  # a 1500-byte datagram plus the largest SRTP/SRTCP trailer
TRAILER = 16 + 128   # pylibsrtp's SRTP_MAX_TRAILER_LEN


class FastSrtp:
    """protect / unprotect of RTP packets on one ``pylibsrtp.Session``'s context."""

    def __init__(self, session: pylibsrtp.Session) -> None:
        self.session = session
        self._context: Any = getattr(session, SESSION_CONTEXT)
        self._data = ffi.new("char[]", BUFFER)
        self._view = ffi.buffer(self._data)
        self._length = ffi.new("int *")

    def _process(self, data: bytes, func: Any, room: int) -> bytes:
        size = len(data)
        if size > BUFFER - room:
            raise ValueError("packet is too long")
        ffi.memmove(self._data, data, size)
        self._length[0] = size
        status = func(self._context[0], self._data, self._length)
        if status:
            raise pylibsrtp.Error(f"libsrtp status {status}")
        packet: bytes = self._view[0:self._length[0]]  # cffi's buffer slice is bytes
        return packet

    def protect(self, data: bytes) -> bytes:
        return self._process(data, lib.srtp_protect, TRAILER)

    def unprotect(self, data: bytes) -> bytes:
        return self._process(data, lib.srtp_unprotect, 0)
