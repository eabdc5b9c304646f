"""A party joins a mediation by phone with their invitation code keyed in (SIPp for the
signalling, this test's socket for the media, RFC 4733 keys), passes the lobby by keys, is
admitted by the mediator and talks with the room; during a caucus of the mediator with the
other side the phone hears neither of them and they do not hear the phone. The mediator and the
other side are aiortc peers driven through their own sockets' events, as their pages are.

Tones: the phone sends 440 Hz, the mediator 1 kHz, the respondent 660 Hz."""

from __future__ import annotations

import asyncio
from array import array
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import av
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy

from recordings.policy import PHONE_NOTICE
from recordings.repository import RecordingRepository
from server.config import Settings
from server.credentials.keypad import keys_of
from server.keys import DATABASE_KEY
from server.registry.api import REGISTRY_KEY
from signaling.court.api import COURT_KEY
from signaling.keys import PHONE_DESK_KEY
from signaling.mediation.api import MEDIATION_KEY
from tests.clients import SocketClient
from tests.conftest import Running
from tests.signaling.mediation.test_mediation import create_case, invite, invite_reply, lobby, staff
from tests.telephony.agents import Tone
from tests.telephony.phone_media import PhoneMedia, goertzel, open_phone_media
from tests.telephony.sipp import Sipp, sipp, until

Connect = Callable[[str | None], Awaitable[SocketClient]]
CALLER = "13600136000"
PHONE_HZ, MEDIATOR_HZ, RESPONDENT_HZ = 440.0, 1000.0, 660.0


class AudioParty:
    """A browser of the room, audio only: its tone on the first m-line, ``slots - 1``
    receiving ones; what each slot received since ``mark()``."""

    def __init__(self, hz: float, slots: int) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.pc.addTransceiver(Tone(hz), "sendrecv")
        for _ in range(slots - 1):
            self.pc.addTransceiver("audio", "recvonly")
        self.heard: dict[int, list[int]] = defaultdict(list)
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._track)

    def _track(self, track: MediaStreamTrack) -> None:
        slot = next(i for i, t in enumerate(self.pc.getTransceivers()) if t.receiver.track is track)
        self._tasks.append(asyncio.ensure_future(self._hear(track, slot)))

    async def _hear(self, track: MediaStreamTrack, slot: int) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=8000)
        try:
            while True:
                received = await track.recv()
                for frame in resampler.resample(received):  # type: ignore[arg-type]
                    self.heard[slot] += array("h", bytes(frame.planes[0])[: frame.samples * 2])
                    del self.heard[slot][:-16000]
        except MediaStreamError:
            pass

    async def join(self, client: SocketClient, case_id: str) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        reply = await client.call("mediation:offer", {"case_id": case_id,
                                                      "sdp": self.pc.localDescription.sdp})
        assert reply.get("ok"), reply
        await self.pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))

    def share(self, hz: float) -> float:
        """The strongest share of ``hz`` in any slot's last half second."""
        return max((goertzel(s[-4000:], hz, 8000) for s in self.heard.values() if s), default=0.0)

    def samples(self) -> int:
        return sum(len(s) for s in self.heard.values())

    def mark(self) -> None:
        self.heard.clear()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()


@dataclass
class Room:
    case_id: str
    mediator: SocketClient
    respondent: SocketClient
    slots: int
    applicant_id: str
    applicant_code: str


async def _room(running: Running, connect: Connect) -> Room:
    token = await staff(running, "med1", "mediator")
    case_id = await create_case(running, token)
    invited = await invite_reply(running, token, case_id, "applicant", "张三", "123X")
    respondent = await invite(running, token, case_id, "respondent", "李四", "5678")
    mediator = await connect(token)
    entered = await mediator.call("mediation:enter", {"case_id": case_id})
    assert entered.get("ok"), entered
    respondent.client = await connect(respondent.token)
    assert (await lobby(respondent, case_id, "李四", "5678"))["ok"]
    assert (await mediator.call("mediation:admit", {
        "case_id": case_id, "participant_id": respondent.participant_id}))["ok"]
    return Room(case_id, mediator, respondent.client, entered["media_slots"],
                invited["participant"]["id"], invited["code"])


async def _call(settings: Settings, phone: PhoneMedia) -> Sipp:
    assert settings.sip is not None
    caller = await sipp("uac_call.xml", (settings.sip.host, settings.sip.port), hold_ms=60000,
                        keys={"caller": CALLER, "rtp_port": str(phone.port)})
    await asyncio.wait_for(phone.first.wait(), 10)  # the welcome prompt: we know its port
    return caller


async def _keys(phone: PhoneMedia, keys: str) -> None:
    for digit in keys:
        await phone.press(digit)
        await asyncio.sleep(0.25)  # the caller's pace between keys (not synchronisation)


async def _phone_hears(phone: PhoneMedia, packets: int) -> list[int]:
    """The PCM the phone receives over the next ``packets`` packets (20 ms each)."""
    phone.log = bytearray()
    start = phone.packets
    await until(lambda: _at_least(phone.packets, start + packets), 20,
                f"{packets} packets to the phone")
    pcm, phone.log = bytes(phone.log), None
    return list(array("h", pcm[: len(pcm) // 2 * 2]))


async def _at_least(value: int, wanted: int) -> bool | None:
    return True if value >= wanted else None


async def test_a_phone_party_joins_by_code_and_a_caucus_stays_private_on_the_phone(
        settings: Settings, running: Running, connect: Connect) -> None:
    room = await _room(running, connect)
    phone = await open_phone_media()
    mediator = AudioParty(MEDIATOR_HZ, room.slots)
    respondent = AudioParty(RESPONDENT_HZ, room.slots)
    caller = await _call(settings, phone)
    tone: asyncio.Task[None] | None = None
    try:
        # Recording 1 (agree), 人民调解 2, the code on the keypad and #; the spoken warning
        # and consent to online mediation 1; the last four of the ID number, X on *, and #.
        await _keys(phone, "12" + keys_of(room.applicant_code) + "#")
        await _keys(phone, "1" + "123*#")
        waiting = await room.mediator.wait_for("mediation:state", lambda v: any(
            m["id"] == room.applicant_id and m["lobby"] == "waiting" for m in v["members"]),
            timeout=20)
        party = next(m for m in waiting["members"] if m["id"] == room.applicant_id)
        assert party["phone"] is True and party["name"] == "张三"
        ledger = await RecordingRepository(running.app[DATABASE_KEY]).consents(room.case_id)
        mine = [c for c in ledger if c.participant_id == room.applicant_id]
        assert [(c.decision, c.text_version) for c in mine] == [("granted", PHONE_NOTICE.version)]
        redeemed = await running.app[MEDIATION_KEY].repo.participant(room.applicant_id)
        assert redeemed.invite_redeemed_at is not None  # the code is spent: one-time

        tone = asyncio.ensure_future(phone.play_tone(PHONE_HZ))
        await mediator.join(room.mediator, room.case_id)
        await respondent.join(room.respondent, room.case_id)
        assert (await room.mediator.call("mediation:admit", {
            "case_id": room.case_id, "participant_id": room.applicant_id}))["ok"]

        async def everyone_hears_everyone() -> bool | None:
            return True if (phone.tone_share(MEDIATOR_HZ) > 0.15
                            and phone.tone_share(RESPONDENT_HZ) > 0.15
                            and mediator.share(PHONE_HZ) > 0.5
                            and respondent.share(PHONE_HZ) > 0.5) else None

        await until(everyone_hears_everyone, 25, "the phone and the room to hear each other")

        # A caucus of the mediator with the other side: the phone party is left alone.
        reply = await room.mediator.call("mediation:caucus", {"case_id": room.case_id,
                                                              "with_side": "respondent"})
        assert reply.get("ok") and reply["room"]["caucus"]["active"], reply
        await _phone_hears(phone, 15)  # audio already on its way (at most 200 ms buffered)
        mediator.mark()
        respondent.mark()
        during = await _phone_hears(phone, 150)  # 3 s of the caucus
        assert goertzel(during, RESPONDENT_HZ, 8000) < 0.02, "the phone heard the other side"
        assert goertzel(during, MEDIATOR_HZ, 8000) < 0.02, "the phone heard the caucus"
        await until(lambda: _at_least(respondent.samples(), 8000), 10, "the caucus to go on")
        assert respondent.share(MEDIATOR_HZ) > 0.5  # the caucus itself talks
        assert respondent.share(PHONE_HZ) < 0.02 and mediator.share(PHONE_HZ) < 0.02

        assert (await room.mediator.call("mediation:caucus_end", {"case_id": room.case_id}))["ok"]
        await until(everyone_hears_everyone, 20, "the joint session to be heard again")

        # The room moves to another media worker (room:renegotiate): the phone offers again on
        # a new peer connection (each offer pushes new slots to everyone), and is heard and
        # hears again; the aiortc pages keep theirs (this worker did not really move).
        room_service = running.app[COURT_KEY].room
        assert room_service is not None
        room_id = (await room.mediator.call("mediation:resume", {"case_id": room.case_id}))[
            "room"]["room_id"]
        offers = len(room.mediator.events["mediation:slots"])
        await room_service.renegotiate(room_id)
        await until(lambda: _at_least(len(room.mediator.events["mediation:slots"]), offers + 1),
                    15, "the phone's new offer")
        await _phone_hears(phone, 15)
        mediator.mark()
        respondent.mark()
        await until(everyone_hears_everyone, 20, "the room heard again after the new offer")
        desk = running.app[PHONE_DESK_KEY]
        assert not desk.calls  # a mediation party is not a hotline case in the queue

        # The mediator removes the phone party: told, and the line hangs up: SIPp, holding
        # the call for 60 s, gets our BYE and ends well before (its exit code says nothing).
        assert (await room.mediator.call("mediation:remove", {
            "case_id": room.case_id, "participant_id": room.applicant_id}))["ok"]
        await caller.finished(30)
    finally:
        if tone is not None:
            tone.cancel()
        caller.stop()
        phone.close()
        await mediator.close()
        await respondent.close()


async def test_a_wrong_code_is_refused_and_counts_and_the_right_one_may_follow(
        settings: Settings, running: Running, connect: Connect) -> None:
    room = await _room(running, connect)
    phone = await open_phone_media()
    caller = await _call(settings, phone)
    gate = running.app[MEDIATION_KEY].credentials.gate
    try:
        wrong = "99999999" if keys_of(room.applicant_code) != "99999999" else "88888888"
        await _keys(phone, "12" + wrong + "#")

        async def counted() -> bool | None:
            return True if await gate.lock(address=f"tel:{CALLER}") is None and len(
                await gate._store.relevant(case_id=None, address=f"tel:{CALLER}",
                                           address_since=_long_ago())) == 1 else None

        await until(counted, 15, "the wrong try to count against the caller's number")
        repo = running.app[MEDIATION_KEY].repo
        assert (await repo.participant(room.applicant_id)).invite_redeemed_at is None
        await _keys(phone, keys_of(room.applicant_code) + "#")  # asked again: the right one

        async def spent() -> bool | None:
            p = await repo.participant(room.applicant_id)
            return True if p.invite_redeemed_at is not None else None

        await until(spent, 15, "the right code to be redeemed")
    finally:
        caller.stop()
        phone.close()


async def test_after_too_many_wrong_tries_the_number_is_locked_as_on_the_web(
        settings: Settings, running: Running, connect: Connect) -> None:
    room = await _room(running, connect)
    gate = running.app[MEDIATION_KEY].credentials.gate
    for _ in range(gate.limits.per_address):  # earlier wrong tries from this number
        await gate.failed("invitation_code", address=f"tel:{CALLER}")
    phone = await open_phone_media()
    caller = await _call(settings, phone)
    try:
        # The right code, but the number is locked: told so, then the usual mediation intake
        # (the language menu, key 1) files the caller's mediation application.
        await _keys(phone, "12" + keys_of(room.applicant_code) + "#")
        await _keys(phone, "1")
        registry = running.app[REGISTRY_KEY].repository

        async def filed() -> Any:
            found = await registry.for_phone(CALLER)
            return found[0] if found else None

        application = await until(filed, 20, "the locked caller's mediation application filed")
        assert (application.item, application.filed_as) == ("mediation", "phone")
        repo = running.app[MEDIATION_KEY].repo
        assert (await repo.participant(room.applicant_id)).invite_redeemed_at is None
    finally:
        caller.stop()
        phone.close()


def _long_ago() -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) - timedelta(hours=1)


async def test_a_phone_party_who_refused_recording_is_asked_again_and_both_answers_are_kept(
        settings: Settings, running: Running, connect: Connect) -> None:
    room = await _room(running, connect)
    phone = await open_phone_media()
    caller = await _call(settings, phone)
    try:
        # Recording refused (2), mediation, the code; the warning 1; the ID digits: mediation
        # is recorded, so the party hears why and the notice again, and now agrees (1).
        await _keys(phone, "22" + keys_of(room.applicant_code) + "#")
        await _keys(phone, "1" + "123*#")
        repo = RecordingRepository(running.app[DATABASE_KEY])

        async def refused() -> bool | None:
            return True if any(c.participant_id == room.applicant_id
                               for c in await repo.consents(room.case_id)) else None

        await until(refused, 20, "the refusal in the consent ledger")
        await _keys(phone, "1")
        await room.mediator.wait_for("mediation:state", lambda v: any(
            m["id"] == room.applicant_id and m["lobby"] == "waiting" for m in v["members"]),
            timeout=20)
        mine = [c for c in await repo.consents(room.case_id)
                if c.participant_id == room.applicant_id]
        assert [(c.decision, c.text_version) for c in mine] == [
            ("refused", PHONE_NOTICE.version), ("granted", PHONE_NOTICE.version)]
    finally:
        caller.stop()
        phone.close()
