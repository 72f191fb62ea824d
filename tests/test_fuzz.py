"""Schemathesis against the service's own OpenAPI schema, with all of its checks: no 5xx, every response
conforms to the schema, schema-valid requests are accepted and schema-invalid ones refused.

Each operation gets a bounded number of generated requests, valid (positive) and invalid (negative).
(Driven through Hypothesis directly: schemathesis' pytest fixture loader does not run under pytest 9.)
Two rules span several parameters, which OpenAPI cannot state per parameter (the schema says them in
the parameters' descriptions): start and end of a cited passage come together with
0 <= start < end <= the text's length, and a council filter must name a council the corpus covers.
A valid request refused by one of those two, with its own message, is not counted against the schema;
any other refusal of valid data is.
"""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from rag.app import create_app

OPERATIONS = ["GET /healthz", "HEAD /healthz", "GET /api/search", "POST /api/ask", "GET /api/documents",
              "GET /api/documents/{doc_id}", "GET /api/councils", "GET /api/councils/{slug}",
              "POST /api/feedback", "GET /api/feedback",
              "POST /api/documents", "DELETE /api/documents/{doc_id}", "GET /api/uploads/{job_id}"]
EXAMPLES = {GenerationMode.POSITIVE: 60, GenerationMode.NEGATIVE: 40}
CROSS_PARAMETER_RULES = ("start and end must be given together", "No documents cover the council")


def positive_data_accepted(ctx, response, case):
    """schemathesis' positive_data_acceptance, but for the two cross-parameter rules above."""
    if response.status_code == 422 and any(rule in response.text for rule in CROSS_PARAMETER_RULES):
        return None
    return positive_data_acceptance(ctx, response, case)


@pytest.fixture(scope="module")
def api_schema(service):
    app = create_app(service.settings.with_overrides(rate_limit=0, watch_index=False, access_log="off"),
                     service=service)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_the_schema_lists_every_api_operation(api_schema):
    found = {f"{op.ok().method.upper()} {op.ok().path}" for op in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


def test_the_schema_states_the_question_limits(api_schema):
    raw = api_schema.raw_schema
    q = next(p for p in raw["paths"]["/api/search"]["get"]["parameters"] if p["name"] == "q")
    assert q["required"] and {"minLength": 1, "maxLength": 2000, "pattern": r"[^\s\x1c-\x1f\x85]"}.items() <= q["schema"].items()
    question = raw["components"]["schemas"]["AskBody"]["properties"]["question"]
    assert question["minLength"] == 1 and question["maxLength"] == 2000


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=lambda m: m.value)
@pytest.mark.parametrize("label", OPERATIONS)
def test_api_never_fails_and_matches_its_schema(api_schema, label, mode):
    method, path = label.split(" ", 1)
    operation = api_schema[path][method]
    if mode is GenerationMode.NEGATIVE and not operation.definition.raw.get("parameters") \
            and "requestBody" not in operation.definition.raw:
        pytest.skip("nothing to get wrong: no parameters, no body")

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES[mode], deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case):
        case.call_and_validate(excluded_checks=[positive_data_acceptance], additional_checks=[positive_data_accepted])

    try:
        check()
    except Unsatisfiable:  # e.g. a path parameter that takes any string: there is no invalid request
        assert mode is GenerationMode.NEGATIVE
        pytest.skip("the schema admits every request schemathesis can make here")
