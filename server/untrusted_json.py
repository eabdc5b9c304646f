"""Reading JSON a client sent, with limits a hostile client cannot get past.

Python's ``json`` happily builds integers of thousands of digits (and then ``int`` refuses to
print them), recurses until ``RecursionError`` on deep nesting, accepts ``NaN`` and lone UTF-16
surrogates that no database stores. Every REST body and every socket.io payload goes through
``loads`` below, so each of those becomes a 4xx with a stable code instead of a 500 (or, on a
socket, an exception and no ack at all)."""

from __future__ import annotations

import json
import math
from typing import Any

from server.errors import ParleyError

MAX_PAYLOAD_BYTES = 64 * 1024
# Our payloads are at most four levels deep (a candidate inside an event); 32 leaves room and
# stays far below the interpreter's recursion limit for pydantic and json.dumps.
MAX_DEPTH = 32
# Nothing we accept needs more than a 64-bit integer (19 digits) plus a sign.
MAX_INT_DIGITS = 20


def too_large(size: int | None = None) -> ParleyError:
    what = f"payload of {size} bytes" if size is not None else "payload"
    return ParleyError("payload_too_large", f"请求内容过大 / {what} exceeds 64 KiB", 413)


def not_json(detail: str) -> ParleyError:
    return ParleyError("json_invalid", f"请求内容不是有效的 JSON / {detail}", 400)


def too_deep() -> ParleyError:
    return ParleyError("json_too_deep",
                       f"请求内容嵌套过深 / nesting deeper than {MAX_DEPTH} levels", 400)


def number_too_large() -> ParleyError:
    return ParleyError("number_too_large",
                       f"数字过大 / numbers have at most {MAX_INT_DIGITS} digits and are finite",
                       400)


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise number_too_large()
    return int(text)


def _float(text: str) -> float:
    if len(text) > 64:
        raise number_too_large()
    value = float(text)
    if not math.isfinite(value):
        raise number_too_large()
    return value


def _constant(text: str) -> Any:
    raise not_json(f"{text} is not JSON")


_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_constant)


def loads(raw: bytes | str, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> Any:
    """Decode ``raw`` (UTF-8 only) and check it with ``check``; raise ``ParleyError``
    (``payload_too_large``, ``json_invalid``, ``json_too_deep``, ``number_too_large``)."""
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise too_large(size)
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise not_json("body is not UTF-8") from None
    else:
        text = raw
    try:
        data = _DECODER.decode(text)
    except RecursionError:
        raise too_deep() from None
    except json.JSONDecodeError as exc:
        raise not_json(f"{exc.msg} at position {exc.pos}") from None
    except ValueError:  # int() refusing a huge number the decoder let through
        raise number_too_large() from None
    check(data)
    return data


def check(data: Any) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH`` and strings no database stores (lone
    surrogates, NUL), walking iteratively so a deep value cannot exhaust the stack."""
    if type(data) is str:
        _check_text(data)
        return
    stack: list[tuple[Any, int]] = [(data, 1)]
    push, pop = stack.append, stack.pop
    while stack:
        value, depth = pop()
        kind = type(value)
        if kind is dict:
            if depth > MAX_DEPTH:
                raise too_deep()
            for key, item in value.items():
                if type(key) is str:
                    _check_text(key)
                push((item, depth + 1))
        elif kind is list or kind is tuple:
            if depth > MAX_DEPTH:
                raise too_deep()
            for item in value:
                push((item, depth + 1))
        elif kind is str:
            _check_text(value)
        elif kind is int:
            if value.bit_length() > 64:
                raise number_too_large()
        elif kind is float and not math.isfinite(value):
            raise number_too_large()


def _check_text(value: str) -> None:
    if "\x00" in value:
        raise not_json("text contains a NUL character")
    if value.isascii():
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise not_json("text contains a lone surrogate") from None


def clean_text(value: str) -> bool:
    """Whether ``value`` (a path or query parameter) is text a database can store."""
    try:
        _check_text(value)
    except ParleyError:
        return False
    return True
