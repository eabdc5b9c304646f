"""Hostile socket.io packets get an error ack with a stable code, never silence or a crash:
enormous integers, deep nesting, malformed events, and reserved event names a client must not
be able to raise into the server's connection handlers. Sent as raw wire text (tests.clients
.RawSocket) because a well-behaved client library refuses to send most of them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.clients import RawSocket
from tests.conftest import Running

Raw = Callable[[str], Awaitable[RawSocket]]


@pytest.fixture
async def raw(running: Running) -> AsyncIterator[Raw]:
    sockets: list[RawSocket] = []

    async def make(token: str) -> RawSocket:
        socket = RawSocket(running.url)
        sockets.append(socket)
        await socket.connect(token)
        return socket

    yield make
    for socket in sockets:
        await socket.close()


def code(ack: object) -> str | None:
    assert isinstance(ack, dict), ack
    error = ack.get("error")
    return error["code"] if isinstance(error, dict) else None


HOSTILE = [
    ("1,000-deep payload", '["chat:send",' + "[" * 1000 + "]" * 1000 + "]", "json_too_deep"),
    ("1,000-deep object", '["chat:send",' + '{"a":' * 1000 + "1" + "}" * 1000 + "]",
     "json_too_deep"),
    ("30,000-deep payload", '["chat:send",' + "[" * 30000 + "]" * 30000 + "]", "json_too_deep"),
    ("enormous integer", '["case:rate",{"score":' + "9" * 5000 + "}]", "number_too_large"),
    ("NaN", '["case:rate",{"score":NaN}]', "json_invalid"),
    ("lone surrogate", '["chat:send",{"room_id":"r","text":"\\ud800"}]', "json_invalid"),
    ("not JSON", '["chat:send",{', "json_invalid"),
    ("no event name", "[]", "bad_request"),
    ("a number as event name", "[7,{}]", "bad_request"),
    ("a list as event name", '[["chat:send"],{}]', "bad_request"),
    ("an object, not an event", '{"a":1}', "bad_request"),
    ("connect", '["connect",{"token":"forged"}]', "event_reserved"),
    ("connect with auth", '["connect",{},{"token":"forged"}]', "event_reserved"),
    ("disconnect", '["disconnect","client namespace disconnect"]', "event_reserved"),
    ("connect_error", '["connect_error",{}]', "event_reserved"),
    ("the refusal event itself", '["parley:refused",{}]', "event_reserved"),
]


@pytest.mark.parametrize(("name", "packet", "expected"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_hostile_packets_get_an_error_ack(running: Running, raw: Raw, name: str,
                                                packet: str, expected: str) -> None:
    await running.add_lawyer()
    lawyer = await raw(await running.login())
    assert code(await lawyer.call_raw(packet)) == expected, name
    # The connection and its principal are intact: the next event is served as before.
    reply = await lawyer.call_raw('["agent:resume",{}]')
    assert code(reply) is None and reply["ok"], (name, reply)


async def test_a_client_cannot_disconnect_itself_from_the_queue(running: Running,
                                                                raw: Raw) -> None:
    """Emitting 'disconnect' once ran the server's disconnect handler: a lawyer vanished from
    presence while connected. Now it is refused and the lawyer stays on duty."""
    await running.add_lawyer()
    lawyer = await raw(await running.login())
    assert code(await lawyer.call_raw('["agent:availability",{"status":"available"}]')) is None
    assert code(await lawyer.call_raw('["disconnect"]')) == "event_reserved"
    await running.intake()
    reply = await lawyer.call_raw('["queue:take_next",{}]')
    assert code(reply) is None and reply["ok"], reply


def _all_events() -> list[str]:
    from signaling.agreements.events import AGREEMENT_EVENTS
    from signaling.events import EVENTS
    from signaling.mediation.events import MEDIATION_EVENTS
    from signaling.recording.events import RECORDING_EVENTS

    return sorted({*EVENTS, *MEDIATION_EVENTS, *AGREEMENT_EVENTS, *RECORDING_EVENTS})


payloads = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
    | st.sampled_from(["²", "１２", "\u0000", "\ud800"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["case_id", "room_id", "text", "score", "sdp",
                                       "candidate", "status", "version", "member_id"])
                      | st.text(max_size=8), children, max_size=5),
    max_leaves=15,
)
RAW_PAYLOADS = ["[" * 1000 + "]" * 1000, "9" * 5000, "NaN", "-Infinity", '"\\ud800"', "{",
                '{"a":' * 40 + "1" + "}" * 40, "1e999", '"' + "x" * 70_000 + '"']


@settings(max_examples=80, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_fuzzed_events_always_get_an_ack_without_internal_errors(
        running: Running, raw: Raw, data: st.DataObject) -> None:
    tokens = await _tokens(running)
    event = data.draw(st.sampled_from(_all_events()) | st.text(max_size=12))
    if data.draw(st.booleans()):
        payload = data.draw(st.sampled_from(RAW_PAYLOADS))
    else:
        payload = json.dumps(data.draw(payloads))
    socket = await raw(tokens[data.draw(st.sampled_from(sorted(tokens)))])
    try:
        ack = await socket.call_raw(f"[{json.dumps(event)},{payload}]")
    finally:
        await socket.close()
    assert isinstance(ack, dict) and ("ok" in ack or "error" in ack), ack
    if "error" in ack:
        assert ack["error"]["code"] != "internal", (event, payload[:200], ack)


async def _tokens(running: Running) -> dict[str, str]:
    """One token per kind of caller, made once per server."""
    cached: dict[str, str] | None = getattr(running, "_fuzz_tokens", None)
    if cached is None:
        cached = {}
        for username, role in [("law1", "lawyer"), ("med1", "mediator"), ("sup1", "supervisor"),
                               ("clerk1", "clerk")]:
            await running.add_lawyer(username, role=role)
            cached[username] = await running.login(username)
        _, cached["citizen"] = await running.intake()
        object.__setattr__(running, "_fuzz_tokens", cached)
    return cached


@pytest.mark.parametrize("auth", ["[" * 1000 + "]" * 1000, '{"token":' + "9" * 5000 + "}",
                                  '{"token":NaN}', "{"])
async def test_a_hostile_connect_packet_is_refused_with_a_code(running: Running,
                                                               auth: str) -> None:
    socket = RawSocket(running.url)
    try:
        answer = await socket.handshake(auth)
    finally:
        await socket.close()
    assert answer.startswith("44") and "token_missing" in answer, answer
