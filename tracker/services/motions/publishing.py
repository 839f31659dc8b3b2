"""Motion figures per lead unit, and publishing the answers (主动公开办理结果, 000 §36)."""

from __future__ import annotations

from openpyxl import Workbook
from sqlmodel import Session, select

from importers.cells import needs_quote_prefix, safe_text
from tracker.errors import NotPermitted
from tracker.models import Department, Motion, MotionFeedback, Task
from tracker.services import audit
from tracker.services.actors import Actor
from tracker.services.motions.handling import CATEGORY_LABELS, KIND_LABELS, get, label
from tracker.services.tasks import lifecycle as tasks
from tracker.workflow import Party


def figures_by_unit(session: Session, *, kind: str = "", session_name: str = "") -> list[dict]:
    """Per lead unit: items, answered, answered on time (first round), A/B/C/D, satisfaction rate, re-opened."""
    stmt = select(Motion, Task.lead_department_id).join(Task, Task.id == Motion.task_id)
    if kind:
        stmt = stmt.where(Motion.kind == kind)
    if session_name:
        stmt = stmt.where(Motion.session_name == session_name)
    per: dict[int, dict] = {}
    names = dict(session.exec(select(Department.id, Department.name)).all())
    fb = {}
    for mid, result in session.exec(
        select(MotionFeedback.motion_id, MotionFeedback.result).order_by(MotionFeedback.id)
    ):
        fb.setdefault(mid, []).append(result)
    for motion, dep in session.exec(stmt):
        row = per.setdefault(
            dep,
            {
                "department_id": dep,
                "department": names.get(dep, ""),
                "total": 0,
                "answered": 0,
                "on_time": 0,
                "A": 0,
                "B": 0,
                "C": 0,
                "D": 0,
                "feedback": 0,
                "satisfied": 0,
                "reopened": 0,
                "promises_open": 0,
            },
        )
        row["total"] += 1
        if motion.first_answered_on:
            row["answered"] += 1
            if motion.first_answer_due and motion.first_answered_on <= motion.first_answer_due:
                row["on_time"] += 1
        if motion.answer_category and motion.stage in ("feedback", "done"):
            row[motion.answer_category] += 1
        results = fb.get(motion.id, [])
        if results:
            row["feedback"] += 1
            row["satisfied"] += results[-1] in ("满意", "基本满意")
        row["reopened"] += motion.round > 1
        row["promises_open"] += (
            motion.answer_category == "B" and motion.promise_date is not None and motion.follow_up_done_on is None
        )
    out = sorted(per.values(), key=lambda r: r["department"])
    for row in out:
        row["satisfaction_rate"] = round(100 * row["satisfied"] / row["feedback"], 1) if row["feedback"] else None
        row["on_time_rate"] = round(100 * row["on_time"] / row["answered"], 1) if row["answered"] else None
    return out


PUBLIC_HEADERS = [
    "类别",
    "届次",
    "编号",
    "标题",
    "领衔代表/提案人",
    "主办单位",
    "协办单位",
    "答复类别",
    "答复日期",
    "答复内容摘要",
]


def public_rows(session: Session, *, kind: str = "", session_name: str = "") -> list[list]:
    """主动公开办理结果: answers sent (reviewed), without contact, co-signers' details, full text or feedback."""
    stmt = (
        select(Motion, Task)
        .join(Task, Task.id == Motion.task_id)
        .where(Motion.stage.in_(("feedback", "done")), Motion.publish.is_(True))
    )
    if kind:
        stmt = stmt.where(Motion.kind == kind)
    if session_name:
        stmt = stmt.where(Motion.session_name == session_name)
    names = dict(session.exec(select(Department.id, Department.name)).all())
    out = []
    for motion, task in session.exec(stmt.order_by(Motion.kind.desc(), Motion.number)):
        assist = "、".join(names[d] for d in sorted(tasks.assisting_ids(session, task.id)))
        out.append(
            [
                KIND_LABELS[motion.kind],
                motion.session_name,
                label(motion),
                motion.title,
                motion.proposer,
                names.get(task.lead_department_id, ""),
                assist,
                CATEGORY_LABELS[motion.answer_category],
                motion.answered_on.isoformat() if motion.answered_on else "",
                motion.answer_summary,
            ]
        )
    return out


def export_public(session: Session, path, *, kind: str = "", session_name: str = "") -> int:
    """Write the public answers to an .xlsx (cells protected against formula injection)."""
    rows = public_rows(session, kind=kind, session_name=session_name)
    wb = Workbook()
    ws = wb.active
    ws.title = "办理结果公开"
    ws.append(PUBLIC_HEADERS)
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            text = safe_text(value)
            cell = ws.cell(row=r, column=c)
            cell.value = text
            cell.data_type = "s"  # never a formula, whatever it starts with
            if needs_quote_prefix(text):
                cell.quotePrefix = True
    wb.save(path)
    return len(rows)


def set_publish(session: Session, actor: Actor, motion_id: int, publish: bool, reason: str = "") -> Motion:
    motion, task, who = get(session, actor, motion_id, lock=True)
    if Party.OFFICE not in who:
        raise NotPermitted("只有督查室可以决定是否公开")
    if not publish:
        reason = tasks.require_text(reason, "reason", "不予公开的理由")
    before = {"publish": motion.publish}
    motion.publish = publish
    session.flush()
    audit.record(
        session,
        actor,
        "motion_publish",
        entity="motion",
        entity_id=motion.id,
        task_id=task.id,
        before=before,
        after={"publish": publish},
        note=reason,
    )
    return motion
