"""Hostile REST input gets a 4xx with a stable code, never a 500: enormous integers, deep
nesting, odd numerals, oversize bodies, wrong content types, invalid UTF-8; and every refusal,
aiohttp's own included, carries the pages' security headers."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.conftest import Running

DEEP_LIST = b"[" * 1000 + b"]" * 1000
DEEP_OBJECT = b'{"a":' * 1000 + b"1" + b"}" * 1000


def _login(**fields: str) -> bytes:
    import json
    return json.dumps({"username": "lawyer1", "password": "correct horse", **fields}).encode()


HOSTILE: list[tuple[str, bytes, str, int, str]] = [
    # name, body, content type, expected status, expected code
    ("enormous integer", b'{"username": ' + b"9" * 5000 + b', "password": "x"}',
     "application/json", 400, "number_too_large"),
    ("integer past 64 bits", b'{"username": 123456789012345678901234, "password": "x"}',
     "application/json", 400, "number_too_large"),
    ("huge exponent", b'{"username": 1e999, "password": "x"}', "application/json", 400,
     "number_too_large"),
    ("1,000-deep list", DEEP_LIST, "application/json", 400, "json_too_deep"),
    ("1,000-deep object", DEEP_OBJECT, "application/json", 400, "json_too_deep"),
    ("100,000-deep list", b"[" * 30000 + b"]" * 30000, "application/json", 400,
     "json_too_deep"),
    ("NaN", b'{"username": NaN, "password": "x"}', "application/json", 400, "json_invalid"),
    ("invalid UTF-8", b'{"username": "\xff\xfe", "password": "x"}', "application/json", 400,
     "json_invalid"),
    ("UTF-16", _login().decode().encode("utf-16"), "application/json", 400, "json_invalid"),
    ("lone surrogate", b'{"username": "\\ud800", "password": "x"}', "application/json", 400,
     "json_invalid"),
    ("NUL in text", b'{"username": "a\\u0000b", "password": "x"}', "application/json", 400,
     "json_invalid"),
    ("text/plain", _login(), "text/plain", 415, "unsupported_media_type"),
    ("form", b"username=lawyer1&password=x", "application/x-www-form-urlencoded", 415,
     "unsupported_media_type"),
    ("latin-1 charset", _login(), "application/json; charset=latin-1", 415,
     "unsupported_media_type"),
    ("oversize", b'{"username": "' + b"a" * 70_000 + b'"}', "application/json", 413,
     "payload_too_large"),
    ("not an object", b"[1, 2]", "application/json", 400, "bad_request"),
]


async def _post(url: str, body: bytes, content_type: str | None,
                headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    all_headers = {**({"Content-Type": content_type} if content_type else {}), **(headers or {})}
    async with aiohttp.ClientSession() as session, session.post(
            url, data=body, headers=all_headers) as response:
        return response.status, await response.json(content_type=None), response.headers


@pytest.mark.parametrize(("name", "body", "content_type", "status", "code"), HOSTILE,
                         ids=[h[0] for h in HOSTILE])
async def test_hostile_bodies_get_a_clear_code(running: Running, name: str, body: bytes,
                                               content_type: str, status: int, code: str) -> None:
    got, reply, _ = await _post(running.url + "/api/login", body, content_type)
    assert (got, reply["error"]["code"]) == (status, code), (name, reply)


async def test_a_well_formed_login_still_works(running: Running) -> None:
    await running.add_lawyer()
    got, reply, _ = await _post(running.url + "/api/login", _login(), "application/json")
    assert got == 200 and reply["token"]
    # An empty body still reads as {} (and then fails validation, not parsing).
    got, reply, _ = await _post(running.url + "/api/login", b"", None)
    assert (got, reply["error"]["code"]) == (400, "bad_request")


async def test_odd_numerals_are_refused_not_crashed_on(running: Running) -> None:
    await running.add_lawyer("med1", role="mediator")
    token = await running.login("med1")
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session:
        for version in ("²", "１", "٣", "1" * 5000, "-1"):
            async with session.get(
                    f"{running.url}/api/mediations/m1/agreement/pdf",
                    params={"version": version}, headers=headers) as response:
                body = await response.json()
                assert (response.status, body["error"]["code"]) == (400, "bad_request"), version
                assert body["error"]["field"] == "version"


async def test_full_width_digits_are_not_a_phone_number(running: Running) -> None:
    from tests.clients import intake_body, post_json

    status, body = await post_json(running.url, "/api/intake",
                                   intake_body(phone="138００１３８０００"))
    assert (status, body["error"]["field"]) == (400, "phone")


async def test_hostile_path_parameters_are_not_found(running: Running) -> None:
    await running.add_lawyer("sup1", role="supervisor")
    headers = {"Authorization": f"Bearer {await running.login('sup1')}"}
    async with aiohttp.ClientSession() as session:
        for case_id in ("a%00b", "x" * 300, "%F0%9F%92%A9²"):
            async with session.get(f"{running.url}/api/cases/{case_id}",
                                   headers=headers) as response:
                assert response.status == 404, case_id
                assert (await response.json())["error"]["code"] == "not_found"


SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")


async def test_refusals_carry_the_security_headers(running: Running) -> None:
    async with aiohttp.ClientSession() as session:
        for method, path, status in [("GET", "/api/no-such-route", 404),
                                     ("GET", "/no/such/page", 404),
                                     ("DELETE", "/api/catalogue", 405),
                                     ("GET", "/api/cases/c1", 401),
                                     ("GET", "/", 200)]:
            async with session.request(method, running.url + path) as response:
                assert response.status == status, path
                for header in SECURITY_HEADERS:
                    assert header in response.headers, (method, path, header)
                if status >= 400:
                    assert "code" in (await response.json())["error"]
    status, _, headers = await _post(running.url + "/api/login",
                                     b'{"a": "' + b"x" * 70_000 + b'"}', "application/json")
    assert status == 413 and all(h in headers for h in SECURITY_HEADERS)
