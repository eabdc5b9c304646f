"""socket.io events for recording consent (registered on the shared SocketEvents)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from server.policy import Action, Principal
from server.validation import parse
from signaling.consultations.service import ConsultationService
from signaling.events import SocketEvents
from signaling.schemas import RoomRef

RECORDING_EVENTS: dict[str, Action] = {"recording:consent": Action.RECORDING_CONSENT}


class ConsentBody(RoomRef):
    decision: Literal["granted", "refused"]
    version: str = Field(min_length=1, max_length=32)


class RecordingEvents:
    def __init__(self, events: SocketEvents, service: ConsultationService) -> None:
        self._service = service
        events.register("recording:consent", self._consent)

    async def _consent(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(ConsentBody, data)
        return await self._service.consent_to_recording(me, body.room_id, body.decision,
                                                        body.version)
