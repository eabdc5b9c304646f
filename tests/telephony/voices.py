"""What a callee's phone says after it answers, for the answering-machine tests: speech
synthesised by espeak-ng (offline), tones, silence, as 16-bit 8 kHz PCM; and a pcap of it as
PCMA RTP for SIPp's play_pcap_audio."""

from __future__ import annotations

import struct
import subprocess
import tempfile
from pathlib import Path

from signaling.telephony.build_prompts import SPEED, VOICE, _to_8k
from signaling.telephony.dtmf import event_payload
from signaling.telephony.prompts import encode_g711
from tests.telephony.phone_media import tone_pcm

HUMAN = "喂？"
MACHINE = "您好，您拨打的用户暂时无法接听，请在提示音后留言，我们会尽快给您回电。"


def speech(text: str) -> bytes:
    with tempfile.TemporaryDirectory() as scratch:
        raw, wav = Path(scratch) / "raw.wav", Path(scratch) / "8k.wav"
        subprocess.run(["espeak-ng", "-v", VOICE, "-s", SPEED, "-w", str(raw), text],
                       check=True, capture_output=True)
        _to_8k(raw, wav)
        import wave

        with wave.open(str(wav), "rb") as w:
            return w.readframes(w.getnframes())


def silence(seconds: float) -> bytes:
    return b"\0\0" * int(seconds * 8000)


def beep(seconds: float = 0.5, hz: float = 1000.0) -> bytes:
    return tone_pcm(hz, seconds)


def frames(pcm: bytes) -> list[list[int]]:
    """20 ms frames of samples (the last one padded with silence)."""
    pcm = pcm + b"\0" * (-len(pcm) % 320)
    return [list(struct.unpack("<160h", pcm[i:i + 320])) for i in range(0, len(pcm), 320)]


def write_pcap(path: Path, pcm: bytes, key: tuple[float, str] | None = None) -> Path:
    """``pcm`` as PCMA RTP (payload type 8, 20 ms a packet) in a pcap of Ethernet/IPv4/UDP, the
    form SIPp's play_pcap_audio reads (it rewrites the addresses); ``key``: (seconds, digit),
    a key pressed then instead of the audio, as RFC 4733 events (payload type 101)."""
    audio = encode_g711(pcm, "PCMA")
    audio += b"\xd5" * (-len(audio) % 160)
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    press = round(key[0] / 0.02) if key else -1
    for n, i in enumerate(range(0, len(audio), 160)):
        if key and press <= n < press + 6:  # 60 ms of the event, the end sent three times
            rtp = struct.pack("!BBHII", 0x80, 101 | (0x80 if n == press else 0), n,
                              press * 160, 0x5EED) \
                + event_payload(key[1], 160 * min(n - press + 1, 3), n - press >= 3)
        else:
            rtp = struct.pack("!BBHII", 0x80, 8 | (0x80 if n == 0 else 0), n, n * 160,
                              0x5EED) + audio[i:i + 160]
        udp = struct.pack("!HHHH", 6000, 6002, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n, 0, 64, 17, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])) + udp
        frame = b"\0" * 12 + b"\x08\x00" + ip
        usec = n * 20000
        out += struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame), len(frame))
        out += frame
    path.write_bytes(bytes(out))
    return path
