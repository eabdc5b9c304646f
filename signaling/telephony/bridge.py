"""A phone call in its case's room: the caller joins as the case's citizen, through the same
negotiation as a browser (``ConsultationService.negotiate``), from an aiortc peer connection in
this process. The caller's G.711 is decoded and the room's Opus encoded by aiortc's codec
classes (``PcmuDecoder``/``PcmaDecoder``, its Opus encoder, and back through
``PcmuEncoder``/``PcmaEncoder``): about 1% of a core per call both ways (docs/media.md).

The caller's choice at the spoken recording notice goes into the consent ledger as theirs, with
the text they heard (recordings.policy.PHONE_NOTICE)."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import time
from collections import deque

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.codecs.g711 import PcmaDecoder, PcmaEncoder, PcmuDecoder, PcmuEncoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from recordings.policy import PHONE_NOTICE
from server.cases.repository import CaseRepository
from server.errors import ParleyError
from server.models import Case
from server.policy import Principal, Role
from signaling.consultations.service import ConsultationService
from signaling.recording.flow import ConsultationRecording
from signaling.telephony.desk import LiveCall
from signaling.telephony.rtp import FRAME

log = logging.getLogger(__name__)

BUFFERED = 10  # 200 ms either way at most; older audio is dropped, not delayed
TIME_BASE = fractions.Fraction(1, 8000)


class CallerVoice(MediaStreamTrack):
    """The caller's audio as aiortc frames, paced at 20 ms (silence when nothing came)."""

    kind = "audio"

    def __init__(self, codec: str) -> None:
        super().__init__()
        self._decoder = PcmuDecoder() if codec == "PCMU" else PcmaDecoder()
        self._silence = b"\xff" * FRAME if codec == "PCMU" else b"\xd5" * FRAME
        self._queue: deque[bytes] = deque(maxlen=BUFFERED)
        self._pts = 0
        self._start: float | None = None

    def feed(self, payload: bytes, _timestamp: int) -> None:
        self._queue.append(payload)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += FRAME
            delay = self._start + self._pts / 8000 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        payload = self._queue.popleft() if self._queue else self._silence
        frames = self._decoder.decode(JitterFrame(payload, self._pts))
        frame = frames[0]
        assert isinstance(frame, av.AudioFrame)
        frame.pts, frame.time_base = self._pts, TIME_BASE
        return frame


class PhoneBridge:
    def __init__(self, consultation: ConsultationService, cases: CaseRepository,
                 recording: ConsultationRecording | None) -> None:
        self._consultation = consultation
        self._cases = cases
        self._recording = recording

    async def join(self, live: LiveCall) -> None:
        """Put the call into its case's room until the call ends (cancelled then)."""
        assert live.case_id is not None
        case = await self._cases.get(live.case_id)
        if case is None or case.room_id is None:
            return
        me = Principal(Role.CITIZEN, case.id, case.citizen_name, case.id)
        pc = RTCPeerConnection()
        voice = CallerVoice(live.leg.codec)
        live.leg.on_audio = voice.feed
        to_phone: deque[bytes] = deque(maxlen=BUFFERED)
        live.leg.source = lambda: to_phone.popleft() if to_phone else None
        pumps: list[asyncio.Task[None]] = []

        @pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                pumps.append(asyncio.ensure_future(_room_to_phone(track, live.leg.codec, to_phone)))

        pc.addTrack(voice)
        try:
            await pc.setLocalDescription(await pc.createOffer())
            answer = await self._consultation.negotiate(me, case.room_id, pc.localDescription.sdp)
            await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            await self._consent(live, me, case.room_id)
            await asyncio.Event().wait()  # until the call ends (the desk cancels us)
        finally:
            live.leg.on_audio = None
            live.leg.source = None
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
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


async def _room_to_phone(track: MediaStreamTrack, codec: str, out: deque[bytes]) -> None:
    encoder = PcmuEncoder() if codec == "PCMU" else PcmaEncoder()
    try:
        while True:
            frame = await track.recv()
            if not isinstance(frame, av.AudioFrame):
                continue
            packets, _ts = encoder.encode(frame)
            out.extend(packets)
    except MediaStreamError:
        pass
