"""The hot state changes of a consultation as statements built once, executed with parameters.

Building a statement with two dozen returned columns costs more CPU than running it, so
``CaseRepository`` binds values into these instead of building new ones per call.

PostgreSQL runs a state change and the writes that go with it as one statement (data-modifying
CTEs): one round trip instead of five (BEGIN, three statements, COMMIT), as atomic as the
transaction, and the followers write nothing when the change matched no row. SQLite, which has
no data-modifying CTEs, runs the change alone inside a transaction and the followers after it.

Parameters (``p_`` so that they never clash with the column names SQLAlchemy reserves):
``p_case``, ``p_lawyer``, ``p_now``, ``p_actor``, ``p_data``; ``p_room`` (assign) and
``p_outcome`` (end). ``p_lawyer`` None in END: any lawyer's consultation.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CTE, Select, Table, bindparam, func, insert, literal, or_, select, update
from sqlalchemy.sql.dml import Insert, Update

from server.models import Case, CaseEvent, Room

CASES: Table = Case.__table__  # type: ignore[assignment]
ROOMS: Table = Room.__table__  # type: ignore[assignment]
EVENTS: Table = CaseEvent.__table__  # type: ignore[assignment]



class CaseStatus:
    WAITING = "waiting"
    IN_CONSULTATION = "in_consultation"
    ENDED = "ended"
    ABANDONED = "abandoned"


_NOW = bindparam("p_now", type_=CASES.c.matched_at.type)


def _event_for(changed: CTE, kind: str) -> Insert:
    """The timeline entry of the changed case."""
    return insert(EVENTS).from_select(
        ["case_id", "at", "actor", "kind", "data"],
        select(changed.c.id, _NOW, bindparam("p_actor", type_=EVENTS.c.actor.type),
               literal(kind, EVENTS.c.kind.type), bindparam("p_data", type_=EVENTS.c.data.type)))


def _at_once(change: Update, *followers: Any) -> Select[Any]:
    changed = change.cte("changed")
    ctes = [follower(changed).cte(f"follower{n}") for n, follower in enumerate(followers)]
    return select(changed).add_cte(*ctes)


GET: Select[Any] = select(CASES).where(CASES.c.id == bindparam("p_case"))

# 首问负责: the owner of this phone's latest case left open for follow-up since ``p_since``.
FOLLOW_UP_OWNER: Select[Any] = (
    select(CASES.c.owner_id)
    .where(CASES.c.citizen_phone == bindparam("p_phone"), CASES.c.outcome == "follow_up",
           CASES.c.ended_at >= bindparam("p_since", type_=CASES.c.ended_at.type),
           CASES.c.owner_id.is_not(None))
    .order_by(CASES.c.ended_at.desc())
    .limit(1)
)

ASSIGN: Update = (
    update(CASES)
    .where(CASES.c.id == bindparam("p_case"), CASES.c.status == CaseStatus.WAITING)
    .values(status=CaseStatus.IN_CONSULTATION, lawyer_id=bindparam("p_lawyer"),
            owner_id=func.coalesce(CASES.c.owner_id, bindparam("p_lawyer")),
            room_id=bindparam("p_room"), matched_at=func.coalesce(CASES.c.matched_at, _NOW))
    .returning(*CASES.c)
)

ASSIGN_AT_ONCE: Select[Any] = _at_once(
    ASSIGN,
    lambda changed: insert(ROOMS).from_select(
        ["id", "case_id", "mode", "opened_at"],
        select(bindparam("p_room", type_=ROOMS.c.id.type), changed.c.id, changed.c.mode, _NOW)),
    lambda changed: _event_for(changed, "matched"),
)

END: Update = (
    update(CASES)
    .where(CASES.c.id == bindparam("p_case"), CASES.c.status == CaseStatus.IN_CONSULTATION,
           or_(bindparam("p_lawyer", type_=CASES.c.lawyer_id.type).is_(None),
               CASES.c.lawyer_id == bindparam("p_lawyer")))
    .values(status=CaseStatus.ENDED, outcome=bindparam("p_outcome"), ended_at=_NOW)
    .returning(*CASES.c)
)

END_AT_ONCE: Select[Any] = _at_once(
    END,
    lambda changed: update(ROOMS).where(ROOMS.c.case_id.in_(select(changed.c.id)),
                                        ROOMS.c.closed_at.is_(None)).values(closed_at=_NOW),
    lambda changed: _event_for(changed, "ended"),
)
