"""Test clients: a running server in this process and socket.io clients that record events."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import aiohttp
import socketio

Predicate = Callable[[Any], bool]


class SocketClient:
    """A real python-socketio client that keeps every event it receives."""

    def __init__(self, base_url: str, source: str | None = None) -> None:
        """``source``: the local address to connect from (a test behind nginx's ``ip_hash``
        picks which process serves it that way); None: the system's choice."""
        self.base_url = base_url
        self.sio = socketio.AsyncClient(reconnection=False, http_session=lambda: session(source))
        self.events: dict[str, list[Any]] = defaultdict(list)
        self._changed = asyncio.Condition()

        async def record(event: str, data: Any = None) -> None:
            async with self._changed:
                self.events[event].append(data)
                self._changed.notify_all()

        self.sio.on("*", record)

        async def refused(data: Any = None) -> None:
            await record("connect_error", data)

        self.sio.on("connect_error", refused)

    async def connect(self, token: str | None) -> None:
        auth = {"token": token} if token is not None else {}
        await self.sio.connect(self.base_url, auth=auth, transports=["websocket"],
                               wait_timeout=10)

    async def call(self, event: str, data: Any = None) -> dict[str, Any]:
        reply: dict[str, Any] = await self.sio.call(event, {} if data is None else data,
                                                    timeout=15)
        return reply

    async def wait_for(
        self, event: str, predicate: Predicate = lambda _: True, timeout: float = 10
    ) -> Any:
        """The first recorded ``event`` matching ``predicate``, waiting up to ``timeout``."""
        async def found() -> Any:
            async with self._changed:
                while True:
                    for data in self.events[event]:
                        if predicate(data):
                            return data
                    await self._changed.wait()

        return await asyncio.wait_for(found(), timeout)

    async def close(self) -> None:
        await self.sio.disconnect()


def session(source: str | None = None) -> aiohttp.ClientSession:
    """An HTTP session whose connections leave from ``source`` (any loopback address works)."""
    if source is None:
        return aiohttp.ClientSession()
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(source, 0)))


async def post_json(base_url: str, path: str, body: Any, token: str | None = None,
                    source: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session(source) as http, http.post(
        base_url + path, json=body, headers=headers
    ) as response:
        return response.status, await response.json()


async def get_json(base_url: str, path: str, token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as session, session.get(
        base_url + path, headers=headers
    ) as response:
        return response.status, await response.json()


async def get_text(base_url: str, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(base_url + path) as response:
        return response.status, await response.text()


def intake_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "张三",
        "phone": "13800138000",
        "service_type": "consultation",
        "category": "labour",
        "mode": "video",
        "description": "公司拖欠三个月工资，怎么办？",
        "region": "qz-kecheng",
    }
    body.update(overrides)
    return body


class RawSocket:
    """A socket.io client speaking the wire protocol itself (Engine.IO 4 over a WebSocket), so a
    test can send what no well-behaved client library would: raw packet text."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._session = aiohttp.ClientSession()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)

    async def connect(self, token: str) -> None:
        connected = await self.handshake(json.dumps({"token": token}))
        assert connected.startswith("40{"), connected

    async def handshake(self, auth_json: str) -> str:
        """Open the transport and send the CONNECT packet ``40<auth_json>``; return the
        server's answer (``40{sid}`` or ``44{error}``)."""
        url = self.base_url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        self._ws = await self._session.ws_connect(url)
        opened = await self._receive()
        assert opened.startswith("0"), opened
        await self._ws.send_str("40" + auth_json)
        answer = await self._receive()
        while answer.startswith("42"):  # events the server pushes while connecting
            answer = await self._receive()
        return answer

    async def call_raw(self, event_json: str) -> Any:
        """Send ``42<id><event_json>`` and return the payload of the ack with that id."""
        assert self._ws is not None
        ack_id = next(self._ids)
        await self._ws.send_str(f"42{ack_id}{event_json}")
        deadline = asyncio.get_running_loop().time() + 15
        while True:
            text = await self._receive(deadline)
            if text.startswith(f"43{ack_id}["):
                return json.loads(text[len(f"43{ack_id}"):])[0]

    async def _receive(self, deadline: float | None = None) -> str:
        assert self._ws is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15 if deadline is None else deadline
        while True:
            message = await asyncio.wait_for(self._ws.receive(), max(0.0, deadline - loop.time()))
            if message.type is not aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"socket closed: {message}")
            if message.data == "2":  # Engine.IO ping: answer it, keep waiting
                await self._ws.send_str("3")
                continue
            return str(message.data)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        await self._session.close()
