"""A phone call in its case's room: the caller joins as the case's citizen, through the same
negotiation as a browser (``ConsultationService.negotiate``), from an aiortc peer connection in
this process. The audio both ways is ``LegMedia``'s (leg_media.py): G.711 <-> Opus on the
line's 20 ms pacer and in the connection's socket callback, with no aiortc media task, thread
or executor (docs/telephony.md has the profile and numbers).

The caller's choice at the spoken recording notice goes into the consent ledger as theirs, with
the text they heard (recordings.policy.PHONE_NOTICE)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiortc import RTCPeerConnection, RTCSessionDescription

from recordings.policy import PHONE_NOTICE
from rooms.media.outstream import IdleTrack
from server.cases.repository import CaseRepository
from server.errors import ParleyError
from server.models import Case
from server.policy import Principal, Role
from signaling.consultations.service import ConsultationService
from signaling.recording.flow import ConsultationRecording
from signaling.telephony.desk import LiveCall
from signaling.telephony.leg_media import LegMedia

log = logging.getLogger(__name__)


class PhoneBridge:
    def __init__(self, consultation: ConsultationService, cases: CaseRepository,
                 recording: ConsultationRecording | None) -> None:
        self._consultation = consultation
        self._cases = cases
        self._recording = recording
        self.media: dict[str, LegMedia] = {}  # case id -> its call's audio, while bridged

    async def join(self, live: LiveCall) -> None:
        """Put the call into its case's room until the call ends (cancelled then)."""
        assert live.case_id is not None
        case = await self._cases.get(live.case_id)
        if case is None or case.room_id is None:
            return
        me = Principal(Role.CITIZEN, case.id, case.citizen_name, case.id)
        pc = RTCPeerConnection()
        media = LegMedia(live.leg.codec)
        self.media[case.id] = media
        idle = IdleTrack("audio")  # aiortc's sender waits; LegMedia sends (leg_media.py)
        pc.addTrack(idle)
        try:
            await pc.setLocalDescription(await pc.createOffer())
            answer = await self._consultation.negotiate(me, case.room_id, pc.localDescription.sdp)
            await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            media.attach(pc, answer)
            live.leg.on_audio = media.from_phone
            live.leg.source = media.tick  # the line's 20 ms pacer drives both directions
            await self._consent(live, me, case.room_id)
            await asyncio.Event().wait()  # until the call ends (the desk cancels us)
        finally:
            live.leg.on_audio = None
            live.leg.source = None
            if self.media.get(case.id) is media:
                del self.media[case.id]
            idle.stop()
            await pc.close()
            await self._left(live, me, case)  # awaited by whoever cancelled us (desk, close)

    async def _left(self, live: LiveCall, me: Principal, case: Case) -> None:
        """The call ended: the lawyer is told, the case goes on (the lawyer ends it, may call
        back), and a running recording is marked where the phone line dropped."""
        assert case.room_id is not None
        with contextlib.suppress(ParleyError):
            await self._consultation.hangup(me, case.room_id)
        if self._recording is not None:
            await self._recording.note(case, "left", {
                "participant_id": me.participant_id, "channel": "phone",
                "reason": live.call.end_reason or "caller"})

    async def _consent(self, live: LiveCall, me: Principal, room_id: str) -> None:
        if live.choices is None:
            return
        decision = "granted" if live.choices.consent else "refused"
        try:
            await self._consultation.consent_to_recording(me, room_id, decision,
                                                          PHONE_NOTICE.version)
        except ParleyError as exc:
            if exc.code != "invalid_state":  # not recorded, or decided already (re-bridged)
                raise

