"""Chasing a task by hand, and closing a 会签 that was never answered.

催办 sends a reminder to the lead or an assisting department, once per task, rule and day; 督办
issues a numbered notice (督办通知单) at a rung of the escalation ladder (``rules.ladder``). A
会签/征求意见 left unanswered past its deadline closes as 无异议: the system's step, taken by the
reminder run (``services/reminders.py``), which chases by rule.

Every step stands on the task service's core in ``tasks.lifecycle``: it loads the task through
``_visible_task``, asks ``workflow.check``, changes the status only through ``_set_status``, and
audits with ``record_change``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock
from tracker.errors import Conflict, ValidationFailed
from tracker.models import Escalation, ExtensionRequest, Reminder, Task
from tracker.rules import ladder
from tracker.services.actors import Actor
from tracker.services.chasing.notices import notify_escalations
from tracker.services.tasks.lifecycle import (
    _pending,
    _set_status,
    _visible_task,
    assisting_ids,
    check_step,
    next_number,
    record_change,
    require_text,
    snapshot,
)
from tracker.workflow import Action, Party, Status


def remind(
    session: Session,
    actor: Actor,
    task_id: int,
    message: str = "",
    *,
    rule: str = "manual",
    department_id: int | None = None,
) -> Reminder:
    """催办 the lead department (or the given one). Once per task, rule and day."""
    task, who = _visible_task(session, actor, task_id)
    check_step(session, Action.REMIND, task, who)
    target = department_id or task.lead_department_id
    if target != task.lead_department_id and target not in assisting_ids(session, task.id):
        raise ValidationFailed("只能催办该事项的牵头单位或协办单位", fields={"department_id": "不是该事项的承办单位"})
    day = clock.today()
    exists = session.exec(
        select(Reminder).where(
            Reminder.task_id == task.id, Reminder.department_id == target, Reminder.rule == rule, Reminder.day == day
        )
    ).first()
    if exists:
        raise Conflict("今天已对该单位催办过此事项")
    before = snapshot(session, task)
    reminder = Reminder(
        task_id=task.id, department_id=target, rule=rule, day=day, message=message.strip(), sent_by_id=actor.user_id
    )
    try:
        with session.begin_nested():
            session.add(reminder)
    except sa.exc.IntegrityError as exc:  # a concurrent reminder won the race
        raise Conflict("今天已对该单位催办过此事项") from exc
    record_change(
        session, actor, Action.REMIND, task, before, note=message.strip(), entity="reminder", entity_id=reminder.id
    )
    return reminder


def escalate(
    session: Session, actor: Actor, task_id: int, reason: str, level: int = ladder.MANUAL_DEFAULT_LEVEL
) -> Escalation:
    """督办: a numbered notice (督办通知单) to the department head and the leader."""
    task, who = _visible_task(session, actor, task_id)
    check_step(session, Action.ESCALATE, task, who)
    reason = require_text(reason, "reason", "督办事由")
    if level not in ladder.LEVELS:
        raise ValidationFailed(f"督办层级应为 {ladder.LEVELS[0]}–{ladder.LEVELS[-1]}", fields={"level": "取值无效"})
    year = clock.today().year
    number = next_number(session, "escalation", year)
    before = snapshot(session, task)
    esc = Escalation(
        task_id=task.id,
        department_id=task.lead_department_id,
        level=level,
        notice_no=f"督办〔{year}〕{number}号",
        reason=reason,
        created_by_id=actor.user_id,
    )
    session.add(esc)
    session.flush()
    record_change(session, actor, Action.ESCALATE, task, before, note=reason, entity="escalation", entity_id=esc.id)
    notify_escalations(
        session,
        clock.today(),
        [
            {
                "id": esc.id,
                "task_id": task.id,
                "department_id": esc.department_id,
                "level": level,
                "notice_no": esc.notice_no,
                "reason": reason,
            }
        ],
    )
    return esc


def close_no_objection(session: Session, actor: Actor, task_id: int) -> Task:
    """会签/征求意见 left unanswered past its deadline closes as 无异议 (000 §54, 001 §27).

    Only the system takes this step (the reminder run). The silence counts as
    agreement at the deadline, so ``closed_on`` is the due date: it is not 超期办结.
    A pending extension request means the department asked for more time
    ("特殊情况不能按期回复的，应当主动与主办部门沟通"), so it is refused then.
    """
    task, who = _visible_task(session, actor, task_id)
    if actor.user_id is None and actor.is_office:  # the scheduler / CLI acting as the system
        who = who | {Party.SYSTEM}
    check_step(session, Action.CLOSE_NO_OBJECTION, task, who)
    if task.due_date is None or task.due_date >= clock.today():
        raise ValidationFailed("回复期限尚未届满，不能按无异议办结")
    if _pending(session, ExtensionRequest, task.id):
        raise Conflict("承办单位已申请延期回复，待审核后再定")
    before = snapshot(session, task)
    task.closed_on = task.due_date
    _set_status(task, Status.CLOSED)
    record_change(
        session,
        actor,
        Action.CLOSE_NO_OBJECTION,
        task,
        before,
        note=f"逾期（{task.due_date.isoformat()}）未回复，视为无不同意见",
    )
    return task
