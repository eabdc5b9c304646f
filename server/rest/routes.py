"""One declaration per REST route: it registers the aiohttp route and feeds the OpenAPI
document (``server.rest.openapi``), so what clients read is what the server validates.

A handler reads its input only through ``body_of`` and ``query_of``, which refuse a model the
route did not declare: the document cannot describe one model while the handler parses another.
Path parameters are checked here once (length, storable text) for every route."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from server.errors import ParleyError, bad_request, not_found
from server.policy import Action
from server.untrusted_json import MAX_PAYLOAD_BYTES, clean_text, loads, too_large
from server.validation import parse

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)

MAX_PATH_PARAM = 200


class Auth(StrEnum):
    """How a caller proves who they are (the OpenAPI ``security`` of the route)."""

    PUBLIC = "public"
    BEARER = "bearer"  # Authorization: Bearer <token> from /api/login, /api/intake, an invitation
    SIGNED_LINK = "signed_link"  # ?exp=&sig= handed out by a route that checked the permission
    LOOPBACK_OR_BEARER = "loopback_or_bearer"  # /metrics (docs/security.md)


@dataclass(frozen=True)
class Route:
    """A REST route as clients see it. ``errors`` lists the route's own error codes; the
    generator adds those every route of its kind can answer (validation, tokens, not found)."""

    method: str
    path: str
    handler: Handler
    summary: str
    action: Action | None = None
    auth: Auth = Auth.BEARER
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    # The success reply: a model, or a description of what the handler returns.
    response: type[BaseModel] | None = None
    returns: str = "JSON object"
    status: int = 200
    content_type: str = "application/json"
    # A body that is not JSON (a document upload): its media type.
    raw_body: str | None = None
    errors: tuple[str, ...] = ()
    tag: str = "parley"

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)


ROUTE_KEY = web.RequestKey("route", Route)
# Every route registered on this application, in order: the OpenAPI document is made from it.
REGISTRY_KEY = web.AppKey("rest_routes", list[Route])


def register(app: web.Application, routes: Sequence[Route]) -> None:
    """Add ``routes`` to the aiohttp router and to the application's registry."""
    registry = app.setdefault(REGISTRY_KEY, [])
    for route in routes:
        if any(r.key == route.key for r in registry):
            raise ValueError(f"route declared twice: {route.method} {route.path}")
        registry.append(route)
        app.router.add_route(route.method, route.path, _bound(route))


def actions(routes: Sequence[Route]) -> dict[tuple[str, str], Action | None]:
    """Each route and the action it performs (None: public or a signed link)."""
    return {route.key: route.action for route in routes}


def _bound(route: Route) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        for value in request.match_info.values():
            # No stored identifier is this long or holds a NUL: nothing to find.
            if len(value) > MAX_PATH_PARAM or not clean_text(value):
                raise not_found()
        request[ROUTE_KEY] = route
        return await route.handler(request)

    handle.__name__ = getattr(route.handler, "__name__", "handle")
    return handle


async def body_of(request: web.Request, model: type[M],
                  context: dict[str, Any] | None = None) -> M:
    """The request's JSON body validated against ``model``, the route's declared body
    (``context``: pydantic's validation context, e.g. the deployment's catalogue)."""
    route = request[ROUTE_KEY]
    if route.body is not model:
        raise RuntimeError(f"{route.method} {route.path} declares {route.body}, not {model}")
    return parse(model, await read_json(request), context)


def query_of(request: web.Request, model: type[M]) -> M:
    """The query string validated against ``model``, the route's declared query."""
    route = request[ROUTE_KEY]
    if route.query is not model:
        raise RuntimeError(f"{route.method} {route.path} declares {route.query}, not {model}")
    values: dict[str, str] = {}
    for name, value in request.query.items():
        if name in values:
            raise bad_request(f"{name}: given more than once", name)
        if not clean_text(value):
            raise bad_request(f"{name}: not text", name)
        values[name] = value
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or None
        raise bad_request(f"{field}: {error['msg']}" if field else error["msg"], field) from None


async def read_json(request: web.Request) -> object:
    """The body as JSON: at most 64 KiB, ``application/json`` in UTF-8, within the limits of
    ``server.untrusted_json``. An empty body reads as ``{}``."""
    if request.content_length is not None and request.content_length > MAX_PAYLOAD_BYTES:
        raise too_large(request.content_length)
    raw = bytearray()
    while len(raw) <= MAX_PAYLOAD_BYTES:  # read() may return less than asked: loop to EOF
        chunk = await request.content.read(MAX_PAYLOAD_BYTES + 1 - len(raw))
        if not chunk:
            break
        raw += chunk
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise too_large()
    if not raw:
        return {}
    if request.content_type not in ("application/json", "text/json") and not (
            request.content_type.startswith("application/")
            and request.content_type.endswith("+json")):
        raise ParleyError("unsupported_media_type",
                          "请以 JSON 发送 / send the body as application/json", 415)
    charset = request.charset
    if charset is not None and charset.lower() not in ("utf-8", "utf8"):
        raise ParleyError("unsupported_media_type", "请使用 UTF-8 / the body must be UTF-8", 415)
    return loads(bytes(raw))
