"""What clients see of mediation cases, participants, rooms and chat (serialisation only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rooms import caucus
from rooms.caucus import RoomState
from server.credentials import Lock
from server.mediation.models import (
    MediationCase,
    MediationDocument,
    MediationEvent,
    MediationMessage,
    MediationParticipant,
)
from server.personal_data import Relation, mask_phone, sees_full
from signaling.views import user_target

_CONTROL = frozenset(r.value for r in caucus.CONTROL_ROLES)

OTHER_ROUTES = ("arbitration", "administrative", "court")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def case_view(case: MediationCase, opens_at: datetime | None,
              personal: Relation = Relation.OTHER) -> dict[str, Any]:
    """The case as a reader sees it: the parties' phones in full only to the case's mediator
    (``personal_data.sees_full``), masked to everyone else."""
    full = sees_full(personal)

    def side(name: str, phone: str) -> dict[str, Any]:
        return {"name": name, "phone_masked": mask_phone(phone), **({"phone": phone} if full
                                                                   else {})}

    return {
        "id": case.id, "number": case.case_number, "status": case.status,
        "category": case.category,
        "statement": case.statement,
        "applicant": side(case.applicant_name, case.applicant_phone),
        "respondent": side(case.respondent_name, case.respondent_phone),
        "created_at": _iso(case.created_at), "accepted_at": _iso(case.accepted_at),
        "deadline_at": _iso(case.deadline_at),
        "disclosure": case.disclosure, "conflict_declared": case.conflict_declared,
        "escalation_risk": case.escalation_risk,
        "scheduled_at": _iso(case.scheduled_at), "room_opens_at": _iso(opens_at),
        "closed_at": _iso(case.closed_at), "close_reason": case.close_reason,
        # A failed mediation shows the other routes (人民调解法 Art 26).
        "other_routes": list(OTHER_ROUTES) if case.status == "failed" else [],
        "room_id": case.room_id,
    }


def participant_view(p: MediationParticipant, *, staff: bool, lock: Lock | None = None,
                     personal: Relation = Relation.OTHER) -> dict[str, Any]:
    """A participant as the case view shows them. Staff see the invitation's state and any
    lock on its checks, never its code or token (a party's credentials are the party's). The
    phone: in full to themself and the case's mediator, masked to others."""
    view: dict[str, Any] = {"id": p.id, "role": p.role, "side": p.side, "name": p.name,
                            "verified": p.verified_at is not None,
                            "consent_mediation": p.consent_mediation_at is not None,
                            "consent_recording": p.consent_recording_at is not None,
                            "objection": p.objection,
                            "phone": p.phone if sees_full(personal) else mask_phone(p.phone)}
    if staff:
        view["invitation"] = {
            "redeemed": p.invite_redeemed_at is not None,
            "redeemed_at": _iso(p.invite_redeemed_at),
            "expires_at": _iso(p.invite_expires_at),
            "sent_to": mask_phone(p.phone) if p.phone else None}
        view["invite_expires_at"] = _iso(p.invite_expires_at)
        view["revoked"] = p.revoked_at is not None
        view["locked"] = ({"scope": lock.scope.value, "since": lock.since.isoformat()}
                          if lock is not None else None)
    return view


def room_view(case: MediationCase, state: RoomState, me: str) -> dict[str, Any]:
    """The room as ``me`` sees it. Everyone sees who is in the room; only the mediator sees
    the lobby and everyone's caucus group; others see whether they are with the mediator."""
    self_member = state.member(me)
    is_mediator = self_member is not None and self_member.role in caucus.CONTROL_ROLES
    visible = [m for m in state.members
               if is_mediator or m.lobby is caucus.Lobby.ADMITTED or m.id == me]
    mediators = {m.id for m in state.admitted if m.is_mediator}
    my_group = state.group_of(me)
    with_mediator = (not state.in_caucus
                     or any(state.group_of(m) == my_group for m in mediators if m != me)
                     or me in mediators)
    return {
        "case_id": case.id,
        "room_id": case.room_id,
        "self": _member(self_member, state, show_group=True) if self_member else None,
        "members": [_member(m, state, show_group=is_mediator) | {
            "with_me": m.id == me or caucus.can_hear_see(state, me, m.id)} for m in visible],
        "caucus": {"active": state.in_caucus, "with_mediator": with_mediator,
                   "groups": ([list(g) for g in state.groups] if is_mediator and state.groups
                              else None)},
        "recording_paused": state.recording_paused,
        "ended": state.ended,
    }


def _member(m: caucus.Member, state: RoomState, *, show_group: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"id": m.id, "role": m.role.value, "name": m.name,
                            "side": m.side.value, "lobby": m.lobby.value, "muted": m.muted,
                            "hand_raised": m.hand_raised, "phone": m.phone}
    if show_group:
        view["group"] = state.group_of(m.id)
    return view


def chat_view(message: MediationMessage) -> dict[str, Any]:
    return {"id": message.id, "case_id": message.case_id, "room_id": message.room_id,
            "sender": {"id": message.sender_id, "role": message.sender_role,
                       "name": message.sender_name},
            "text": message.text, "at": message.created_at.isoformat()}


def document_visible(d: MediationDocument, viewer: MediationParticipant | None) -> bool:
    """Whether ``viewer`` may see a document (and its name): one shared with the whole case,
    or a caucus group's they were in, or their own upload; the case's mediator (and a
    supervisor, ``viewer`` None) sees all."""
    if viewer is None or d.audience is None or viewer.role in _CONTROL:
        return True
    return viewer.id in d.audience or viewer.id == d.uploaded_by


def document_view(d: MediationDocument) -> dict[str, Any]:
    return {"id": d.id, "filename": d.filename, "content_type": d.content_type, "size": d.size,
            "sha256": d.sha256, "uploaded_by": d.uploaded_by, "at": d.created_at.isoformat()}


def event_view(e: MediationEvent) -> dict[str, Any]:
    return {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "kind": e.kind,
            "data": e.data, "hash": e.hash}


def participant_target(p: MediationParticipant) -> str:
    """The socket.io room of a participant's connections: staff by user, invitees by ID."""
    return user_target(str(p.user_id)) if p.user_id is not None else user_target(p.id)
