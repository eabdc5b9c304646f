"""Wrong tries in the database, so a restart or another process does not reset a count."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from server.credentials.models import CredentialFailure
from server.credentials.policy import Failure
from server.db import Database


class AttemptStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, failure: Failure) -> None:
        async with self._db.session() as session, session.begin():
            session.add(CredentialFailure(at=failure.at, kind=failure.kind,
                                          case_id=failure.case_id,
                                          participant_id=failure.participant_id,
                                          address=failure.address))

    async def relevant(self, *, case_id: str | None, address: str | None,
                       address_since: datetime) -> list[Failure]:
        """The case's tries, and the address's recent ones (what ``lock_for`` looks at)."""
        wanted = []
        if case_id is not None:
            wanted.append(CredentialFailure.case_id == case_id)
        if address is not None:
            wanted.append((CredentialFailure.address == address)
                          & (CredentialFailure.at > address_since))
        if not wanted:
            return []
        async with self._db.session() as session:
            rows = await session.scalars(select(CredentialFailure).where(or_(*wanted))
                                         .order_by(CredentialFailure.id))
            return [Failure(r.at, r.kind, r.case_id, r.participant_id, r.address) for r in rows]
