"""Fault points: named steps of a state change where a test can have this process killed.

Each step of intake, offer, accept, transfer, end and agreement signing calls
``faults.point("accept.after_assign")`` between its writes. A test arms one point
(``PARLEY_FAULT_POINT``, read by ``Settings``) and the process sends itself SIGKILL when it
reaches it: deterministic, where racing a timer is not, and as abrupt as a power cut (no
``finally``, no shutdown hook). Unarmed, a point is one comparison.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

# Every point the code calls, in the order of a consultation's life (docs/deploy.md says what
# each leaves behind and how it heals). Settings refuses any other name, so a typo in a test's
# environment fails at start-up instead of never firing.
POINTS = frozenset({
    "intake.after_create",     # the case is in the database, not yet in the live queue
    "intake.after_join",       # queued live, not yet routed
    "offer.after_claim",       # the offer is claimed in the live state, the lawyer not told
    "offer.after_push",        # the lawyer was told
    "accept.after_assign",     # the database gave the case to the lawyer; no room, nobody told
    "accept.after_announce",   # room open, both sides told; live state not yet settled
    "accept.after_settle",     # live state settled; the lawyer's status not yet pushed
    "transfer.after_requeue",  # the database put the case back; room open, live state unchanged
    "transfer.after_announce",  # room closed, citizen told; live state unchanged
    "transfer.after_settle",   # queued live again, the lawyer freed; not yet routed
    "end.after_end",           # the database ended the case; room open, nobody told
    "end.after_announce",      # room closed, both told; the lawyer still busy in live state
    "end.after_settle",        # the lawyer wraps up in live state; status not yet pushed
    "sign.after_signature",    # the signature row stored; not in the timeline, nobody told
    "sign.after_timeline",     # in the timeline too; the last one: not sealed, not in effect
    "sign.after_seal",         # the committee's seal stored; the agreement not yet in effect
    "sign.after_effective",    # in effect, in the timeline; nobody told
})


def _kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class Faults:
    """The armed point (None: none) and what reaching it does (SIGKILL of this process)."""

    __slots__ = ("_action", "_armed")

    def __init__(self, armed: str | None = None, action: Callable[[], None] = _kill_self) -> None:
        if armed is not None and armed not in POINTS:
            raise ValueError(f"unknown fault point {armed!r}")
        self._armed = armed
        self._action = action

    def point(self, name: str) -> None:
        """The step ``name`` is reached: die here if it is the armed one."""
        if name == self._armed:
            self._action()


NO_FAULTS = Faults()
