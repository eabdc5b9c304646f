"""The shell around ``policy.lock_for``: refuse a locked check, record a wrong try."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from server.credentials.policy import LIMITS, Failure, Limits, Lock, Scope, lock_for
from server.credentials.store import AttemptStore
from server.errors import ParleyError


def locked_error(lock: Lock) -> ParleyError:
    if lock.scope is Scope.ADDRESS:
        return ParleyError("attempts_locked", "尝试次数过多，请 15 分钟后再试 / too many wrong "
                           "tries from this address: try again in 15 minutes", 429)
    return ParleyError("attempts_locked", "尝试次数过多，已锁定。请联系调解员重新发送邀请 / too "
                       "many wrong tries: locked. Ask the mediator to re-issue your invitation",
                       423)


class AttemptGate:
    def __init__(self, store: AttemptStore, clock: Callable[[], datetime],
                 limits: Limits = LIMITS) -> None:
        self._store = store
        self._clock = clock
        self.limits = limits

    async def lock(self, *, case_id: str | None = None, participant_id: str | None = None,
                   address: str | None = None, invitation_cleared_at: datetime | None = None,
                   case_cleared_at: datetime | None = None) -> Lock | None:
        now = self._clock()
        failures = await self._store.relevant(
            case_id=case_id, address=address, address_since=now - self.limits.address_window)
        return lock_for(failures, now=now, limits=self.limits, participant_id=participant_id,
                        case_id=case_id, address=address,
                        invitation_cleared_at=invitation_cleared_at,
                        case_cleared_at=case_cleared_at)

    async def case_failures(self, case_id: str) -> list[Failure]:
        return await self._store.relevant(case_id=case_id, address=None,
                                          address_since=self._clock())

    async def failed(self, kind: str, *, case_id: str | None = None,
                     participant_id: str | None = None, address: str | None = None) -> None:
        await self._store.add(Failure(self._clock(), kind, case_id, participant_id, address))
