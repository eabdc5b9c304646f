"""Alerts in the database. Raising is decided by the unique open key, so several processes
evaluating the same figures raise one alert; nothing is deleted."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from server.alerts.evaluate import Contact, Firing
from server.alerts.models import Alert
from server.cases.repository import CaseStatus
from server.db import Database
from server.models import Case, CaseEvent


class AlertRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def raise_new(self, firings: Iterable[Firing], at: datetime) -> list[Alert]:
        """Store the firings not open yet; the ones stored here (not by another process)."""
        raised: list[Alert] = []
        for firing in firings:
            alert = Alert(rule=firing.rule.name, kind=firing.rule.kind.value,
                          severity=firing.rule.severity.value, scope=firing.scope[:120],
                          open_key=firing.key[:170], explanation=firing.explanation(),
                          raised_at=at)
            async with self._db.session() as session:
                session.add(alert)
                try:
                    await session.commit()
                except IntegrityError:
                    continue  # open already (raised earlier, or by another process just now)
            raised.append(alert)
        return raised

    async def clear_others(self, keep: Iterable[str], at: datetime) -> int:
        """Close the open alerts whose condition no longer holds (they stay on record)."""
        keys = set(keep)
        async with self._db.session() as session:
            rows = await session.execute(select(Alert.id, Alert.open_key).where(
                Alert.open_key.is_not(None)))
            gone = [alert_id for alert_id, key in rows.all() if key not in keys]
            if gone:
                await session.execute(update(Alert).where(Alert.id.in_(gone)).values(
                    open_key=None, cleared_at=at))
                await session.commit()
        return len(gone)

    async def acknowledge(self, alert_id: int, *, by: int, name: str, note: str | None,
                          at: datetime) -> Alert | None:
        """Once, by a named supervisor; None when unknown or acknowledged already."""
        async with self._db.session() as session:
            done = await session.execute(update(Alert).where(
                Alert.id == alert_id, Alert.acked_at.is_(None)).values(
                acked_by=by, acked_by_name=name, ack_note=note, acked_at=at))
            await session.commit()
            if not done.rowcount:  # type: ignore[attr-defined]
                return None
            return await session.get(Alert, alert_id)

    async def listing(self, *, since: datetime, limit: int = 200) -> list[Alert]:
        """Open alerts, and those raised since ``since``, newest first."""
        async with self._db.read_session() as session:
            rows = await session.scalars(select(Alert).where(
                (Alert.open_key.is_not(None)) | (Alert.raised_at >= since)).order_by(
                Alert.id.desc()).limit(limit))
            return list(rows)

    async def contacts(self, since: datetime) -> list[Contact]:
        """The contacts queued since ``since``, only the columns the rules read (a week of
        cases is read every round: no ORM objects)."""
        query = select(Case.id, Case.queued_at, Case.category, Case.region, Case.citizen_phone,
                       Case.matched_at, Case.status, Case.callback).where(Case.queued_at >= since)
        async with self._db.read_session() as session:
            rows = (await session.execute(query)).all()
        return [Contact(r.id, r.queued_at, r.category, r.region, r.citizen_phone,
                        matched_at=r.matched_at, callback=r.callback,
                        abandoned=r.status == CaseStatus.ABANDONED and r.matched_at is None) for r in rows]

    async def case_events(self, kinds: Iterable[str], since: datetime, limit: int = 50
                          ) -> list[dict[str, Any]]:
        """Recent timeline entries of these kinds (transfers, supervisors' live assist)."""
        async with self._db.read_session() as session:
            rows = await session.scalars(select(CaseEvent).where(
                CaseEvent.kind.in_(list(kinds)), CaseEvent.at >= since).order_by(
                CaseEvent.id.desc()).limit(limit))
            return [{"case_id": e.case_id, "kind": e.kind, "actor": e.actor,
                     "at": e.at.isoformat(), "data": e.data} for e in rows]


def alert_view(alert: Alert) -> dict[str, Any]:
    return {"id": alert.id, "rule": alert.rule, "kind": alert.kind, "severity": alert.severity,
            "scope": alert.scope, "explanation": alert.explanation,
            "raised_at": alert.raised_at.isoformat(), "open": alert.open_key is not None,
            "cleared_at": alert.cleared_at.isoformat() if alert.cleared_at else None,
            "acked": None if alert.acked_at is None else {
                "by": alert.acked_by_name, "at": alert.acked_at.isoformat(),
                "note": alert.ack_note}}
