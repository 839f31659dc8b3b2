"""Key annual work cascades (004 §30): 年度重点工作 → 季度工作要点 → 月度工作计划 → 每周工作安排.

Each level is an ordinary task whose ``parent_id`` is the level above, created
through the task services (so it has its own deadline, audit trail and closed
loop). Depth decides the level: the annual task (from a 年度重点工作 source) is
level 0; its children are quarterly points, their children monthly plans, and
theirs weekly arrangements, which are not split further.

Suggested deadlines are the last working day of the quarter, month or week
(on the calendar with 调休), never after the parent's own deadline.

Rolled-up progress (shown on the task page): the mean over the non-cancelled
children of each child's figure — 100 for a closed child, the rolled-up figure
of a child that has children of its own, else the percent of its latest lead
report (0 without one). ``closed``/``total`` is shown beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock
from tracker.errors import NotPermitted, ValidationFailed
from tracker.models import FeedbackCycle, ProgressReport, Source, SourceKind, Task
from tracker.rules.periods import QUARTER_NAMES, month_of, quarter_of, span_label, week_of
from tracker.services.actors import Actor
from tracker.services.calendar import load_calendar
from tracker.services.tasks import lifecycle as task_svc
from tracker.workflow import OPEN, Status

LEVELS = ("annual", "quarter", "month", "week")
LEVEL_LABELS = {"annual": "年度重点工作", "quarter": "季度工作要点", "month": "月度工作计划", "week": "每周工作安排"}
# Children report more often the shorter their span.
CHILD_FEEDBACK = {"quarter": FeedbackCycle.MONTHLY, "month": FeedbackCycle.WEEKLY, "week": FeedbackCycle.ONCE}
MAX_CHILDREN = 60


def _ancestors(session: Session, task: Task) -> list[Task]:
    chain, seen = [], {task.id}
    current = task
    while current.parent_id is not None and current.parent_id not in seen:
        parent = session.get(Task, current.parent_id)
        if parent is None:
            break
        chain.append(parent)
        seen.add(parent.id)
        current = parent
    return chain


def root_of(session: Session, task: Task) -> Task:
    chain = _ancestors(session, task)
    return chain[-1] if chain else task


def level_of(session: Session, task: Task) -> str | None:
    """The task's level in a key-work cascade, or None when it is not one."""
    root = root_of(session, task)
    src = session.get(Source, root.source_id) if root.source_id else None
    if src is None or src.kind != SourceKind.KEY_WORK:
        return None
    depth = len(_ancestors(session, task))
    return LEVELS[depth] if depth < len(LEVELS) else None


def may_have_level(parent_id: int | None, source_kind: str | None) -> bool:
    """False when ``level_of`` is surely None, from what a task row already holds: a task
    without a parent is its own root, so only a key-work source makes it a cascade's."""
    return parent_id is not None or source_kind == SourceKind.KEY_WORK


def child_level(level: str | None) -> str | None:
    if level is None or level == LEVELS[-1]:
        return None
    return LEVELS[LEVELS.index(level) + 1]


def _last_workday(cal, start: date, end: date) -> date | None:
    """The period's last working day (a 调休 Saturday counts); None when it has none."""
    day = end
    while day >= start:
        if cal.is_workday(day):
            return day
        day -= timedelta(days=1)
    return None


def _short(title: str, room: int) -> str:
    return title if len(title) <= room else title[: room - 1] + "…"


def suggest_children(session: Session, task: Task) -> list[dict]:
    """The rows the split form starts with: one per remaining period of the parent's span."""
    level = level_of(session, task)
    child = child_level(level)
    if child is None:
        return []
    cal = load_calendar(session)
    today = clock.today()
    until = task.due_date or date(today.year, 12, 31)
    periods: list[tuple[str, date, date]] = []  # (name, first day, last day)
    if child == "quarter":
        for q in range(4):
            first, last = quarter_of(date(until.year, 3 * q + 1, 1))
            periods.append((f"第{QUARTER_NAMES[q]}季度工作要点", first, last))
    elif child == "month":
        quarter = quarter_of(until)
        for m in range(quarter.start.month, quarter.start.month + 3):
            first, last = month_of(date(until.year, m, 1))
            periods.append((f"{m}月工作计划", first, last))
    else:  # week: the weeks of the parent's month, cut at the month's ends
        month = month_of(until)
        week = week_of(month.start)
        while week.start <= month.end:
            first, last = max(week.start, month.start), min(week.end, month.end)
            periods.append((f"每周工作安排（{span_label(first, last)}）", first, last))
            week = week_of(week.end + timedelta(days=1))
    out = []
    for name, first, last in periods:
        last_workday = _last_workday(cal, first, last)
        if last_workday is None:  # a week wholly inside the National Day holiday
            continue
        due = min(last_workday, until)
        if due < today:
            continue
        out.append({"title": _short(task.title, 200 - len(name) - 2) + "——" + name, "due_date": due, "requirement": ""})
    return out


def create_children(session: Session, actor: Actor, parent_id: int, rows: list[dict]) -> list[Task]:
    """Split a key-work task one level down. Every row is checked before any task is made.

    Children inherit the parent's source, departments and leaders; they go out at
    once when the parent is already out, and stay drafts with a draft parent.
    """
    if not actor.is_office:
        raise NotPermitted("只有督查室可以分解年度重点工作")
    parent = task_svc.get_task(session, parent_id)
    level = level_of(session, parent)
    if level is None:
        raise ValidationFailed("只有来源为“年度重点工作”的事项可以逐级分解（季度→月度→每周）")
    child = child_level(level)
    if child is None:
        raise ValidationFailed("每周工作安排已是最末一级，不能再分解")
    if parent.status in (Status.CLOSED, Status.CANCELLED):
        raise ValidationFailed("该事项已办结或撤销，不能再分解")
    rows = [r for r in rows if (r.get("title") or "").strip() or r.get("due_date")]
    if not rows:
        raise ValidationFailed("请至少填写一项分解内容", fields={"rows": "请填写"})
    if len(rows) > MAX_CHILDREN:
        raise ValidationFailed(f"一次最多分解 {MAX_CHILDREN} 项")
    errors: dict[str, str] = {}
    today = clock.today()
    for i, r in enumerate(rows, start=1):
        title = (r.get("title") or "").strip()
        due = r.get("due_date")
        if not title:
            errors[f"row-{i}-title"] = f"第 {i} 行：请填写名称"
        elif len(title) > 200:
            errors[f"row-{i}-title"] = f"第 {i} 行：名称不能超过 200 字"
        if not isinstance(due, date):
            errors[f"row-{i}-due_date"] = f"第 {i} 行：请填写有效的完成时限"
        elif due < today:
            errors[f"row-{i}-due_date"] = f"第 {i} 行：完成时限早于今天"
        elif parent.due_date and due > parent.due_date:
            errors[f"row-{i}-due_date"] = f"第 {i} 行：完成时限不能晚于上级事项（{parent.due_date.isoformat()}）"
    if errors:
        raise ValidationFailed("分解内容填写有误：" + "；".join(errors.values()), fields=errors)

    assisting = task_svc.assisting_ids(session, parent.id)
    leaders = task_svc.leader_ids(session, parent.id)
    created = []
    for r in rows:
        task = task_svc.create_draft(
            session,
            actor,
            {
                "title": r["title"].strip(),
                "requirement": (r.get("requirement") or "").strip() or parent.requirement,
                "source_id": parent.source_id,
                "parent_id": parent.id,
                "lead_department_id": parent.lead_department_id,
                "assisting_department_ids": assisting,
                "leader_ids": leaders,
                "urgency": parent.urgency,
                "due_date": r["due_date"],
                "feedback_cycle": CHILD_FEEDBACK[child],
            },
        )
        if parent.status in {s.value for s in OPEN}:
            task_svc.assign(session, actor, task.id)
        created.append(task)
    return created


@dataclass
class Rollup:
    total: int  # children, cancelled ones excluded
    closed: int
    percent: float | None  # rolled-up progress, None without children
    children: list[tuple[Task, float]]  # each child with its own figure


def rollup(session: Session, task_id: int, _depth: int = 0) -> Rollup:
    kids = session.exec(
        select(Task)
        .where(Task.parent_id == task_id, Task.status != Status.CANCELLED.value)
        .order_by(Task.due_date, Task.id)
    ).all()
    if not kids:
        return Rollup(0, 0, None, [])
    latest = (
        select(ProgressReport.task_id, sa.func.max(ProgressReport.id).label("rid"))
        .join(Task, Task.id == ProgressReport.task_id)
        .where(Task.parent_id == task_id, ProgressReport.department_id == Task.lead_department_id)
        .group_by(ProgressReport.task_id)
        .subquery()
    )
    percents = dict(
        session.execute(
            select(ProgressReport.task_id, ProgressReport.percent).join(latest, latest.c.rid == ProgressReport.id)
        ).all()
    )
    figures = []
    closed = 0
    for kid in kids:
        if kid.status == Status.CLOSED:
            closed += 1
            figure = 100.0
        else:
            sub = rollup(session, kid.id, _depth + 1) if _depth < 4 else Rollup(0, 0, None, [])
            figure = sub.percent if sub.percent is not None else float(percents.get(kid.id) or 0)
        figures.append((kid, figure))
    return Rollup(len(kids), closed, round(sum(f for _, f in figures) / len(figures), 1), figures)
