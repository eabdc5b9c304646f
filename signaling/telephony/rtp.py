"""One call's RTP over UDP: G.711 audio both ways (20 ms packets), RFC 4733 key presses in.

What is sent each 20 ms comes from the prompt being played, else from the live source (the
room's mix, when bridged), else silence. One ``Pacer`` ticks every leg of a process, so many
calls cost one timer. Symmetric RTP: after the first packet, audio goes back to where the
caller's packets come from (NAT), not only to the address in their SDP."""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
from collections.abc import Callable
from typing import cast

from signaling.telephony.dtmf import DtmfDetector

FRAME = 160  # samples (and G.711 bytes) in 20 ms at 8 kHz
SILENCE = {"PCMU": b"\xff" * FRAME, "PCMA": b"\xd5" * FRAME}
PAYLOAD_TYPES = {"PCMU": 0, "PCMA": 8}
# A loop stalled longer than this skips ticks (audio lost); as long as a bridged call's
# buffers (leg_media.BUFFERED, 10 packets), so a stall they absorb loses nothing.
CATCH_UP = 0.2


def parse_rtp(data: bytes) -> tuple[int, int, int, bytes] | None:
    """(payload type, sequence number, timestamp, payload), or None if not RTP."""
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    offset = 12 + 4 * (data[0] & 0x0F)
    if data[0] & 0x10 and len(data) >= offset + 4:
        offset += 4 + 4 * struct.unpack_from("!H", data, offset + 2)[0]
    end = len(data) - (data[-1] if data[0] & 0x20 else 0)
    if offset > end:
        return None
    seq, ts = struct.unpack_from("!HI", data, 2)
    return data[1] & 0x7F, seq, ts, data[offset:end]


class RtpLeg(asyncio.DatagramProtocol):
    def __init__(self, codec: str, dtmf_pt: int | None,
                 on_digit: Callable[[str], None]) -> None:
        self.codec = codec
        self._pt = PAYLOAD_TYPES[codec]
        self._dtmf_pt = dtmf_pt
        self._on_digit = on_digit
        self._dtmf = DtmfDetector()
        self._transport: asyncio.DatagramTransport | None = None
        self.remote: tuple[str, int] | None = None
        self._latched = False
        self._ssrc = random.getrandbits(32)
        self._seq = random.getrandbits(16)
        self._ts = random.getrandbits(32)
        self._marker = True
        self._playing = b""
        self._played: asyncio.Future[None] | None = None
        # Live audio when bridged: called each 20 ms for 160 G.711 bytes (None: silence).
        self.source: Callable[[], bytes | None] | None = None
        # Received audio when bridged: G.711 payload and its RTP timestamp.
        self.on_audio: Callable[[bytes, int], None] | None = None
        self.sent = 0
        self.received = 0
        self.closed = False
        self.bound_port = 0

    def use(self, codec: str, dtmf_pt: int | None) -> None:
        """The codec the far end answered with (a call we dialled learns it late)."""
        self.codec, self._pt, self._dtmf_pt = codec, PAYLOAD_TYPES[codec], dtmf_pt

    async def open(self, host: str, ports: tuple[int, int], taken: set[int]) -> int:
        """Bind the first free even port of the range (odd ones are RTCP's by convention)."""
        loop = asyncio.get_running_loop()
        for port in range(ports[0] + ports[0] % 2, ports[1] + 1, 2):
            if port in taken:
                continue
            try:
                await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
            except OSError:
                continue
            taken.add(port)
            self.bound_port = port
            return port
        raise OSError("no free RTP port in PARLEY_SIP_RTP_PORTS")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Python 3.11's selector transport is not a DatagramTransport subclass: no isinstance.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        parsed = parse_rtp(data)
        if parsed is None:
            return
        if not self._latched:
            self.remote, self._latched = addr, True
        pt, _seq, ts, payload = parsed
        if pt == self._dtmf_pt:
            digit = self._dtmf.feed(payload, ts)
            if digit is not None:
                self._on_digit(digit)
        elif pt == self._pt:
            self.received += 1
            if self.on_audio is not None:
                self.on_audio(payload, ts)

    def play(self, audio: bytes) -> asyncio.Future[None]:
        """Play G.711 bytes (cutting what was playing); the future is done when it ends."""
        self.cut()
        self._playing = audio
        self._played = asyncio.get_running_loop().create_future()
        return self._played

    def cut(self) -> None:
        """Stop the prompt now (barge-in: the caller pressed a key)."""
        self._playing = b""
        if self._played is not None and not self._played.done():
            self._played.set_result(None)
        self._played = None

    @property
    def playing(self) -> bool:
        return bool(self._playing)

    def tick(self) -> None:
        """Send the next 20 ms (called by the pacer)."""
        if self._transport is None or self.remote is None or self.closed:
            return
        if self._playing:
            chunk, self._playing = self._playing[:FRAME], self._playing[FRAME:]
            if not self._playing:
                self.cut()
            chunk = chunk.ljust(FRAME, SILENCE[self.codec][:1])
        else:
            chunk = (self.source() if self.source is not None else None) or SILENCE[self.codec]
        header = struct.pack("!BBHII", 0x80, self._pt | (0x80 if self._marker else 0),
                             self._seq, self._ts, self._ssrc)
        self._marker = False
        self._seq = (self._seq + 1) & 0xFFFF
        self._ts = (self._ts + FRAME) & 0xFFFFFFFF
        self._transport.sendto(header + chunk, self.remote)
        self.sent += 1

    def close(self) -> None:
        self.closed = True
        self.cut()
        if self._transport is not None:
            self._transport.close()


class Pacer:
    """One 20 ms clock for every leg of the process; late ticks catch up at most ``CATCH_UP``."""

    def __init__(self) -> None:
        self.legs: set[RtpLeg] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="rtp pacer")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += FRAME / 8000
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -CATCH_UP:
                due = loop.time()
            for leg in list(self.legs):
                leg.tick()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
