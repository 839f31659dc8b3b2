"""Of two decisions on one request, or two steps on one task, exactly one applies; the other is
refused with who got there first and when (tracker/services/tasks/settled.py), in the service, on
the page (409) and in the API (409 JSON).

The reported case: two office users decide one 延期申请 at once, one approving, one refusing; both
got 200, both were audited, and in 2 of 6 trials the request ended 已拒绝 while the deadline had
moved. The cause was a request read before the task was locked and checked "still pending" on
that stale copy; the tests below hold a stale copy on purpose. The race through gunicorn is
tests/test_http_races.py.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlmodel import Session, select

from tests import factories as f
from tests.webutil import csrf_from, login, post
from tracker import clock
from tracker.errors import Conflict, IllegalTransition, NotFound
from tracker.models import AuditEvent, ChangeRequest, ExtensionRequest, Role, Task, User
from tracker.services import access
from tracker.services.actors import Actor
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks import requests as task_requests
from tracker.services.tasks import settled


@pytest.fixture
def d(session):
    return f.district(session)


def _name(session, actor: Actor) -> str:
    return session.get(User, actor.user_id).display_name


def _decisions(session, task_id: int) -> list[str]:
    rows = session.exec(select(AuditEvent.action).where(AuditEvent.task_id == task_id).order_by(AuditEvent.id))
    return [a for a in rows if a in ("approve_extension", "refuse_extension")]


@pytest.mark.parametrize(
    "at, said",
    [
        (datetime(2026, 12, 7, 7, 2, tzinfo=timezone.utc), "12月7日 15:02"),  # stored in UTC, said in China time
        (datetime(2026, 1, 31, 16, 30, tzinfo=timezone.utc), "2月1日 00:30"),
        (datetime(2025, 12, 31, 15, 59, tzinfo=timezone.utc), "2025年12月31日 23:59"),  # another year says so
    ],
)
def test_when_says_the_day_and_minute_in_china_time(at, said):
    with clock.frozen(datetime(2026, 12, 8).date()):
        assert settled.when(at) == said


def test_a_decision_read_before_another_committed_is_refused_with_who_and_when(db, d):
    """Office user A has the pending request in its session (as the page's view loads it); B
    approves and commits; A's refusal must not apply on its stale copy."""
    with Session(db, expire_on_commit=False) as seed:
        task = f.task_in(seed, d, "acknowledged", pending=("extension",))
        req = seed.exec(select(ExtensionRequest).where(ExtensionRequest.task_id == task.id)).one()
        seed.commit()
    with Session(db, expire_on_commit=False) as a, Session(db, expire_on_commit=False) as b:
        stale = a.get(ExtensionRequest, req.id)
        assert stale.status == "pending"
        task_requests.decide_extension(b, d.office2, req.id, approve=True)
        b.commit()
        decided = b.get(ExtensionRequest, req.id)
        with pytest.raises(Conflict) as refused:
            task_requests.decide_extension(a, d.office, req.id, approve=False, note="理由不充分")
        a.rollback()
        assert refused.value.http_status == 409 and refused.value.code == "already_decided"
        assert (
            refused.value.message == f"该延期申请已由 {_name(b, d.office2)} 于 {settled.when(decided.decided_at)} 批准"
        )
    with Session(db) as s:
        req, task = s.get(ExtensionRequest, req.id), s.get(Task, task.id)
        assert req.status == "approved" and task.due_date == req.new_due_date  # request and task agree
        assert _decisions(s, task.id) == ["approve_extension"]  # one audit row


@pytest.mark.parametrize("kind, what", [("reassign", "改派申请"), ("change", "变更申请")])
def test_reassign_and_change_decisions_read_afresh_too(db, d, kind, what):
    with Session(db, expire_on_commit=False) as seed:
        task = f.task_in(seed, d, "assigned", pending=(kind,))
        req = seed.exec(select(ChangeRequest).where(ChangeRequest.task_id == task.id)).one()
        seed.commit()
    decide = task_requests.decide_reassign if kind == "reassign" else task_requests.decide_change
    with Session(db, expire_on_commit=False) as a, Session(db, expire_on_commit=False) as b:
        assert a.get(ChangeRequest, req.id).status == "pending"
        decide(b, d.office2, req.id, False, note="不予同意")
        b.commit()
        with pytest.raises(Conflict, match=f"^该{what}已由 {_name(b, d.office2)} 于 .+ 驳回$"):
            if kind == "reassign":
                decide(a, d.office, req.id, True, d.other_id)
            else:
                decide(a, d.office, req.id, True)
        a.rollback()
    with Session(db) as s:
        assert s.get(Task, task.id).lead_department_id == d.lead_id


def test_a_step_whose_status_moved_on_names_the_step_that_moved_it(db, d):
    with Session(db, expire_on_commit=False) as seed:
        task = f.task_in(seed, d, "assigned")
        second = Actor.of(f.user(seed, Role.CLERK, department_id=d.lead_id))
        seed.commit()
    with Session(db, expire_on_commit=False) as a, Session(db, expire_on_commit=False) as b:
        assert a.get(Task, task.id).status == "assigned"  # a's copy, read before b signs
        tasks.acknowledge(b, second, task.id)
        b.commit()
        event = b.exec(select(AuditEvent).where(AuditEvent.action == "acknowledge")).one()
        with pytest.raises(IllegalTransition) as refused:
            tasks.acknowledge(a, d.lead_clerk, task.id)
        a.rollback()
    assert refused.value.http_status == 409
    assert refused.value.message == (
        f"该事项已由 {event.actor_name} 于 {settled.when(event.at)} 签收。当前状态为“已签收”，不能执行“签收”操作"
    )
    with Session(db) as s:
        assert [e.action for e in s.exec(select(AuditEvent).where(AuditEvent.task_id == task.id))].count(
            "acknowledge"
        ) == 1


def test_a_step_never_allowed_keeps_the_status_in_its_message(session, d):
    task = f.task_in(session, d, "draft")
    session.commit()
    with pytest.raises(IllegalTransition, match="当前状态为“草稿”，不能执行“审核办结”操作"):
        task_requests.review_close(session, d.office, task.id, approve=True)


def test_a_withdrawn_request_is_said_to_have_lapsed(session, d):
    task = f.task_in(session, d, "acknowledged", pending=("extension",))
    req = session.exec(select(ExtensionRequest).where(ExtensionRequest.task_id == task.id)).one()
    req.status = "withdrawn"
    session.commit()
    with pytest.raises(Conflict, match="该延期申请已失效"):
        task_requests.decide_extension(session, d.office, req.id, approve=True)


def test_eight_sessions_deciding_at_once_one_decides(db, d):
    """The in-process twin of the gunicorn race: eight threads, each its own session (and, on
    PostgreSQL, its own connection), each with the request already read, decide at once."""
    with Session(db, expire_on_commit=False) as seed:
        task = f.task_in(seed, d, "acknowledged", pending=("extension",))
        req = seed.exec(select(ExtensionRequest).where(ExtensionRequest.task_id == task.id)).one()
        deciders = [Actor.of(f.user(seed, Role.SUPERVISOR)) for _ in range(8)]
        seed.commit()
    ready = threading.Barrier(8)
    outcomes: list = [None] * 8

    def decide(i: int) -> None:
        with Session(db, expire_on_commit=False) as s:
            s.get(ExtensionRequest, req.id)  # what a view reads first
            ready.wait(timeout=60)
            try:
                task_requests.decide_extension(s, deciders[i], req.id, approve=i % 2 == 0, note="不同意")
                s.commit()
                outcomes[i] = "decided"
            except Conflict as exc:
                s.rollback()
                outcomes[i] = exc.message

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert outcomes.count("decided") == 1, outcomes
    with Session(db) as s:
        req = s.get(ExtensionRequest, req.id)
        winner = outcomes.index("decided")
        assert req.status == ("approved" if winner % 2 == 0 else "rejected")
        assert s.get(Task, task.id).due_date == (req.new_due_date if req.status == "approved" else req.old_due_date)
        who = s.get(User, deciders[winner].user_id).display_name
        assert all(o.startswith(f"该延期申请已由 {who} 于 ") for o in outcomes if o != "decided")
        assert len(_decisions(s, task.id)) == 1


# --- the same refusal on the page and in the API ------------------------------------------------------


def _office_clients(app, session, d):
    one, two = app.test_client(), app.test_client()
    assert login(one, session.get(User, d.office.user_id).username).status_code == 302
    assert login(two, session.get(User, d.office2.user_id).username).status_code == 302
    return one, two


def test_the_page_answers_409_with_who_decided(app, session, d):
    task = f.task_in(session, d, "acknowledged", pending=("extension",))
    req = session.exec(select(ExtensionRequest).where(ExtensionRequest.task_id == task.id)).one()
    session.commit()
    one, two = _office_clients(app, session, d)
    page = f"/tasks/{task.id}"
    url = f"/tasks/{task.id}/extension/{req.id}/decide"
    form_two = two.get(page)  # both have the page with the pending request open
    assert post(one, url, {"decision": "approve"}, token_from=page).status_code == 302
    late = two.post(url, data={"decision": "refuse", "note": "不同意", "csrf_token": _csrf(form_two)})
    text = late.get_data(as_text=True)
    assert late.status_code == 409
    assert f"该延期申请已由 {_name(session, d.office)} 于 " in text and " 批准" in text
    # the review queue says the same
    again = post(
        two, f"/office/review/extension/{req.id}", {"decision": "reject", "note": "x"}, token_from="/office/review"
    )
    assert again.status_code == 409 and f"该延期申请已由 {_name(session, d.office)} 于 " in again.get_data(as_text=True)


def _csrf(page) -> str:
    return csrf_from(page.get_data(as_text=True))


def _bearer(session, actor: Actor) -> dict:
    token = access.issue_token(session, actor, session.get(User, actor.user_id), "测试")
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_the_api_answers_409_json_with_who_decided(client, session, d):
    task = f.task_in(session, d, "acknowledged", pending=("extension",))
    req = session.exec(select(ExtensionRequest).where(ExtensionRequest.task_id == task.id)).one()
    one, two = _bearer(session, d.office), _bearer(session, d.office2)
    url = f"/api/v1/tasks/{task.id}/transitions"
    first = client.post(url, json={"action": "decide_extension", "request_id": req.id, "approve": True}, headers=one)
    assert first.status_code == 200, first.get_json()
    for body in (
        {"action": "decide_extension", "request_id": req.id, "approve": False, "note": "不同意"},
        {"action": "decide_extension", "approve": False, "note": "不同意"},  # "the task's pending one": none left
    ):
        late = client.post(url, json=body, headers=two)
        assert late.status_code == 409
        err = late.get_json()
        assert err["error"] == "already_decided"
        assert err["message"].startswith(f"该延期申请已由 {_name(session, d.office)} 于 ") and err["message"].endswith(
            " 批准"
        )


def test_a_close_review_after_another_names_the_first_reviewer(session, d):
    task = f.task_in(session, d, "pending_review")
    task_requests.review_close(session, d.office2, task.id, approve=True)
    session.commit()
    with pytest.raises(IllegalTransition, match=f"^该事项已由 {_name(session, d.office2)} 于 .+ 审核通过，办结。"):
        task_requests.review_close(session, d.office, task.id, approve=False, note="材料不全")


def test_a_leader_whose_approval_lost_to_a_return_gets_409_not_404(app, session, d):
    task = f.task_in(session, d, "pending_approval")
    second = Actor.of(f.user(session, Role.LEADER, leader_id=d.leader_id))
    tasks.leader_reject(session, second, task.id, "请补充依据")
    session.commit()
    with pytest.raises(IllegalTransition, match=f"^该事项已由 {_name(session, second)} 于 .+ 领导退回修改。"):
        tasks.leader_approve(session, d.leader, task.id)
    session.rollback()
    client = app.test_client()
    assert login(client, session.get(User, d.leader.user_id).username).status_code == 302
    resp = post(client, f"/tasks/{task.id}/approve", {}, token_from="/leader/")
    assert resp.status_code == 409 and "领导退回修改" in resp.get_data(as_text=True)


def test_a_draft_never_before_the_leaders_stays_unseen(session, d):
    task = f.task_in(session, d, "draft")
    session.commit()
    with pytest.raises(NotFound):
        tasks.leader_approve(session, d.leader, task.id)


def test_the_message_names_the_time_of_the_decision(session, d):
    """The time named is when the decision was taken, not when the loser asked."""
    task = f.task_in(session, d, "acknowledged", pending=("extension",))
    req = session.exec(select(ExtensionRequest).where(ExtensionRequest.task_id == task.id)).one()
    task_requests.decide_extension(session, d.office2, req.id, approve=True)
    req.decided_at = datetime(2026, 11, 20, 1, 5, tzinfo=timezone.utc)
    session.commit()
    with pytest.raises(Conflict, match=f"^该延期申请已由 {_name(session, d.office2)} 于 11月20日 09:05 批准$"):
        task_requests.decide_extension(session, d.office, req.id, approve=True)
