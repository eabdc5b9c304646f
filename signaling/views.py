"""What clients see of cases, rooms and chat (serialisation only)."""

from __future__ import annotations

from typing import Any

from server.models import Case, CaseEvent, ChatMessage, User
from server.personal_data import mask_phone
from server.policy import Principal, Role


def case_view(case: Case, lawyer: User | None, for_lawyer: bool = False) -> dict[str, Any]:
    """What a case's citizen or lawyer sees; the full phone only to a lawyer who must call back."""
    view = {
        "id": case.id,
        "status": case.status,
        "service_type": case.service_type,
        "category": case.category,
        "mode": case.mode,
        "name": case.citizen_name,
        "phone_masked": mask_phone(case.citizen_phone),
        "description": case.description,
        "region": case.region,
        "language": case.language,
        "priority": case.priority,
        "callback": case.callback,
        "created_at": case.created_at.isoformat(),
        "notes": case.notes,
        "outcome": case.outcome,
        "rating": case.rating,
        "lawyer": {"id": str(lawyer.id), "display_name": lawyer.display_name} if lawyer else None,
        "room_id": case.room_id,
    }
    if for_lawyer and case.callback:
        view["phone"] = case.citizen_phone
    return view


CALLBACK_EVENTS = ("callback_dialled", "callback_gave_up")


def callback_attempt_view(event: CaseEvent) -> dict[str, Any]:
    """One attempt of a callback dialled by the server, or the end of the tries (the lawyer's
    page lists them: time and result)."""
    data = event.data or {}
    if event.kind == "callback_gave_up":
        return {"case_id": event.case_id, "at": event.at.isoformat(), "gave_up": True,
                "attempt": data.get("attempts"), "outcome": data.get("outcome")}
    return {"case_id": event.case_id, "at": event.at.isoformat(), "gave_up": False,
            "attempt": data.get("attempt"), "outcome": data.get("outcome")}


def room_view(case: Case, lawyer: User, me: Principal) -> dict[str, Any]:
    citizen = {"role": Role.CITIZEN.value, "name": case.citizen_name}
    staff = {"role": Role.LAWYER.value, "name": lawyer.display_name}
    peer = staff if me.role is Role.CITIZEN else citizen
    return {
        "room_id": case.room_id,
        "case_id": case.id,
        "mode": case.mode,
        "self": {"participant_id": me.participant_id, "role": me.role.value, "name": me.name},
        "peer": peer,
    }


def chat_view(message: ChatMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "room_id": message.room_id,
        "sender": {"role": message.sender_role, "name": message.sender_name},
        "text": message.text,
        "at": message.created_at.isoformat(),
    }


def case_target(case_id: str) -> str:
    """The socket.io room holding every connection of a case's citizen."""
    return f"case:{case_id}"


def user_target(user_id: str) -> str:
    """The socket.io room holding every connection of one staff member."""
    return f"user:{user_id}"


AGENTS_TARGET = "agents"
SUPERVISORS_TARGET = "supervisors"
