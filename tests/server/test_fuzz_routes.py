"""Property test: hostile bodies, query strings and path parameters sent to EVERY registered REST
route (enumerated from the route registry that also makes /api/openapi.json), as every kind of
caller, never get a 500; every refusal has a machine-readable code."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.rest import REGISTRY_KEY, Route
from tests.conftest import Running

PARAM = re.compile(r"\{([^}]+)\}")

RAW_BODIES: list[tuple[bytes, str | None]] = [
    (b'{"a": ' + b"9" * 5000 + b"}", "application/json"),
    (b"[" * 1000 + b"]" * 1000, "application/json"),
    (b'{"a":' * 1000 + b"1" + b"}" * 1000, "application/json"),
    (b"[" * 30000 + b"]" * 30000, "application/json"),
    (b'{"a": NaN, "b": -Infinity}', "application/json"),
    (b'{"a": "\xff\xfe\xfd"}', "application/json"),
    (b'{"a": "\\ud800\\udfff\\udc00", "b": "\\u0000"}', "application/json"),
    (b'{"version": "\xc2\xb2", "score": "\xef\xbc\x91"}', "application/json"),
    (b"x" * 70_000, "application/json"),
    (b'{"a": 1}', "text/plain"),
    (b'{"a": 1}', "application/json; charset=iso-8859-1"),
    (b"\x00\x01\x02", None),
    (b"[]", "application/json"),
    (b'"just a string"', "application/json"),
    (b"{", "application/json"),
]
PATH_VALUES = ["x", "²", "１２", "%00", "%F0%9F%92%A9", "9" * 300, "..", "%2e%2e", "0" * 32,
               "-1", "1e999"]
QUERIES = ["", "version=%C2%B2", "version=%EF%BC%91", "version=" + "9" * 5000,
           "exp=%C2%B2&sig=x",
           "exp=" + "9" * 400 + "&sig=a", "filename=%00", "filename=%ED%A0%80", "a=1&a=2",
           "version=1&version=2", "exp=1&exp=2&sig=x&sig=y"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
    | st.sampled_from(["²", "１２３", "٣", "\u0000", "9" * 30, "1e999", "NaN"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@pytest.fixture
async def tokens(running: Running) -> AsyncIterator[dict[str, str | None]]:
    for username, role in [("law1", "lawyer"), ("med1", "mediator"), ("sup1", "supervisor"),
                           ("clerk1", "clerk")]:
        await running.add_lawyer(username, role=role)
    found: dict[str, str | None] = {"none": None, "forged": "e30.e30.x"}
    for username in ("law1", "med1", "sup1", "clerk1"):
        found[username] = await running.login(username)
    _, found["citizen"] = await running.intake()
    yield found


def _routes(running: Running) -> list[Route]:
    routes: list[Route] = running.app[REGISTRY_KEY]
    assert len(routes) > 30  # the registry is the whole API, not a sample
    return routes


def _path(route: Route, values: list[str]) -> str:
    names = PARAM.findall(route.path)
    path = route.path
    for name, value in zip(names, values, strict=False):
        # The listed values are written pre-encoded; drawn text is quoted here.
        encoded = value if value in PATH_VALUES and "%" in value else quote(value, safe="")
        path = path.replace("{" + name + "}", encoded)
    return path


async def _send(session: aiohttp.ClientSession, url: str, method: str, body: bytes,
                content_type: str | None, token: str | None) -> tuple[int, Any]:
    headers = {}
    if content_type:
        headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with session.request(method, aiohttp.client.URL(url, encoded=True), data=body,
                               headers=headers) as response:
        text = await response.read()
        if response.status >= 400:
            return response.status, json.loads(text)
        return response.status, None


async def test_every_route_refuses_the_hostile_bodies(running: Running,
                                                      tokens: dict[str, str | None]) -> None:
    failures = []
    async with aiohttp.ClientSession() as session:
        for route in _routes(running):
            for caller in ("none", "med1", "sup1", "citizen"):
                for body, content_type in RAW_BODIES:
                    url = running.url + _path(route, ["x"] * 3)
                    status, error = await _send(session, url, route.method, body, content_type,
                                                tokens[caller])
                    if status >= 500 or (status >= 400 and "code" not in error["error"]):
                        failures.append((route.key, caller, body[:40], status, error))
    assert not failures, failures[:5]


@settings(max_examples=250, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_fuzzed_requests_never_get_a_500(running: Running, tokens: dict[str, str | None],
                                               data: st.DataObject) -> None:
    routes = _routes(running)
    route = data.draw(st.sampled_from(routes))
    caller = data.draw(st.sampled_from(sorted(tokens)))
    values = data.draw(st.lists(st.sampled_from(PATH_VALUES) | st.text(min_size=1, max_size=20),
                                min_size=3, max_size=3))
    query = data.draw(st.sampled_from(QUERIES))
    if route.body is not None and data.draw(st.booleans()):
        # The model's own field names with values of every type: reaches the validators.
        fields = {name: json_values for name in route.body.model_fields}
        value: Any = data.draw(st.fixed_dictionaries({}, optional=fields))
    else:
        value = data.draw(json_values)
    body = json.dumps(value).encode()
    content_type = data.draw(st.sampled_from(["application/json", None, "text/plain"]))
    url = running.url + _path(route, values) + (f"?{query}" if query else "")
    async with aiohttp.ClientSession() as session:
        status, error = await _send(session, url, route.method, body, content_type,
                                    tokens[caller])
    assert status < 500, (route.key, caller, url, body[:200], error)
    if status >= 400:
        assert isinstance(error["error"]["code"], str)
