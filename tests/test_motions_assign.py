"""交办 as its own step: motions registered without assignment wait as drafts that only the
office sees; the office may change their units and 领办领导, then assigns a batch, all or nothing.

Registered 2026-03-02, assigned 2026-03-06: the limits count from the assignment
(交办之日起), so the answer is due 2026-06-08 (2026-06-06 is a Saturday), not 2026-06-02.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests.fixtures.helpers import load_district
from tracker import clock
from tracker.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from tracker.models import AuditEvent, Motion, MotionStep, Role, Task
from tracker.services.actors import SYSTEM, Actor
from tracker.services.motions import handling as motions
from tracker.services.organisation import directory as organisation
from tracker.services.tasks import lifecycle as tasks

REGISTERED = date(2026, 3, 2)
ASSIGNED = date(2026, 3, 6)
SESSION = "区十七届人大三次会议"


def _clerk(session, org, name):
    user = organisation.create_user(
        session,
        SYSTEM,
        f"c{org.dept(name)}",
        f"{name}联络员",
        "Factory-pass-7",
        Role.CLERK,
        department_id=org.dept(name),
    )
    session.flush()
    return Actor.of(user)


def _input(org, number, lead, assists=(), **kw):
    return motions.MotionInput(
        kind="suggestion",
        number=number,
        session_name=SESSION,
        title=f"关于第{number}件事的建议",
        proposer="王建国",
        lead_department_id=org.dept(lead),
        assisting_department_ids=[org.dept(a) for a in assists],
        **kw,
    )


@pytest.fixture
def registered(session):
    """Three suggestions registered, none assigned; the third with a deadline written on the list."""
    org = load_district(session)
    with clock.frozen(REGISTERED):
        made = motions.register(
            session,
            org.office,
            [
                _input(org, 1, "区住房和城乡建设局", ["城关街道办事处", "区财政局"]),
                _input(org, 2, "区交通运输局", ["区住房和城乡建设局"]),
                _input(org, 3, "区市场监督管理局", due_date=date(2026, 3, 31)),
            ],
            assign=False,
        )
    session.commit()
    return org, made


def _events(session, task_id, action):
    return session.exec(
        select(AuditEvent).where(AuditEvent.task_id == task_id, AuditEvent.action == action).order_by(AuditEvent.id)
    ).all()


def test_registered_motions_wait_as_drafts_units_do_not_see(session, registered):
    org, (m1, m2, m3) = registered
    assert {m.stage for m in (m1, m2, m3)} == {motions.UNASSIGNED}
    assert {session.get(Task, m.task_id).status for m in (m1, m2, m3)} == {"draft"}
    assert session.scalar(select(sa.func.count()).select_from(MotionStep)) == 0
    office_rows = motions.list_motions(session, org.office, stage=motions.UNASSIGNED)
    assert [m.number for m, _t in office_rows] == [1, 2, 3]
    assert motions.list_motions(session, org.office, stage="handling") == []
    for name in ("区住房和城乡建设局", "城关街道办事处", "区交通运输局"):  # lead or co-handling of a draft
        clerk = _clerk(session, org, name)
        assert motions.list_motions(session, clerk) == []
        assert motions.list_motions(session, clerk, stage=motions.UNASSIGNED) == []
        for m in (m1, m2):
            with pytest.raises(NotFound):
                motions.get(session, clerk, m.id)


def test_batch_assign_plans_the_steps_from_the_assign_date(session, registered):
    org, (m1, m2, m3) = registered
    with clock.frozen(ASSIGNED):
        done = motions.assign_batch(session, org.office, [m1.id, m2.id])
    session.commit()
    assert [m.id for m in done] == [m1.id, m2.id]
    t1 = session.get(Task, m1.task_id)
    assert t1.status == "assigned" and m1.stage == "handling"
    assert t1.due_date == t1.original_due_date == m1.first_answer_due == date(2026, 6, 8)
    assert {(s.kind, s.department_id): s.due_date for s in motions.steps(session, m1.id)} == {
        ("opinion", org.dept("城关街道办事处")): date(2026, 4, 7),  # one month: 2026-04-06 is 清明
        ("opinion", org.dept("区财政局")): date(2026, 4, 7),
        ("consult", org.dept("区住房和城乡建设局")): date(2026, 5, 6),  # two months, after 劳动节
        ("answer", org.dept("区住房和城乡建设局")): date(2026, 6, 8),
    }
    # audited: the deadline moved from the registration's 2026-06-02, then 交办 by the office
    moved = _events(session, m1.task_id, "motion_deadline")
    assert (
        len(moved) == 1 and moved[0].before["due_date"] == "2026-06-02" and moved[0].after["due_date"] == "2026-06-08"
    )
    assigned = _events(session, m1.task_id, "assign")
    assert len(assigned) == 1 and assigned[0].actor_id == org.office.user_id
    assert assigned[0].before["status"] == "draft" and assigned[0].after["status"] == "assigned"
    assert clock.local_date(assigned[0].at) == ASSIGNED
    # the third still waits; the units now see theirs
    assert session.get(Task, m3.task_id).status == "draft" and m3.stage == motions.UNASSIGNED
    zjj = _clerk(session, org, "区住房和城乡建设局")  # lead of 1, co-handling of 2
    assert sorted(m.number for m, _t in motions.list_motions(session, zjj)) == [1, 2]
    assert motions.get(session, zjj, m1.id)[2]


def test_batch_assign_is_all_or_nothing(session, registered):
    org, (m1, m2, m3) = registered
    with clock.frozen(ASSIGNED):
        motions.assign_batch(session, org.office, [m2.id])
        session.commit()
    with clock.frozen(date(2026, 4, 1)), pytest.raises(ValidationFailed) as exc:
        motions.assign_batch(session, org.office, [m1.id, m2.id, m3.id, 999999])
    session.rollback()
    msg = exc.value.message
    assert msg.startswith("未交办任何一件")
    assert f"{SESSION}建议第2号已经交办" in msg
    assert f"{SESSION}建议第3号的办理时限 2026-03-31 已过" in msg
    assert "编号为 999999 的建议提案不存在" in msg
    assert "建议第1号" not in msg
    # the good one was not assigned either
    assert session.get(Task, m1.task_id).status == "draft" and not _events(session, m1.task_id, "assign")
    assert not session.exec(select(MotionStep).where(MotionStep.motion_id == m1.id)).all()
    with pytest.raises(ValidationFailed, match="请先勾选"):
        motions.assign_batch(session, org.office, [])
    clerk = _clerk(session, org, "区住房和城乡建设局")
    with pytest.raises(NotPermitted):
        motions.assign_batch(session, clerk, [m1.id])
    # the list's own deadline, when still ahead, is kept at a later assignment
    with clock.frozen(date(2026, 3, 20)):
        motions.assign_batch(session, org.office, [m3.id])
    assert session.get(Task, m3.task_id).due_date == date(2026, 3, 31)
    assert [s.due_date for s in motions.steps(session, m3.id) if s.kind == "answer"] == [date(2026, 3, 31)]


def test_the_office_changes_units_and_leader_before_assigning(session, registered):
    org, (m1, m2, _m3) = registered
    wu, li = org.leader("吴海涛"), org.leader("李明")
    with clock.frozen(date(2026, 3, 4)):
        motions.update_draft(
            session,
            org.office,
            m1.id,
            lead_department_id=org.dept("区交通运输局"),
            assisting_department_ids=[org.dept("区财政局")],
            supervising_leader_id=wu,
        )
        motions.update_draft(
            session,
            org.office,
            m1.id,
            lead_department_id=org.dept("区交通运输局"),
            assisting_department_ids=[org.dept("区财政局")],
            supervising_leader_id=li,
        )
    t1 = session.get(Task, m1.task_id)
    assert t1.lead_department_id == org.dept("区交通运输局") and t1.status == "draft"
    assert tasks.assisting_ids(session, t1.id) == [org.dept("区财政局")]
    assert tasks.leader_ids(session, t1.id) == [li] and m1.supervising_leader_id == li
    edits = _events(session, t1.id, "edit_draft")
    assert edits[0].after["lead_department_id"] == org.dept("区交通运输局")
    assert sorted(edits[0].before["assisting_department_ids"]) == sorted(
        [org.dept("城关街道办事处"), org.dept("区财政局")]
    )
    assert [e.after["supervising_leader_id"] for e in _events(session, t1.id, "motion_update")] == [wu, li]

    with pytest.raises(ValidationFailed, match="主办单位不能同时是协办单位"):
        motions.update_draft(
            session,
            org.office,
            m1.id,
            lead_department_id=org.dept("区财政局"),
            assisting_department_ids=[org.dept("区财政局")],
            supervising_leader_id=None,
        )
    with pytest.raises(ValidationFailed, match="请选择主办单位"):
        motions.update_draft(
            session, org.office, m1.id, lead_department_id=None, assisting_department_ids=[], supervising_leader_id=None
        )
    with pytest.raises(ValidationFailed, match="单位不存在"):
        motions.update_draft(
            session,
            org.office,
            m1.id,
            lead_department_id=987654,
            assisting_department_ids=[],
            supervising_leader_id=None,
        )
    with pytest.raises(NotFound):  # a unit does not see the draft at all
        motions.update_draft(
            session,
            _clerk(session, org, "区交通运输局"),
            m1.id,
            lead_department_id=org.dept("区交通运输局"),
            assisting_department_ids=[],
            supervising_leader_id=None,
        )

    with clock.frozen(ASSIGNED):
        motions.assign_batch(session, org.office, [m1.id])
    steps = {(s.kind, s.department_id) for s in motions.steps(session, m1.id)}
    assert steps == {
        ("opinion", org.dept("区财政局")),
        ("consult", org.dept("区交通运输局")),
        ("answer", org.dept("区交通运输局")),
    }
    with clock.frozen(ASSIGNED), pytest.raises(Conflict, match="改派"):
        motions.update_draft(
            session,
            org.office,
            m1.id,
            lead_department_id=org.dept("区住房和城乡建设局"),
            assisting_department_ids=[],
            supervising_leader_id=None,
        )
    assert session.get(Motion, m2.id).stage == motions.UNASSIGNED


def test_the_office_assigns_from_the_list_and_the_record_page(client, session, registered):
    from tests.webutil import csrf_from, login

    org, (m1, m2, m3) = registered
    login(client, "duchashi")
    page = client.get("/motions/?stage=unassigned").get_data(as_text=True)
    assert page.count('name="motion_ids"') == 3 and "交办选中的" in page and "待交办" in page
    assert page.count("交办后计算") == 2  # the third has its deadline from the list
    token = csrf_from(page)
    with clock.frozen(ASSIGNED):
        resp = client.post(
            "/motions/assign?stage=unassigned", data={"csrf_token": token, "motion_ids": [str(m1.id), str(m2.id)]}
        )
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/motions/?stage=unassigned")
        after = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已交办2件：建议第1号、建议第2号" in after and after.count('name="motion_ids"') == 1
    session.expire_all()
    assert session.get(Task, m1.task_id).due_date == date(2026, 6, 8)
    # a bad batch says which item and why, and assigns nothing
    with clock.frozen(date(2026, 4, 1)):
        resp = client.post(
            "/motions/assign", data={"csrf_token": token, "motion_ids": [str(m2.id), str(m3.id)]}, follow_redirects=True
        )
    html = resp.get_data(as_text=True)
    assert "未交办任何一件" in html and "建议第2号已经交办" in html and "2026-03-31 已过" in html
    # the record page: change the lead unit, then 交办
    show = client.get(f"/motions/{m3.id}").get_data(as_text=True)
    assert 'id="form-edit-draft"' in show and 'id="form-assign"' in show
    resp = client.post(
        f"/motions/{m3.id}/office",
        data={
            "csrf_token": token,
            "step": "edit_draft",
            "lead_department_id": str(org.dept("区教育局")),
            "assisting_department_ids": [str(org.dept("区民政局"))],
            "supervising_leader_id": str(org.leader("王芳")),
        },
        follow_redirects=True,
    )
    assert "承办单位和领办领导已保存" in resp.get_data(as_text=True)
    with clock.frozen(date(2026, 3, 20)):
        resp = client.post(
            f"/motions/{m3.id}/office", data={"csrf_token": token, "step": "assign"}, follow_redirects=True
        )
    html = resp.get_data(as_text=True)
    assert "已交办，答复时限 2026-03-31" in html and 'id="form-assign"' not in html
    session.expire_all()
    t3 = session.get(Task, m3.task_id)
    assert t3.status == "assigned" and t3.lead_department_id == org.dept("区教育局")
    assert session.get(Motion, m3.id).supervising_leader_id == org.leader("王芳")


def test_the_generic_task_steps_do_not_send_a_motion_out(session, registered):
    """Through the task pages, the API or the office's bulk actions a motion's draft would go out
    without its steps and with the registration day's limits: refused, pointing to the motions page."""
    org, (m1, _m2, _m3) = registered
    with clock.frozen(ASSIGNED):
        for step in (tasks.assign, tasks.submit_for_approval, tasks.delete_draft):
            with pytest.raises(ValidationFailed, match=f"建议第1号（{SESSION}）"):
                step(session, org.office, m1.task_id)
    assert session.get(Task, m1.task_id).status == "draft" and session.get(Motion, m1.id) is not None
    assert not _events(session, m1.task_id, "assign")
