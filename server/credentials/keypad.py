"""Invitation codes keyed on a telephone keypad (pure).

A code's letters are keyed on the digit they are printed on (ITU E.161: 2 ABC, 3 DEF, 4 GHI,
5 JKL, 6 MNO, 7 PQRS, 8 TUV, 9 WXYZ), its digits as themselves. The code alphabet has no 0, 1,
I or O, so every character has exactly one key. Several codes share a key sequence (about
16.7 million sequences for 8 characters): codes are issued so that no two live ones do
(``signaling.mediation.service``), and a sequence names a code only when exactly one matches."""

from __future__ import annotations

_LETTERS = {"2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL", "6": "MNO", "7": "PQRS", "8": "TUV",
            "9": "WXYZ"}
KEY_OF = {letter: key for key, letters in _LETTERS.items() for letter in letters} | {
    str(d): str(d) for d in range(10)}


def keys_of(code: str) -> str:
    """The keys that enter ``code`` on a phone (characters without a key are dropped)."""
    return "".join(KEY_OF.get(c, "") for c in code.upper())


def matching(keys: str, codes: list[str]) -> str | None:
    """The one code among ``codes`` that ``keys`` enter, or None (none, or more than one)."""
    found = [c for c in codes if keys_of(c) == keys]
    return found[0] if len(found) == 1 else None
