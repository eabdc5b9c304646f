"""socket.io packets read with the same limits as REST bodies, and event names checked before
python-socketio dispatches them.

python-socketio decodes every packet with ``json.loads`` and dispatches by the event name the
client chose. Left alone, a 1,000-deep payload raises ``RecursionError`` (no ack), a 5,000-digit
integer raises ``ValueError`` (no ack), and a client may emit ``connect`` or ``disconnect``
itself, which python-socketio hands to those handlers as if the server had raised them. This
packet class (python-socketio's documented ``serializer`` extension point) turns each of those
into an ordinary event ``REFUSED`` carrying a ``Refusal``: the event wrapper answers it with
an error ack like any other refusal. Clients cannot forge a ``Refusal`` (JSON has no objects)."""

from __future__ import annotations

import json
from typing import Any

from socketio import packet

from server.errors import ParleyError, bad_request
from server.untrusted_json import MAX_PAYLOAD_BYTES, loads

REFUSED = "parley:refused"
# Names socket.io clients reserve for themselves (socket.io-client's RESERVED_EVENTS) and the
# ones python-socketio dispatches to connection handlers: never a client's event.
RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect", "disconnecting",
                             "newListener", "removeListener", "message", "*", REFUSED})
# A packet is the event name and its payload: a little more than the payload's own cap.
MAX_PACKET_BYTES = MAX_PAYLOAD_BYTES + 1024


class Refusal:
    """A packet the server refused before any handler saw it, and why."""

    def __init__(self, error: ParleyError) -> None:
        self.error = error


class _Json:
    """The ``json`` python-socketio's packets use: standard out, limited in."""

    @staticmethod
    def dumps(data: Any, **kwargs: Any) -> str:
        return json.dumps(data, **kwargs)

    @staticmethod
    def loads(text: str | bytes) -> Any:
        return loads(text, max_bytes=MAX_PACKET_BYTES)


class GuardedPacket(packet.Packet):  # type: ignore[misc]
    """Pass as ``socketio.AsyncServer(serializer=GuardedPacket)``."""

    json = _Json
    packet_type: Any
    data: Any

    def decode(self, encoded_packet: Any) -> int:
        try:
            attachments: int = super().decode(encoded_packet)
        except ParleyError as exc:
            # The header (type, namespace, ack id) was read before the payload: answer it.
            self._refuse(exc)
            return 0
        if self.packet_type in (packet.EVENT, packet.BINARY_EVENT):
            data = self.data
            if not isinstance(data, list) or not data or not isinstance(data[0], str):
                self._refuse(bad_request("事件格式不正确 / an event is [name, payload]"))
                return 0
            if data[0] in RESERVED_EVENTS:
                self._refuse(ParleyError("event_reserved",
                                         f"保留的事件名 / {data[0]!r} is reserved", 400))
                return 0
        return attachments

    def _refuse(self, error: ParleyError) -> None:
        if self.packet_type in (packet.EVENT, packet.BINARY_EVENT):
            self.packet_type = packet.EVENT
            self.data = [REFUSED, Refusal(error)]
        elif self.packet_type == packet.CONNECT:
            self.data = None  # no usable auth: the connection is refused as token_missing
        else:
            self.data = []  # an ack from a client: nothing waits for it
