"""A party of a mediation on the phone line: joined by the invitation code keyed in, checked
and let in exactly as on the web, then in the room as that party.

- The code: ``MediationService.redeem_keys`` (the web's one-time code rules and wrong-try
  locks, the caller's number standing for the address).
- The lobby: ``MediationRoomService.lobby`` with the last four characters of the ID number
  keyed in (X on the * key) and the name on the invitation (a phone cannot key a name), the
  spoken sham-mediation warning and consent to online mediation by key 1, and the recording
  choice keyed at the start of the call, stored with the spoken notice (``PHONE_NOTICE``).
- Then the mediator admits the party from the lobby like any other; their page marks the
  member as a phone participant (``Member.phone``).
- In the room: an aiortc peer connection in this process offering one receiving audio slot
  per other participant, like a browser; the worker forwards only whom the caucus rules let
  the party hear, and ``Mix`` sums what arrives (docs/telephony.md, "A phone party in a
  mediation")."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy

from server.errors import ParleyError
from server.mediation.schemas import LobbyBody
from server.policy import Principal
from signaling.mediation.room import MAX_SLOTS, MediationRoomService
from signaling.mediation.service import MediationService
from signaling.telephony.caller_voice import CallerVoice
from signaling.telephony.desk import LiveCall
from signaling.telephony.ivr import MAX_TRIES
from signaling.telephony.mix import Mix

log = logging.getLogger(__name__)

Play = Callable[[LiveCall, tuple[str, ...]], Awaitable[str | None]]
KEY_WAIT_S = 8.0  # silence after a prompt before it is asked again
LOCKED = "attempts_locked"
ID4_KEYS = re.compile(r"[0-9X]{4}")


class PhoneParties:
    def __init__(self, cases: MediationService, room: MediationRoomService) -> None:
        self._cases = cases
        self._room = room
        self._parties: dict[int, Principal] = {}  # id(live call) -> the invitee it acts as

    async def redeem(self, live: LiveCall, keys: str) -> str:
        """``ok`` (the call now acts as that invitee), ``invalid`` or ``locked``."""
        try:
            self._parties[id(live)] = await self._cases.redeem_keys(keys, live.call.caller)
        except ParleyError as exc:
            return "locked" if exc.code == LOCKED else "invalid"
        return "ok"

    async def join(self, live: LiveCall, play: Play) -> None:
        """The lobby by keys, then the room until the party leaves it or it ends."""
        me = self._parties.pop(id(live), None)
        if me is None or me.case_id is None:
            return
        views: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        stop = self._room.watch(me.id, views.put_nowait)  # before the lobby: no view missed
        try:
            entered = await self._lobby(live, play, me, me.case_id)
            if entered is None:
                return
            try:
                await self._in_room(live, play, me, me.case_id, entered["room"], views)
            finally:
                with contextlib.suppress(ParleyError):
                    await self._room.leave(me, me.case_id)
        finally:
            stop()

    async def _keys(self, live: LiveCall, play: Play, prompt: str) -> str | None:
        """Keys up to # after ``prompt`` (None: nothing keyed in time)."""
        keys = ""
        digit = await play(live, (prompt,))
        while True:
            if digit is None:
                try:
                    digit = await asyncio.wait_for(live.digits.get(), KEY_WAIT_S)
                except TimeoutError:
                    return None
            if digit == "#":
                return keys
            keys, digit = (keys + digit)[:8], None

    async def _lobby(self, live: LiveCall, play: Play, me: Principal, case_id: str
                     ) -> dict[str, Any] | None:
        """Warning and consent, ID digits, the lobby; the reply, or None (call to end)."""
        for _ in range(MAX_TRIES):
            if (await play(live, ("mediation_notice",)) or await _key(live)) == "1":
                break
        else:
            return None
        consent = bool(live.choices and live.choices.consent)
        tries = 0
        id4: str | None = None
        while tries < MAX_TRIES:
            if id4 is None:
                id4 = ((await self._keys(live, play, "id_entry")) or "").replace("*", "X")
            if not ID4_KEYS.fullmatch(id4):  # none in time, too few or many, or keys A-D
                tries, id4 = tries + 1, None
                await play(live, ("id_invalid",))
                continue
            try:
                return await self._room.lobby(me, LobbyBody(
                    case_id=case_id, name=me.name, id_last4=id4, consent_mediation=True,
                    consent_recording=consent, sham_warning_read=True),
                    address=f"tel:{live.call.caller or 'withheld'}", phone=True)
            except ParleyError as exc:
                if exc.code == "credentials_rejected":
                    tries, id4 = tries + 1, None
                    await play(live, ("id_invalid",))
                elif exc.code == "recording_consent_required":
                    # Why, then the notice again; a key during either is the answer. The
                    # lobby is then tried again with the same ID digits.
                    consent = (await play(live, ("recording_required", "recording_notice"))
                               or await _key(live)) == "1"
                    if not consent:
                        return None
                else:
                    log.info("phone party of %s not let in: %s", case_id, exc.code)
                    await play(live, ("code_locked" if exc.code == LOCKED
                                      else "mediation_closed",))
                    return None
        return None

    async def _in_room(self, live: LiveCall, play: Play, me: Principal, case_id: str,
                       view: dict[str, Any], views: asyncio.Queue[dict[str, Any]]) -> None:
        if view["self"]["lobby"] == "waiting":
            await play(live, ("lobby_wait",))
        while view["self"]["lobby"] == "waiting" and not view["ended"]:
            if "renegotiate" not in (seen := await views.get()):
                view = seen
        if view["self"]["lobby"] != "admitted" or view["ended"]:
            await play(live, ("mediation_refused",))
            return
        await play(live, ("mediation_joined",))
        while view["self"]["lobby"] == "admitted" and not view["ended"]:
            # Every slot a room can have: someone admitted later is heard without a new offer
            # (idle receiving slots get no packets). A new offer only when the room moved to
            # another media worker.
            async with _Connection(live, MAX_SLOTS) as connection:
                await connection.answered(
                    await self._room.offer(me, case_id, await connection.offer()))
                while "renegotiate" not in (seen := await views.get()):
                    view = seen
                    if view["self"]["lobby"] != "admitted" or view["ended"]:
                        break
        await play(live, ("mediation_ended",))


async def _key(live: LiveCall) -> str | None:
    try:
        return await asyncio.wait_for(live.digits.get(), KEY_WAIT_S)
    except TimeoutError:
        return None


class _Connection:
    """The phone party's peer connection: their voice on the first audio m-line (sendrecv),
    ``slots - 1`` more receiving ones; what the room sends on any of them goes into the mix."""

    def __init__(self, live: LiveCall, slots: int) -> None:
        self._live = live
        self._mix = Mix(live.leg.codec)
        # max-bundle, as browsers and the worker use for several m-lines of a kind.
        self._pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self._pc.addTransceiver(CallerVoice(live.leg.codec), "sendrecv")
        for _ in range(slots - 1):
            self._pc.addTransceiver("audio", "recvonly")
        self._pumps: list[asyncio.Task[None]] = []
        self._pc.on("track", self._track)

    def _track(self, track: MediaStreamTrack) -> None:
        slot = next(i for i, t in enumerate(self._pc.getTransceivers())
                    if t.receiver.track is track)
        self._pumps.append(asyncio.ensure_future(self._pump(track, slot)))

    async def _pump(self, track: MediaStreamTrack, slot: int) -> None:
        try:
            while True:
                frame = await track.recv()
                self._mix.add(slot, frame)  # type: ignore[arg-type]
        except MediaStreamError:
            self._mix.drop(slot)

    async def offer(self) -> str:
        await self._pc.setLocalDescription(await self._pc.createOffer())
        return str(self._pc.localDescription.sdp)

    async def answered(self, sdp: str) -> None:
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))

    async def __aenter__(self) -> _Connection:
        voice = self._pc.getTransceivers()[0].sender.track
        assert isinstance(voice, CallerVoice)
        self._live.leg.on_audio = voice.feed
        self._live.leg.source = self._mix.next
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._live.leg.on_audio = None
        self._live.leg.source = None
        for pump in self._pumps:
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        await self._pc.close()
