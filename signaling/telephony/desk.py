"""The phone desk: each answered call goes through the menu, into the same routing engine as
web intake, hears its place while waiting, and is put through when a lawyer takes the case.

Pure decisions live in ``ivr``; this shell plays prompts, reads key presses and calls the
hotline. Live call state is this process's memory (a call is held by the process that took
it); the case and its queue entry are in the database and the routing engine as for web."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from server.config import SipSettings
from server.models import Case
from server.schemas import IntakeBody
from signaling.telephony.amd import AMD_RULES, DECODE, Detection, Screen, Verdict
from signaling.telephony.callbacks import RETRY_RULES, RING_S, Outcome, next_try, outcome_of
from signaling.telephony.ivr import (
    CONSENT,
    FILED_SERVICES,
    MAX_TRIES,
    Choices,
    Ivr,
    Step,
    announcement,
    filed_prompts,
)
from signaling.telephony.prompt_texts import MAX_ANNOUNCED
from signaling.telephony.prompts import Prompts
from signaling.telephony.registration import RegStatus
from signaling.telephony.rtp import Pacer, RtpLeg
from signaling.telephony.sipline import PhoneCall, SipLine
from signaling.telephony.trunk import TrunkRegistration

log = logging.getLogger(__name__)

SILENCE_S = 8.0  # after a menu ends, how long we wait for a key before asking again


class Intake(Protocol):
    """The hotline as the phone desk uses it (signaling.hotline.service.Hotline)."""

    async def intake(self, body: IntakeBody) -> tuple[Case, bool, bool]: ...
    async def queue_view(self, case_id: str) -> dict[str, Any] | None: ...
    async def caller_left(self, case_id: str) -> None: ...


class MediationLine(Protocol):
    """Mediation parties joining by phone (signaling.telephony.party.PhoneParties)."""

    async def redeem(self, live: LiveCall, keys: str) -> str: ...  # ok | invalid | locked
    async def join(self, live: LiveCall,
                   play: Callable[[LiveCall, tuple[str, ...]], Awaitable[str | None]]
                   ) -> None: ...


@dataclass(eq=False)
class LiveCall:
    call: PhoneCall
    leg: RtpLeg
    digits: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    case_id: str | None = None
    choices: Choices | None = None
    matched: asyncio.Event = field(default_factory=asyncio.Event)
    room_closed: asyncio.Event = field(default_factory=asyncio.Event)
    ended: bool = False  # the room closed because the case ended (not a transfer)
    filed: bool = False  # a mediation / legal-aid application was filed: nothing to queue


# Files the one-window application of a service chosen on the menu, (service, phone, language)
# -> its number (the composition root: ``Registry.file_by_phone`` with the 首问负责 owner).
FileApplication = Callable[[str, str, str], Awaitable[str]]


class PhoneDesk:
    def __init__(self, settings: SipSettings, *, hotline: Intake, prompts: Prompts,
                 default_region: str,
                 record: Callable[[str, str, dict[str, Any]], Awaitable[None]] | None = None,
                 rate: Callable[[str, int], Awaitable[None]] | None = None,
                 bridge: Callable[[LiveCall], Awaitable[None]] | None = None) -> None:
        self._settings = settings
        self._hotline = hotline
        self._prompts = prompts
        self._region = settings.region or default_region
        self.region = self._region  # phone cases' and phone filings' region
        self._announce_every_s = settings.announce_every_s
        # Writes a case event (actor "phone"): callback attempts and their results.
        self._record = record
        self._rate = rate  # the citizen's rating of a case, keyed after the call
        self.retry_rules = dict(RETRY_RULES)
        self.amd_rules = AMD_RULES
        self.ring_s = RING_S
        self._callbacks: dict[str, asyncio.Task[None]] = {}
        # Set by the composition root: joins the call to its room once a lawyer takes it.
        self.bridge = bridge
        # Set by the composition root: 2 人民调解 / 3 法律援助 file an application (else queued).
        self.file_application: FileApplication | None = None
        # Set by the composition root: a caller with a mediation invitation code joins it.
        self.mediation: MediationLine | None = None
        self._pacer = Pacer()
        self._ports: set[int] = set()
        self._trunk_addresses: set[str] = set()
        self._line = SipLine(settings.host, settings.port, self._allowed, self._serve)
        trunk = settings.trunk
        self.registration = (TrunkRegistration(self._line, trunk)
                             if trunk is not None and trunk.register else None)
        self.calls: dict[str, LiveCall] = {}  # case id -> its call, once queued

    async def start(self) -> None:
        if self._settings.trunk is not None:
            with contextlib.suppress(OSError):
                loop = asyncio.get_running_loop()
                infos = await loop.getaddrinfo(self._settings.trunk.host, self._settings.trunk.port)
                self._trunk_addresses = {str(i[4][0]) for i in infos}
        await self._line.start()
        self._pacer.start()
        if self.registration is not None:
            self.registration.start()

    @property
    def registration_status(self) -> RegStatus:
        return self.registration.status if self.registration is not None else RegStatus()

    async def close(self) -> None:
        for task in list(self._callbacks.values()):
            task.cancel()
        await asyncio.gather(*self._callbacks.values(), return_exceptions=True)
        if self.registration is not None:
            await self.registration.close()  # before the line stops: the un-REGISTER needs it
        await self._line.close()
        await self._pacer.close()

    def _allowed(self, host: str) -> bool:
        """Loopback (development, `make run`), the trunk, and PARLEY_SIP_PEERS."""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return (address.is_loopback or host in self._trunk_addresses
                or any(address in net for net in self._settings.peers))

    # --- one call --------------------------------------------------------------------------

    async def _serve(self, call: PhoneCall) -> None:
        leg = RtpLeg(call.codec, call.dtmf_pt, lambda d: live.digits.put_nowait(d))
        live = LiveCall(call, leg)
        await leg.open(self._line.rtp_host, self._settings.rtp_ports, self._ports)
        leg.remote = call.remote_rtp
        self._pacer.legs.add(leg)
        try:
            call.answer(leg.bound_port)
            await self._until_ended(live, self._menu(live))
            if live.choices is None or live.filed or call.ended.is_set():
                return
            if live.choices.code is not None and self.mediation is not None:
                await self._until_ended(live, self.mediation.join(live, self._play))
                return
            await self._until_ended(live, self._queue(live))
        finally:
            self._pacer.legs.discard(leg)
            leg.close()
            self._ports.discard(leg.bound_port)
            if live.case_id is not None:
                self.calls.pop(live.case_id, None)
                if not live.matched.is_set():
                    await self._hotline.caller_left(live.case_id)

    async def _until_ended(self, live: LiveCall, work: Awaitable[None]) -> None:
        """Run ``work`` until it ends or the caller hangs up."""
        task = asyncio.ensure_future(work)
        ended = asyncio.ensure_future(live.call.ended.wait())
        try:
            await asyncio.wait({task, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (task, ended):
                t.cancel()
            await asyncio.gather(task, ended, return_exceptions=True)
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]

    async def _play(self, live: LiveCall, names: tuple[str, ...], barge_in: bool = True) -> str | None:
        """Play prompts in turn; a key pressed meanwhile cuts them and is returned."""
        for name in names:
            done = live.leg.play(self._prompts.g711(name, live.leg.codec))
            if not barge_in:
                await done
                continue
            key = asyncio.ensure_future(live.digits.get())
            waits: set[asyncio.Future[Any]] = {done, key}
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            if key.done():
                live.leg.cut()
                return key.result()
            key.cancel()
        return None

    async def _menu(self, live: LiveCall) -> None:
        ivr = Ivr(codes=self.mediation is not None)
        step: Step = ivr.start()
        while step.done is None:
            digit = await self._play(live, step.prompts)
            if digit is None:
                try:
                    digit = await asyncio.wait_for(live.digits.get(), SILENCE_S)
                except TimeoutError:
                    step = ivr.silence()
                    continue
            step = ivr.press(digit)
            if step.code is not None and self.mediation is not None:
                verdict = await self.mediation.redeem(live, step.code)
                step = (ivr.code_accepted(step.code) if verdict == "ok" else
                        ivr.code_locked() if verdict == "locked" else ivr.code_refused())
        live.choices = step.done
        if step.done.code is not None:
            return  # a mediation party: no intake, their case exists
        if await self._file(live, step.done):
            return
        case = await self._intake(live.call, step.done)
        live.case_id = case.id
        self.calls[case.id] = live
        await self._play(live, step.prompts, barge_in=False)

    async def _file(self, live: LiveCall, choices: Choices) -> bool:
        """人民调解 or 法律援助: file the application, read its number and what comes next. A
        filing that fails (a withheld number, no institution) queues the caller for a lawyer
        instead, so nobody is lost."""
        if choices.service not in FILED_SERVICES or self.file_application is None:
            return False
        try:
            number = await self.file_application(choices.service, live.call.caller,
                                                 choices.language)
        except Exception as error:  # a landline the registry refuses, no institution, a fault
            log.warning("phone filing of %s for call %s failed, queued instead: %r",
                        choices.service, live.call.call_id, error)
            await self._play(live, ("file_failed",), barge_in=False)
            return False
        live.filed = True
        await self._play(live, filed_prompts(number, choices.service), barge_in=False)
        return True

    async def _intake(self, call: PhoneCall, choices: Choices) -> Case:
        fields: dict[str, Any] = dict(
            name=f"来电 {call.caller[-4:] or '匿名'}", phone=call.caller,
            service_type=choices.service, category="other", mode="audio",
            description="12348 热线来电 / phone call to the 12348 hotline",
            region=self._region, language=choices.language,
            legal_aid=choices.service == "legal_aid",
            # One call, one case, even if the intake is retried after a lost reply.
            request_id=hashlib.sha256(call.call_id.encode()).hexdigest()[:32],
        )
        try:
            body = IntakeBody.model_validate(fields)
        except ValidationError:
            # A landline or withheld number: kept as the digits the trunk gave (none: "0"),
            # so earlier cases from the same line still find their lawyer (首问负责).
            fields["phone"] = call.caller[:16] or "0"
            body = IntakeBody.model_construct(**fields)
        case, _open, _new = await self._hotline.intake(body)
        return case

    async def _queue(self, live: LiveCall) -> None:
        """Tell the caller their place and wait at once and then every ``announce_every_s``,
        until a lawyer takes the case; then put the call through until the room closes: an
        ended case asks for the rating, a transferred one waits again."""
        assert live.case_id is not None
        while True:
            while not live.matched.is_set():
                view = await self._hotline.queue_view(live.case_id)
                if view is not None:
                    await self._play(live, announcement(view["position"], view["eta_seconds"],
                                                        MAX_ANNOUNCED), barge_in=False)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(live.matched.wait(), self._announce_every_s)
            live.leg.cut()
            await self._play(live, ("connecting",), barge_in=False)
            await self._in_room(live)
            if live.ended:
                await self._rating(live)
                return
            live.matched.clear()  # transferred: back in the queue, the next lawyer takes it
            await self._play(live, ("queued",), barge_in=False)

    async def _in_room(self, live: LiveCall) -> None:
        live.room_closed.clear()
        closed = asyncio.ensure_future(live.room_closed.wait())
        bridged = asyncio.ensure_future(self.bridge(live) if self.bridge is not None
                                        else asyncio.Event().wait())
        try:
            await asyncio.wait({closed, bridged}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (closed, bridged):
                task.cancel()
            await asyncio.gather(closed, bridged, return_exceptions=True)

    async def _rating(self, live: LiveCall) -> None:
        """After the lawyer ended the case: one key, 1 (很不满意) to 5 (非常满意), then goodbye."""
        assert live.case_id is not None
        digit = await self._play(live, ("rating",))
        if digit is None:
            with contextlib.suppress(TimeoutError):
                digit = await asyncio.wait_for(live.digits.get(), SILENCE_S)
        if digit is not None and digit in "12345" and self._rate is not None:
            await self._rate(live.case_id, int(digit))
        await self._play(live, ("thanks",), barge_in=False)

    async def room_closed(self, case: Case) -> None:
        """The case's room closed (ConsultationService.on_closed): ended, or transferred."""
        live = self.calls.get(case.id)
        if live is None or not live.matched.is_set():
            return
        live.ended = case.status == "ended"
        while not live.digits.empty():  # keys pressed in the room are not a rating
            live.digits.get_nowait()
        live.room_closed.set()

    async def matched(self, case: Case) -> None:
        """A lawyer took a case (ConsultationService.on_started): put its call through, or,
        for a callback with a trunk configured, dial the citizen."""
        live = self.calls.get(case.id)
        if live is not None:
            live.matched.set()
        elif case.callback and self._settings.trunk is not None and case.id not in self._callbacks:
            task = asyncio.get_running_loop().create_task(self._call_back(case),
                                                          name=f"callback {case.id}")
            self._callbacks[case.id] = task
            task.add_done_callback(lambda _t: self._callbacks.pop(case.id, None))

    # --- callbacks -------------------------------------------------------------------------

    async def _call_back(self, case: Case) -> None:
        """Dial until answered or the retry rules say stop; every attempt is a case event."""
        attempt = 0
        while True:
            attempt += 1
            digits: asyncio.Queue[str] = asyncio.Queue()
            leg = RtpLeg("PCMA", None, digits.put_nowait)
            live = LiveCall(None, leg, digits, case_id=case.id)  # type: ignore[arg-type]
            await leg.open(self._line.rtp_host, self._settings.rtp_ports, self._ports)
            try:
                assert self._settings.trunk is not None
                status, call = await self._line.dial(case.citizen_phone, self._settings.trunk,
                                                     leg.bound_port, self.ring_s)
                outcome = outcome_of(status)
                note: dict[str, Any] = {"attempt": attempt, "outcome": outcome.value,
                                        "status": status}
                if call is not None:
                    live.call = call
                    leg.use(call.codec, call.dtmf_pt)
                    leg.remote = call.remote_rtp
                    self._pacer.legs.add(leg)
                    detection = await self._screen(live)
                    note["detection"] = detection.reason
                    if detection.verdict is Verdict.MACHINE:
                        outcome = Outcome.VOICEMAIL
                        note.update(outcome=outcome.value, speech_s=detection.speech_s)
                    elif detection.reason == "hung_up":  # picked up and put down: try again
                        outcome = Outcome.NO_ANSWER
                        note.update(outcome=outcome.value)
                await self._note(case.id, "callback_dialled", note)
                if call is not None and outcome is Outcome.ANSWERED and not call.ended.is_set():
                    self.calls[case.id] = live
                    live.matched.set()
                    await self._until_ended(live, self._greet(live, case))
                    return
            finally:
                self._pacer.legs.discard(leg)
                leg.close()
                self._ports.discard(leg.bound_port)
                if live.call is not None:
                    live.call.hang_up()
                    self.calls.pop(case.id, None)
            wait = next_try(outcome, attempt, self.retry_rules)
            if wait is None:
                await self._note(case.id, "callback_gave_up", {"attempts": attempt,
                                                               "outcome": outcome.value})
                return
            await asyncio.sleep(wait)

    async def _screen(self, live: LiveCall) -> Detection:
        """Listen to the first seconds after the answer, saying nothing: a person or a machine
        (``amd``)? A key pressed, or the callee hanging up, means a person."""
        loop = asyncio.get_running_loop()
        screen = Screen(self.amd_rules)
        start = loop.time()
        decided: asyncio.Future[Detection] = loop.create_future()
        table = DECODE[live.leg.codec]

        def settle(found: Detection | None) -> None:
            if found is not None and not decided.done():
                decided.set_result(found)

        def heard(payload: bytes, _ts: int) -> None:
            for i in range(0, len(payload) - 159, 160):
                settle(screen.frame(loop.time() - start, [table[b] for b in payload[i:i + 160]]))

        live.leg.on_audio = heard
        try:
            while not decided.done():
                elapsed = round(loop.time() - start, 2)
                if not live.digits.empty() or live.call.ended.is_set():
                    settle(Detection(Verdict.HUMAN, "key" if not live.digits.empty() else "hung_up",
                                     elapsed, round(screen.speech_s, 2)))
                settle(screen.at(elapsed))
                with contextlib.suppress(TimeoutError):
                    # Silence may bring no packets at all: the clock decides then.
                    await asyncio.wait_for(asyncio.shield(decided), 0.1)
        finally:
            live.leg.on_audio = None
        return decided.result()  # a key pressed stays queued: the notice reads it, as before

    async def _greet(self, live: LiveCall, case: Case) -> None:
        """The callee answered: who calls, the recording notice and their key, then the room."""
        await self._play(live, ("callback",), barge_in=False)
        consent: bool | None = None
        for _ in range(MAX_TRIES):
            digit = await self._play(live, ("recording_notice",))
            if digit is None:
                with contextlib.suppress(TimeoutError):
                    digit = await asyncio.wait_for(live.digits.get(), SILENCE_S)
            if digit in CONSENT:
                consent = CONSENT[digit]
                break
        live.choices = Choices(consent=bool(consent), service=case.service_type,
                               language=case.language,
                               defaulted=("consent",) if consent is None else ())
        if self.bridge is not None:
            await self.bridge(live)

    async def _note(self, case_id: str, kind: str, data: dict[str, Any]) -> None:
        if self._record is not None:
            await self._record(case_id, kind, data)
