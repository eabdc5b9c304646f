"""Build the shipped prompts with espeak-ng (Debian's offline synthesiser): 8 kHz mono 16-bit
WAV files, one per prompt, into the package's ``prompts/`` folder (or the folder given).

Run by ``make prompts`` (a step of ``make install``, so of ``make run`` and ``make test``):
``python -m signaling.telephony.build_prompts [DIR]``. Files already built from the same words
are kept (the words are written beside each file, ``<name>.txt``); changed words are rebuilt."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import av

from signaling.telephony.prompt_texts import all_texts

SHIPPED = Path(__file__).with_name("prompts")
VOICE = "cmn"  # Mandarin
SPEED = "190"  # words per minute: a little slower than espeak's default, for older callers


def _to_8k(source: Path, target: Path) -> None:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=8000)
    pcm = bytearray()
    with av.open(str(source)) as container:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                pcm += bytes(out.planes[0])[: out.samples * 2]
        for out in resampler.resample(None):
            pcm += bytes(out.planes[0])[: out.samples * 2]
    tmp = target.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(pcm))
    tmp.replace(target)


def build(folder: Path = SHIPPED) -> int:
    """Synthesise every missing prompt into ``folder``; returns how many were made."""
    folder.mkdir(parents=True, exist_ok=True)
    made = 0
    with tempfile.TemporaryDirectory() as scratch:
        for name, text in all_texts().items():
            target = folder / f"{name}.wav"
            words = target.with_suffix(".txt")
            if target.exists() and words.exists() and words.read_text("utf-8") == text:
                continue
            raw = Path(scratch) / f"{name}.wav"
            subprocess.run(["espeak-ng", "-v", VOICE, "-s", SPEED, "-w", str(raw), text],
                           check=True, capture_output=True)
            _to_8k(raw, target)
            words.write_text(text, "utf-8")
            made += 1
    return made


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else SHIPPED
    print(f"prompts: {build(out)} built in {out}")
