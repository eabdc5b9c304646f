"""The phone menu and the RFC 4733 detector: pure, table-driven."""

from __future__ import annotations

import pytest

from recordings.policy import PHONE_NOTICE
from signaling.telephony.callbacks import Outcome, RetryRule, next_try, outcome_of
from signaling.telephony.dtmf import DtmfDetector, event_payload
from signaling.telephony.ivr import MAX_TRIES, Choices, Ivr, Step, announcement
from signaling.telephony.prompt_texts import BASE


def _run(keys: str) -> tuple[list[tuple[str, ...]], Choices | None]:
    ivr = Ivr()
    heard = [ivr.start().prompts]
    done = None
    for key in keys:
        step = ivr.silence() if key == "_" else ivr.press(key)
        heard.append(step.prompts)
        done = step.done or done
    return heard, done


def test_three_keys_choose_consent_service_and_language() -> None:
    heard, done = _run("124")
    assert heard == [("welcome", "recording_notice"), ("menu_service",), ("menu_language",),
                     ("queued",)]
    assert done == Choices(consent=True, service="mediation", language="yue")


def test_a_wrong_key_repeats_the_menu() -> None:
    heard, done = _run("9213")
    assert heard[1] == ("invalid", "recording_notice")
    assert done == Choices(consent=False, service="consultation", language="hak")


def test_a_caller_who_presses_nothing_is_queued_with_the_safe_choices() -> None:
    _heard, done = _run("_" * (3 * MAX_TRIES))
    assert done == Choices(consent=False, service="consultation", language="zh",
                           defaulted=("consent", "service", "language"))


@pytest.mark.parametrize(("position", "eta", "prompts"), [
    (1, None, ("position_next",)),
    (3, 30, ("position_2",)),
    (5, 240, ("position_4", "wait_4")),
    (99, 99 * 60, ("position_more", "wait_more")),
])
def test_announcements(position: int, eta: float | None, prompts: tuple[str, ...]) -> None:
    assert announcement(position, eta, 30) == prompts


def test_a_press_counts_once_at_its_first_end_packet() -> None:
    detector = DtmfDetector()
    seen = [detector.feed(event_payload("5", d, False), 1000) for d in (160, 320)]
    seen += [detector.feed(event_payload("5", 480, True), 1000) for _ in range(3)]
    assert seen == [None, None, "5", None, None]
    # A new press with its own timestamp, then the same digit again on a reused timestamp
    # (SIPp replays one capture, so every press carries the same timestamp).
    assert detector.feed(event_payload("#", 480, True), 2000) == "#"
    assert detector.feed(event_payload("#", 160, False), 2000) is None
    assert detector.feed(event_payload("#", 480, True), 2000) == "#"
    assert detector.feed(b"\x01", 3000) is None


def test_the_ledger_stores_the_notice_callers_hear() -> None:
    assert PHONE_NOTICE.zh == BASE["recording_notice"]


@pytest.mark.parametrize(("status", "outcome"), [
    (200, Outcome.ANSWERED), (486, Outcome.BUSY), (600, Outcome.BUSY), (408, Outcome.NO_ANSWER),
    (480, Outcome.NO_ANSWER), (487, Outcome.NO_ANSWER), (404, Outcome.REJECTED),
    (603, Outcome.REJECTED), (503, Outcome.FAILED),
])
def test_callback_outcomes(status: int, outcome: Outcome) -> None:
    assert outcome_of(status) is outcome


def test_retry_rules_are_data() -> None:
    rules = {Outcome.BUSY: RetryRule(attempts=2, after_s=5.0)}
    assert next_try(Outcome.BUSY, 1, rules) == 5.0
    assert next_try(Outcome.BUSY, 2, rules) is None
    assert next_try(Outcome.NO_ANSWER, 1, rules) is None  # no rule: no retry
    assert next_try(Outcome.ANSWERED, 1) is None


def _code_menu(keys: str) -> tuple[Ivr, list[Step]]:
    ivr = Ivr(codes=True)
    ivr.start()
    return ivr, [ivr.silence() if key == "_" else ivr.press(key) for key in keys]


def test_mediation_asks_for_a_code_and_hands_the_keys_to_the_desk() -> None:
    ivr, steps = _code_menu("12" + "2345*2345678#")
    assert steps[1].prompts == ("code_entry",)
    assert steps[6].prompts == ("code_entry",)  # * starts the code again
    assert steps[-1].code == "2345678" and steps[-1].done is None
    done = ivr.code_accepted("2345678").done
    assert done == Choices(consent=True, service="mediation", language="zh", code="2345678")


def test_a_refused_code_is_asked_again_and_a_lock_goes_on_without_one() -> None:
    ivr, steps = _code_menu("1" "2" "99#")
    assert steps[-1].code == "99"
    assert ivr.code_refused().prompts == ("code_invalid", "code_entry")
    assert ivr.press("8").prompts == () and ivr.press("#").code == "8"
    assert ivr.code_locked().prompts == ("code_locked", "menu_language")
    assert ivr.press("1").done == Choices(consent=True, service="mediation", language="zh")


def test_no_code_and_silence_go_on_to_the_usual_mediation_intake() -> None:
    _ivr, steps = _code_menu("12#")
    assert steps[-1].prompts == ("menu_language",) and steps[-1].code is None
    _ivr, steps = _code_menu("12" + "_" * MAX_TRIES + "3")
    assert steps[-1].done == Choices(consent=True, service="mediation", language="hak",
                                     defaulted=("code",))
    assert Ivr().press("1") == Ivr().press("1")  # codes off (no mediation line): as before
    _ivr, steps = _run_keys_without_codes("12")
    assert steps[-1].prompts == ("menu_language",)


def _run_keys_without_codes(keys: str) -> tuple[Ivr, list[Step]]:
    ivr = Ivr()
    ivr.start()
    return ivr, [ivr.press(key) for key in keys]
