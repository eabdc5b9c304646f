"""A phone party's mix and the keypad form of invitation codes: pure."""

from __future__ import annotations

import fractions
from array import array

import av

from server.credentials.keypad import keys_of, matching
from signaling.mediation.service import CODE_ALPHABET
from signaling.telephony.mix import Mix, mixed
from tests.telephony.phone_media import goertzel, tone_pcm


def test_every_code_character_has_one_key() -> None:
    assert {len(keys_of(c)) for c in CODE_ALPHABET} == {1}
    assert keys_of("abc2PQRS") == "22227777"
    assert keys_of("HX7K-M9ZE") == "49756993"


def test_keys_name_a_code_only_when_one_matches() -> None:
    assert matching("22227777", ["ABC2PQRS", "DEFG3456"]) == "ABC2PQRS"
    assert matching("22227777", ["ABC2PQRS", "BCA2SRQP"]) is None  # ambiguous: no code
    assert matching("3", ["ABC2PQRS"]) is None


def _frame(hz: float, rate: int = 48000) -> av.AudioFrame:
    pcm = tone_pcm(hz, 0.02, rate)
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
    frame.planes[0].update(pcm)
    frame.sample_rate, frame.pts, frame.time_base = rate, 0, fractions.Fraction(1, rate)
    return frame


def _decoded(mu: bytes) -> list[int]:
    from aiortc.codecs.g711 import PcmuDecoder
    from aiortc.jitterbuffer import JitterFrame

    out = PcmuDecoder().decode(JitterFrame(mu, 0))[0]
    return list(array("h", bytes(out.planes[0])[: out.samples * 2]))


def test_the_mix_is_the_sum_of_the_streams_that_have_audio() -> None:
    mix = Mix("PCMU")
    assert mix.next() is None  # nothing received: the leg sends silence
    heard: list[int] = []
    mix.add(0, _frame(1000))  # the resamplers' own delay: a frame ahead
    mix.add(2, _frame(600))
    for _ in range(10):
        mix.add(0, _frame(1000))
        mix.add(2, _frame(600))
        out = mix.next()
        assert out is not None and len(out) == 160
        heard += _decoded(out)
    assert goertzel(heard[400:], 1000, 8000) > 0.3 and goertzel(heard[400:], 600, 8000) > 0.3
    mix.drop(2)  # that stream ended (or the worker stopped forwarding it: nothing arrives)
    heard = []
    for _ in range(10):
        mix.add(0, _frame(1000))
        heard += _decoded(mix.next() or b"")
    assert goertzel(heard[400:], 1000, 8000) > 0.8 and goertzel(heard[400:], 600, 8000) < 0.01


def test_the_sum_is_clipped() -> None:
    loud = array("h", [30000, -30000]).tobytes()
    assert array("h", mixed([loud, loud])).tolist() == [32767, -32768]
