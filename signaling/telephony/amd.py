"""Telling an answering machine from a person on a callback (pure: fed 20 ms frames and the
time; the desk listens and acts).

The usual heuristic, as in Asterisk's AMD: right after the 200 OK a person says something short
(喂? 你好?) and waits for an answer; a machine speaks a long greeting without a human-length
pause, and often ends it with a beep. So: speech longer than ``max_greeting_s`` before a pause
of ``pause_s`` is a machine; a steady tone of ``beep_s`` is a machine; a short utterance then a
pause is a person. Silence, or no decision within ``max_analysis_s``, counts as a person: a
lawyer may talk to a machine, but a person must never be hung up on."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    HUMAN = "human"
    MACHINE = "machine"


@dataclass(frozen=True)
class Detection:
    verdict: Verdict
    reason: str  # "short_greeting", "silence", "unsure", "long_greeting", "beep"
    at_s: float  # seconds after the answer when it was decided
    speech_s: float  # voiced time heard


@dataclass(frozen=True)
class AmdRules:
    max_greeting_s: float = 1.5  # a person's first words are shorter than this
    pause_s: float = 0.8  # the silence after a person's first words
    initial_silence_s: float = 3.5  # nobody speaks: a person (who may be hard of hearing)
    max_analysis_s: float = 5.0  # no decision by then: a person
    beep_s: float = 0.12  # a steady tone this long is a machine's "record after the tone"
    voice_rms: float = 400.0  # a 16-bit frame louder than this is speech (about -38 dBFS)


AMD_RULES = AmdRules()
FRAME_S = 0.02
RATE = 8000


def _ulaw(byte: int) -> int:
    u = ~byte & 0xFF
    magnitude = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return (0x84 - magnitude) if u & 0x80 else (magnitude - 0x84)


def _alaw(byte: int) -> int:
    a = byte ^ 0x55
    exponent, mantissa = (a & 0x70) >> 4, a & 0x0F
    magnitude = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    return magnitude if a & 0x80 else -magnitude


DECODE = {"PCMU": tuple(_ulaw(b) for b in range(256)), "PCMA": tuple(_alaw(b) for b in range(256))}


def tone_hz(samples: list[int]) -> float | None:
    """The frequency of a frame that is one steady tone (400-2500 Hz), else None: the zero
    crossings say which frequency, a Goertzel filter says whether nearly all power is there."""
    crossings = sum(1 for a, b in itertools.pairwise(samples) if (a < 0) != (b < 0))
    hz = crossings * RATE / (2 * len(samples))
    if not 400 <= hz <= 2500:
        return None
    total = sum(x * x for x in samples) * len(samples) / 2
    if total == 0:
        return None
    best = 0.0
    for candidate in (hz - 25, hz, hz + 25):
        k = 2 * math.cos(2 * math.pi * candidate / RATE)
        s1 = s2 = 0.0
        for x in samples:
            s1, s2 = x + k * s1 - s2, s1
        best = max(best, (s1 * s1 + s2 * s2 - k * s1 * s2) / total)
    return hz if best > 0.8 else None


class Screen:
    """One answered callback's first seconds, frame by frame."""

    def __init__(self, rules: AmdRules = AMD_RULES) -> None:
        self.rules = rules
        self.speech_s = 0.0
        self._greeting_from: float | None = None  # the current run of speech (gaps < pause_s)
        self._last_voice: float | None = None
        self._tone_run = 0
        self._tone_hz = 0.0

    def frame(self, t: float, samples: list[int]) -> Detection | None:
        """A 20 ms frame (16-bit samples) heard ``t`` s after the answer."""
        rules = self.rules
        rms = math.sqrt(sum(x * x for x in samples) / max(1, len(samples)))
        if rms < rules.voice_rms:
            self._tone_run = 0
            return self.at(t)
        hz = tone_hz(samples)
        if hz is not None and self._tone_run and abs(hz - self._tone_hz) <= 60:
            self._tone_run += 1
        else:
            self._tone_run = 1 if hz is not None else 0
        self._tone_hz = hz or 0.0
        if self._tone_run * FRAME_S >= rules.beep_s:
            return self._decide(Verdict.MACHINE, "beep", t)
        if self._greeting_from is None or (self._last_voice is not None
                                            and t - self._last_voice >= rules.pause_s):
            self._greeting_from = t
        self._last_voice = t
        self.speech_s += FRAME_S
        if t + FRAME_S - self._greeting_from > rules.max_greeting_s:
            return self._decide(Verdict.MACHINE, "long_greeting", t)
        return self.at(t)

    def at(self, t: float) -> Detection | None:
        """Time passes (with or without packets): a pause or the time limits may decide."""
        rules = self.rules
        if self._last_voice is not None and t - self._last_voice >= rules.pause_s:
            return self._decide(Verdict.HUMAN, "short_greeting", t)
        if self._last_voice is None and t >= rules.initial_silence_s:
            return self._decide(Verdict.HUMAN, "silence", t)
        if t >= rules.max_analysis_s:
            return self._decide(Verdict.HUMAN, "unsure", t)
        return None

    def _decide(self, verdict: Verdict, reason: str, t: float) -> Detection:
        return Detection(verdict, reason, round(t, 2), round(self.speech_s, 2))
