"""The OpenAPI 3.1 document of every REST route, made from the route declarations and the
pydantic models that validate the requests (``server.rest.routes``): never written by hand.
Served at ``GET /api/openapi.json``; socket.io events stay in docs/protocol.md."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from server.rest.routes import REGISTRY_KEY, Auth, Route

REF = "#/components/schemas/{model}"

# The HTTP status of every error code a route may answer (docs/protocol.md has their meaning).
ERROR_STATUS: dict[str, int] = {
    "bad_request": 400, "json_invalid": 400, "json_too_deep": 400, "number_too_large": 400,
    "court_not_competent": 400, "identity_required": 400, "participant_unknown": 400,
    "signature_invalid": 400, "public_key_invalid": 400,
    "token_missing": 401, "token_invalid": 401, "token_expired": 401, "bad_credentials": 401,
    "code_invalid": 401,
    "forbidden": 403, "link_invalid": 403, "link_expired": 403, "not_a_party": 403,
    "not_a_signer": 403, "not_a_recipient": 403, "credentials_rejected": 403, "no_court": 403,
    "invitation_revoked": 403,
    "not_found": 404, "invitation_invalid": 404, "agreement_missing": 404,
    "method_not_allowed": 405,
    "invalid_state": 409, "application_exists": 409, "room_full": 409, "already_signed": 409,
    "confirmation_deadline_passed": 409, "version_stale": 409, "hash_mismatch": 409,
    "agreement_invalid": 409, "esign_excluded": 409,
    "invitation_expired": 410, "attempts_locked": 423,
    "payload_too_large": 413, "unsupported_media_type": 415, "unsupported_type": 415,
    "no_phone": 409,
    "rate_limited": 429, "too_many_attempts": 429, "code_too_soon": 429, "internal": 500,
    "pdf_font_missing": 503,
}
_BODY_ERRORS = ("bad_request", "json_invalid", "json_too_deep", "number_too_large",
                "payload_too_large", "unsupported_media_type")
_TOKEN_ERRORS = ("token_missing", "token_invalid", "token_expired", "forbidden")
_PARAM = re.compile(r"\{([^}]+)\}")


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """Every refusal, REST and socket alike."""

    error: ErrorDetail


def document(routes: Sequence[Route], *, version: str = "1") -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes``."""
    models: set[type[BaseModel]] = {ErrorBody}
    for route in routes:
        models.update(m for m in (route.body, route.query, route.response) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    mapping, definitions = models_json_schema([(m, "validation") for m in ordered],
                                              ref_template=REF)
    schemas: dict[str, Any] = dict(definitions.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, mapping)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Parley REST API",
            "version": version,
            "description": "Generated from the route declarations and request models. "
                           "Socket.io events are described in docs/protocol.md.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "A token from /api/login, /api/intake or "
                                          "/api/mediation/join"},
                "signedLink": {"type": "apiKey", "in": "query", "name": "sig",
                               "description": "An expiring signed link (with exp) handed out "
                                              "by a route that checked the permission"},
            },
        },
    }


def _operation(route: Route, mapping: dict[Any, Any]) -> dict[str, Any]:
    def ref(model: type[BaseModel]) -> dict[str, Any]:
        schema: dict[str, Any] = mapping[(model, "validation")]
        return schema

    operation: dict[str, Any] = {
        "operationId": f"{route.method.lower()}_{_slug(route.path)}",
        "summary": route.summary,
        "tags": [route.tag],
        "x-parley-action": route.action.value if route.action else None,
        "x-parley-auth": route.auth.value,
    }
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "string", "maxLength": 200}}
                  for name in _PARAM.findall(route.path)]
    if route.query is not None:
        schema = route.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            parameters.append({"name": name, "in": "query", "required": name in required,
                               "schema": prop})
    if parameters:
        operation["parameters"] = parameters
    errors: list[str] = list(route.errors)
    if route.body is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": ref(route.body)}}}
        errors += _BODY_ERRORS
    elif route.raw_body is not None:
        operation["requestBody"] = {"required": True, "content": {
            route.raw_body: {"schema": {"type": "string", "contentMediaType": route.raw_body}}}}
        errors += ("payload_too_large",)
    if route.query is not None:
        errors.append("bad_request")
    if route.auth in (Auth.BEARER, Auth.LOOPBACK_OR_BEARER):
        errors += _TOKEN_ERRORS
        operation["security"] = [{"bearer": []}]
    elif route.auth is Auth.SIGNED_LINK:
        errors += ("link_invalid", "link_expired")
        operation["security"] = [{"signedLink": []}]
    else:
        operation["security"] = []
    if "{" in route.path:
        errors.append("not_found")
    errors.append("internal")
    operation["responses"] = {str(route.status): _success(route, ref), **_errors(errors)}
    return operation


def _success(route: Route, ref: Any) -> dict[str, Any]:
    if route.response is not None:
        schema = ref(route.response)
    elif route.content_type == "application/json":
        schema = {"type": "object"}
    else:
        schema = {"type": "string", "contentMediaType": route.content_type}
    return {"description": route.returns, "content": {route.content_type: {"schema": schema}}}


def _errors(codes: list[str]) -> dict[str, Any]:
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys(codes):
        by_status.setdefault(ERROR_STATUS[code], []).append(code)
    return {
        str(status): {
            "description": ", ".join(f"`{code}`" for code in names),
            "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorBody")}}},
        }
        for status, names in sorted(by_status.items())
    }


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_")


async def serve(request: web.Request) -> web.Response:
    """GET /api/openapi.json: the document of every route registered on this application."""
    routes: list[Route] = request.app[REGISTRY_KEY]
    return web.json_response(document(routes),
                             headers={"Cache-Control": "no-cache"})


OPENAPI_ROUTE = Route("GET", "/api/openapi.json", serve, "This document (OpenAPI 3.1)",
                      auth=Auth.PUBLIC, returns="The OpenAPI 3.1 document of every REST route",
                      tag="meta")
