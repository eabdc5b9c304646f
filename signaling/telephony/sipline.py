"""The product's SIP user agent: a small face over aiosipua (docs/decisions.md).

``SipLine`` listens on UDP, lets in INVITEs from allowed addresses only (403 otherwise) and
hands each call to ``on_call`` as a ``PhoneCall``: who calls, the negotiated G.711 codec and
DTMF payload type, ``answer()``, ``hang_up()`` and ``ended``. Nothing else in Parley imports
aiosipua, so the stack can be swapped behind this file."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiosipua import IncomingCall, SdpNegotiationError, SipRequest, SipResponse, negotiate_sdp
from aiosipua.auth import SipDigestAuth
from aiosipua.registration import Registration
from aiosipua.sdp_negotiate import build_sdp
from aiosipua.transport import UdpSipTransport, _UdpProtocol
from aiosipua.uac import SipUAC
from aiosipua.uas import SipUAS

from server.config import SipTrunk

log = logging.getLogger(__name__)

CODECS = {0: "PCMU", 8: "PCMA"}
DTMF_PT = 101
USER_AGENT = "Parley"


def caller_number(uri: str) -> str:
    """The digits of a From URI's user part (sip:+8613800138000@host -> 8613800138000)."""
    match = re.match(r"^(?:sips?|tel):\+?([^@;>]*)", uri.strip("<>"))
    return re.sub(r"\D", "", match.group(1)) if match else ""


class _Protocol(_UdpProtocol):
    # aiosipua 0.7.1 asserts isinstance(transport, asyncio.DatagramTransport), false on
    # Python 3.11 (the selector transport is not a subclass); the test suite catches a return.
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._owner._udp_transport = transport  # type: ignore[assignment]


class _Udp(UdpSipTransport):
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self),
                                                           local_addr=self.local_addr)
        self._udp_transport = transport


class _Binding(Registration):
    """aiosipua's Registration without its own refresh timers (``signaling.telephony.trunk``
    decides when to refresh and how to back off), keeping the last REGISTER so it can be sent
    again over UDP, and handing each final answer to whoever waits for it."""

    last: SipRequest | None = None
    answer: asyncio.Future[tuple[int, int]] | None = None

    def _schedule(self, granted: int) -> None:
        pass

    def _send_register(self, expires: int, *, auth_header: tuple[str, str] | None = None
                       ) -> SipRequest:
        self.last = super()._send_register(expires, auth_header=auth_header)
        return self.last

    def _on_success(self, response: SipResponse) -> None:
        super()._on_success(response)
        self._settle(response.status_code, self.granted_expires)

    def _fail(self, status: int, reason: str) -> None:
        super()._fail(status, reason)
        self._settle(status, 0)

    def _settle(self, status: int, granted: int) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_result((status, granted))


class TrunkBinding:
    """Our registration at the trunk: one Call-ID for its whole life (RFC 3261 §10.2)."""

    def __init__(self, line: SipLine, registration: _Binding) -> None:
        self._line = line
        self._reg = registration
        self.aor = registration.aor

    async def send(self, expires: int, timeout_s: float) -> tuple[int, int]:
        """One REGISTER exchange (``expires`` 0: remove the binding), a digest challenge
        answered on the way: the final status and the seconds granted; 408 if no answer came
        within ``timeout_s``. Sent again at 0.5, 1, 2, 4, 4 … s until answered (UDP, RFC 3261
        §17.1.2.2: aiosipua sends each request once)."""
        loop = asyncio.get_running_loop()
        self._reg.answer = loop.create_future()
        if expires:
            self._reg.expires = expires
            self._reg.register()
        else:
            self._reg.unregister()
        deadline = loop.time() + timeout_s
        interval = 0.5
        while True:
            left = deadline - loop.time()
            if left <= 0:
                return 408, 0
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(asyncio.shield(self._reg.answer),
                                              min(interval, left))
            if self._reg.last is not None and not self._line.closed:
                self._line._transport.send(self._reg.last, self._reg.registrar)
            interval = min(interval * 2, 4.0)


@dataclass(eq=False)
class PhoneCall:
    """One call, inbound or (later) outbound, as the rest of Parley sees it."""

    call_id: str
    caller: str  # digits
    source: tuple[str, int]
    remote_rtp: tuple[str, int] | None
    codec: str
    dtmf_pt: int | None
    _answer: Callable[[int], None]
    _hang_up: Callable[[], None]
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    end_reason: str = ""  # "caller" (BYE or CANCEL), "us", "timeout"

    def answer(self, rtp_port: int) -> None:
        self._answer(rtp_port)

    def hang_up(self) -> None:
        if not self.ended.is_set():
            self._hang_up()
            self.finish("us")

    def finish(self, reason: str) -> None:
        if not self.ended.is_set():
            self.end_reason = reason
            self.ended.set()


class SipLine:
    def __init__(self, host: str, port: int, allowed: Callable[[str], bool],
                 on_call: Callable[[PhoneCall], Awaitable[None]]) -> None:
        self._host = host
        self._port = port
        self._allowed = allowed
        self._on_call = on_call
        self._transport = _Udp(local_addr=(host, port))
        self._uac = SipUAC(self._transport)
        self._uas = SipUAS(self._transport, user_agent=USER_AGENT, uac=self._uac)
        # INVITEs of ours that got a final failure: ACKed, retransmissions too (§17.1.1.3).
        self._failed: dict[tuple[str, int], SipRequest] = {}
        self._uas.on_invite = self._invite
        self._uas.on_reinvite = self._reinvite
        self._uas.on_bye = self._bye
        self._uas.on_cancel = self._cancel
        self._uas.on_ack_timeout = self._ack_timeout
        self._calls: dict[str, PhoneCall] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def address(self) -> tuple[str, int]:
        return self._transport.local_addr

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def rtp_host(self) -> str:
        return self._host if self._host not in ("0.0.0.0", "::") else "127.0.0.1"

    async def start(self) -> None:
        await self._uas.start()
        delegate = self._transport.on_message
        assert delegate is not None

        def on_message(msg: SipRequest | SipResponse, addr: tuple[str, int]) -> None:
            if isinstance(msg, SipResponse):
                self._ack_failure(msg, addr)
            delegate(msg, addr)

        self._transport.on_message = on_message
        log.info("SIP listening on udp %s:%d", *self.address)

    def _invite(self, raw: IncomingCall) -> None:
        if self._closed:
            raw.reject(503)
            return
        if not self._allowed(raw.source_addr[0]):
            log.warning("SIP INVITE from %s refused: not a listed peer", raw.source_addr[0])
            raw.reject(403, "Forbidden")
            self._uas._calls.pop(raw.call_id, None)  # aiosipua keeps rejected calls otherwise
            return
        offer = raw.sdp_offer
        if offer is None or offer.audio is None or offer.rtp_address is None:
            raw.reject(488, "Not Acceptable Here")  # no late offer: callers send SDP
            self._uas._calls.pop(raw.call_id, None)
            return
        chosen = next((c.payload_type for c in offer.audio.codecs
                       if c.payload_type in CODECS), None)
        dtmf = next((c.payload_type for c in offer.audio.codecs
                     if c.encoding_name.lower() == "telephone-event"), None)
        if chosen is None:
            raw.reject(488, "Not Acceptable Here")
            self._uas._calls.pop(raw.call_id, None)
            return
        call = PhoneCall(
            call_id=raw.call_id, caller=caller_number(raw.caller), source=raw.source_addr,
            remote_rtp=offer.rtp_address, codec=CODECS[chosen], dtmf_pt=dtmf,
            _answer=lambda port: self._accept(raw, port, dtmf), _hang_up=lambda: self._bye_out(raw))
        self._calls[raw.call_id] = call
        raw.ringing()
        task = asyncio.get_running_loop().create_task(self._run(call), name=f"call {call.call_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, call: PhoneCall) -> None:
        try:
            await self._on_call(call)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("phone call %s failed", call.call_id)
        finally:
            call.hang_up()
            self._calls.pop(call.call_id, None)

    def _accept(self, raw: IncomingCall, rtp_port: int, dtmf: int | None) -> None:
        assert raw.sdp_offer is not None
        try:
            # The answer's telephone-event type mirrors the offer's, so both sides agree.
            answer, _pt = negotiate_sdp(raw.sdp_offer, self.rtp_host, rtp_port,
                                        supported_codecs=list(CODECS),
                                        dtmf_payload_type=dtmf or DTMF_PT)
        except SdpNegotiationError:
            raw.reject(488)
            return
        raw.accept(answer)

    def _bye_out(self, raw: IncomingCall) -> None:
        if raw._answered:
            raw.hangup()
        else:
            raw.reject(480, "Temporarily Unavailable")
        self._uas._calls.pop(raw.call_id, None)

    def _reinvite(self, raw: IncomingCall) -> None:
        # Hold/unhold or a session refresh: answer with the same SDP (media stays where it is).
        if raw.sdp_answer is not None:
            raw.accept(raw.sdp_answer)
        else:
            raw.reject(488)

    def _bye(self, raw: IncomingCall, _request: object) -> None:
        call = self._calls.get(raw.call_id)
        if call is not None:
            call.finish("caller")

    def _cancel(self, raw: object, _addr: object = None) -> None:
        call_id = getattr(raw, "call_id", None)
        call = self._calls.get(call_id or "")
        if call is not None:
            call.finish("caller")

    def _ack_timeout(self, raw: IncomingCall) -> None:
        call = self._calls.get(raw.call_id)
        if call is not None:
            call.finish("timeout")

    # --- outbound ------------------------------------------------------------------------

    async def dial(self, number: str, trunk: SipTrunk, rtp_port: int, ring_s: float
                   ) -> tuple[int, PhoneCall | None]:
        """Call ``number`` through the trunk, offering G.711 on ``rtp_port``; returns the final
        status (408 when it rang ``ring_s`` unanswered: cancelled) and the call if answered."""
        remote = await self._resolve(trunk)
        local = f"{self.rtp_host}:{self.address[1]}"
        auth = (SipDigestAuth(trunk.username, trunk.password)
                if trunk.username and trunk.password else None)
        offer = build_sdp(self.rtp_host, rtp_port, 8, "PCMA")  # carriers in China: PCMA
        # Registered: calls come from our address of record, as the registrar knows us.
        caller = (f"sip:{trunk.username}@{trunk.domain or trunk.host}" if trunk.register
                  else f"sip:12348@{local}")
        oc = self._uac.send_invite(caller, f"sip:{number}@{trunk.host}:{trunk.port}",
                                   remote, offer, auth=auth, user_agent=USER_AGENT)
        try:
            await oc.wait_answered(timeout=ring_s)
        except TimeoutError:
            self._uac.send_cancel(oc)
            return 408, None
        except RuntimeError:
            return oc._reject_code or 500, None
        answer = oc.sdp_answer
        audio = answer.audio if answer is not None else None
        chosen = next((CODECS[c.payload_type] for c in audio.codecs if c.payload_type in CODECS),
                      None) if audio is not None else None
        if answer is None or audio is None or chosen is None or answer.rtp_address is None:
            oc.hangup(self._uac)
            return 488, None
        dtmf = next((c.payload_type for c in audio.codecs
                     if c.encoding_name.lower() == "telephone-event"), None)
        call = PhoneCall(call_id=oc.call_id, caller=number, source=remote,
                         remote_rtp=answer.rtp_address, codec=chosen, dtmf_pt=dtmf,
                         _answer=lambda _port: None, _hang_up=lambda: self._hang_up_out(oc))
        self._calls[oc.call_id] = call
        return 200, call

    async def binding(self, trunk: SipTrunk) -> TrunkBinding:
        """Our registration at ``trunk`` (address of record sip:user@domain), not sent yet."""
        assert trunk.username and trunk.password
        domain = trunk.domain or trunk.host
        contact_host, contact_port = trunk.contact or (self.rtp_host, self.address[1])
        reg = _Binding(self._uac, f"sip:{trunk.username}@{domain}", await self._resolve(trunk),
                       expires=trunk.register_expires,
                       auth=SipDigestAuth(trunk.username, trunk.password),
                       contact_uri=f"sip:{trunk.username}@{contact_host}:{contact_port}",
                       registrar_uri=f"sip:{domain}", user_agent=USER_AGENT)
        return TrunkBinding(self, reg)

    @staticmethod
    async def _resolve(trunk: SipTrunk) -> tuple[str, int]:
        info = await asyncio.get_running_loop().getaddrinfo(trunk.host, trunk.port, type=2)
        return str(info[0][4][0]), int(info[0][4][1])  # SOCK_DGRAM

    def _hang_up_out(self, oc: object) -> None:
        from aiosipua import OutgoingCall

        assert isinstance(oc, OutgoingCall)
        oc.hangup(self._uac)
        self._calls.pop(oc.call_id, None)

    def _ack_failure(self, response: SipResponse, addr: tuple[str, int]) -> None:
        """ACK a final failure to our INVITE, as RFC 3261 §17.1.1.3 wants and aiosipua 0.7.1
        does not: same Request-URI, top Via and From as the INVITE, the response's To."""
        cseq = response.cseq
        if cseq is None or cseq.method.upper() != "INVITE" or response.status_code < 300:
            return
        key = (response.call_id or "", cseq.seq)
        pending = self._uac.get_call(key[0])
        if pending is not None and pending.invite.cseq is not None \
                and pending.invite.cseq.seq == cseq.seq:
            self._failed[key] = pending.invite
            while len(self._failed) > 256:
                self._failed.pop(next(iter(self._failed)))
        invite = self._failed.get(key)
        if invite is None:
            return
        ack = SipRequest(method="ACK", uri=invite.uri)
        ack.headers.append("Via", invite.headers.get("via")[0])
        for name in ("from", "call-id"):
            ack.headers.set_single(name.title(), invite.headers.get(name)[0])
        ack.headers.set_single("To", response.headers.get("to")[0])
        ack.headers.set_single("CSeq", f"{cseq.seq} ACK")
        ack.headers.set_single("Max-Forwards", "70")
        for route in invite.headers.get("route"):
            ack.headers.append("Route", route)
        ack.headers.set_single("Content-Length", "0")
        self._transport.send(ack, addr)

    async def close(self) -> None:
        """Hang up every call, stop listening (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for call in list(self._calls.values()):
            call.hang_up()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._uas.stop()
