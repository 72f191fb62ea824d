"""Schemathesis against the service's own OpenAPI schema: no 5xx, and every response conforms to it.

Each operation gets up to 100 generated requests, valid and invalid. (Driven through Hypothesis directly:
schemathesis' pytest fixture loader does not run under pytest 9.)
"""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (content_type_conformance, negative_data_rejection, not_a_server_error,
                                 response_headers_conformance, response_schema_conformance,
                                 status_code_conformance)

from rag.app import create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]
OPERATIONS = ["GET /healthz", "GET /api/search", "POST /api/ask", "GET /api/documents",
              "GET /api/documents/{doc_id}", "GET /api/councils", "GET /api/councils/{slug}",
              "POST /api/feedback", "GET /api/feedback",
              "POST /api/documents", "DELETE /api/documents/{doc_id}", "GET /api/uploads/{job_id}"]


@pytest.fixture(scope="module")
def api_schema(service):
    app = create_app(service.settings.with_overrides(rate_limit=0, watch_index=False, access_log="off"),
                     service=service)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_the_schema_lists_every_api_operation(api_schema):
    found = {f"{op.ok().method.upper()} {op.ok().path}" for op in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


@pytest.mark.parametrize("label", OPERATIONS)
def test_api_never_fails_and_matches_its_schema(api_schema, label):
    method, path = label.split(" ", 1)
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case):
        case.call_and_validate(checks=CHECKS)

    check()
