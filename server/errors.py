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


def service_recovering() -> ParleyError:
    """A backend (Redis, the database) is unreachable for now: the client retries shortly."""
    return ParleyError("service_recovering",
                       "服务正在恢复，请稍后重试 / the service is recovering, try again in a few seconds",
                       503)


def is_backend_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) says a backend is unreachable (refused, reset, timed
    out, restarting) rather than that the request was wrong: retryable, not ``internal``."""
    import asyncpg
    from redis import exceptions as redis_errors
    from sqlalchemy import exc as sql_errors

    outages: tuple[type[BaseException], ...] = (
        redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.BusyLoadingError,
        sql_errors.OperationalError, sql_errors.InterfaceError, sql_errors.TimeoutError,
        asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
        asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError, ConnectionError)
    seen: BaseException | None = exc
    for _ in range(6):  # the chain SQLAlchemy and redis-py wrap the driver's error in
        if seen is None:
            return False
        if isinstance(seen, outages):
            return True
        if isinstance(seen, sql_errors.DBAPIError) and seen.connection_invalidated:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
