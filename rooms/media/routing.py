"""Who receives whom: the one table the forwarding follows.

Pure. Today every participant may hear and see every other, and each browser has one audio
and one video transceiver, so each subscriber gets the first other participant (in join order)
of each kind. A caucus later passes a ``may_receive`` predicate from the room model; the
worker's forwarding does not change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from rooms.messages import ParticipantId

MayReceive = Callable[[ParticipantId, ParticipantId, str], bool]
Routes = dict[tuple[ParticipantId, str], ParticipantId | None]


def everyone(subscriber: ParticipantId, publisher: ParticipantId, kind: str) -> bool:
    """The default room: everybody hears and sees everybody else."""
    return True


def route(participants: Sequence[ParticipantId], kinds: Iterable[str],
          may_receive: MayReceive = everyone) -> Routes:
    """For each (subscriber, kind): the participant whose media goes on the subscriber's
    transceiver of that kind, or None. ``participants`` are in join order."""
    kinds = tuple(kinds)
    routes: Routes = {}
    for subscriber in participants:
        for kind in kinds:
            routes[(subscriber, kind)] = next(
                (p for p in participants
                 if p != subscriber and may_receive(subscriber, p, kind)),
                None)
    return routes


def assign_slots(previous: Sequence[ParticipantId | None], wanted: Sequence[ParticipantId],
                 size: int) -> list[ParticipantId | None]:
    """A subscriber's receiving slots: who is shown on each of ``size`` slots.

    Stable: a publisher still ``wanted`` keeps the slot it had (no needless source swap, so no
    keyframe wait); newcomers fill the free slots in ``wanted`` order (join order); anyone no
    longer wanted frees their slot. Publishers beyond ``size`` are not received."""
    keep = set(wanted)
    slots: list[ParticipantId | None] = [
        p if p in keep else None for p in list(previous)[:size]]
    slots += [None] * (size - len(slots))
    placed = {p for p in slots if p is not None}
    for publisher in wanted:
        if publisher in placed:
            continue
        try:
            index = slots.index(None)
        except ValueError:
            break
        slots[index] = publisher
        placed.add(publisher)
    return slots
