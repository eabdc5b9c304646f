"""Keeping Parley registered with the trunk (PARLEY_SIP_REGISTER): REGISTER with digest auth,
refresh before the grant runs out, back off and retry on failure, remove the binding on
shutdown. The rules are in ``registration``; the SIP exchange in ``sipline``."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.config import SipTrunk
from signaling.telephony.registration import (
    ANSWER_TIMEOUT_S,
    BACKOFF,
    Backoff,
    RegState,
    RegStatus,
    meaning,
    refresh_in,
    retry_in,
)
from signaling.telephony.sipline import SipLine, TrunkBinding

log = logging.getLogger(__name__)


class TrunkRegistration:
    def __init__(self, line: SipLine, trunk: SipTrunk, *, backoff: Backoff = BACKOFF,
                 timeout_s: float = ANSWER_TIMEOUT_S) -> None:
        self._line = line
        self._trunk = trunk
        self.backoff = backoff
        self.timeout_s = timeout_s
        self.status = RegStatus(RegState.REGISTERING)
        self._binding: TrunkBinding | None = None
        self._bound_until = 0.0  # loop time the registrar holds our binding until
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="sip register")

    async def _run(self) -> None:
        where = f"{self._trunk.host}:{self._trunk.port}"
        while True:
            status, granted = await self._exchange()
            self.status.last_status = status
            if 200 <= status < 300:
                if self.status.state is not RegState.REGISTERED:
                    log.info("SIP registered with trunk %s for %d s", where, granted)
                self.status.state, self.status.granted_s = RegState.REGISTERED, granted
                self.status.failures = 0
                self.status.successes_total += 1
                self._bound_until = asyncio.get_running_loop().time() + granted
                wait = refresh_in(granted)
            else:
                self.status.state, self.status.granted_s = RegState.FAILED, 0
                self.status.failures += 1
                self.status.failures_total += 1
                wait = retry_in(self.status.failures, self.backoff)
                log.warning("SIP registration with trunk %s failed: %d, %s; trying again in %.0f s",
                            where, status, meaning(status), wait)
            await asyncio.sleep(wait)

    async def _exchange(self) -> tuple[int, int]:
        try:
            if self._binding is None:
                self._binding = await self._line.binding(self._trunk)
            return await self._binding.send(self._trunk.register_expires, self.timeout_s)
        except OSError as error:  # the trunk's name does not resolve (yet)
            log.warning("SIP trunk %s: %s", self._trunk.host, error)
            return 408, 0

    async def close(self) -> None:
        """Stop refreshing; remove the binding if there is one (idempotent)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        # Also after a failed refresh: the registrar may still hold the last grant.
        bound = asyncio.get_running_loop().time() < self._bound_until
        if bound and self._binding is not None:
            status, _ = await self._binding.send(0, min(self.timeout_s, 4.0))
            log.info("SIP unregistered from trunk %s:%d: %d", self._trunk.host, self._trunk.port,
                     status)
            self.status.state, self.status.granted_s = RegState.UNREGISTERED, 0
