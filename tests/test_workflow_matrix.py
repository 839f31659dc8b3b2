"""The transition table against the real services, cell by cell.

For every action x status x kind of actor, the service that performs the
action is called on a task walked into that status through the real loop
(``factories.task_in``). Where the table (``workflow.TRANSITIONS``) allows the
step for the actor's party, it must succeed, reach the table's target status
and write exactly one audit event; where it does not, the service must raise
the right domain error and leave everything as it was:

- ``NotFound``: the actor has no business with the task at all;
- ``NotPermitted``: the actor sees the task but their party may not take the step;
- ``IllegalTransition``: the party may, but not from this status.

The same expectation is checked against ``workflow.allowed()``, which the UI
uses to offer buttons, so the buttons and the services cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from itertools import combinations
from typing import Callable

import pytest
from sqlmodel import Session, select

from tests import factories as f
from tracker import clock
from tracker.errors import IllegalTransition, NotFound, NotPermitted
from tracker.models import AuditEvent, ChangeKind, ChangeRequest, ExtensionRequest, RequestStatus, Task
from tracker.services.actors import Actor, parties
from tracker.services.chasing import by_hand as task_chasing
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks import requests as task_requests
from tracker.workflow import (
    STATUS_LABELS,
    TRANSITIONS,
    Action,
    Party,
    Status,
    allowed,
    check,
    status_label,
)

A, S, P = Action, Status, Party

# --- who is who ------------------------------------------------------------------

# Kind of actor -> attribute of factories.District.
ACTORS = {
    "office": "office",  # 督查室
    "lead": "lead_clerk",  # clerk of the lead department
    "assist": "assist_clerk",  # clerk of the assisting department
    "other_clerk": "other_clerk",  # clerk of a department with nothing to do with the task
    "leader": "leader",  # responsible leader (and in charge of the lead department)
    "other_leader": "other_leader",  # a leader in charge of an unrelated department
    "admin": "admin",  # system administrator
}

# What each kind of actor is to a task built by factories.task_in once it has gone out
# (lead: lead_id, assisting: [assist_id], responsible leader: leader_id).
PARTIES: dict[str, frozenset[Party]] = {
    "office": frozenset({P.OFFICE}),
    "lead": frozenset({P.LEAD}),
    "assist": frozenset({P.ASSIST}),
    "other_clerk": frozenset(),
    "leader": frozenset({P.LEADER}),
    "other_leader": frozenset(),
    "admin": frozenset(),
}


def expected_parties(kind: str, status: Status) -> frozenset[Party]:
    """Before it goes out a task is the office's business only (and, awaiting approval,
    its leader's): departments never see drafts (actors.UNPUBLISHED)."""
    if kind != "office" and (status == S.DRAFT or (status == S.PENDING_APPROVAL and kind != "leader")):
        return frozenset()
    return PARTIES[kind]


# Decisions need a request to decide on: the kind that factories.open_request makes.
REQUEST_FOR = {A.DECIDE_EXTENSION: "extension", A.DECIDE_REASSIGN: "reassign", A.DECIDE_CHANGE: "change"}


def effective_action(action: Action, who: frozenset[Party]) -> Action:
    """REPORT and REPORT_PART are one service (``report_progress``): the actor's party
    decides which step it is, so a clerk of an assisting department always reports
    their part and the lead department always reports the whole task."""
    if action in (A.REPORT, A.REPORT_PART):
        return A.REPORT if P.LEAD in who else A.REPORT_PART
    return action


# The audit event's action where it is not the Action itself (decisions name their outcome).
AUDIT_NAME = {
    A.DECIDE_EXTENSION: "approve_extension",
    A.DECIDE_REASSIGN: "approve_reassign",
    A.DECIDE_CHANGE: "approve_change",
}


@dataclass(frozen=True)
class Expected:
    error: type[Exception] | None  # None: the step succeeds
    target: Status | None = None  # the status after a successful step


def expected(action: Action, status: Status, who: frozenset[Party], status_before_suspend: str = "") -> Expected:
    """What the table says should happen, worked out independently of ``check()``."""
    if not who:
        return Expected(NotFound)
    t = TRANSITIONS[effective_action(action, who)]
    if not (t.parties & who):
        return Expected(NotPermitted)
    if status not in t.sources:
        return Expected(IllegalTransition)
    if action == A.RESUME:  # back where it was before 暂缓
        return Expected(None, Status(status_before_suspend))
    if action == A.DECIDE_REASSIGN:
        # An approved 改派 hands the task to a new lead department, which acknowledges
        # afresh: the service puts it back to 已交办. The table's target is None because
        # a refused 改派 leaves the status alone (see test_refused_reassign_keeps_status).
        assert t.target is None
        return Expected(None, S.ASSIGNED)
    return Expected(None, t.target if t.target is not None else status)


# --- the services, with valid input ------------------------------------------------


def _edit_data(d: f.District) -> dict:
    return {
        "title": "推进重点项目前期工作（修改）",
        "requirement": "按会议要求完成项目前期手续，月底前报送进展",
        "source_id": d.source_id,
        "lead_department_id": d.lead_id,
        "assisting_department_ids": [d.assist_id],
        "leader_ids": [d.leader_id],
        "due_date": clock.today() + timedelta(days=40),
    }


def _run(action: Action, session: Session, d: f.District, actor: Actor, task: Task, req) -> object:
    """Call the real service for ``action``; ``req`` is the request a decision is about."""
    tid = task.id
    calls: dict[Action, Callable[[], object]] = {
        A.EDIT_DRAFT: lambda: tasks.update_draft(session, actor, tid, _edit_data(d)),
        A.DELETE_DRAFT: lambda: tasks.delete_draft(session, actor, tid),
        A.SUBMIT_FOR_APPROVAL: lambda: tasks.submit_for_approval(session, actor, tid),
        A.LEADER_APPROVE: lambda: tasks.leader_approve(session, actor, tid, "同意"),
        A.LEADER_REJECT: lambda: tasks.leader_reject(session, actor, tid, "请补充工作要求"),
        A.ASSIGN: lambda: tasks.assign(session, actor, tid),
        A.ACKNOWLEDGE: lambda: tasks.acknowledge(session, actor, tid),
        A.REPORT: lambda: tasks.report_progress(session, actor, tid, {"text": "已完成项目选址", "percent": 40}),
        A.REPORT_PART: lambda: tasks.report_progress(session, actor, tid, {"text": "资金已安排到位"}),
        A.REQUEST_EXTENSION: lambda: task_requests.request_extension(
            session, actor, tid, (task.due_date or clock.today()) + timedelta(days=10), "用地审批未完成"
        ),
        A.DECIDE_EXTENSION: lambda: task_requests.decide_extension(session, actor, req.id, approve=True),
        A.REQUEST_CLOSE: lambda: task_requests.request_close(session, actor, tid, "已全部完成，附验收材料"),
        A.APPROVE_CLOSE: lambda: task_requests.review_close(session, actor, tid, approve=True),
        A.RETURN: lambda: task_requests.review_close(session, actor, tid, approve=False, note="缺少佐证材料"),
        A.SUSPEND: lambda: tasks.suspend(session, actor, tid, "等待上级政策"),
        A.RESUME: lambda: tasks.resume(session, actor, tid, "政策已明确"),
        A.CANCEL: lambda: tasks.cancel(session, actor, tid, "事项已由上级统筹"),
        A.REOPEN: lambda: tasks.reopen(session, actor, tid, "复查发现问题反弹"),
        A.REQUEST_REASSIGN: lambda: task_requests.request_reassign(session, actor, tid, "不属于我单位职责", d.other_id),
        A.DECIDE_REASSIGN: lambda: task_requests.decide_reassign(
            session, actor, req.id, approve=True, new_lead_department_id=d.other_id
        ),
        A.REQUEST_CHANGE: lambda: task_requests.request_change(
            session, actor, tid, "会议要求调整", requirement="按第13次常务会议要求调整"
        ),
        A.DECIDE_CHANGE: lambda: task_requests.decide_change(session, actor, req.id, approve=True),
        A.REMIND: lambda: task_chasing.remind(session, actor, tid, "请抓紧办理"),
        A.ESCALATE: lambda: task_chasing.escalate(session, actor, tid, "逾期未办结"),
        # Only the system may (Party.SYSTEM): every person here is refused; the system's
        # own step is tested in tests/test_chasing_reminders.py.
        A.CLOSE_NO_OBJECTION: lambda: task_chasing.close_no_objection(session, actor, tid),
    }
    assert set(calls) == set(Action)
    return calls[action]()


# --- set-up --------------------------------------------------------------------


def _stray_request(session: Session, d: f.District, task: Task, kind: str):
    """A request row on a task that cannot have one yet (a draft, a pending approval).

    The services cannot make it; it stands for a forged or stale request id, so that
    the decision service gets as far as its workflow check."""
    if kind == "extension":
        req = ExtensionRequest(
            task_id=task.id,
            department_id=d.lead_id,
            requested_by_id=d.lead_clerk.user_id,
            reason="资金未到位",
            old_due_date=task.due_date,
            new_due_date=task.due_date + timedelta(days=14),
        )
    else:
        req = ChangeRequest(
            task_id=task.id,
            department_id=d.lead_id,
            requested_by_id=d.lead_clerk.user_id,
            kind=ChangeKind.REASSIGN if kind == "reassign" else ChangeKind.REQUIREMENT_CHANGE,
            reason="会议要求调整",
            payload={"suggested_department_id": d.other_id}
            if kind == "reassign"
            else {"requirement": "按调整后的会议要求办理"},
        )
    session.add(req)
    session.flush()
    return req


def _latest_request(session: Session, task: Task, kind: str):
    model = ExtensionRequest if kind == "extension" else ChangeRequest
    return session.exec(select(model).where(model.task_id == task.id).order_by(model.id.desc())).first()


_state = f.task_state  # the task's fields and everything that hangs off it


# --- the matrix ------------------------------------------------------------------


@pytest.mark.parametrize("actor_kind", list(ACTORS))
@pytest.mark.parametrize("status", list(Status), ids=str)
@pytest.mark.parametrize("action", list(Action), ids=str)
def test_matrix(session, action: Action, status: Status, actor_kind: str):
    d = f.quick_district(session)
    actor: Actor = getattr(d, ACTORS[actor_kind])
    kind = REQUEST_FOR.get(action)
    walkable = status not in (S.DRAFT, S.PENDING_APPROVAL)
    task = f.task_in(session, d, status, pending=(kind,) if kind and walkable else ())
    req = None
    if kind:
        req = _latest_request(session, task, kind) if walkable else _stray_request(session, d, task, kind)
        assert req is not None
    session.flush()
    assert task.status == status

    who = frozenset(parties(session, actor, task))
    assert who == expected_parties(actor_kind, status), "the district is not what the matrix assumes"
    exp = expected(action, status, who, task.status_before_suspend)
    offered = effective_action(action, who) in allowed(status, who)
    assert offered == (exp.error is None), "allowed() and the table disagree"

    before = _state(session, task)
    task_id, code = task.id, task.code

    if exp.error is not None:
        with pytest.raises(exp.error) as err:
            _run(action, session, d, actor, task, req)
        assert type(err.value) is exp.error  # not a subclass standing in for it
        assert re.search(r"[\u4e00-\u9fff]", err.value.message), "the user reads Chinese"
        assert _state(session, task) == before, "a refused step changed something"
        return

    result = _run(action, session, d, actor, task, req)
    session.flush()

    events = session.exec(select(AuditEvent).where(AuditEvent.task_id == task_id).order_by(AuditEvent.id)).all()
    assert len(events) == before["audit"] + 1, "a step writes exactly one audit event"
    event = events[-1]
    assert event.action == AUDIT_NAME.get(action, effective_action(action, who))
    assert event.actor_id == actor.user_id

    if action == A.DELETE_DRAFT:
        session.expunge_all()
        assert result is None and session.get(Task, task_id) is None
        assert event.before["code"] == code
        return

    session.refresh(task)
    assert task.status == exp.target
    _check_effects(session, d, action, task, before, result)


def _check_effects(session: Session, d: f.District, action: Action, task: Task, before: dict, result) -> None:
    """The part of a successful step that is not the status."""
    if action in (A.ASSIGN, A.LEADER_APPROVE):
        assert task.assigned_at is not None and task.original_due_date == task.due_date
    elif action == A.REQUEST_EXTENSION:
        assert result.status == RequestStatus.PENDING and task.due_date == before["due_date"]
    elif action == A.DECIDE_EXTENSION:
        assert task.due_date == result.new_due_date != before["due_date"]
        assert task.original_due_date == before["original_due_date"]
    elif action == A.APPROVE_CLOSE:
        assert task.closed_on == clock.today()
    elif action == A.REOPEN:
        assert task.closed_on is None
    elif action == A.DECIDE_REASSIGN:
        assert task.lead_department_id == d.other_id and task.acknowledged_at is None
    elif action == A.DECIDE_CHANGE:
        assert task.requirement == "按调整后的会议要求办理"
    elif action == A.CANCEL:
        assert all(
            status != RequestStatus.PENDING
            for key in ("ExtensionRequest", "ChangeRequest", "CloseRequest")
            for _, status in _state(session, task)[key]
        )
    if action not in (A.ASSIGN, A.LEADER_APPROVE, A.EDIT_DRAFT, A.DECIDE_EXTENSION):
        assert task.due_date == before["due_date"] and task.original_due_date == before["original_due_date"]


def test_refused_reassign_keeps_status(session):
    """The other half of DECIDE_REASSIGN: a refusal leaves the status as the table says."""
    d = f.district(session)
    task = f.task_in(session, d, "acknowledged", pending=("reassign",))
    req = _latest_request(session, task, "reassign")
    task_requests.decide_reassign(session, d.office, req.id, approve=False, note="职责清单明确由你单位牵头")
    assert task.status == S.ACKNOWLEDGED and task.lead_department_id == d.lead_id
    assert req.status == RequestStatus.REJECTED


# --- status labels ---------------------------------------------------------------


def test_office_and_department_read_the_review_differently():
    assert status_label(S.PENDING_REVIEW, P.OFFICE) == "待审核"
    assert status_label(S.PENDING_REVIEW, P.LEAD) == "已申请办结"
    assert status_label(S.PENDING_REVIEW, P.ASSIST) == "已申请办结"
    assert status_label(S.PENDING_REVIEW, P.LEADER) == "督查室审核中"
    assert status_label(S.PENDING_REVIEW) == "待审核"  # the office's words by default
    assert status_label("pending_review", P.NONE) == "待审核"
    assert status_label(S.ASSIGNED, P.OFFICE) == "已交办"
    assert status_label(S.ASSIGNED, P.LEAD) == "待签收"
    assert status_label(S.PENDING_APPROVAL, P.LEADER) == "待我审核"


@pytest.mark.parametrize("party", list(Party), ids=str)
@pytest.mark.parametrize("status", list(Status), ids=str)
def test_every_status_has_a_chinese_label_for_every_party(status, party):
    label = status_label(status, party)
    assert label and re.fullmatch(r"[\u4e00-\u9fff]+", label)
    assert status_label(str(status), party) == label  # stored strings work as well as enums


def test_label_views_cover_the_same_statuses():
    for view, labels in STATUS_LABELS.items():
        assert set(labels) == set(Status), view
    # Lead and assisting departments share one view; only review/assignment wording differs by side.
    differs = {s for s in Status if STATUS_LABELS["office"][s] != STATUS_LABELS["department"][s]}
    assert S.PENDING_REVIEW in differs and S.ASSIGNED in differs


def test_illegal_transition_names_the_status_in_chinese():
    with pytest.raises(IllegalTransition, match="当前状态为“待审核”，不能执行“签收”"):
        check(A.ACKNOWLEDGE, S.PENDING_REVIEW, {P.LEAD})


# --- allowed() agrees with the table ---------------------------------------------

PARTY_SETS = [frozenset(c) for n in range(len(Party) + 1) for c in combinations(list(Party), n)]


def test_the_table_covers_every_action():
    assert list(TRANSITIONS) == list(Action)  # allowed() returns actions in this order
    for action, t in TRANSITIONS.items():
        assert t.sources and t.parties and P.NONE not in t.parties, action
        assert t.target is None or t.target in Status
        assert re.search(r"[\u4e00-\u9fff]", t.label)


@pytest.mark.parametrize("status", list(Status), ids=str)
def test_allowed_agrees_with_the_table_and_check(status):
    for who in PARTY_SETS:
        from_table = [a for a, t in TRANSITIONS.items() if status in t.sources and t.parties & who]
        from_check = []
        for a in Action:
            try:
                check(a, status, who)
            except (NotPermitted, IllegalTransition):
                continue
            from_check.append(a)
        assert allowed(status, who) == from_table == from_check, (status, who)
        assert allowed(str(status), set(who)) == from_table


def test_allowed_spot_checks():
    assert allowed(S.DRAFT, {P.OFFICE}) == [A.EDIT_DRAFT, A.DELETE_DRAFT, A.SUBMIT_FOR_APPROVAL, A.ASSIGN]
    assert allowed(S.PENDING_APPROVAL, {P.LEADER}) == [A.LEADER_APPROVE, A.LEADER_REJECT]
    assert allowed(S.ASSIGNED, {P.LEAD}) == [A.ACKNOWLEDGE, A.REQUEST_EXTENSION, A.REQUEST_REASSIGN, A.REQUEST_CHANGE]
    assert allowed(S.PENDING_REVIEW, {P.LEAD}) == [A.REQUEST_CHANGE]
    assert allowed(S.PENDING_REVIEW, {P.OFFICE}) == [
        A.DECIDE_EXTENSION,
        A.APPROVE_CLOSE,
        A.RETURN,
        A.SUSPEND,
        A.CANCEL,
        A.REQUEST_CHANGE,
        A.DECIDE_CHANGE,
        A.REMIND,
        A.ESCALATE,
    ]
    assert allowed(S.IN_PROGRESS, {P.ASSIST}) == [A.REPORT_PART]
    assert allowed(S.CLOSED, {P.OFFICE}) == [A.REOPEN]
    for who in PARTY_SETS:
        assert allowed(S.CANCELLED, who) == []  # 撤销 is final
        assert allowed(S.CLOSED, who) in ([], [A.REOPEN])  # 办结 only reopens
    for status in Status:
        assert allowed(status, set()) == [] and allowed(status, {P.NONE}) == []


def test_every_status_is_reachable_in_the_table():
    targets = {t.target for t in TRANSITIONS.values() if t.target is not None}
    sources = set().union(*(t.sources for t in TRANSITIONS.values()))
    assert targets == set(Status)
    assert sources == set(Status) - {S.CANCELLED}  # nothing leaves 已撤销
