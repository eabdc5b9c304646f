"""socket.io events: thin handlers that parse, authorise, call the service and serialise.

Each event is registered with the ``Action`` it performs (see server/policy.py); ``EVENTS`` is
the table a test checks against the access matrix.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import Any

import socketio

from server.errors import ParleyError, is_backend_outage, service_recovering
from server.logs import case_id_var, request_id_var, room_id_var
from server.metrics import EventCounters
from server.policy import Action, Principal, Role
from server.tokens import verify
from server.validation import check_size, parse
from signaling import schemas
from signaling.connections import DEFAULT_PER_TOKEN, ConnectionLedger, MemoryConnectionLedger
from signaling.consultations.service import ConsultationService
from signaling.here import emit_here
from signaling.hotline.service import Hotline
from signaling.packets import REFUSED, Refusal
from signaling.ratelimit import TokenBucket, Verdict
from signaling.views import AGENTS_TARGET, SUPERVISORS_TARGET, case_target, user_target

#: The address of the client whose event is being handled (the socket's peer), for handlers
#: that throttle per address (signaling.mediation.events' lobby).
client_address_var: ContextVar[str | None] = ContextVar("client_address", default=None)

log = logging.getLogger(__name__)

Handler = Callable[[Principal, Any], Awaitable[dict[str, Any]]]

# Every client event and the action it performs.
EVENTS: dict[str, Action] = {
    "case:resume": Action.RESUME_CASE,
    "queue:leave": Action.LEAVE_QUEUE,
    "case:rate": Action.RATE_CASE,
    "agent:resume": Action.AGENT_RESUME,
    "agent:availability": Action.SET_AVAILABILITY,
    "queue:take_next": Action.TAKE_NEXT,
    "queue:waiting": Action.QUEUE_VIEW,
    "case:notes": Action.WRITE_NOTES,
    "case:end": Action.END_CASE,
    "chat:send": Action.ROOM_CHAT,
    "rtc:offer": Action.ROOM_NEGOTIATE,
    "rtc:candidate": Action.ROOM_NEGOTIATE,
    "rtc:answer": Action.ROOM_NEGOTIATE,
    "call:hangup": Action.ROOM_HANGUP,
    "queue:callback": Action.REQUEST_CALLBACK,
    "offer:accept": Action.ANSWER_OFFER,
    "offer:decline": Action.ANSWER_OFFER,
    "agent:ready": Action.SET_AVAILABILITY,
    "agent:directory": Action.TRANSFER_CASE,
    "case:transfer": Action.TRANSFER_CASE,
    "sup:snapshot": Action.SUPERVISE,
}


class SocketEvents:
    """Binds the socket.io server to the hotline and the consultation service."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        service: ConsultationService,
        hotline: Hotline,
        secret_key: bytes,
        counters: EventCounters,
        connections: ConnectionLedger | None = None,
        connections_per_token: int = DEFAULT_PER_TOKEN,
    ) -> None:
        self._sio = sio
        self._connections = connections or MemoryConnectionLedger()
        self._per_token = connections_per_token
        self._counters = counters
        self._service = service
        self._hotline = hotline
        self._key = secret_key
        self._principals: dict[str, Principal] = {}
        self._addresses: dict[str, str | None] = {}  # the client's address, for throttles
        # Request ids: unique across processes, cheaper than a uuid4 per event.
        self._request_prefix = secrets.token_hex(4)
        self._request_numbers = itertools.count(1)
        self._buckets: dict[str, TokenBucket] = {}
        handlers: dict[str, Handler] = {
            "case:resume": self._case_resume,
            "queue:leave": self._queue_leave,
            "case:rate": self._case_rate,
            "agent:resume": self._agent_resume,
            "agent:availability": self._agent_availability,
            "queue:take_next": self._take_next,
            "queue:waiting": self._queue_waiting,
            "case:notes": self._case_notes,
            "case:end": self._case_end,
            "chat:send": self._chat_send,
            "rtc:offer": self._rtc_offer,
            "rtc:candidate": self._rtc_candidate,
            "rtc:answer": self._rtc_answer,
            "call:hangup": self._call_hangup,
            "queue:callback": self._queue_callback,
            "offer:accept": self._offer_accept,
            "offer:decline": self._offer_decline,
            "agent:ready": self._agent_ready,
            "agent:directory": self._agent_directory,
            "case:transfer": self._case_transfer,
            "sup:snapshot": self._sup_snapshot,
        }
        assert handlers.keys() == EVENTS.keys()
        sio.on("connect", self._connect)
        sio.on("disconnect", self._disconnect)
        for event, handler in handlers.items():
            sio.on(event, self._wrap(event, handler))
        # Anything else a client sends gets an error, not silence; so does a packet refused
        # before dispatch (signaling.packets: hostile JSON, a reserved event name).
        sio.on("*", self._unknown)
        sio.on(REFUSED, self._wrap(REFUSED, self._unknown_refusal))

    def register(self, event: str, handler: Handler) -> None:
        """Add another module's event (e.g. signaling.mediation.events) with the same
        authentication, rate limit, size cap, ack and error handling as these."""
        self._sio.on(event, self._wrap(event, handler))

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            claims = verify(token, self._key, time.time())
        except ParleyError as exc:
            error = exc.to_dict()["error"]
            # (message, data): the client sees err.message and err.data = {code, message}.
            raise socketio.exceptions.ConnectionRefusedError(exc.message, error) from None
        assert isinstance(token, str)
        ttl = int(claims.exp - time.time())
        if not await self._connections.claim(token, sid, self._per_token, ttl):
            refusal = ParleyError(
                "too_many_connections",
                f"此凭证的连接已达上限 / at most {self._per_token} connections per sign-in", 429)
            raise socketio.exceptions.ConnectionRefusedError(
                refusal.message, refusal.to_dict()["error"])
        request = environ.get("aiohttp.request")
        self._addresses[sid] = getattr(request, "remote", None) or environ.get("REMOTE_ADDR")
        try:
            await self._enter(sid, Principal(Role(claims.role), claims.sub, claims.name,
                                             claims.case))
        except BaseException:
            # The connection is refused: its place goes back.
            self._addresses.pop(sid, None)
            await self._connections.release(sid)
            raise

    async def _enter(self, sid: str, principal: Principal) -> None:
        self._principals[sid] = principal
        self._buckets[sid] = TokenBucket()
        if principal.role is Role.CITIZEN and principal.case_id:
            await self._sio.enter_room(sid, case_target(principal.case_id))
        else:
            await self._sio.enter_room(sid, user_target(principal.id))
            if principal.role is Role.LAWYER:
                await self._sio.enter_room(sid, AGENTS_TARGET)
                await self._hotline.agent_connected(principal, sid)
            elif principal.role is Role.SUPERVISOR:
                await self._sio.enter_room(sid, SUPERVISORS_TARGET)

    async def _disconnect(self, sid: str, *_: Any) -> None:
        principal = self._principals.pop(sid, None)
        self._buckets.pop(sid, None)
        self._addresses.pop(sid, None)
        await self._connections.release(sid)
        if principal is not None and principal.role is Role.LAWYER:
            await self._hotline.agent_disconnected(sid)

    async def _unknown(self, event: str, sid: str, *_: Any) -> dict[str, Any]:
        return ParleyError("bad_request", f"未知事件 / unknown event {event!r}").to_dict()

    async def _unknown_refusal(self, me: Principal, data: Any) -> dict[str, Any]:
        # Reached only when a client itself names the event: the wrapper answers real ones.
        raise ParleyError("event_reserved", f"保留的事件名 / {REFUSED!r} is reserved")

    def _wrap(
        self, event: str, handler: Handler
    ) -> Callable[..., Awaitable[dict[str, Any]]]:
        async def run(sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
            principal = self._principals.get(sid)
            request_id_var.set(f"{self._request_prefix}-{next(self._request_numbers):x}")
            if isinstance(data, dict):
                room_id_var.set(data.get("room_id") if isinstance(data.get("room_id"), str) else None)
            case_id_var.set(principal.case_id if principal else None)
            client_address_var.set(self._addresses.get(sid))
            try:
                if principal is None:
                    raise ParleyError("token_missing", "未登录 / not authenticated", 401)
                await self._throttle(sid)
                if isinstance(data, Refusal):
                    raise data.error
                if extra:
                    raise ParleyError("bad_request", "每个事件只接受一个参数 / one payload only")
                check_size(data)
                result = await handler(principal, data)
                self._counters.handled(event, None)
                return {"ok": True, **result}
            except ParleyError as exc:
                self._counters.handled(event, exc.code)
                return exc.to_dict()
            except Exception as exc:
                request_id = request_id_var.get()
                if is_backend_outage(exc):  # retryable: the page says so and tries again
                    log.warning("event %s: backend unreachable (%s)", event, exc)
                    self._counters.handled(event, "service_recovering")
                    return service_recovering().to_dict()
                log.exception("event %s failed (request %s)", event, request_id)
                self._counters.handled(event, "internal")
                return ParleyError(
                    "internal", f"服务器内部错误 / internal error, request {request_id}", 500
                ).to_dict()

        return run

    async def _throttle(self, sid: str) -> None:
        bucket = self._buckets.get(sid)
        verdict = bucket.take(time.monotonic()) if bucket else Verdict.ALLOW
        if verdict is Verdict.DISCONNECT:
            await self._sio.disconnect(sid)
        if verdict is not Verdict.ALLOW:
            raise ParleyError("rate_limited", "操作过于频繁 / too many events, slow down", 429)

    # --- handlers: parse, call one service method, serialise ------------------------------

    async def _case_resume(self, me: Principal, data: Any) -> dict[str, Any]:
        parse(schemas.Empty, data)
        queue = await self._hotline.queue_view(me.case_id) if me.case_id else None
        return await self._service.resume_citizen(me, queue)

    async def _queue_leave(self, me: Principal, data: Any) -> dict[str, Any]:
        parse(schemas.Empty, data)
        await self._hotline.leave_queue(me)
        return {}

    async def _case_rate(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(schemas.RateBody, data)
        await self._service.rate(me, body.score, body.comment, body.reasons, body.complaint)
        return {}

    async def _agent_resume(self, me: Principal, data: Any) -> dict[str, Any]:
        parse(schemas.Empty, data)
        return await self._hotline.resume_agent(me)

    async def _agent_availability(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(schemas.AvailabilityBody, data)
        return await self._hotline.set_availability(me, body.status)

    async def _take_next(self, me: Principal, data: Any) -> dict[str, Any]:
        parse(schemas.Empty, data)
        return await self._hotline.take_next(me)

    async def _queue_waiting(self, me: Principal, data: Any) -> dict[str, Any]:
        parse(schemas.Empty, data)
        return await self._hotline.waiting(me)

    async def _case_notes(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(schemas.NotesBody, data)
        await self._service.write_notes(me, body.case_id, body.notes)
        return {}

    async def _case_end(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(schemas.EndBody, data)
        await self._hotline.end(me, body.case_id, body.outcome)
        return {}

    async def _chat_send(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(schemas.ChatBody, data)
        return {"message": await self._service.chat(me, body.room_id, body.text)}

    async def _rtc_offer(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(schemas.SdpBody, data)
        return {"sdp": await self._service.negotiate(me, body.room_id, body.sdp)}

    async def _rtc_candidate(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(schemas.CandidateBody, data)
        c = body.candidate
        await self._service.add_candidate(me, body.room_id, c.candidate, c.sdpMid, c.sdpMLineIndex)
        return {}

    async def _rtc_answer(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(schemas.SdpBody, data)
        await self._service.answer(me, body.room_id)
        return {}

    async def _call_hangup(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(schemas.RoomRef, data)
        await self._service.hangup(me, body.room_id)
        return {}


    async def _queue_callback(self, me: Principal, data: Any) -> dict[str, Any]:
        parse(schemas.Empty, data)
        return await self._hotline.request_callback(me)

    async def _offer_accept(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(schemas.CaseRef, data)
        return await self._hotline.accept_offer(me, body.case_id)

    async def _offer_decline(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(schemas.CaseRef, data)
        await self._hotline.decline_offer(me, body.case_id)
        return {}

    async def _agent_ready(self, me: Principal, data: Any) -> dict[str, Any]:
        parse(schemas.Empty, data)
        return await self._hotline.ready(me)

    async def _agent_directory(self, me: Principal, data: Any) -> dict[str, Any]:
        parse(schemas.Empty, data)
        return await self._hotline.directory(me)

    async def _case_transfer(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(schemas.TransferBody, data)
        await self._hotline.transfer(me, body.case_id, body.category, body.agent_id, body.note)
        return {}

    async def _sup_snapshot(self, me: Principal, data: Any) -> dict[str, Any]:
        parse(schemas.Empty, data)
        return await self._hotline.snapshot(me)


class SocketNotifier:
    """The ``Notifier`` over socket.io rooms (fans out across processes with a Redis manager)."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio

    async def emit(self, event: str, data: dict[str, Any], to: str | Sequence[str]) -> None:
        await self._sio.emit(event, data, to=to if isinstance(to, str) else list(to))

    async def emit_here(self, event: str, data: dict[str, Any], to: str | Sequence[str]) -> bool:
        return await emit_here(self._sio, event, data, to)
