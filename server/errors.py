"""One error type with a stable code, turned into the same JSON shape by REST and socket.io."""

from __future__ import annotations

from typing import Any


class ParleyError(Exception):
    """A refusal the client should see. ``code`` is stable and documented in docs/protocol.md."""

    def __init__(self, code: str, message: str, status: int = 400, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.field = field
        # HTTP headers of the REST reply (``Retry-After`` of a 429); socket replies ignore them.
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return {"error": body}


def bad_request(message: str, field: str | None = None) -> ParleyError:
    return ParleyError("bad_request", message, 400, field)


def forbidden(message: str = "不允许此操作 / not allowed") -> ParleyError:
    return ParleyError("forbidden", message, 403)


def not_found(message: str = "未找到 / not found") -> ParleyError:
    return ParleyError("not_found", message, 404)


def invalid_state(message: str) -> ParleyError:
    return ParleyError("invalid_state", message, 409)
