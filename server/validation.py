"""Turning untrusted JSON into validated models, with errors clients can act on."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from server.errors import bad_request
from server.untrusted_json import MAX_PAYLOAD_BYTES, check, too_large

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any, context: dict[str, Any] | None = None) -> M:
    """Validate ``data`` against ``model``; raise ``bad_request`` naming the first bad field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise bad_request("请求内容必须是对象 / payload must be a JSON object")
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or None
        message = error.get("ctx", {}).get("error") or error["msg"]
        raise bad_request(f"{field}: {message}" if field else str(message), field) from None


def check_size(data: Any) -> None:
    """Refuse payloads over 64 KiB (measured as the JSON the client sent), nested too deep,
    or holding numbers and text the limits of ``server.untrusted_json`` refuse."""
    check(data)  # first: json.dumps itself recurses
    try:
        size = len(json.dumps(data, ensure_ascii=False).encode())
    except (TypeError, ValueError):
        raise bad_request("请求内容无法解析 / payload is not JSON") from None
    if size > MAX_PAYLOAD_BYTES:
        raise too_large(size)
