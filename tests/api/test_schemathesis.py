"""Property-based run of the OpenAPI document against the app: no 5xx, no answer that breaks
the documented schema (status codes, content types, headers, bodies). POST /v1/run is covered
by its own tests (it needs Dagster)."""
from __future__ import annotations

from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from plexrecs_api.app import create_app


def on_loopback(app):
    """Schemathesis calls the app as Host "testserver", which the API's Host allow-list refuses
    (DNS-rebinding guard); present its requests as what they are, calls over loopback."""
    async def shim(scope, receive, send):
        if scope["type"] == "http":
            headers = [(name, b"127.0.0.1") if name == b"host" else (name, value) for name, value in scope["headers"]]
            scope = {**scope, "headers": headers}
        await app(scope, receive, send)

    return shim


@pytest.fixture
def api_schema(filled):
    return schemathesis.openapi.from_asgi("/openapi.json", on_loopback(create_app(filled.config_dir, env={})))


schema = schemathesis.pytest.from_fixture("api_schema").include(method="GET")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_get_endpoints_conform_to_the_openapi_document(case):
    case.call_and_validate()


def test_every_configured_label_answers_within_the_schema(filled):
    loaded = schemathesis.openapi.from_asgi("/openapi.json", on_loopback(create_app(filled.config_dir, env={})))
    statuses = []
    for path in ("/v1/recs/{label}/latest", "/v1/recs/{label}/latest/raw"):
        for label in filled.labels:
            case = loaded[path]["GET"].Case(path_parameters={"label": label})
            response = case.call()
            assert response.request.url.endswith(quote(label, safe="") + path.split("{label}")[1])
            case.validate_response(response)
            statuses.append(response.status_code)
    assert statuses.count(200) >= len(filled.labels)
