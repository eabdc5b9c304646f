"""REST routes declared once: the declaration registers the aiohttp route, validates its input
(``body_of``, ``query_of``) and feeds the OpenAPI document served at /api/openapi.json."""

from server.rest.routes import (
    REGISTRY_KEY,
    Auth,
    Route,
    actions,
    body_of,
    query_of,
    read_json,
    register,
)

__all__ = ["REGISTRY_KEY", "Auth", "Route", "actions", "body_of", "query_of", "read_json",
           "register"]
