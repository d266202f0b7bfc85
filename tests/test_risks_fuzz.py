"""schemathesis on the risk endpoints with a register to hit (the suite-wide fuzz has no risks):
no server errors, every answer matches the OpenAPI document."""
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tracker.services import risks as service

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def risk_schema(app, db, admin, make_user, make_project, make_department):
    dept = make_department()
    project = make_project(supervisor=make_user("supervisor"))
    for n, level in enumerate(["high", "medium", "low"], start=1):
        risk = service.create_risk(admin, project, title=f"风险{n}", category="land", level=level,
                                   department_id=dept.id)
        service.change_risk(admin, risk, status="mitigated", reason="缓解")
    db.session.commit()
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).include(path_regex="risks")


@pytest.fixture
def admin_headers(client, admin):
    def issue() -> dict:
        response = client.post("/api/v1/tokens", json={"username": "admin",
                                                       "password": "secret-pass-1"})
        return {"Authorization": f"Bearer {response.get_json()['token']}"}
    return issue


schema = schemathesis.pytest.from_fixture("risk_schema").include(path_regex="risks")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_risk_endpoints_match_the_document(case, admin_headers):
    case.call_and_validate(headers=admin_headers())
