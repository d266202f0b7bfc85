"""schemathesis against the generated OpenAPI document, in-process (WSGI): no server errors,
every answer matches the document, authentication is honoured.

`FUZZ_EXAMPLES` sets the examples per operation (default 12 in `make test`)."""
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.generation.meta import GenerationMode, ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tracker.models import ProblemStatus

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))


@pytest.fixture
def api_schema(app, db, admin, make_user, make_project, make_problem, make_department):
    dept = make_department()
    supervisor = make_user("supervisor")
    project = make_project(supervisor=supervisor)
    for status in ProblemStatus:
        make_problem(project, status, department=dept)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def fresh_headers(client, admin):
    def issue() -> dict:
        response = client.post("/api/v1/tokens", json={"username": "admin",
                                                       "password": "secret-pass-1"})
        return {"Authorization": f"Bearer {response.get_json()['token']}"}
    return issue


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_answers_match_the_document(case, fresh_headers):
    # Every check runs except "schema-valid data is accepted": a body can be valid against the
    # document yet name an object that does not exist or does not fit (another project's id, a
    # department for an admin), which the contract answers with a 400 naming the field.
    # A case whose headers were generated to break the document keeps its own (broken)
    # Authorization, which must be refused: a fresh token over it would make the request valid
    # again, and the check that invalid requests are rejected would then fail on a 200.
    header = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    broken = header is not None and header.mode is GenerationMode.NEGATIVE
    headers = {} if broken and "Authorization" in (case.headers or {}) else fresh_headers()
    case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
