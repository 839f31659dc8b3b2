"""Sending a 督办通知单 to the people its rung reaches, whether the reminder run or the office issued it."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from tracker.models import Task
from tracker.services.notify.messages import notify_many
from tracker.services.organisation.directory import ladder_recipients


def notify_escalations(session: Session, day: date, made: list[dict]) -> int:
    """Each 督办 notice goes at once to the people on its rung (000 §31, 004 §29), in one batch
    (``notify_many``: the reminder run's first pass on a large district sends tens of
    thousands). ``made``: dicts with ``id``, ``task_id``, ``department_id``, ``level``,
    ``notice_no`` and ``reason``."""
    if not made:
        return 0
    codes = {}
    ids = sorted({e["task_id"] for e in made})
    for i in range(0, len(ids), 900):
        codes.update(session.execute(select(Task.id, Task.code).where(Task.id.in_(ids[i : i + 900]))).all())
    rungs = ladder_recipients(session, made)
    by_id = {e["id"]: e for e in made}
    messages = [
        {
            "user_id": uid,
            "kind": "escalation",
            "title": f"督办通知：{e['notice_no']}（{codes.get(e['task_id'], '')}）",
            "body": e["reason"],
            "key": f"escalation:{esc_id}:{uid}",
            "day": day,
            "payload": {"task_id": e["task_id"], "escalation_id": esc_id, "level": e["level"]},
        }
        for esc_id, users in rungs.items()
        for e in (by_id[esc_id],)
        for uid in users
    ]
    return notify_many(session, messages)
