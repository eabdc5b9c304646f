"""An application for mediation that both parties agreed to becomes a mediation case: the
mediator who accepted it runs it in the rooms the product already has (docs/one-window.md)."""

from __future__ import annotations

from server.errors import not_found
from server.mediation.schemas import CreateMediationBody
from server.policy import Principal, Role
from server.registry.models import Application
from server.users import UserRepository
from signaling.mediation.service import MediationService


class MediationFromApplication:
    def __init__(self, mediation: MediationService, users: UserRepository) -> None:
        self._mediation = mediation
        self._users = users

    async def open_for(self, application: Application, mediator_id: int) -> str:
        mediator = await self._users.get(mediator_id)
        if mediator is None:
            raise not_found("调解员账号不存在 / mediator account not found")
        me = Principal(Role.MEDIATOR, str(mediator.id), mediator.display_name)
        view = await self._mediation.create(me, CreateMediationBody(
            applicant_name=application.applicant_name, applicant_phone=application.applicant_phone,
            respondent_name=application.respondent_name or "",
            respondent_phone=application.respondent_phone or "",
            category=application.category,
            statement=f"{application.number}：{application.statement}"[:2000],
            source_case_id=application.source_case_id))
        return str(view["case"]["id"])
