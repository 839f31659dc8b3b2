"""A department's requests on its task and the decisions on them.

延期 (a later deadline) and 改派 (another lead department) are decided by the office; 办结 is
reviewed by the office (办结, or 退回 to 办理中); 变更 (a new lead department, requirement or title)
is decided by someone other than whoever asked. Each request is a row and one audit event; each
decision settles the row and, when approved, changes the task, all in the caller's transaction.

Every step stands on the task service's core in ``tasks.lifecycle``: it loads the task through
``_visible_task``, asks ``workflow.check``, changes the status only through ``_set_status``, and
audits with ``record_change``.

A decision locks the task, then the request (``_to_decide``), and only then reads whether the
request is still pending: of several office users deciding one request at once exactly one
decides, and the others are told who did and when (``settled.request_settled``, HTTP 409).
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from tracker import clock, db
from tracker.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from tracker.models import (
    ChangeKind,
    ChangeRequest,
    CloseRequest,
    DeadlineKind,
    ExtensionRequest,
    RequestStatus,
    Task,
    TaskAssist,
)
from tracker.rules.text import one_line
from tracker.services.actors import Actor
from tracker.services.calendar import load_calendar
from tracker.services.tasks import settled
from tracker.services.tasks.lifecycle import (
    _check_departments,
    _pending,
    _set_status,
    _visible_task,
    check_step,
    record_change,
    require_text,
    snapshot,
)
from tracker.services.validation import check_date
from tracker.workflow import Action, Status

_REASSIGN = (ChangeKind.REASSIGN,)
_CHANGES = (ChangeKind.LEAD_CHANGE, ChangeKind.REQUIREMENT_CHANGE)

# --- deciding ------------------------------------------------------------------


def _to_decide(session: Session, actor: Actor, model, request_id: int, missing: str, kinds=None) -> tuple:
    """The request to decide and its task, both locked (the task first, as every step on it) and
    read afresh: whatever was read of them before, the decision goes by what they hold now.
    NotFound (``missing``) for no such request, or a change request not of ``kinds``."""
    req = session.get(model, request_id)  # for its task, which a request never changes
    if req is None or (kinds is not None and req.kind not in kinds):
        raise NotFound(missing)
    task, who = _visible_task(session, actor, req.task_id)
    return db.locked(session, model, request_id), task, who


def _still_pending(session: Session, req, what: str) -> None:
    if req.status != RequestStatus.PENDING:
        raise settled.request_settled(session, req, what)


def none_pending(session: Session, model, task_id: int, what: str, kinds=None) -> Conflict:
    """The refusal for deciding a task's pending request of a kind when it has none: who decided the
    last one and when, if there was one."""
    stmt = select(model).where(model.task_id == task_id)
    if kinds is not None:
        stmt = stmt.where(model.kind.in_(kinds))
    last = session.exec(stmt.order_by(model.id.desc())).first()
    if last is not None and last.status != RequestStatus.PENDING:
        return settled.request_settled(session, last, what)
    return Conflict(f"该事项没有待审核的{what}")


# --- extension and closing -----------------------------------------------------


def request_extension(
    session: Session, actor: Actor, task_id: int, new_due_date: date, reason: str
) -> ExtensionRequest:
    """延期申请: only before the deadline has passed, only one open at a time."""
    task, who = _visible_task(session, actor, task_id)
    check_step(session, Action.REQUEST_EXTENSION, task, who)
    reason = require_text(reason, "reason", "延期理由")
    if task.deadline_kind != DeadlineKind.DATE or task.due_date is None:
        raise ValidationFailed("该事项没有固定完成时限，无需申请延期")
    if clock.today() > task.due_date:
        raise ValidationFailed(
            f"已超过完成时限（{task.due_date.isoformat()}），延期申请应在时限届满前提出",
            fields={"new_due_date": "已逾期，不能申请延期"},
        )
    check_date(new_due_date, label="新的完成时限", field="new_due_date")
    if new_due_date <= task.due_date:
        raise ValidationFailed("申请的新时限应晚于当前完成时限", fields={"new_due_date": "应晚于当前完成时限"})
    if _pending(session, ExtensionRequest, task.id):
        raise Conflict("已有一份延期申请正在审核，请勿重复提交")
    before = snapshot(session, task)
    req = ExtensionRequest(
        task_id=task.id,
        department_id=actor.department_id,
        requested_by_id=actor.user_id,
        reason=reason,
        old_due_date=task.due_date,
        new_due_date=new_due_date,
    )
    session.add(req)
    session.flush()
    record_change(
        session,
        actor,
        Action.REQUEST_EXTENSION,
        task,
        before,
        note=reason,
        entity="extension_request",
        entity_id=req.id,
    )
    return req


def decide_extension(
    session: Session, actor: Actor, request_id: int, approve: bool, note: str = ""
) -> ExtensionRequest:
    """Approved, the due date moves and the original deadline stays on record."""
    req, task, who = _to_decide(session, actor, ExtensionRequest, request_id, "未找到该延期申请")
    check_step(session, Action.DECIDE_EXTENSION, task, who)
    _still_pending(session, req, "延期申请")
    if not approve:
        note = require_text(note, "note", "不同意延期的理由")
    before = snapshot(session, task)
    req.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    req.decided_by_id, req.decided_at, req.decision_note = actor.user_id, clock.now(), note
    if approve:
        task.due_date = req.new_due_date
        task.updated_at = clock.now()
    record_change(
        session,
        actor,
        "approve_extension" if approve else "refuse_extension",
        task,
        before,
        note=note,
        entity="extension_request",
        entity_id=req.id,
    )
    return req


def request_close(session: Session, actor: Actor, task_id: int, summary: str) -> CloseRequest:
    """申请办结 by the lead department."""
    task, who = _visible_task(session, actor, task_id)
    check_step(session, Action.REQUEST_CLOSE, task, who)
    summary = require_text(summary, "summary", "办结情况说明")
    before = snapshot(session, task)
    req = CloseRequest(
        task_id=task.id, department_id=actor.department_id, requested_by_id=actor.user_id, summary=summary
    )
    session.add(req)
    _set_status(task, Status.PENDING_REVIEW)
    session.flush()
    record_change(
        session, actor, Action.REQUEST_CLOSE, task, before, note=summary, entity="close_request", entity_id=req.id
    )
    return req


def review_close(session: Session, actor: Actor, task_id: int, approve: bool, note: str = "") -> Task:
    """督查室审核: 办结, or 退回 with a reason back to 办理中."""
    task, who = _visible_task(session, actor, task_id)
    action = Action.APPROVE_CLOSE if approve else Action.RETURN
    check_step(session, action, task, who)
    if not approve:
        note = require_text(note, "note", "退回理由")
    req = _pending(session, CloseRequest, task.id)
    before = snapshot(session, task)
    if req is not None:
        req.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
        req.decided_by_id, req.decided_at, req.decision_note = actor.user_id, clock.now(), note
    if approve:
        task.closed_on = clock.today()
        _set_status(task, Status.CLOSED)
    else:
        _set_status(task, Status.IN_PROGRESS)
    record_change(session, actor, action, task, before, note=note)
    return task


# --- re-assignment and reviewed changes ----------------------------------------


def request_reassign(
    session: Session,
    actor: Actor,
    task_id: int,
    reason: str,
    suggested_department_id: int | None = None,
    *,
    window_workdays: int = 2,
) -> ChangeRequest:
    """改派: a lead department that is not responsible says so, within the window."""
    task, who = _visible_task(session, actor, task_id)
    check_step(session, Action.REQUEST_REASSIGN, task, who)
    reason = require_text(reason, "reason", "申请改派的理由")
    assigned_on = clock.local_date(task.assigned_at)
    elapsed = load_calendar(session).workdays_between(assigned_on, clock.today()).value
    if elapsed > window_workdays:
        raise ValidationFailed(
            f"改派申请应在交办后 {window_workdays} 个工作日内提出（已过 {elapsed} 个工作日），请与督查室联系"
        )
    if _pending_change(session, task.id):
        raise Conflict("已有一份变更或改派申请正在审核")
    if suggested_department_id is not None:
        _check_departments(session, [suggested_department_id], "suggested_department_id")
    before = snapshot(session, task)
    req = ChangeRequest(
        task_id=task.id,
        kind=ChangeKind.REASSIGN,
        department_id=actor.department_id,
        requested_by_id=actor.user_id,
        reason=reason,
        payload={"suggested_department_id": suggested_department_id},
    )
    session.add(req)
    session.flush()
    record_change(
        session, actor, Action.REQUEST_REASSIGN, task, before, note=reason, entity="change_request", entity_id=req.id
    )
    return req


def _pending_change(session: Session, task_id: int) -> ChangeRequest | None:
    return _pending(session, ChangeRequest, task_id)


def decide_reassign(
    session: Session,
    actor: Actor,
    request_id: int,
    approve: bool,
    new_lead_department_id: int | None = None,
    note: str = "",
) -> ChangeRequest:
    req, task, who = _to_decide(session, actor, ChangeRequest, request_id, "未找到该改派申请", _REASSIGN)
    check_step(session, Action.DECIDE_REASSIGN, task, who)
    _still_pending(session, req, "改派申请")
    before = snapshot(session, task, links=True)
    if approve:
        if new_lead_department_id is None:
            raise ValidationFailed("同意改派时请指定新的牵头单位", fields={"new_lead_department_id": "请选择"})
        _check_departments(session, [new_lead_department_id], "new_lead_department_id")
        if new_lead_department_id == task.lead_department_id:
            raise ValidationFailed("新的牵头单位与原牵头单位相同", fields={"new_lead_department_id": "与原单位相同"})
        _set_lead(session, task, new_lead_department_id)
        task.acknowledged_at = None
        task.assigned_at = clock.now()
        _set_status(task, Status.ASSIGNED)  # the new lead acknowledges afresh
    else:
        note = require_text(note, "note", "不同意改派的理由")
    req.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    req.decided_by_id, req.decided_at, req.decision_note = actor.user_id, clock.now(), note
    record_change(
        session,
        actor,
        "approve_reassign" if approve else "refuse_reassign",
        task,
        before,
        note=note,
        entity="change_request",
        entity_id=req.id,
    )
    return req


def _set_lead(session: Session, task: Task, department_id: int) -> None:
    assist = session.get(TaskAssist, (task.id, department_id))
    if assist is not None:  # the new lead stops being an assisting department
        session.delete(assist)
    task.lead_department_id = department_id
    task.updated_at = clock.now()


def request_change(
    session: Session,
    actor: Actor,
    task_id: int,
    reason: str,
    *,
    lead_department_id: int | None = None,
    requirement: str | None = None,
    title: str | None = None,
) -> ChangeRequest:
    """A change of lead department or of requirement, to be decided by someone else."""
    task, who = _visible_task(session, actor, task_id)
    check_step(session, Action.REQUEST_CHANGE, task, who)
    reason = require_text(reason, "reason", "变更理由")
    payload: dict = {}
    if lead_department_id is not None and lead_department_id != task.lead_department_id:
        _check_departments(session, [lead_department_id], "lead_department_id")
        payload["lead_department_id"] = lead_department_id
    if requirement is not None and requirement.strip() and requirement.strip() != task.requirement:
        payload["requirement"] = requirement.strip()
    title = one_line(title) if title is not None else None
    if title and title != task.title:
        payload["title"] = title[:200]
    if not payload:
        raise ValidationFailed("没有需要变更的内容")
    if _pending_change(session, task.id):
        raise Conflict("已有一份变更或改派申请正在审核")
    kind = ChangeKind.LEAD_CHANGE if "lead_department_id" in payload else ChangeKind.REQUIREMENT_CHANGE
    before = snapshot(session, task)
    req = ChangeRequest(
        task_id=task.id,
        kind=kind,
        department_id=actor.department_id,
        requested_by_id=actor.user_id,
        reason=reason,
        payload=payload,
    )
    session.add(req)
    session.flush()
    record_change(
        session, actor, Action.REQUEST_CHANGE, task, before, note=reason, entity="change_request", entity_id=req.id
    )
    return req


def decide_change(session: Session, actor: Actor, request_id: int, approve: bool, note: str = "") -> ChangeRequest:
    req, task, who = _to_decide(session, actor, ChangeRequest, request_id, "未找到该变更申请", _CHANGES)
    check_step(session, Action.DECIDE_CHANGE, task, who)
    _still_pending(session, req, "变更申请")
    if req.requested_by_id is not None and req.requested_by_id == actor.user_id:
        raise NotPermitted("变更申请须由申请人以外的人员审核")
    if not approve:
        note = require_text(note, "note", "不同意变更的理由")
    before = snapshot(session, task, links=True)
    if approve:
        payload = req.payload or {}
        if "lead_department_id" in payload:
            _check_departments(session, [payload["lead_department_id"]], "lead_department_id")
            _set_lead(session, task, payload["lead_department_id"])
            task.acknowledged_at = None
            # The old lead's 申请办结 lapses with its lead: left pending, it would outlive the
            # move back to 已交办 and be the one a later review_close decides.
            close_req = _pending(session, CloseRequest, task.id)
            if close_req is not None:
                close_req.status = RequestStatus.WITHDRAWN
            if task.status != Status.SUSPENDED:
                _set_status(task, Status.ASSIGNED)  # the new lead acknowledges afresh
            else:
                # Stays suspended, but RESUME must bring it back to 已交办: the old
                # status_before_suspend (已签收/办理中/待审核) belongs to a lead that is gone.
                task.status_before_suspend = Status.ASSIGNED
        if "requirement" in payload:
            task.requirement = payload["requirement"]
        if "title" in payload:
            task.title = payload["title"]
        task.updated_at = clock.now()
    req.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    req.decided_by_id, req.decided_at, req.decision_note = actor.user_id, clock.now(), note
    record_change(
        session,
        actor,
        "approve_change" if approve else "refuse_change",
        task,
        before,
        note=note,
        entity="change_request",
        entity_id=req.id,
    )
    return req
