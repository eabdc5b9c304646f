"""Identity verification before a mediation session (SPC online mediation rules, 2021).

``IdentityVerifier`` is the interface; ``LocalIdentityVerifier`` compares what the invitee types
with what the mediator recorded when inviting them: the name and the last 4 characters of the ID
number. A real-name service (face match, a government ID check) can replace it behind the same
Protocol.
"""

from __future__ import annotations

import hmac
import unicodedata
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ExpectedIdentity:
    name: str
    id_last4: str | None


class IdentityVerifier(Protocol):
    """Decides whether a claimed identity matches the invited person's."""

    async def verify(self, expected: ExpectedIdentity, name: str, id_last4: str) -> bool:
        """True when ``name`` and ``id_last4`` identify the ``expected`` person."""
        ...


def normalise_name(name: str) -> str:
    """NFKC, no whitespace, case-folded (full-width letters and stray spaces do not matter)."""
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


def normalise_id4(id4: str) -> str:
    return unicodedata.normalize("NFKC", id4).strip().upper()


class LocalIdentityVerifier:
    """Name and the last 4 characters of the ID number (the check digit may be X)."""

    async def verify(self, expected: ExpectedIdentity, name: str, id_last4: str) -> bool:
        if expected.id_last4 is None:
            return False
        same_name = hmac.compare_digest(normalise_name(expected.name).encode(),
                                        normalise_name(name).encode())
        same_id = hmac.compare_digest(normalise_id4(expected.id_last4).encode(),
                                      normalise_id4(id_last4).encode())
        return same_name and same_id
