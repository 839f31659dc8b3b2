"""Reminding the unit that owes a motion's step, on the same working days as any deadline."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock
from tracker.models import AuditEvent, Motion, MotionStep, Reminder, Task
from tracker.rules.overdue import CHASED_VALUES
from tracker.services.actors import SYSTEM
from tracker.services.calendar import load_calendar
from tracker.services.chasing.rules import load_rules
from tracker.services.motions.handling import STEP_LABELS, label


def run_step_reminders(session: Session, day: date) -> dict[str, int]:
    """Remind the unit owing a step: N working days before (the reminder rules' ``before_due``),
    on the day, and every working day after. Nothing on a non-working day, nothing twice
    (the Reminder table's unique key). Flushes, never commits."""
    cal = load_calendar(session)
    if not cal.is_workday(day):
        return {"motion_reminders": 0}
    rules = load_rules(session)
    ahead = {cal.add_workdays(day, n).value: n for n in rules["before_due"]}
    rows = session.exec(
        select(MotionStep, Motion, Task)
        .join(Motion, Motion.id == MotionStep.motion_id)
        .join(Task, Task.id == MotionStep.task_id)
        .where(
            MotionStep.done_on.is_(None),
            MotionStep.due_date <= max([day, *ahead]),
            sa.or_(Task.status.in_(CHASED_VALUES), MotionStep.kind == "follow_up"),
        )
    ).all()
    made = 0
    now = clock.now()
    for step, motion, task in rows:
        what = f"{label(motion)}“{STEP_LABELS[step.kind]}”（{step.due_date.isoformat()}）"
        if step.due_date in ahead and step.due_date > day:
            rule, msg = (
                f"motion:{step.id}:before:{ahead[step.due_date]}",
                f"{what}还有{ahead[step.due_date]}个工作日到期",
            )
        elif step.due_date == day and rules["on_due"]:
            rule, msg = f"motion:{step.id}:today", f"{what}今天到期，请按时办理"
        elif step.due_date < day and rules["overdue_daily"]:
            over = cal.workdays_between(step.due_date, day).value
            rule, msg = f"motion:{step.id}:overdue", f"{what}已逾期{over}个工作日，请尽快办理"
        else:
            continue
        if session.exec(
            select(Reminder.id).where(
                Reminder.task_id == task.id,
                Reminder.department_id == step.department_id,
                Reminder.rule == rule,
                Reminder.day == day,
            )
        ).first():
            continue
        try:
            with session.begin_nested():
                rem = Reminder(
                    task_id=task.id, department_id=step.department_id, rule=rule, day=day, message=msg, created_at=now
                )
                session.add(rem)
                session.flush()
        except sa.exc.IntegrityError:  # another run wrote it first
            continue
        session.add(
            AuditEvent(
                at=now,
                actor_name=SYSTEM.name,
                entity="reminder",
                entity_id=rem.id,
                task_id=task.id,
                action="remind",
                note=msg,
            )
        )
        made += 1
    session.flush()
    return {"motion_reminders": made}
