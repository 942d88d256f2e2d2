"""Schemathesis against /api/v1/schema/: no 5xx, no answer that contradicts the schema."""

from hypothesis import HealthCheck, given, settings

from tests.api_schema import CONFORMANCE_CHECKS as CHECKS

# Contract, section 2: every endpoint of the REST table, as method and path.
CONTRACT_OPERATIONS = {
    "GET /api/v1/alerts/",
    "POST /api/v1/alerts/",
    "GET /api/v1/alerts/{id}/",
    "PATCH /api/v1/alerts/{id}/",
    "DELETE /api/v1/alerts/{id}/",
    "POST /api/v1/alerts/{id}/acknowledge/",
    "POST /api/v1/alerts/{id}/resolve/",
    "GET /api/v1/incidents/",
    "POST /api/v1/incidents/",
    "GET /api/v1/incidents/{id}/",
    "PATCH /api/v1/incidents/{id}/",
    "POST /api/v1/incidents/{id}/alerts/",
    "GET /api/v1/incidents/{id}/timeline/",
    "POST /api/v1/incidents/{id}/notes/",
    "GET /api/v1/rules/",
    "POST /api/v1/rules/",
    "GET /api/v1/rules/{id}/",
    "PATCH /api/v1/rules/{id}/",
    "DELETE /api/v1/rules/{id}/",
    "GET /api/v1/silences/",
    "POST /api/v1/silences/",
    "DELETE /api/v1/silences/{id}/",
    "POST /api/v1/metrics/ingest/",
    "GET /api/v1/metrics/series/",
    "GET /api/v1/metrics/query/",
    "GET /api/v1/metrics/latest/",
    "GET /api/v1/stats/",
}


def test_the_schema_describes_every_endpoint_of_the_contract(api_schema):
    described = {result.ok().label for result in api_schema.get_all_operations()}
    assert described >= CONTRACT_OPERATIONS, sorted(CONTRACT_OPERATIONS - described)


def test_every_endpoint_answers_within_its_schema(api_schema, api_key):
    headers = {"Authorization": f"Token {api_key}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    called = set()  # operations a generated case actually reached

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
        )
        def answers_within_schema(case):
            case.call_and_validate(headers=headers, checks=CHECKS)
            called.add(case.operation.label)

        answers_within_schema()

    # None left out: not one whose strategy could not be built, none filtered away.
    assert called == {operation.label for operation in operations}
