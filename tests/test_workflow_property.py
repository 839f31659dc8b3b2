"""Random walks through the closed loop: invariants that no sequence of steps may break.

A hypothesis state machine drives random actions by random actors, with random
(sometimes invalid) input, through the real services on two tasks at a time (a
deleted draft may make room for a third), and lets the clock run forward between
steps so that the deadline rules (延期 only before the deadline, 改派 within two
working days, once-a-day 催办) are exercised. A ``DomainError`` is a refusal.
After every step it checks:

- a refused step writes no audit event and changes nothing, on any task,
  and a step the table forbids fails with the workflow's own error;
- a successful step writes exactly one audit event and touches only its task;
  the table allowed it, and the status is the one the table leads to;
- audit events for a task = 1 (create) + its successful steps;
- once assigned: exactly one lead department, never also assisting; the
  original deadline stays as first assigned while extensions move ``due_date``;
- a closed task changes only through REOPEN;
- a task past 签收 has been signed for by its current lead department, and a
  pending 申请办结 exists exactly while the task waits for review;
- the status is always a valid Status.

Each example starts from an empty database (``conftest._empty``) and builds its
own district; the test takes only the session-scoped ``engine`` fixture, so no
function-scoped fixture is shared between examples.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlmodel import Session, select

from tests import factories as f
from tests.conftest import TODAY, _empty
from tracker import clock
from tracker.errors import DomainError, IllegalTransition, NotFound, NotPermitted
from tracker.models import AuditEvent, ChangeKind, ChangeRequest, CloseRequest, ExtensionRequest, RequestStatus, Task
from tracker.services.actors import parties
from tracker.services.chasing import by_hand as task_chasing
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks import requests as task_requests
from tracker.workflow import TRANSITIONS, Action, Party, Status, allowed

A, S, P = Action, Status, Party

ACTOR_NAMES = ("office", "office2", "lead_clerk", "assist_clerk", "other_clerk", "leader", "other_leader", "admin")
TEXTS = st.sampled_from(["情况说明"] * 5 + ["  "])  # mostly valid, sometimes blank
# Past 签收: the current lead department has signed for the task.
SIGNED = {S.ACKNOWLEDGED, S.IN_PROGRESS, S.PENDING_REVIEW, S.CLOSED}
OPEN_OR_SUSPENDABLE = {S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.PENDING_REVIEW}
DECISIONS = (A.DECIDE_EXTENSION, A.DECIDE_REASSIGN, A.DECIDE_CHANGE)


def _effective(action: Action, who: set[Party]) -> Action:
    """``report_progress`` serves REPORT and REPORT_PART; the party decides which."""
    if action in (A.REPORT, A.REPORT_PART):
        return A.REPORT if P.LEAD in who else A.REPORT_PART
    return action


def _pending(state: dict, model: str) -> int:
    return sum(1 for _, status in state[model] if status == RequestStatus.PENDING)


class WorkflowMachine(RuleBasedStateMachine):
    def __init__(self, engine: sa.Engine):
        super().__init__()
        _empty(engine)  # every example starts from an empty database
        clock.set_today(TODAY)
        self.session = Session(engine, expire_on_commit=False)
        self.d = f.quick_district(self.session)
        self.deps = [self.d.lead_id, self.d.assist_id, self.d.other_id]
        self.task_ids: list[int] = []
        self.states: dict[int, dict] = {}  # task id -> task_state() as last committed
        self.successes: dict[int, int] = {}  # task id -> successful steps after create
        self.original_due: dict[int, date] = {}  # as first assigned
        self.deleted: set[int] = set()

    def teardown(self):
        self.session.rollback()
        self.session.close()
        clock.set_today(TODAY)

    # --- set-up ----------------------------------------------------------------

    @rule(due_in=st.sampled_from([60, 30, 10, 3]), approval=st.booleans(), assisting=st.booleans())
    # Two live tasks at most; a deleted draft may be followed by a new task, which must not
    # inherit its id or audit trail (see test_deleted_draft_id_is_not_reused).
    @precondition(lambda self: len(self.task_ids) < 3 and len(self.task_ids) - len(self.deleted) < 2)
    def create(self, due_in: int, approval: bool, assisting: bool):
        """Register a task: one that goes straight out or one that needs the leader's
        approval first, with or without an assisting department."""
        task = f.draft(
            self.session,
            self.d,
            due_date=clock.today() + timedelta(days=due_in),
            needs_leader_approval=approval,
            assisting_department_ids=[self.d.assist_id] if assisting else [],
        )
        self.session.commit()
        assert task.id not in self.task_ids, "a task id is never reused"
        self.task_ids.append(task.id)
        self.successes[task.id] = 0
        self.states = self._states()

    # --- one step --------------------------------------------------------------

    @rule(
        which=st.integers(0, 2),
        days=st.sampled_from([0] * 10 + [1, 1, 2, 3, 7, 30]),
        guided=st.integers(0, 9),
        data=st.data(),
    )
    @precondition(lambda self: self.task_ids)
    def step(self, which: int, days: int, guided: int, data):
        """The clock runs on (never back) by ``days``, then one action by one actor.

        Mostly (8 in 10) the action is one the table offers someone for the task's
        status, so that walks get deep into the loop (editing a draft less often, and
        the final steps, 删除 and 撤销, rarely: they end the walk); otherwise any action
        by anyone, which the services must refuse unless the table allows it."""
        s = self.session
        clock.set_today(clock.today() + timedelta(days=days))
        task_id = self.task_ids[which % len(self.task_ids)]
        before = self.states
        task = s.get(Task, task_id)
        offered: dict[Action, list[str]] = {}
        if task is not None and guided >= 2:
            unfit = task.lead_department_id is None or task.due_date is None or task.due_date < clock.today()
            skip = {
                A.DELETE_DRAFT: guided < 9,
                A.CANCEL: guided < 9,
                A.EDIT_DRAFT: guided < 7 and not unfit,  # edit mostly to make it fit to go out
                A.ASSIGN: task.needs_leader_approval,  # (an unguided step still tries)
            }
            for name in ACTOR_NAMES[:-1]:  # the admin is offered nothing
                for action in allowed(task.status, parties(s, getattr(self.d, name), task)):
                    if not skip.get(action, False):
                        offered.setdefault(action, []).append(name)
        if offered:
            action = data.draw(st.sampled_from(sorted(offered)), label="action")
            actor_name = data.draw(st.sampled_from(offered[action]), label="actor")
        else:
            action = data.draw(st.sampled_from(list(Action)), label="action")
            actor_name = data.draw(st.sampled_from(ACTOR_NAMES), label="actor")
        actor = getattr(self.d, actor_name)
        status_before = Status(task.status) if task else None
        who = parties(s, actor, task) if task else set()
        call, req = self._call(action, actor, task_id, task, data)

        try:
            result = call()
        except DomainError as exc:
            # Refused: nothing changed (not even in the session), on either task, and
            # no audit event was written. The caller then rolls back, as the web layer does.
            assert self._states() == before, f"refused {action} by {actor_name} changed something: {exc.message}"
            s.rollback()
            self._check_refusal(exc, action, task, status_before, who, req)
            return

        self.successes[task_id] += 1
        after = self._states()
        for other, state in before.items():
            if other != task_id:
                assert after[other] == state, f"{action} on task {task_id} changed task {other}"
        assert after[task_id]["audit"] == before[task_id]["audit"] + 1, "one step, one audit event"

        # The table allowed it, and the status is where the table leads.
        assert task is not None and who, f"{action} succeeded on a task {actor_name} cannot see"
        effective = _effective(action, who)
        t = TRANSITIONS[effective]
        assert t.parties & who and status_before in t.sources, f"{effective} from {status_before} by {who}"
        if status_before == S.CLOSED:  # a closed task changes only through REOPEN
            assert action == A.REOPEN, f"{action} changed a closed task"
        if action == A.DELETE_DRAFT:
            self.deleted.add(task_id)
        else:
            self._check_target(action, before[task_id], after[task_id], result)
        s.commit()
        self.states = after

    def _check_refusal(self, exc, action, task, status_before, who, req):
        """A step the table forbids fails with the workflow's own error, not a later check's."""
        if task is None or (action in DECISIONS and req is None):
            assert isinstance(exc, NotFound), f"{action}: {exc!r}"  # no task / no request
            return
        if not who:
            assert isinstance(exc, NotFound), f"{action}: {exc!r}"  # none of their business
            return
        t = TRANSITIONS[_effective(action, who)]
        if not (t.parties & who):
            assert isinstance(exc, NotPermitted), f"{action} by {who}: {exc!r}"
        elif status_before not in t.sources:
            assert isinstance(exc, IllegalTransition), f"{action} from {status_before}: {exc!r}"
        else:  # allowed by the table, refused for its input or a rule of the domain
            assert not isinstance(exc, (NotFound, IllegalTransition)), f"{action}: {exc!r}"

    def _check_target(self, action: Action, before: dict, after: dict, result) -> None:
        status_before, status = Status(before["status"]), Status(after["status"])
        target = TRANSITIONS[action].target
        approved = getattr(result, "status", None) == RequestStatus.APPROVED
        if action == A.RESUME:
            assert status == Status(before["status_before_suspend"] or S.IN_PROGRESS), "back where it was"
        elif action == A.DECIDE_REASSIGN and approved:
            assert status == S.ASSIGNED, "the new lead department signs for it afresh"
            assert after["lead_department_id"] != before["lead_department_id"]
        elif action == A.DECIDE_CHANGE and approved and "lead_department_id" in (result.payload or {}):
            assert status == (S.SUSPENDED if status_before == S.SUSPENDED else S.ASSIGNED)
            assert after["lead_department_id"] == result.payload["lead_department_id"]
        elif action in (A.REPORT, A.REPORT_PART):
            lead_reported = result.department_id == before["lead_department_id"]
            assert status == (S.IN_PROGRESS if lead_reported else status_before)
        else:
            assert status == (target if target is not None else status_before), f"{action}: {status_before}->{status}"
        if action == A.DECIDE_EXTENSION and approved:
            assert after["due_date"] == result.new_due_date > before["due_date"], "an extension moves the deadline"
        elif action not in (A.EDIT_DRAFT, A.ASSIGN, A.LEADER_APPROVE):
            assert after["due_date"] == before["due_date"], f"{action} moved the deadline"

    # --- the calls, with random input ---------------------------------------------

    def _request(self, model, task_id: int, data, kind_ok=lambda r: True):
        """Mostly the task's pending request; sometimes an old, decided one; else none."""
        rows = [
            r for r in self.session.exec(select(model).where(model.task_id == task_id).order_by(model.id)) if kind_ok(r)
        ]
        pending = [r for r in rows if r.status == RequestStatus.PENDING]
        if pending and data.draw(st.integers(0, 4), label="stale") > 0:
            return pending[-1]
        return rows[-1] if rows else None

    def _call(self, action: Action, actor, task_id: int, task: Task | None, data):
        s, d, draw = self.session, self.d, data.draw
        text = draw(TEXTS, label="text")
        due = task.due_date if task is not None and task.due_date else clock.today()
        dep_or_none = st.sampled_from([None, *self.deps])
        req = None
        if action == A.EDIT_DRAFT:
            # Mostly a small, valid edit of what is there; sometimes one the service must
            # refuse (no title, lead also assisting) or that makes the draft unfit to go out.
            current = task.lead_department_id if task is not None else None
            approval = bool(task is not None and task.needs_leader_approval)
            payload = {
                "title": draw(st.sampled_from(["推进重点项目前期工作"] * 5 + [""]), label="title"),
                "requirement": "按会议要求办理",
                "source_id": d.source_id,
                "lead_department_id": draw(st.sampled_from([current] * 4 + [*self.deps, None]), label="lead"),
                "assisting_department_ids": draw(
                    st.sampled_from([[], [d.assist_id], [d.other_id], [d.assist_id, d.other_id]]), label="assisting"
                ),
                "leader_ids": draw(
                    st.sampled_from([[d.leader_id], [d.leader_id, d.other_leader.leader_id], []]), label="leaders"
                ),
                "due_date": clock.today()
                + timedelta(days=draw(st.sampled_from([60, 30, 10, 3, 0, -1]), label="due_in")),
                "needs_leader_approval": draw(st.sampled_from([approval] * 3 + [not approval]), label="approval"),
            }
            call = lambda: tasks.update_draft(s, actor, task_id, payload)
        elif action == A.DELETE_DRAFT:
            call = lambda: tasks.delete_draft(s, actor, task_id)
        elif action == A.SUBMIT_FOR_APPROVAL:
            call = lambda: tasks.submit_for_approval(s, actor, task_id)
        elif action == A.LEADER_APPROVE:
            call = lambda: tasks.leader_approve(s, actor, task_id)
        elif action == A.LEADER_REJECT:
            call = lambda: tasks.leader_reject(s, actor, task_id, text)
        elif action == A.ASSIGN:
            call = lambda: tasks.assign(s, actor, task_id)
        elif action == A.ACKNOWLEDGE:
            call = lambda: tasks.acknowledge(s, actor, task_id)
        elif action in (A.REPORT, A.REPORT_PART):
            report = {"text": text, "percent": draw(st.sampled_from([None, 30, 100, 101]), label="percent")}
            call = lambda: tasks.report_progress(s, actor, task_id, report)
        elif action == A.REQUEST_EXTENSION:
            new_due = due + timedelta(days=draw(st.sampled_from([7, 14, 30, 0, -1]), label="extend_by"))
            call = lambda: task_requests.request_extension(s, actor, task_id, new_due, text)
        elif action == A.REQUEST_CLOSE:
            call = lambda: task_requests.request_close(s, actor, task_id, text)
        elif action in (A.APPROVE_CLOSE, A.RETURN):
            call = lambda: task_requests.review_close(s, actor, task_id, approve=action == A.APPROVE_CLOSE, note=text)
        elif action == A.SUSPEND:
            call = lambda: tasks.suspend(s, actor, task_id, text)
        elif action == A.RESUME:
            call = lambda: tasks.resume(s, actor, task_id)
        elif action == A.CANCEL:
            call = lambda: tasks.cancel(s, actor, task_id, text)
        elif action == A.REOPEN:
            call = lambda: tasks.reopen(s, actor, task_id, text)
        elif action == A.REQUEST_REASSIGN:
            suggested = draw(dep_or_none, label="suggested")
            call = lambda: task_requests.request_reassign(s, actor, task_id, text, suggested)
        elif action == A.REQUEST_CHANGE:
            lead = draw(dep_or_none, label="new_lead")
            requirement = draw(st.sampled_from([None, "按新的会议要求办理"]), label="requirement")
            title = draw(st.sampled_from([None, "", "调整后的事项名称"]), label="new_title")
            call = lambda: task_requests.request_change(
                s, actor, task_id, text, lead_department_id=lead, requirement=requirement, title=title
            )
        elif action == A.REMIND:
            call = lambda: task_chasing.remind(s, actor, task_id, text)
        elif action == A.ESCALATE:
            level = draw(st.sampled_from([1, 2, 3, 4]), label="level")
            call = lambda: task_chasing.escalate(s, actor, task_id, text, level)
        elif action == A.CLOSE_NO_OBJECTION:  # the system's step: every person is refused
            call = lambda: task_chasing.close_no_objection(s, actor, task_id)
        else:  # the three decisions, on the task's request (if it has one)
            assert action in DECISIONS
            approve = draw(st.booleans(), label="approve")
            if action == A.DECIDE_EXTENSION:
                req = self._request(ExtensionRequest, task_id, data)
            else:
                reassign = action == A.DECIDE_REASSIGN
                req = self._request(ChangeRequest, task_id, data, lambda r: (r.kind == ChangeKind.REASSIGN) == reassign)
            req_id = req.id if req is not None else 10**6
            if action == A.DECIDE_EXTENSION:
                call = lambda: task_requests.decide_extension(s, actor, req_id, approve, text)
            elif action == A.DECIDE_REASSIGN:
                new_lead = draw(dep_or_none, label="reassign_to")
                call = lambda: task_requests.decide_reassign(s, actor, req_id, approve, new_lead, text)
            else:
                call = lambda: task_requests.decide_change(s, actor, req_id, approve, text)
        return call, req

    # --- invariants ----------------------------------------------------------------

    def _states(self) -> dict[int, dict]:
        out = {}
        for task_id in self.task_ids:
            task = self.session.get(Task, task_id)
            if task is None:
                audit = self.session.exec(
                    select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.task_id == task_id)
                ).one()
                out[task_id] = {"deleted": True, "audit": audit}
            else:
                out[task_id] = f.task_state(self.session, task)
        return out

    @invariant()
    def invariants(self):
        """Checked after every rule on the state the rule left behind (``self.states``)."""
        for task_id, state in self.states.items():
            assert state["audit"] == 1 + self.successes[task_id], "audit events = create + successful steps"
            if state.get("deleted"):
                assert task_id in self.deleted
                continue
            status = Status(state["status"])  # always a valid status
            if state["assigned_at"] is not None:
                lead = state["lead_department_id"]
                assert lead is not None, "a task that went out has a lead department"
                assert lead not in state["assisting_department_ids"], "the lead is never also assisting"
                if task_id not in self.original_due:  # just went out: the deadline as assigned
                    assert state["original_due_date"] == state["due_date"] is not None
                    self.original_due[task_id] = state["original_due_date"]
                first = self.original_due[task_id]
                assert state["original_due_date"] == first, "the original deadline stays on record"
                assert state["due_date"] >= first, "extensions only move the deadline later"
            else:
                assert status in (S.DRAFT, S.PENDING_APPROVAL, S.CANCELLED), f"{status} but never assigned"
                assert task_id not in self.original_due, "assigned once, assigned for good"
            working = Status(state["status_before_suspend"]) if status == S.SUSPENDED else status
            if status == S.SUSPENDED:
                assert working in OPEN_OR_SUSPENDABLE, f"suspended from {working}"
            if working in SIGNED:
                assert state["acknowledged_at"] is not None, f"{working}, but its lead department never signed for it"
            if status != S.CANCELLED:
                assert _pending(state, "CloseRequest") == (1 if working == S.PENDING_REVIEW else 0), (
                    f"{_pending(state, 'CloseRequest')} pending close requests on a task that is {status}/{working}"
                )
            else:
                assert not any(_pending(state, m) for m in ("ExtensionRequest", "ChangeRequest", "CloseRequest"))
            assert _pending(state, "ExtensionRequest") <= 1 and _pending(state, "ChangeRequest") <= 1


def test_random_walks_keep_the_invariants(engine):
    run_state_machine_as_test(
        lambda: WorkflowMachine(engine),
        settings=settings(
            max_examples=40, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        ),
    )


def test_deleted_draft_id_is_not_reused(session):
    """A deleted draft's audit trail (create, delete_draft) must not become the history
    of the next task registered: audit events find their task by ``task_id`` alone."""
    d = f.quick_district(session)
    deleted_id = f.draft(session, d).id
    tasks.delete_draft(session, d.office, deleted_id)
    session.commit()
    task = f.draft(session, d, title="另一项督办事项")
    session.commit()
    history = session.exec(select(AuditEvent.action).where(AuditEvent.task_id == task.id)).all()
    assert task.id != deleted_id and history == ["create"], history


# --- what the random walks found (fixed in tracker/services/task_requests.py, decide_change)


def _change_lead(session, d, task):
    req = task_requests.request_change(session, d.office, task.id, "职责调整", lead_department_id=d.other_id)
    task_requests.decide_change(session, d.office2, req.id, approve=True)
    assert task.lead_department_id == d.other_id and task.acknowledged_at is None


def _close_requests(session, task) -> list[tuple[int, str]]:
    rows = session.exec(select(CloseRequest).where(CloseRequest.task_id == task.id).order_by(CloseRequest.id))
    return [(r.department_id, r.status) for r in rows]


def test_new_lead_while_suspended_signs_for_the_task_after_resume(session):
    """A new lead department approved while the task is 暂缓 must sign for it when it
    resumes: it used to come back 办理中/待审核 with nobody having signed."""
    d = f.quick_district(session)
    task = f.task_in(session, d, "in_progress")
    tasks.suspend(session, d.office, task.id, "等待上级政策")
    _change_lead(session, d, task)
    assert task.status == S.SUSPENDED
    tasks.resume(session, d.office, task.id)
    assert task.status == S.ASSIGNED
    tasks.acknowledge(session, d.other_clerk, task.id)
    assert task.status == S.ACKNOWLEDGED and task.acknowledged_at is not None


@pytest.mark.parametrize("suspended", [False, True], ids=["pending_review", "suspended_in_review"])
def test_new_lead_withdraws_the_old_leads_close_request(session, suspended):
    """The old lead's 申请办结 lapses with its lead: it used to stay pending, so the new
    lead's own request was the second pending one and review_close decided the old one."""
    d = f.quick_district(session)
    task = f.task_in(session, d, "pending_review")
    if suspended:
        tasks.suspend(session, d.office, task.id, "等待上级政策")
    _change_lead(session, d, task)
    if suspended:
        tasks.resume(session, d.office, task.id)
    assert task.status == S.ASSIGNED
    assert _close_requests(session, task) == [(d.lead_id, RequestStatus.WITHDRAWN)]
    tasks.acknowledge(session, d.other_clerk, task.id)
    task_requests.request_close(session, d.other_clerk, task.id, "已全部完成")
    task_requests.review_close(session, d.office, task.id, approve=True)
    assert _close_requests(session, task) == [
        (d.lead_id, RequestStatus.WITHDRAWN),
        (d.other_id, RequestStatus.APPROVED),
    ]
