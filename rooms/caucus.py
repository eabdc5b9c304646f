"""The mediation room as a pure state machine: members, lobby, joint session and caucus groups.

No I/O and no clock: every transition takes ``now`` and returns the new state with the events
it caused (``Transition``); a refusal raises ``CaucusError`` with a stable code. The media
worker and the chat follow ``can_hear_see`` / ``may_receive`` / ``chat_audience``, so a caucus
(背靠背) is private because these functions say so, whatever a browser asks for.

Rules (docs/mediation.md):
- Only admitted members of a session that has not ended hear and see each other, and during a
  caucus only members of the same group.
- Mediators (the case's mediator; co-mediators, who may host a group) are admitted when they
  arrive; everyone else waits in the lobby until a mediator admits or refuses them.
- Room controls (admit, refuse, remove, mute, split, move, end caucus, recording, end) belong to
  the case's mediator (``MemberRole.MEDIATOR``), or in a court's confirmation session to the
  presiding clerk (``MemberRole.PRESIDING``); a co-mediator may be moved between groups.
- Someone admitted during a caucus joins their own side's group, a co-mediator the acting
  mediator's group, anyone else a group of their own (waiting), never the others' group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from server.members import MemberRole, Side

MEDIATOR_ROLES = frozenset({MemberRole.MEDIATOR, MemberRole.CO_MEDIATOR, MemberRole.PRESIDING})
# Who holds the room controls: the case's mediator, or the presiding clerk of a confirmation.
CONTROL_ROLES = frozenset({MemberRole.MEDIATOR, MemberRole.PRESIDING})


class Lobby(StrEnum):
    WAITING = "waiting"
    ADMITTED = "admitted"
    REFUSED = "refused"
    REMOVED = "removed"


class CaucusError(Exception):
    """A refused transition. ``code``: forbidden, not_found, invalid_state, bad_request,
    not_admitted, removed, session_ended."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Member:
    id: str
    role: MemberRole
    name: str
    side: Side = Side.NEUTRAL
    lobby: Lobby = Lobby.WAITING
    muted: bool = False
    hand_raised: bool = False
    phone: bool = False  # joined by telephone (the mediator's page shows it)

    @property
    def is_mediator(self) -> bool:
        return self.role in MEDIATOR_ROLES


@dataclass(frozen=True)
class RoomEvent:
    """Something that happened in the room, for the timeline and the audit log."""

    at: datetime
    actor: str
    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RoomState:
    """Members in arrival order; ``groups`` is None in a joint session, else the caucus groups
    (each a tuple of member ids; every admitted member is in exactly one)."""

    members: tuple[Member, ...] = ()
    groups: tuple[tuple[str, ...], ...] | None = None
    recording_paused: bool = False
    ended: bool = False

    def member(self, member_id: str) -> Member | None:
        return next((m for m in self.members if m.id == member_id), None)

    @property
    def admitted(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.lobby is Lobby.ADMITTED)

    @property
    def in_caucus(self) -> bool:
        return self.groups is not None

    def group_of(self, member_id: str) -> int | None:
        """Index of the member's caucus group; None in a joint session or when not in one."""
        if self.groups is None:
            return None
        return next((i for i, g in enumerate(self.groups) if member_id in g), None)


@dataclass(frozen=True)
class Transition:
    state: RoomState
    events: tuple[RoomEvent, ...]


# --- who hears and sees whom ---------------------------------------------------------------

def can_hear_see(state: RoomState, a: str, b: str) -> bool:
    """Whether ``a`` may hear and see ``b`` (symmetric): both admitted, the session live, and
    in a caucus both in the same group."""
    if a == b or state.ended:
        return False
    ma, mb = state.member(a), state.member(b)
    if ma is None or mb is None or ma.lobby is not Lobby.ADMITTED or mb.lobby is not Lobby.ADMITTED:
        return False
    if state.groups is None:
        return True
    group = state.group_of(a)
    return group is not None and group == state.group_of(b)


def may_receive(state: RoomState, subscriber: str, publisher: str, kind: str) -> bool:
    """Whether the worker may forward ``publisher``'s media of ``kind`` to ``subscriber``: a
    muted member's audio goes to nobody."""
    if not can_hear_see(state, subscriber, publisher):
        return False
    member = state.member(publisher)
    return not (kind == "audio" and member is not None and member.muted)


def allowed_pairs(state: RoomState) -> list[tuple[str, str]]:
    """Every (subscriber, publisher) pair that may hear and see each other, in member order."""
    ids = [m.id for m in state.admitted]
    return [(s, p) for s in ids for p in ids if can_hear_see(state, s, p)]


def chat_audience(state: RoomState, sender: str) -> tuple[str, ...]:
    """Who receives a chat message ``sender`` writes now: the sender and everyone who may hear
    and see them. Stored with the message, so history is filtered the same way later."""
    member = state.member(sender)
    if member is None or member.lobby is not Lobby.ADMITTED or state.ended:
        return ()
    return tuple(m.id for m in state.admitted if m.id == sender or can_hear_see(state, sender, m.id))


def caucus_with(state: RoomState, side: Side) -> list[list[str]]:
    """The usual split: the mediators with ``side``'s members; everyone else waits apart."""
    with_side = [m.id for m in state.admitted if m.is_mediator or m.side is side]
    others = [m.id for m in state.admitted if m.id not in with_side]
    return [with_side, others]


# --- transitions ---------------------------------------------------------------------------

def arrive(state: RoomState, member: Member, now: datetime) -> Transition:
    """A member reaches the room (after identity check and consents): mediators are admitted,
    others wait in the lobby. Arriving again (reload) keeps the member's state and group."""
    _live(state)
    existing = state.member(member.id)
    if existing is not None:
        if existing.lobby is Lobby.REMOVED:
            raise CaucusError("removed", "已被调解员移出 / you were removed from this session")
        if existing.lobby is Lobby.REFUSED:
            raise CaucusError("refused", "调解员未准许进入 / the mediator did not admit you")
        if existing.phone != member.phone:  # back by phone, or on the web after a call
            return Transition(_swap(state, replace(existing, phone=member.phone)), ())
        return Transition(state, ())
    lobby = Lobby.ADMITTED if member.is_mediator else Lobby.WAITING
    new = replace(member, lobby=lobby, muted=False, hand_raised=False)
    state = replace(state, members=(*state.members, new))
    events = [RoomEvent(now, member.id, "arrived", {"role": member.role.value})]
    if lobby is Lobby.ADMITTED:
        state = _place(state, new, member.id)
        events.append(RoomEvent(now, member.id, "admitted", {"member": member.id}))
    return Transition(state, tuple(events))


def admit(state: RoomState, actor: str, member_id: str, now: datetime) -> Transition:
    _control(state, actor)
    member = _member(state, member_id)
    if member.lobby not in (Lobby.WAITING, Lobby.REFUSED):
        raise CaucusError("invalid_state", f"不在等候中 / {member_id} is {member.lobby}")
    admitted = replace(member, lobby=Lobby.ADMITTED)
    state = _place(_swap(state, admitted), admitted, actor)
    return Transition(state, (RoomEvent(now, actor, "admitted", {"member": member_id}),))


def refuse(state: RoomState, actor: str, member_id: str, now: datetime) -> Transition:
    _control(state, actor)
    member = _member(state, member_id)
    if member.lobby is not Lobby.WAITING:
        raise CaucusError("invalid_state", f"不在等候中 / {member_id} is {member.lobby}")
    state = _swap(state, replace(member, lobby=Lobby.REFUSED))
    return Transition(state, (RoomEvent(now, actor, "refused", {"member": member_id}),))


def remove(state: RoomState, actor: str, member_id: str, now: datetime) -> Transition:
    _control(state, actor)
    member = _member(state, member_id)
    if member.id == actor or member.role in CONTROL_ROLES:
        raise CaucusError("invalid_state", "不能移出调解员 / the mediator cannot be removed")
    if member.lobby is Lobby.REMOVED:
        raise CaucusError("invalid_state", "已移出 / already removed")
    state = _drop_from_groups(_swap(state, replace(member, lobby=Lobby.REMOVED, hand_raised=False)),
                              member_id)
    return Transition(state, (RoomEvent(now, actor, "removed", {"member": member_id}),))


def mute(state: RoomState, actor: str, member_id: str, muted: bool, now: datetime) -> Transition:
    _control(state, actor)
    member = _member(state, member_id)
    if member.lobby is not Lobby.ADMITTED:
        raise CaucusError("not_admitted", f"{member_id} is not in the room")
    state = _swap(state, replace(member, muted=muted))
    kind = "muted" if muted else "unmuted"
    return Transition(state, (RoomEvent(now, actor, kind, {"member": member_id}),))


def split(state: RoomState, actor: str, groups: Sequence[Sequence[str]], now: datetime) -> Transition:
    """Start (or re-arrange) a caucus: ``groups`` must cover every admitted member exactly once,
    with at least two non-empty groups and the acting mediator in one of them."""
    _control(state, actor)
    cleaned = tuple(tuple(dict.fromkeys(g)) for g in groups if g)
    listed = [m for g in cleaned for m in g]
    admitted = {m.id for m in state.admitted}
    if len(cleaned) < 2:
        raise CaucusError("bad_request", "背靠背至少需要两组 / a caucus needs two groups at least")
    if len(listed) != len(set(listed)):
        raise CaucusError("bad_request", "每人只能在一个组 / a member is in two groups")
    unknown = set(listed) - admitted
    if unknown:
        raise CaucusError("bad_request", f"不在房间内 / not admitted: {sorted(unknown)}")
    missing = admitted - set(listed)
    if missing:
        raise CaucusError("bad_request", f"有人未分组 / not in any group: {sorted(missing)}")
    state = replace(state, groups=cleaned)
    data = {"groups": [list(g) for g in cleaned]}
    return Transition(state, (RoomEvent(now, actor, "caucus_started", data),))


def move(state: RoomState, actor: str, member_id: str, to_group: int, now: datetime) -> Transition:
    """Move a mediator or co-mediator to another caucus group (the mediator "walks over")."""
    _control(state, actor)
    member = _member(state, member_id)
    if not member.is_mediator or member.lobby is not Lobby.ADMITTED:
        raise CaucusError("bad_request", "只能移动调解员 / only mediators move between groups")
    if state.groups is None:
        raise CaucusError("invalid_state", "未在背靠背中 / no caucus in progress")
    if not 0 <= to_group < len(state.groups):
        raise CaucusError("bad_request", f"没有第 {to_group} 组 / no group {to_group}")
    target = state.groups[to_group]
    groups = [tuple(m for m in g if m != member_id) for g in state.groups]
    groups[to_group] = (*tuple(m for m in target if m != member_id), member_id)
    state = replace(state, groups=tuple(g for g in groups if g) or None)
    data = {"member": member_id, "groups": [list(g) for g in state.groups or ()]}
    return Transition(state, (RoomEvent(now, actor, "mediator_moved", data),))


def end_caucus(state: RoomState, actor: str, now: datetime) -> Transition:
    _control(state, actor)
    if state.groups is None:
        raise CaucusError("invalid_state", "未在背靠背中 / no caucus in progress")
    return Transition(replace(state, groups=None), (RoomEvent(now, actor, "caucus_ended", {}),))


def raise_hand(state: RoomState, member_id: str, raised: bool, now: datetime) -> Transition:
    _live(state)
    member = _member(state, member_id)
    if member.lobby is not Lobby.ADMITTED:
        raise CaucusError("not_admitted", "尚未准许进入 / not admitted yet")
    state = _swap(state, replace(member, hand_raised=raised))
    kind = "hand_raised" if raised else "hand_lowered"
    return Transition(state, (RoomEvent(now, member_id, kind, {}),))


def pause_recording(state: RoomState, actor: str, now: datetime) -> Transition:
    _control(state, actor)
    if state.recording_paused:
        raise CaucusError("invalid_state", "录制已暂停 / recording is already paused")
    return Transition(replace(state, recording_paused=True),
                      (RoomEvent(now, actor, "recording_paused", {}),))


def resume_recording(state: RoomState, actor: str, now: datetime) -> Transition:
    _control(state, actor)
    if not state.recording_paused:
        raise CaucusError("invalid_state", "录制未暂停 / recording is not paused")
    return Transition(replace(state, recording_paused=False),
                      (RoomEvent(now, actor, "recording_resumed", {}),))


def end_session(state: RoomState, actor: str, now: datetime) -> Transition:
    _control(state, actor)
    state = replace(state, ended=True, groups=None)
    return Transition(state, (RoomEvent(now, actor, "session_ended", {}),))


# --- snapshots (the database keeps one, so a restart rebuilds the room) ---------------------

def to_dict(state: RoomState) -> dict[str, Any]:
    return {
        "members": [{"id": m.id, "role": m.role.value, "name": m.name, "side": m.side.value,
                     "lobby": m.lobby.value, "muted": m.muted, "hand_raised": m.hand_raised,
                     "phone": m.phone}
                    for m in state.members],
        "groups": [list(g) for g in state.groups] if state.groups is not None else None,
        "recording_paused": state.recording_paused,
        "ended": state.ended,
    }


def from_dict(data: Mapping[str, Any]) -> RoomState:
    members = tuple(
        Member(id=m["id"], role=MemberRole(m["role"]), name=m["name"], side=Side(m["side"]),
               lobby=Lobby(m["lobby"]), muted=bool(m["muted"]), hand_raised=bool(m["hand_raised"]),
               phone=bool(m.get("phone")))
        for m in data.get("members", ()))
    groups = data.get("groups")
    return RoomState(members=members,
                     groups=tuple(tuple(g) for g in groups) if groups is not None else None,
                     recording_paused=bool(data.get("recording_paused")),
                     ended=bool(data.get("ended")))


# --- helpers -------------------------------------------------------------------------------

def _live(state: RoomState) -> None:
    if state.ended:
        raise CaucusError("session_ended", "调解会议已结束 / the session has ended")


def _control(state: RoomState, actor: str) -> None:
    _live(state)
    member = state.member(actor)
    if member is None or member.role not in CONTROL_ROLES or member.lobby is not Lobby.ADMITTED:
        raise CaucusError("forbidden", "只有调解员可以操作 / only the mediator may do this")


def _member(state: RoomState, member_id: str) -> Member:
    member = state.member(member_id)
    if member is None:
        raise CaucusError("not_found", f"没有该参与人 / no member {member_id}")
    return member


def _swap(state: RoomState, member: Member) -> RoomState:
    return replace(state, members=tuple(member if m.id == member.id else m for m in state.members))


def _drop_from_groups(state: RoomState, member_id: str) -> RoomState:
    if state.groups is None:
        return state
    groups = tuple(g for g in (tuple(m for m in g if m != member_id) for g in state.groups) if g)
    return replace(state, groups=groups or None)


def _place(state: RoomState, member: Member, actor: str) -> RoomState:
    """Put a newly admitted member into a caucus group (no-op in a joint session)."""
    if state.groups is None or state.group_of(member.id) is not None:
        return state
    target: int | None = None
    if member.is_mediator:
        target = state.group_of(actor) if actor != member.id else None
    elif member.side is not Side.NEUTRAL:
        target = next((i for i, g in enumerate(state.groups)
                       if any(_side(state, m) is member.side for m in g)), None)
    groups = list(state.groups)
    if target is None:
        groups.append((member.id,))
    else:
        groups[target] = (*groups[target], member.id)
    return replace(state, groups=tuple(groups))


def _side(state: RoomState, member_id: str) -> Side | None:
    member = state.member(member_id)
    return member.side if member is not None else None


def members_of(state: RoomState, ids: Iterable[str]) -> list[Member]:
    """The members with ``ids``, in arrival order (unknown ids are skipped)."""
    wanted = set(ids)
    return [m for m in state.members if m.id in wanted]
