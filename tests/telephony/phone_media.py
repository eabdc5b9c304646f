"""The test's side of a phone call's media: a UDP socket that sends G.711 (a tone) and RFC 4733
key presses to the product and measures the tone it gets back."""

from __future__ import annotations

import asyncio
import math
import struct
from dataclasses import dataclass, field

from aiortc.codecs.g711 import PcmuDecoder
from aiortc.jitterbuffer import JitterFrame

from signaling.telephony.dtmf import event_payload
from signaling.telephony.prompts import encode_g711


def tone_pcm(hz: float, seconds: float, rate: int = 8000, amplitude: int = 8000) -> bytes:
    n = int(seconds * rate)
    return struct.pack(f"<{n}h", *(int(amplitude * math.sin(2 * math.pi * hz * i / rate))
                                   for i in range(n)))


def goertzel(samples: list[int] | tuple[int, ...], hz: float, rate: int) -> float:
    """Power of ``hz`` in ``samples``, relative to their total power (0..1)."""
    if not samples:
        return 0.0
    k = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + k * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - k * s1 * s2
    total = sum(x * x for x in samples) * len(samples) / 2
    return power / total if total else 0.0


@dataclass
class PhoneMedia(asyncio.DatagramProtocol):
    port: int = 0
    server: tuple[str, int] | None = None
    heard: bytearray = field(default_factory=bytearray)  # PCM received, 16-bit 8 kHz
    packets: int = 0
    peak_rms: float = 0.0  # the loudest 20 ms received
    _transport: asyncio.DatagramTransport | None = None
    _seq: int = 0
    _ts: int = 0
    _decoder: PcmuDecoder = field(default_factory=PcmuDecoder)
    first: asyncio.Event = field(default_factory=asyncio.Event)
    log: bytearray | None = None  # when set: every PCM sample received from now on

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.server = self.server or addr
        self.first.set()
        if len(data) > 12 and data[1] & 0x7F == 0:
            self.packets += 1
            for frame in self._decoder.decode(JitterFrame(data[12:], 0)):
                pcm = bytes(frame.planes[0])[: frame.samples * 2]
                self.heard += pcm
                if self.log is not None:
                    self.log += pcm
                values = struct.unpack(f"<{len(pcm) // 2}h", pcm)
                rms = math.sqrt(sum(v * v for v in values) / max(1, len(values)))
                self.peak_rms = max(self.peak_rms, rms)
            del self.heard[: max(0, len(self.heard) - 16000)]  # the last second

    def _send(self, pt: int, payload: bytes, ts: int, marker: bool = False) -> None:
        assert self._transport is not None and self.server is not None
        header = struct.pack("!BBHII", 0x80, pt | (0x80 if marker else 0), self._seq, ts, 0x1234)
        self._seq = (self._seq + 1) & 0xFFFF
        self._transport.sendto(header + payload, self.server)

    async def key_menu(self, keys: str = "111") -> None:
        """Once the welcome prompt plays (its RTP tells the port is live), key ``keys`` at a
        caller's pace: by default agree to recording, consultation, Mandarin."""
        await asyncio.wait_for(self.first.wait(), 10)
        for digit in keys:
            await self.press(digit)
            await asyncio.sleep(0.3)  # the caller's pace between keys (not synchronisation)

    async def press(self, digit: str) -> None:
        """One key press as RFC 4733 events (payload type 101), 60 ms, end sent three times."""
        self._ts += 1600
        for i, duration in enumerate((160, 320, 480)):
            self._send(101, event_payload(digit, duration, False), self._ts, marker=i == 0)
            await asyncio.sleep(0.02)
        for _ in range(3):
            self._send(101, event_payload(digit, 480, True), self._ts)

    async def play_tone(self, hz: float) -> None:
        """Send a tone as PCMU, 20 ms a packet, until cancelled."""
        audio = encode_g711(tone_pcm(hz, 1.0), "PCMU")
        loop = asyncio.get_running_loop()
        due = loop.time()
        offset = 0
        while True:
            self._ts += 160
            self._send(0, audio[offset:offset + 160], self._ts)
            offset = (offset + 160) % len(audio)
            due += 0.02
            await asyncio.sleep(max(0.0, due - loop.time()))

    def tone_share(self, hz: float) -> float:
        samples = struct.unpack(f"<{len(self.heard) // 2}h", bytes(self.heard[: len(self.heard) // 2 * 2]))
        return goertzel(samples[-4000:], hz, 8000)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def open_phone_media(ports: range = range(43000, 44000, 2)) -> PhoneMedia:
    loop = asyncio.get_running_loop()
    for port in ports:
        media = PhoneMedia(port=port)
        try:
            await loop.create_datagram_endpoint(lambda m=media: m, local_addr=("127.0.0.1", port))
        except OSError:
            continue
        return media
    raise RuntimeError("no free port for the phone's media")
