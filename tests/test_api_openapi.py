"""The OpenAPI document: valid by the specification, complete, and honest —
schemathesis generates requests for every operation from it and the app, in
process, must never answer with a 5xx (nor, for generated valid input, with a
response its own document does not describe)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests import factories as f
from tracker.models import User
from tracker.services import access

API = "/api/v1"
MAX_EXAMPLES = 10  # per operation and mode: the whole run stays well under a minute
MORE_EXAMPLES = {("post", "/tasks/{task_id}/transitions"): 50, ("patch", "/tasks/{task_id}"): 20}


@pytest.fixture
def district(session):
    """A small district with tasks in every status, and an office user's token."""
    d = f.district(session)
    pending = {"assigned": ("extension", "reassign"), "in_progress": ("change",)}
    for status in (
        "draft",
        "pending_approval",
        "assigned",
        "acknowledged",
        "in_progress",
        "pending_review",
        "closed",
        "suspended",
        "cancelled",
    ):
        f.task_in(session, d, status, title=f"{status} 事项", pending=pending.get(status, ()))
    session.commit()
    office = session.get(User, d.office.user_id)
    token = access.issue_token(session, d.office, office, "schemathesis")
    access.issue_token(session, d.office, office, "a spare one to revoke")
    session.commit()
    return d, token


@pytest.fixture
def known_ids(session, district):
    """Ids that exist (and one that does not), so generated calls reach the services."""
    from sqlmodel import select

    from tracker.models import ApiToken, Source, Task

    d, token = district
    spare = session.exec(select(ApiToken).where(ApiToken.name == "a spare one to revoke")).one()
    return {
        "task_id": list(session.exec(select(Task.id))) + [987654],
        "source_id": list(session.exec(select(Source.id))) + [987654],
        "token_id": [spare.id, 987654],
    }


@pytest.fixture
def auth_headers(district):
    return {"Authorization": f"Bearer {district[1]}"}


@pytest.fixture
def document(client, auth_headers):
    resp = client.get(f"{API}/openapi.json", headers=auth_headers)
    assert resp.status_code == 200
    return resp.get_json()


def test_document_is_valid_openapi_3_1(document):
    validate(document)  # raises on any violation of the OpenAPI 3.1 specification
    assert document["openapi"] == "3.1.0"


def test_document_describes_every_route(app, document):
    """Every /api/v1 route (but the HTML docs and static files) is in the document, and nothing else."""
    routed = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API) or rule.endpoint in ("api.swagger_ui", "api.static"):
            continue
        path = rule.rule[len(API) :]
        for name in rule.arguments:
            path = path.replace(f"<int(min=1, max=2147483647):{name}>", f"{{{name}}}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routed.add((method.lower(), path))
    documented = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert routed == documented
    assert len(documented) >= 18


def test_document_has_bodies_errors_and_security(document):
    paths = document["paths"]
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "登录后通过 POST /api/v1/tokens 签发的访问令牌",
    }
    assert {"bearerAuth": []} in document["security"]
    error = document["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"error", "message", "fields"}
    transition = paths["/tasks/{task_id}/transitions"]["post"]
    body_ref = transition["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = document["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    mapping = body["discriminator"]["mapping"]
    for action in (
        "acknowledge",
        "report",
        "request_extension",
        "decide_extension",
        "request_close",
        "approve_close",
        "return",
        "suspend",
        "resume",
        "cancel",
        "reopen",
        "request_reassign",
        "decide_reassign",
        "request_change",
        "decide_change",
        "remind",
        "escalate",
        "assign",
        "submit_for_approval",
        "leader_approve",
        "leader_reject",
    ):
        assert action in mapping, action
    for code in ("400", "401", "403", "404", "409", "422"):
        assert code in transition["responses"], code
    names = {p["name"] for p in paths["/tasks"]["get"]["parameters"]}
    assert {
        "status",
        "light",
        "overdue",
        "due_soon",
        "department_id",
        "lead_department_id",
        "leader_id",
        "source_id",
        "source_kind",
        "urgency",
        "due_from",
        "due_to",
        "q",
        "sort",
        "page",
        "per_page",
    } <= names
    create = paths["/tasks"]["post"]
    assert "201" in create["responses"] and "422" in create["responses"]
    assert "204" in paths["/tasks/{task_id}"]["delete"]["responses"]


# The operations, known at collection time from the route registry (no app needed).
import tracker.api  # noqa: E402,F401  (registers the routes)
from tracker.api.core import OPERATIONS  # noqa: E402

OPERATION_IDS = sorted({(op.method, op.path) for op in OPERATIONS})


@pytest.fixture
def api_schema(app, auth_headers):
    config = SchemathesisConfig.from_dict({"generation": {"max-examples": MAX_EXAMPLES}})
    return schemathesis.openapi.from_wsgi(f"{API}/openapi.json", app, headers=auth_headers, config=config)


@pytest.mark.parametrize("method, path", OPERATION_IDS, ids=[f"{m.upper()} {p}" for m, p in OPERATION_IDS])
def test_no_server_errors(api_schema, auth_headers, known_ids, method, path):
    """Generated valid and invalid requests, with an office user's token, on a seeded
    district: never a 5xx; valid requests get responses the document describes.

    Valid requests name existing rows in the path (random ids would only ever meet
    a 404); invalid ones keep whatever schemathesis made. (schemathesis's own pytest
    plumbing, ``from_fixture``, does not run on pytest 9, so each operation drives
    its strategies with Hypothesis directly.)"""
    operation = api_schema[path][method]
    names = [n for n in known_ids if "{" + n + "}" in path]
    spec = api_schema.raw_schema["paths"][path][method]
    takes_input = bool(spec.get("parameters") or spec.get("requestBody"))
    examples = MORE_EXAMPLES.get((method, path), MAX_EXAMPLES if takes_input else 2)
    modes = [(GenerationMode.POSITIVE, [not_a_server_error, response_schema_conformance, status_code_conformance])]
    if takes_input:  # nothing to make invalid otherwise
        modes.append((GenerationMode.NEGATIVE, [not_a_server_error]))
    for mode, checks in modes:
        strategy = operation.as_strategy(generation_mode=mode)
        if mode is GenerationMode.POSITIVE and names:
            ids = st.fixed_dictionaries({n: st.sampled_from(known_ids[n]) for n in names})
            strategy = st.tuples(strategy, ids).map(_with_path)

        _drive(strategy, examples, auth_headers, checks)


def _drive(strategy, examples: int, headers: dict, checks: list) -> None:
    @given(case=strategy)
    @settings(
        max_examples=examples, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(case):
        case.call_and_validate(headers=headers, checks=checks)

    run()


def _with_path(pair):
    case, ids = pair
    case.path_parameters = {**case.path_parameters, **ids}
    return case
