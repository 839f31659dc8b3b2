"""Horizontal and vertical escalation on every route bound to a motion (建议/提案).

One suggestion assigned (lead 区发改委, co-handling 区财政局) and one registered but not
yet assigned. Each route with a motion id, and the batch 交办, is called by the clerk of
an unrelated department (404: another unit's item does not exist for it), by the
co-handling unit doing a lead-only step and the lead doing the co-handling step (403),
by units doing the office's steps (403) and by a leader (403: these pages are the office's
and the units'). Afterwards nothing has changed. The new forms refuse a missing or forged
CSRF token like every form.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests import factories as f
from tests.webutil import csrf_from, login
from tracker.models import AuditEvent, Motion, MotionStep, Task, User
from tracker.services.motions import handling as motions

UNIT_STEPS = ("opinion", "consult", "answer", "reassign", "promise")
LEAD_ONLY = ("consult", "answer", "reassign", "promise")
OFFICE_STEPS = (
    "approve_reassign",
    "refuse_reassign",
    "approve_answer",
    "return_answer",
    "feedback",
    "publish",
    "assign",
    "edit_draft",
)
FORM = {
    "text": "越权写入",
    "form": "当面",
    "met_on": "2026-11-20",
    "category": "A",
    "summary": "越权答复",
    "reason": "越权改派",
    "note": "越权",
    "result": "满意",
    "publish": "0",
}


@pytest.fixture
def world(app, session):
    d = f.district(session)

    def suggestion(number, assign):
        return motions.register(
            session,
            d.office,
            [
                motions.MotionInput(
                    kind="suggestion",
                    number=number,
                    session_name="区十七届人大三次会议",
                    title=f"关于第{number}件事的建议",
                    proposer="王建国",
                    lead_department_id=d.lead_id,
                    assisting_department_ids=[d.assist_id],
                )
            ],
            assign=assign,
        )[0]

    assigned, draft = suggestion(1, True), suggestion(2, False)
    session.commit()
    clients = {}
    for role, actor in (
        ("office", d.office),
        ("lead", d.lead_clerk),
        ("assist", d.assist_clerk),
        ("other", d.other_clerk),
        ("leader", d.leader),
    ):
        client = app.test_client()
        assert login(client, session.get(User, actor.user_id).username).status_code == 302
        token = csrf_from(client.get("/password").get_data(as_text=True))
        clients[role] = (client, token)
    return {"d": d, "assigned": assigned.id, "draft": draft.id, "clients": clients}


def _state(session):
    session.expire_all()
    return (
        session.scalar(select(sa.func.count()).select_from(AuditEvent)),
        sorted(session.exec(select(Task.id, Task.status, Task.lead_department_id)).all()),
        sorted(session.exec(select(Motion.id, Motion.stage, Motion.supervising_leader_id, Motion.publish)).all()),
        sorted(session.exec(select(MotionStep.id, MotionStep.done_on)).all()),
    )


def _post(world, role, url, data):
    client, token = world["clients"][role]
    return client.post(url, data={**data, "csrf_token": token})


def test_every_motion_route_refuses_whom_it_must(world, session):
    a, dr = world["assigned"], world["draft"]
    before = _state(session)
    got, want = {}, {}

    def expect(role, method, url, status, data=None):
        key = (role, method, url, (data or {}).get("step", ""), tuple(sorted((data or {}).get("motion_ids", []))))
        want[key] = status
        if method == "GET":
            resp = world["clients"][role][0].get(url)
        else:
            resp = _post(world, role, url, {**FORM, **(data or {})})
        got[key] = resp.status_code
        if status in (403, 404):
            assert "关于第" not in resp.get_data(as_text=True), key  # nothing of the item leaks

    # reading the record
    for mid in (a, dr):
        expect("other", "GET", f"/motions/{mid}", 404)
        expect("leader", "GET", f"/motions/{mid}", 403)
    for role in ("lead", "assist"):
        expect(role, "GET", f"/motions/{dr}", 404)  # a draft is the office's alone
    # the units' steps
    for step in UNIT_STEPS:
        for mid in (a, dr):
            expect("other", "POST", f"/motions/{mid}/unit", 404, {"step": step})
            expect("leader", "POST", f"/motions/{mid}/unit", 403, {"step": step})
            expect("lead", "POST", f"/motions/{dr}/unit", 404, {"step": step})
            expect("assist", "POST", f"/motions/{dr}/unit", 404, {"step": step})
    for step in LEAD_ONLY:
        expect("assist", "POST", f"/motions/{a}/unit", 403, {"step": step})
    expect("lead", "POST", f"/motions/{a}/unit", 403, {"step": "opinion"})  # the co-handling unit's step
    # the office's steps, the new 交办 and 修改承办单位 among them
    for step in OFFICE_STEPS:
        for mid in (a, dr):
            for role in ("lead", "assist", "other", "leader"):
                data = {
                    "step": step,
                    "lead_department_id": str(world["d"].other_id),
                    "assisting_department_ids": [str(world["d"].assist_id)],
                }
                expect(role, "POST", f"/motions/{mid}/office", 403, data)
    for role in ("lead", "assist", "other", "leader"):
        expect(role, "POST", "/motions/assign", 403, {"motion_ids": [str(dr)]})

    assert got == want
    assert len(want) >= 100
    assert _state(session) == before  # nothing was written by anyone refused


def test_the_office_meets_a_missing_item_with_404(world, session):
    before = _state(session)
    for step in ("assign", "edit_draft"):
        assert _post(world, "office", "/motions/999999/office", {"step": step}).status_code == 404
    resp = _post(world, "office", "/motions/assign", {"motion_ids": ["999999"]})
    assert resp.status_code == 302
    assert "编号为 999999 的建议提案不存在" in world["clients"]["office"][0].get(resp.headers["Location"]).get_data(
        as_text=True
    )
    assert _state(session) == before


def test_the_new_forms_need_the_csrf_token(world, session):
    client, _token = world["clients"]["office"]
    dr = world["draft"]
    page = client.get(f"/motions/{dr}").get_data(as_text=True)
    assert 'id="form-assign"' in page and 'id="form-edit-draft"' in page
    assert 'id="motion-assign"' in client.get("/motions/").get_data(as_text=True)
    before = _state(session)
    for url, data in (
        (f"/motions/{dr}/office", {"step": "assign"}),
        (f"/motions/{dr}/office", {"step": "edit_draft", "lead_department_id": str(world["d"].other_id)}),
        ("/motions/assign", {"motion_ids": [str(dr)]}),
    ):
        for token in (None, "forged"):
            body = dict(data) if token is None else {**data, "csrf_token": token}
            resp = client.post(url, data=body)
            assert resp.status_code == 400, (url, token)
    assert _state(session) == before
    # the same forms with the page's token work: the refusals above were the token's
    assert _post(world, "office", "/motions/assign", {"motion_ids": [str(dr)]}).status_code == 302
    session.expire_all()
    assert session.get(Task, session.get(Motion, dr).task_id).status == "assigned"
