"""The registry in the database: one transaction per change, so a crash leaves either the whole
change (state, timeline entry, clocks) or none of it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Database
from server.mediation.repository import GENESIS, event_hash
from server.registry.clocks import ClockChange
from server.registry.models import (
    Application,
    ApplicationClock,
    ApplicationEvent,
    ApplicationMaterial,
    CaseNumberCounter,
)


def new_id() -> str:
    return uuid.uuid4().hex


def verify_timeline(events: Iterable[ApplicationEvent]) -> bool:
    """Whether every entry's hash matches its content and its predecessor's (tamper check)."""
    prev = GENESIS
    for e in events:
        if e.prev_hash != prev or e.hash != event_hash(prev, e.application_id, e.at, e.actor,
                                                       e.kind, e.data):
            return False
        prev = e.hash
    return True


class StaleApplication(Exception):
    """The application changed since it was read: the change was not applied."""


@dataclass
class Change:
    """One decided change of an application, written in one transaction."""

    actor: str
    kind: str
    data: dict[str, Any]
    at: datetime
    clocks: Sequence[ClockChange] = ()
    values: dict[str, Any] = field(default_factory=dict)  # columns of the application to set
    materials: Sequence[ApplicationMaterial] = ()


class RegistryRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, application: Application, prefix: str, first: Change) -> Application:
        for _ in range(5):
            try:
                async with self._db.session() as session:
                    number = await self._next_number(session, prefix, first.at.year)
                    application.number = f"{prefix}〔{first.at.year}〕{number}号"
                    session.add(application)
                    await session.flush()
                    await self._write(session, application, first)
                    await session.commit()
                    return application
            except IntegrityError:
                continue  # two first numbers of a year at once: take the next one
        raise RuntimeError("could not allocate a case number")

    async def apply(self, application_id: str, version: int, change: Change) -> Application:
        """Apply ``change`` if the application is still at ``version``; else StaleApplication."""
        async with self._db.session() as session:
            values = {**change.values, "version": version + 1, "updated_at": change.at}
            result = await session.execute(
                update(Application).where(Application.id == application_id,
                                          Application.version == version).values(**values))
            if result.rowcount != 1:  # type: ignore[attr-defined]
                await session.rollback()
                raise StaleApplication(application_id)
            application = await session.get(Application, application_id)
            assert application is not None
            await self._write(session, application, change)
            await session.commit()
            return application

    async def _write(self, session: AsyncSession, application: Application, change: Change) -> None:
        rows = await session.execute(
            select(ApplicationEvent.hash).where(ApplicationEvent.application_id == application.id)
            .order_by(ApplicationEvent.id.desc()).limit(1))
        prev = rows.scalar_one_or_none() or GENESIS
        session.add(ApplicationEvent(
            application_id=application.id, at=change.at, actor=change.actor, kind=change.kind,
            data=change.data, prev_hash=prev,
            hash=event_hash(prev, application.id, change.at, change.actor, change.kind, change.data)))
        for clock in change.clocks:
            existing = (await session.execute(select(ApplicationClock).where(
                ApplicationClock.application_id == application.id,
                ApplicationClock.code == clock.code))).scalar_one_or_none()
            if clock.kind == "start":
                assert clock.due is not None
                if existing is None:
                    session.add(ApplicationClock(
                        application_id=application.id, code=clock.code,
                        institution=application.institution, started_at=change.at, due=clock.due,
                        warn_days=clock.warn_days, paused=False, stopped_at=None))
                else:
                    existing.started_at, existing.due = change.at, clock.due
                    existing.warn_days, existing.paused, existing.stopped_at = clock.warn_days, False, None
                    existing.institution = application.institution
            elif existing is not None and existing.stopped_at is None:
                if clock.kind == "pause":
                    existing.paused = True
                else:
                    existing.stopped_at = change.at
        for material in change.materials:
            material.application_id = application.id
            session.add(material)

    async def _next_number(self, session: AsyncSession, prefix: str, year: int) -> int:
        counter = await session.get(CaseNumberCounter, (prefix, year), with_for_update=True)
        if counter is None:
            session.add(CaseNumberCounter(prefix=prefix, year=year, last=1))
            await session.flush()
            return 1
        counter.last += 1
        return counter.last

    async def get(self, application_id: str) -> Application | None:
        async with self._db.read_session() as session:
            return await session.get(Application, application_id)

    async def for_institutions(self, institutions: Iterable[str], *, open_only: bool = True,
                               final: Iterable[str] = ()) -> list[Application]:
        query = select(Application).where(Application.institution.in_(list(institutions)))
        if open_only:
            query = query.where(Application.state.not_in(list(final)))
        async with self._db.read_session() as session:
            rows = await session.execute(query.order_by(Application.created_at))
            return list(rows.scalars())

    async def assigned_to(self, lawyer_id: int) -> list[Application]:
        async with self._db.read_session() as session:
            rows = await session.execute(select(Application).where(
                Application.assigned_lawyer_id == lawyer_id).order_by(Application.updated_at.desc())
                .limit(200))
            return list(rows.scalars())

    async def for_phone(self, phone: str) -> list[Application]:
        async with self._db.read_session() as session:
            rows = await session.execute(select(Application).where(or_(
                Application.applicant_phone == phone, Application.proxy_phone == phone))
                .order_by(Application.created_at.desc()))
            return list(rows.scalars())

    async def events(self, application_id: str) -> list[ApplicationEvent]:
        async with self._db.read_session() as session:
            rows = await session.execute(select(ApplicationEvent).where(
                ApplicationEvent.application_id == application_id).order_by(ApplicationEvent.id))
            return list(rows.scalars())

    async def clocks(self, application_ids: Iterable[str]) -> list[ApplicationClock]:
        async with self._db.read_session() as session:
            rows = await session.execute(select(ApplicationClock).where(
                ApplicationClock.application_id.in_(list(application_ids))))
            return list(rows.scalars())

    async def open_clocks(self) -> list[ApplicationClock]:
        """Every clock still running or paused: the supervisor's warnings and alerts."""
        async with self._db.read_session() as session:
            rows = await session.execute(select(ApplicationClock).where(
                ApplicationClock.stopped_at.is_(None)).order_by(ApplicationClock.due))
            return list(rows.scalars())

    async def open_assignments(self) -> dict[int, int]:
        """Applications assigned and still open, per lawyer (their legal-aid load)."""
        async with self._db.read_session() as session:
            rows = await session.execute(
                select(Application.assigned_lawyer_id, func.count()).where(
                    Application.assigned_lawyer_id.is_not(None),
                    Application.state == "assigned").group_by(Application.assigned_lawyer_id))
            return {int(lawyer or 0): int(n) for lawyer, n in rows.all()}

    async def materials(self, application_id: str) -> list[ApplicationMaterial]:
        async with self._db.read_session() as session:
            rows = await session.execute(select(ApplicationMaterial).where(
                ApplicationMaterial.application_id == application_id).order_by(ApplicationMaterial.id))
            return list(rows.scalars())
