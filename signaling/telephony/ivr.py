"""The phone line's menu (IVR): pure, driven by key presses and silences.

welcome, recording notice with consent (1 agree, 2 refuse), service, language; then the call
is queued. With ``codes`` on, 人民调解 first asks for a mediation invitation code (keys, then
#; # alone: no code, the menu goes on); the desk checks a keyed code and tells the menu
(``code_accepted`` / ``code_refused`` / ``code_locked``). A caller who presses nothing or a
wrong key hears the menu again; after ``MAX_TRIES`` the safe choice is taken (consent
refused, consultation, Mandarin; no code) so nobody is dropped for not pressing keys: the
lawyer can still ask."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum

MAX_TRIES = 3

SERVICES = {"1": "consultation", "2": "mediation", "3": "legal_aid"}
LANGUAGES = {"1": "zh", "2": "gan", "3": "hak", "4": "yue", "5": "min"}
CONSENT = {"1": True, "2": False}


class Stage(StrEnum):
    CONSENT = "consent"
    SERVICE = "service"
    CODE = "code"
    LANGUAGE = "language"
    DONE = "done"


_MENUS: dict[Stage, tuple[str, dict[str, object], object]] = {
    Stage.CONSENT: ("recording_notice", dict(CONSENT), False),
    Stage.SERVICE: ("menu_service", dict(SERVICES), "consultation"),
    Stage.LANGUAGE: ("menu_language", dict(LANGUAGES), "zh"),
}
_NEXT = {Stage.CONSENT: Stage.SERVICE, Stage.SERVICE: Stage.LANGUAGE, Stage.LANGUAGE: Stage.DONE}


@dataclass(frozen=True)
class Choices:
    consent: bool
    service: str
    language: str
    defaulted: tuple[str, ...] = ()  # stages where the safe choice was taken
    code: str | None = None  # the keys of an accepted mediation invitation code


@dataclass(frozen=True)
class Step:
    prompts: tuple[str, ...]  # to play now, in order (the previous prompt is cut: barge-in)
    done: Choices | None = None
    code: str | None = None  # keys ended by #: the desk checks them and tells the menu


MAX_CODE_KEYS = 16


@dataclass
class Ivr:
    stage: Stage = Stage.CONSENT
    tries: int = 0
    codes: bool = False  # ask mediation callers for an invitation code
    _picked: dict[Stage, object] = field(default_factory=dict)
    _defaulted: list[str] = field(default_factory=list)
    _keys: str = ""

    def start(self) -> Step:
        return Step(("welcome", _MENUS[self.stage][0]))

    def press(self, digit: str) -> Step:
        if self.stage is Stage.DONE:
            return Step(())
        if self.stage is Stage.CODE:
            return self._code_key(digit)
        _prompt, options, _default = _MENUS[self.stage]
        if digit not in options:
            return self._again()
        return self._advance(options[digit])

    def silence(self) -> Step:
        """No key for a while after the menu ended."""
        if self.stage is Stage.DONE:
            return Step(())
        return self._again()

    def _code_key(self, digit: str) -> Step:
        if digit == "*":  # start the code again
            self._keys = ""
            return Step(("code_entry",))
        if digit != "#":
            self._keys = (self._keys + digit)[:MAX_CODE_KEYS]
            return Step(())
        keys, self._keys = self._keys, ""
        if not keys:  # no code: the mediation intake as before
            return self._to(Stage.LANGUAGE)
        return Step((), code=keys)

    def code_accepted(self, keys: str) -> Step:
        """The desk redeemed the code: the call joins that mediation (no language menu)."""
        self.stage = Stage.DONE
        return Step((), Choices(consent=bool(self._picked[Stage.CONSENT]), service="mediation",
                                language="zh", defaulted=tuple(self._defaulted), code=keys))

    def code_refused(self) -> Step:
        """A wrong code: told, and asked again (the server's locks count the tries)."""
        return Step(("code_invalid", "code_entry"))

    def code_locked(self) -> Step:
        """Too many wrong tries: told so, then the mediation intake as without a code."""
        return replace(self._to(Stage.LANGUAGE), prompts=("code_locked", "menu_language"))

    def _to(self, stage: Stage) -> Step:
        self.stage, self.tries = stage, 0
        return Step((_MENUS[stage][0],))

    def _again(self) -> Step:
        self.tries += 1
        if self.stage is Stage.CODE:
            self._keys = ""
            if self.tries >= MAX_TRIES:
                self._defaulted.append(self.stage.value)
                return self._to(Stage.LANGUAGE)
            return Step(("code_entry",))
        prompt, _options, default = _MENUS[self.stage]
        if self.tries >= MAX_TRIES:
            self._defaulted.append(self.stage.value)
            return self._advance(default)
        return Step(("invalid", prompt))

    def _advance(self, value: object) -> Step:
        self._picked[self.stage] = value
        if self.stage is Stage.SERVICE and value == "mediation" and self.codes:
            self.stage, self.tries = Stage.CODE, 0
            return Step(("code_entry",))
        self.stage, self.tries = _NEXT[self.stage], 0
        if self.stage is Stage.DONE:
            return Step(("queued",), Choices(
                consent=bool(self._picked[Stage.CONSENT]), service=str(self._picked[Stage.SERVICE]),
                language=str(self._picked[Stage.LANGUAGE]), defaulted=tuple(self._defaulted)))
        return Step((_MENUS[self.stage][0],))


# Services the menu files as a one-window application instead of queueing a consultation.
FILED_SERVICES = frozenset({"mediation", "legal_aid"})


def filed_prompts(number: str, service: str) -> tuple[str, ...]:
    """The prompts reading out an application's number (泉城调〔2026〕12号: 2-0-2-6 年 1-2 号;
    the institution's prefix is in the SMS) and what happens next."""
    match = re.search(r"(\d{4})\D+(\d+)", number)
    spoken: list[str] = ["filed"]
    if match:
        spoken += [f"digit_{d}" for d in match.group(1)] + ["number_year"]
        spoken += [f"digit_{d}" for d in match.group(2)] + ["number_end"]
    return (*spoken, f"next_{service}", "thanks")


def announcement(position: int, eta_s: float | None, limit: int) -> tuple[str, ...]:
    """The prompts telling a waiting caller their place (1: next) and wait in minutes."""
    ahead = position - 1
    prompts = ["position_next" if ahead <= 0 else
               f"position_{ahead}" if ahead <= limit else "position_more"]
    if eta_s is not None and eta_s >= 60:
        minutes = round(eta_s / 60)
        prompts.append(f"wait_{minutes}" if minutes <= limit else "wait_more")
    return tuple(prompts)
