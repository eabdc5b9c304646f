"""Which supervisors are in a consultation's room, read from the case's timeline (pure):
live assist (``assist``) writes the entries, the room views count the joined ones."""

from __future__ import annotations

from collections.abc import Iterable

LISTENING = "supervisor_listening"
JOINED = "supervisor_joined"
LEFT = "supervisor_left"
# A supervisor receives the citizen and the lawyer: two slots of each kind.
SLOTS = 2


def presence(events: list[tuple[str, str]]) -> dict[str, str]:
    """Supervisors in the room from the timeline's (actor, kind) entries, in order:
    participant id -> "listening" | "joined" (pure)."""
    now: dict[str, str] = {}
    for actor, kind in events:
        if kind == LISTENING:
            now[actor] = "listening"
        elif kind == JOINED:
            now[actor] = "joined"
        elif kind == LEFT:
            now.pop(actor, None)
    return now


def audio_slots(events: Iterable[tuple[str, str]]) -> int:
    """Audio m-lines a party's page offers: the other party, and each joined supervisor."""
    return 1 + sum(1 for state in presence(list(events)).values() if state == "joined")
