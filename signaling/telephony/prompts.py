"""The prompts as G.711 payloads, loaded once: from the deployment's folder when set, else the
shipped files built by ``make prompts``. Every name must be there, or start-up stops naming it."""

from __future__ import annotations

import wave
from pathlib import Path

import av

from signaling.telephony.build_prompts import SHIPPED
from signaling.telephony.prompt_texts import all_texts

SAMPLE_RATE = 8000


class PromptError(Exception):
    """A prompt is missing or not 8 kHz mono 16-bit."""


def _pcm(path: Path) -> bytes:
    try:
        with wave.open(str(path), "rb") as w:
            if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (SAMPLE_RATE, 1, 2):
                raise PromptError(f"{path}: prompts must be 8 kHz mono 16-bit WAV")
            return w.readframes(w.getnframes())
    except FileNotFoundError:
        raise PromptError(f"missing prompt {path} (run `make prompts`, docs/telephony.md)") from None


def encode_g711(pcm: bytes, codec: str) -> bytes:
    """16-bit PCM at 8 kHz to PCMU or PCMA bytes (one byte per sample), with aiortc's codec
    (FFmpeg's pcm_mulaw / pcm_alaw through PyAV)."""
    context = av.CodecContext.create("pcm_mulaw" if codec == "PCMU" else "pcm_alaw", "w")
    context.format = "s16"
    context.layout = "mono"
    context.sample_rate = SAMPLE_RATE
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
    frame.planes[0].update(pcm[: len(pcm) // 2 * 2])
    frame.sample_rate = SAMPLE_RATE
    out = b"".join(bytes(p) for p in context.encode(frame))
    return out + b"".join(bytes(p) for p in context.encode(None))


class Prompts:
    def __init__(self, folder: Path | None = None) -> None:
        root = folder or SHIPPED
        self._pcm = {name: _pcm(root / f"{name}.wav") for name in all_texts()}
        self._encoded: dict[tuple[str, str], bytes] = {}

    def names(self) -> frozenset[str]:
        return frozenset(self._pcm)

    def g711(self, name: str, codec: str) -> bytes:
        """The prompt in ``codec`` ("PCMU" or "PCMA"), encoded once and kept."""
        key = (name, codec)
        if key not in self._encoded:
            self._encoded[key] = encode_g711(self._pcm[name], codec)
        return self._encoded[key]
