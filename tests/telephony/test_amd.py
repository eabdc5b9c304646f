"""The answering-machine heuristic on its own (pure), with speech from espeak-ng: a short 喂?
then silence is a person, a long greeting is a machine, a beep is a machine, silence is a
person (never hang up on someone who says nothing)."""

from __future__ import annotations

from signaling.telephony.amd import FRAME_S, Detection, Screen, Verdict
from tests.telephony.voices import HUMAN, MACHINE, beep, frames, silence, speech


def _listen(pcm: bytes) -> Detection | None:
    screen = Screen()
    for n, frame in enumerate(frames(pcm)):
        found = screen.frame(n * FRAME_S, frame)
        if found is not None:
            return found
    return None


def test_a_short_hello_then_silence_is_a_person() -> None:
    found = _listen(silence(0.4) + speech(HUMAN) + silence(3))
    assert found is not None and (found.verdict, found.reason) == (Verdict.HUMAN, "short_greeting")
    assert found.at_s < 2.5


def test_a_long_greeting_is_a_machine() -> None:
    found = _listen(silence(0.3) + speech(MACHINE) + beep())
    assert found is not None and (found.verdict, found.reason) == (Verdict.MACHINE, "long_greeting")


def test_a_beep_after_a_short_greeting_is_a_machine() -> None:
    found = _listen(speech(HUMAN) + silence(0.3) + beep(0.4))
    assert found is not None and (found.verdict, found.reason) == (Verdict.MACHINE, "beep")


def test_silence_counts_as_a_person_when_no_packets_come() -> None:
    screen = Screen()
    assert screen.at(1.0) is None
    found = screen.at(3.6)
    assert found is not None and (found.verdict, found.reason) == (Verdict.HUMAN, "silence")


def test_speech_is_not_taken_for_a_beep() -> None:
    screen = Screen()
    for n, frame in enumerate(frames(speech(MACHINE))):
        found = screen.frame(n * FRAME_S, frame)
        assert found is None or found.reason != "beep"
