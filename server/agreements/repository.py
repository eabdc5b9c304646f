"""Agreements, versions, comments, signatures, performance, applications and receipts in the
database. A save is one transaction: a conditional update of ``current_version`` from the base
(so two saves on the same base cannot both win, in one process or many), the new version row,
and the voiding of every live signature on older versions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from server.agreements.models import (
    Agreement,
    AgreementComment,
    AgreementSignature,
    AgreementVersion,
    ClerkCourt,
    ConfirmationApplication,
    ObligationPerformance,
    ServiceReceipt,
)
from server.db import Database
from server.mediation.models import MediationMessage


class AgreementRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- agreements and versions ---------------------------------------------------------

    async def create(self, agreement: Agreement, first: AgreementVersion) -> bool:
        """False when the case already has an agreement."""
        async with self._db.session() as session:
            session.add(agreement)
            try:
                await session.flush()
                session.add(first)
                await session.commit()
            except IntegrityError:
                await session.rollback()
                return False
        return True

    async def for_case(self, case_id: str) -> Agreement | None:
        async with self._db.session() as session:
            rows = await session.execute(select(Agreement).where(Agreement.case_id == case_id))
            return rows.scalars().first()

    async def get(self, agreement_id: str) -> Agreement | None:
        async with self._db.session() as session:
            return await session.get(Agreement, agreement_id)

    async def effective(self) -> list[Agreement]:
        async with self._db.session() as session:
            rows = await session.execute(select(Agreement).where(Agreement.status == "effective"))
            return list(rows.scalars())

    async def save_version(self, agreement_id: str, base: int, version: AgreementVersion,
                           now: datetime) -> list[AgreementSignature] | None:
        """Add ``version`` (number base + 1) if the agreement is still at ``base`` and drafting;
        void live signatures on older versions. None on a conflict; else the voided ones."""
        async with self._db.session() as session:
            result = await session.execute(
                update(Agreement).where(Agreement.id == agreement_id,
                                        Agreement.current_version == base,
                                        Agreement.status == "drafting")
                .values(current_version=base + 1))
            if result.rowcount != 1:  # type: ignore[attr-defined]
                await session.rollback()
                return None
            session.add(version)
            rows = await session.execute(select(AgreementSignature).where(
                AgreementSignature.agreement_id == agreement_id,
                AgreementSignature.version <= base, AgreementSignature.voided_at.is_(None)))
            voided = list(rows.scalars())
            for signature in voided:
                signature.voided_at = now
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                return None
            return voided

    async def version(self, agreement_id: str, number: int) -> AgreementVersion | None:
        async with self._db.session() as session:
            rows = await session.execute(select(AgreementVersion).where(
                AgreementVersion.agreement_id == agreement_id, AgreementVersion.number == number))
            return rows.scalars().first()

    async def versions(self, agreement_id: str) -> list[AgreementVersion]:
        async with self._db.session() as session:
            rows = await session.execute(select(AgreementVersion).where(
                AgreementVersion.agreement_id == agreement_id).order_by(AgreementVersion.number))
            return list(rows.scalars())

    async def make_effective(self, agreement_id: str, version: int, at: datetime) -> bool:
        async with self._db.session() as session:
            result = await session.execute(
                update(Agreement).where(Agreement.id == agreement_id,
                                        Agreement.current_version == version,
                                        Agreement.status == "drafting")
                .values(status="effective", effective_at=at))
            await session.commit()
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def set_reminders(self, agreement_id: str, sent: list[int]) -> None:
        async with self._db.session() as session:
            await session.execute(update(Agreement).where(Agreement.id == agreement_id)
                                  .values(reminders_sent=sent))
            await session.commit()

    # --- comments and signatures ---------------------------------------------------------

    async def add(self, row: Any) -> Any:
        async with self._db.session() as session:
            session.add(row)
            await session.commit()
        return row

    async def comments(self, agreement_id: str) -> list[AgreementComment]:
        async with self._db.session() as session:
            rows = await session.execute(select(AgreementComment).where(
                AgreementComment.agreement_id == agreement_id).order_by(AgreementComment.id))
            return list(rows.scalars())

    async def signatures(self, agreement_id: str, version: int | None = None,
                         live_only: bool = False) -> list[AgreementSignature]:
        query = select(AgreementSignature).where(AgreementSignature.agreement_id == agreement_id)
        if version is not None:
            query = query.where(AgreementSignature.version == version)
        if live_only:
            query = query.where(AgreementSignature.voided_at.is_(None))
        async with self._db.session() as session:
            rows = await session.execute(query.order_by(AgreementSignature.id))
            return list(rows.scalars())

    async def void_signature(self, signature_id: int, at: datetime) -> None:
        async with self._db.session() as session:
            await session.execute(update(AgreementSignature).where(
                AgreementSignature.id == signature_id).values(voided_at=at))
            await session.commit()

    # --- performance ---------------------------------------------------------------------

    async def performance(self, agreement_ids: Iterable[str]) -> list[ObligationPerformance]:
        async with self._db.session() as session:
            rows = await session.execute(select(ObligationPerformance).where(
                ObligationPerformance.agreement_id.in_(list(agreement_ids)))
                .order_by(ObligationPerformance.id))
            return list(rows.scalars())

    # --- applications and service --------------------------------------------------------

    async def applications(self, agreement_id: str) -> list[ConfirmationApplication]:
        async with self._db.session() as session:
            rows = await session.execute(select(ConfirmationApplication).where(
                ConfirmationApplication.agreement_id == agreement_id)
                .order_by(ConfirmationApplication.created_at))
            return list(rows.scalars())

    async def application(self, application_id: str) -> ConfirmationApplication | None:
        async with self._db.session() as session:
            return await session.get(ConfirmationApplication, application_id)

    async def for_court(self, court_code: str) -> list[ConfirmationApplication]:
        async with self._db.session() as session:
            rows = await session.execute(select(ConfirmationApplication).where(
                ConfirmationApplication.court_code == court_code,
                ConfirmationApplication.status != "proposed")
                .order_by(ConfirmationApplication.submitted_at.desc()))
            return list(rows.scalars())

    async def update_application(self, application_id: str, *,
                                 from_status: Iterable[str] | None = None, **values: Any) -> bool:
        query = update(ConfirmationApplication).where(
            ConfirmationApplication.id == application_id)
        if from_status is not None:
            query = query.where(ConfirmationApplication.status.in_(list(from_status)))
        async with self._db.session() as session:
            result = await session.execute(query.values(**values))
            await session.commit()
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def receipts(self, application_id: str) -> list[ServiceReceipt]:
        async with self._db.session() as session:
            rows = await session.execute(select(ServiceReceipt).where(
                ServiceReceipt.application_id == application_id).order_by(ServiceReceipt.id))
            return list(rows.scalars())

    async def deliver(self, application_id: str, recipient_id: str, at: datetime,
                      ip: str | None) -> list[ServiceReceipt]:
        """Mark the recipient's undelivered receipts delivered; return all of theirs."""
        async with self._db.session() as session:
            await session.execute(update(ServiceReceipt).where(
                ServiceReceipt.application_id == application_id,
                ServiceReceipt.recipient_id == recipient_id,
                ServiceReceipt.delivered_at.is_(None)).values(delivered_at=at, delivered_ip=ip))
            await session.commit()
            rows = await session.execute(select(ServiceReceipt).where(
                ServiceReceipt.application_id == application_id,
                ServiceReceipt.recipient_id == recipient_id))
            return list(rows.scalars())

    async def messages(self, case_id: str) -> list[MediationMessage]:
        """Every chat message of the case, with its audience (the package keeps joint ones)."""
        async with self._db.session() as session:
            rows = await session.execute(select(MediationMessage).where(
                MediationMessage.case_id == case_id).order_by(MediationMessage.id))
            return list(rows.scalars())

    # --- clerks --------------------------------------------------------------------------

    async def set_clerk_court(self, user_id: int, court_code: str) -> None:
        async with self._db.session() as session:
            row = await session.get(ClerkCourt, user_id)
            if row is None:
                session.add(ClerkCourt(user_id=user_id, court_code=court_code))
            else:
                row.court_code = court_code
            await session.commit()

    async def clerk_court(self, user_id: int) -> str | None:
        async with self._db.session() as session:
            row = await session.get(ClerkCourt, user_id)
            return row.court_code if row is not None else None

    async def clerks_of(self, court_code: str) -> list[int]:
        async with self._db.session() as session:
            rows = await session.execute(select(ClerkCourt.user_id).where(
                ClerkCourt.court_code == court_code))
            return list(rows.scalars())
