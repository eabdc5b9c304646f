"""socket.io events of agreement drafting: thin handlers registered through
``SocketEvents.register`` (same authentication, rate limit, size cap, ack and error shape).

``AGREEMENT_EVENTS`` is the table the access-matrix test checks. Signing, applications and the
court are REST (signaling/agreements/api.py, signaling/court/api.py): a signature records the caller's
IP address and user agent, which a REST request carries.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from server.agreements.labels import refused
from server.agreements.schemas import CommentBody, SaveBody
from server.mediation.schemas import CaseRef
from server.policy import Action, Principal
from server.validation import parse
from signaling.agreements.service import AgreementService
from signaling.events import Handler, SocketEvents

AGREEMENT_EVENTS: dict[str, Action] = {
    "agreement:open": Action.AGREEMENT_READ,
    "agreement:draft": Action.AGREEMENT_EDIT,
    "agreement:save": Action.AGREEMENT_EDIT,
    "agreement:comment": Action.AGREEMENT_COMMENT,
}


class AgreementEvents:
    def __init__(self, events: SocketEvents, service: AgreementService) -> None:
        self._service = service
        handlers: dict[str, Handler] = {
            "agreement:open": self._open,
            "agreement:draft": self._draft,
            "agreement:save": self._save,
            "agreement:comment": self._comment,
        }
        assert handlers.keys() == AGREEMENT_EVENTS.keys()
        for event, handler in handlers.items():
            events.register(event, handler)

    async def _open(self, me: Principal, data: Any) -> dict[str, Any]:
        return await self._service.view(me, parse(CaseRef, data).case_id)

    async def _draft(self, me: Principal, data: Any) -> dict[str, Any]:
        return await self._service.draft(me, parse(CaseRef, data).case_id)

    @staticmethod
    def parse_save(data: Any) -> SaveBody:
        """The save body, or a refusal naming the field in words: whose ID number, which
        term's amount (server.agreements.labels)."""
        if not isinstance(data, dict):
            return parse(SaveBody, data)  # refuses it
        try:
            return SaveBody.model_validate(data)
        except ValidationError as exc:
            raise refused(exc.errors()[0], data) from None

    async def _save(self, me: Principal, data: Any) -> dict[str, Any]:
        body = self.parse_save(data)
        return await self._service.save(me, body.case_id, body.base_version, body.content)

    async def _comment(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(CommentBody, data)
        return await self._service.comment(me, body.case_id, body.version, body.clause, body.text)
