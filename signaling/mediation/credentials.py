"""Only a party signs for a party: the credential checks of a mediation's invitees.

- The invitation code is one-time and goes to the invitee's phone through the ``Notifier``
  when one is on file; staff never see it then, nor ever the invitation token.
- The identity check (name + last ID digits, at the lobby and before signing) and the signing
  code sent to the phone are throttled together per invitation, per case and per client
  address (``server.credentials.policy``); a lock is refused before anything is compared,
  written to the case timeline, pushed to the mediator and shown on their case view, and the
  mediator clears it by re-issuing the invitation.
- Every wrong answer is the same reply (``credentials_rejected``): it never says which field
  was wrong, nor whether a code was unknown, used or expired.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from server.credentials import AttemptGate, CodeBook, CodeCheck, Lock, lock_for, locked_error
from server.credentials.codes import CODE_TTL
from server.credentials.keypad import keys_of, matching
from server.errors import ParleyError
from server.mediation.identity import ExpectedIdentity, IdentityVerifier
from server.mediation.models import MediationCase, MediationParticipant
from server.mediation.repository import MediationRepository
from server.notifications import Notifier as Messages
from server.personal_data import mask_phone
from signaling.consultations.service import Notifier
from signaling.views import user_target

SIGNING = "signing"


def rejected() -> ParleyError:
    """The one reply to any wrong credential (no field, nothing about which part)."""
    return ParleyError("credentials_rejected", "核验未通过，请检查后重试 / the check did not "
                       "pass: check what you entered and try again", 403)


class InviteeCredentials:
    def __init__(self, *, repo: MediationRepository, gate: AttemptGate, codes: CodeBook,
                 messages: Messages, notifier: Notifier, verifier: IdentityVerifier,
                 public_url: str, clock: Callable[[], datetime]) -> None:
        self._repo = repo
        self.gate = gate
        self._codes = codes
        self._messages = messages
        self._notifier = notifier
        self._verifier = verifier
        self._public_url = public_url
        self._clock = clock

    # --- invitations ---------------------------------------------------------------------

    async def deliver(self, case: MediationCase, p: MediationParticipant, code: str
                      ) -> dict[str, Any]:
        """Send the one-time code to the invitee's phone; the reply to staff names where it
        went. Without a phone on file the code is for the mediator to hand over in person
        (docs/security.md): it is returned once, and is spent by the first redemption."""
        link = f"{self._public_url}/join"
        if p.phone:
            await self._messages.send(p.phone, "mediation_invitation",
                                      {"case": case.id[:8], "code": code, "link": link})
            return {"sent_to": mask_phone(p.phone), "code": None, "link": link}
        # The keys too: a party without a browser keys them on the 12348 line.
        return {"sent_to": None, "code": code, "link": f"{link}#code={code}",
                "phone_keys": keys_of(code)}

    async def redeemed(self, code: str, address: str | None) -> MediationParticipant:
        """The participant whose live, unused code this is, now spent; any failure is the
        same ``invitation_invalid`` and counts against the address."""
        lock = await self.gate.lock(address=address)
        if lock is not None:
            raise locked_error(lock)
        p = await self._repo.redeem_code(code, self._clock())
        if p is None:
            await self.gate.failed("invitation_code", address=address)
            raise ParleyError("invitation_invalid", "邀请码无效、已使用或已过期，请联系调解员 / this "
                              "invitation code is not valid (unknown, used or expired): ask the "
                              "mediator", 404)
        return p

    async def redeemed_by_keys(self, keys: str, address: str) -> MediationParticipant:
        """The same, for a code keyed on a telephone (``server.credentials.keypad``): the keys
        name the one live code they enter, then that code is redeemed as above, so the
        one-time rule, the wrong tries and the locks are the web's (``address``: the caller's
        number). Keys that name no code are a wrong try like an unknown code."""
        code = matching(keys, await self._repo.live_codes(self._clock()))
        return await self.redeemed(code or f"keys:{keys}", address)

    async def unused_code(self, make: Callable[[], str]) -> str:
        """A new code whose keys no live code shares, so a phone can always name it."""
        taken = {keys_of(c) for c in await self._repo.live_codes(self._clock())}
        while True:
            code = make()
            if keys_of(code) not in taken:
                return code

    # --- identity and signing code -------------------------------------------------------

    async def _lock(self, case: MediationCase, mine: MediationParticipant,
                    address: str | None) -> Lock | None:
        return await self.gate.lock(case_id=case.id, participant_id=mine.id, address=address,
                                    invitation_cleared_at=mine.locks_cleared_at,
                                    case_cleared_at=case.locks_cleared_at)

    async def check_identity(self, case: MediationCase, mine: MediationParticipant,
                             name: str, id_last4: str, address: str | None, step: str) -> None:
        """Name and ID digits, unless a lock holds; a wrong answer counts."""
        if (lock := await self._lock(case, mine, address)) is not None:
            raise locked_error(lock)
        expected = ExpectedIdentity(mine.name, mine.id_last4)
        if not await self._verifier.verify(expected, name, id_last4):
            await self._failed(case, mine, address, "identity", step)

    def code_required(self, mine: MediationParticipant) -> bool:
        """An invitee with a phone on file signs with a code sent to it."""
        return bool(mine.phone) and mine.user_id is None

    async def send_signing_code(self, case: MediationCase, mine: MediationParticipant
                                ) -> dict[str, Any]:
        if not self.code_required(mine):
            raise ParleyError("no_phone", "未登记手机号，无需验证码 / no phone on file: no code "
                              "is needed", 409)
        if (lock := await self._lock(case, mine, None)) is not None:
            raise locked_error(lock)
        assert mine.phone is not None
        code = await self._codes.issue(SIGNING, mine.id)
        await self._messages.send(mine.phone, "signing_code", {
            "case": case.id[:8], "code": code,
            "minutes": str(int(CODE_TTL.total_seconds() // 60))})
        await self._repo.append_event(case.id, self._clock(), mine.id, "signing_code_sent",
                                      {"participant": mine.id})
        return {"sent_to": mask_phone(mine.phone),
                "expires_in_s": int(CODE_TTL.total_seconds())}

    async def check_signing_code(self, case: MediationCase, mine: MediationParticipant,
                                 code: str | None, address: str | None) -> None:
        if not self.code_required(mine):
            return
        if (lock := await self._lock(case, mine, address)) is not None:
            raise locked_error(lock)
        if code is None:
            raise ParleyError("signing_code_required", "请输入发送到您手机的验证码 / enter the "
                              "code sent to your phone", 400)
        if await self._codes.use(SIGNING, mine.id, code) is not CodeCheck.OK:
            await self._failed(case, mine, address, "signing_code", "sign")

    async def _failed(self, case: MediationCase, mine: MediationParticipant,
                      address: str | None, kind: str, step: str) -> None:
        await self.gate.failed(kind, case_id=case.id, participant_id=mine.id, address=address)
        await self._repo.append_event(case.id, self._clock(), mine.id, "identity_failed",
                                      {"step": step, "kind": kind})
        lock = await self._lock(case, mine, address)
        if lock is not None and lock.scope.value != "address":
            data = {"participant": mine.id, "scope": lock.scope.value,
                    "since": lock.since.isoformat()}
            await self._repo.append_event(case.id, self._clock(), mine.id, "credentials_locked",
                                          data)
            await self._notifier.emit("mediation:locked", {"case_id": case.id, **data},
                                      user_target(str(case.mediator_id)))
            raise locked_error(lock)
        raise rejected()

    # --- for the mediator ----------------------------------------------------------------

    async def locks(self, case: MediationCase, participants: list[MediationParticipant]
                    ) -> dict[str, Lock]:
        """The lock (invitation or case) on each participant's checks, for the case view."""
        failures = await self.gate.case_failures(case.id)
        found: dict[str, Lock] = {}
        for p in participants:
            lock = lock_for(failures, now=self._clock(), limits=self.gate.limits,
                            participant_id=p.id, case_id=case.id,
                            invitation_cleared_at=p.locks_cleared_at,
                            case_cleared_at=case.locks_cleared_at)
            if lock is not None:
                found[p.id] = lock
        return found
