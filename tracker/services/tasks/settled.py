"""Who got there first: the message of a decision or a step that lost the race (HTTP 409).

Two office users decide one request at once; each locks the task, then the request
(``tracker.db.lock``), so the second waits for the first and reads the request as the first
left it. Still pending: it decides. Settled: it is refused with who settled it and when
("该延期申请已由 张三 于 12月7日 15:02 批准"), and nothing of it is saved. A step whose status
has moved on (two clerks 签收 at once) is refused the same way, naming the step that moved it,
read from the audit log.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from tracker import clock
from tracker.errors import Conflict, IllegalTransition
from tracker.models import AuditEvent, RequestStatus, Task, User
from tracker.services.auditing.labels import ACTION_LABELS
from tracker.workflow import TRANSITIONS, Action, Transition, status_label

# What a decision did to a request, in the words of its kind: (approved, refused).
VERBS = {
    "办结申请": ("审核通过", "退回"),
}
DEFAULT_VERBS = ("批准", "驳回")

# How far back the audit log is read for the step that moved the status: a task's last events are
# mostly reports and reminders, which leave the status alone.
_EVENTS_READ = 50


def when(at: datetime) -> str:
    """An instant as people in the office say it: 12月7日 15:02, with the year when not this one."""
    local = at.astimezone(clock.CHINA)
    day = f"{local.month}月{local.day}日"
    if local.year != clock.today().year:
        day = f"{local.year}年{day}"
    return f"{day} {local:%H:%M}"


def _name(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id is not None else None
    return user.display_name if user is not None else "他人"


def request_settled(session: Session, req, what: str) -> Conflict:
    """The refusal for deciding ``req`` (an extension, close or change request) already settled.

    ``what`` names the kind of request (延期申请, 办结申请, 改派申请, 变更申请)."""
    status = RequestStatus(req.status)
    if status == RequestStatus.WITHDRAWN:
        # Lapsed with its task (撤销) or with its lead department (变更): nobody decided it.
        return Conflict(f"该{what}已失效（事项已撤销或牵头单位已变更），无需再审核", code="already_decided")
    approved, refused = VERBS.get(what, DEFAULT_VERBS)
    verb = approved if status == RequestStatus.APPROVED else refused
    by = _name(session, req.decided_by_id)
    at = f" 于 {when(req.decided_at)}" if req.decided_at else ""
    return Conflict(f"该{what}已由 {by}{at} {verb}", code="already_decided")


def _step_label(action: str) -> str:
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    try:
        return TRANSITIONS[Action(action)].label
    except ValueError:
        return action


def last_status_change(session: Session, task: Task) -> AuditEvent | None:
    """The audit event that brought ``task`` to its present status, if the log still has it."""
    events = session.exec(
        select(AuditEvent).where(AuditEvent.task_id == task.id).order_by(AuditEvent.id.desc()).limit(_EVENTS_READ)
    )
    for event in events:
        after = event.after or {}
        if after.get("status") == task.status:
            return event
    return None


def step_taken(session: Session, task: Task, transition: Transition, refused: IllegalTransition) -> IllegalTransition:
    """The refusal of ``transition`` on ``task``, whose status has moved on: who moved it and when.

    ``refused`` (``workflow.check``'s own) is kept when the log does not say who moved it."""
    event = last_status_change(session, task)
    if event is None:
        return refused
    return IllegalTransition(
        f"该事项已由 {event.actor_name or '他人'} 于 {when(event.at)} {_step_label(event.action)}。"
        f"当前状态为“{status_label(task.status)}”，不能执行“{transition.label}”操作",
        code=refused.code,
    )
