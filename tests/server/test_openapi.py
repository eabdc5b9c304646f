"""The OpenAPI document: served, valid OpenAPI 3.1, and complete (every registered REST route,
with the models that validate its input)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

from server.config import Settings
from server.rest import REGISTRY_KEY
from server.rest.openapi import ERROR_STATUS
from tests.clients import get_json
from tests.conftest import Running

REST_PREFIXES = ("/api", "/healthz", "/metrics")
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _registered(app: Any) -> set[tuple[str, str]]:
    return {(r.method, r.resource.canonical) for r in app.router.routes()
            if r.resource is not None and r.resource.canonical.startswith(REST_PREFIXES)
            and r.method != "HEAD"}


async def test_the_document_is_served_valid_and_lists_every_route(running: Running) -> None:
    status, doc = await get_json(running.url, "/api/openapi.json")
    assert status == 200
    validate(doc)  # raises on any structural error of OpenAPI 3.1
    assert doc["openapi"].startswith("3.1")
    documented = {(method.upper(), path) for path, item in doc["paths"].items()
                  for method in item}
    missing = _registered(running.app) - documented
    assert not missing, f"routes missing from /api/openapi.json: {sorted(missing)}"
    assert documented == _registered(running.app)


async def test_request_bodies_come_from_the_validating_models(running: Running) -> None:
    _, doc = await get_json(running.url, "/api/openapi.json")
    login = doc["paths"]["/api/login"]["post"]
    ref = login["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/LoginBody"
    schema = doc["components"]["schemas"]["LoginBody"]
    # Straight from the pydantic model: its limits and its refusal of unknown fields.
    assert schema["properties"]["password"]["maxLength"] == 256
    assert schema["additionalProperties"] is False
    pdf = doc["paths"]["/api/mediations/{case_id}/agreement/pdf"]["get"]
    version = next(p for p in pdf["parameters"] if p["name"] == "version")
    assert version["in"] == "query" and not version["required"]
    assert {p["name"] for p in pdf["parameters"] if p["in"] == "path"} == {"case_id"}
    # Every $ref resolves inside the document.
    text = str(doc)
    for name in set(re.findall(r"#/components/schemas/(\w+)", text)):
        assert name in doc["components"]["schemas"], name


async def test_each_operation_states_its_permission_and_errors(running: Running) -> None:
    _, doc = await get_json(running.url, "/api/openapi.json")
    sign = doc["paths"]["/api/mediations/{case_id}/agreement/signatures"]["post"]
    assert sign["x-parley-action"] == "agreement.sign"
    assert sign["security"] == [{"bearer": []}]
    assert "`already_signed`" in sign["responses"]["409"]["description"]
    assert "`token_missing`" in sign["responses"]["401"]["description"]
    assert "`json_too_deep`" in sign["responses"]["400"]["description"]
    assert doc["paths"]["/api/login"]["post"]["security"] == []
    export = doc["paths"]["/api/recordings/{recording_id}/export"]["get"]
    assert export["security"] == [{"signedLink": []}] and export["x-parley-action"] is None


def test_every_error_code_is_documented_in_the_protocol() -> None:
    protocol = (DOCS / "protocol.md").read_text()
    table = protocol[protocol.index("## Error codes"):]
    for code in ERROR_STATUS:
        assert f"`{code}`" in protocol, code
    assert "`json_too_deep`" in table


def test_every_route_of_the_app_is_declared(settings: Settings) -> None:
    from signaling.app.factory import create_app

    app = create_app(settings)
    declared = {route.key for route in app[REGISTRY_KEY]}
    assert _registered(app) == declared
