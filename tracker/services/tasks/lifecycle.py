"""The task service: drafts, going out, progress reports and the office's controls, on the core
that every change to a task goes through.

Each public function is one step of the workflow. It loads the task (``_visible_task``), asks
``workflow.check`` whether the actor may take the step from the task's status, applies it, and
writes exactly one audit event (``record_change``), all in the caller's transaction (the caller
commits once). ``_set_status`` is the one place that assigns ``Task.status``; the steps built on
this core live beside it, in ``tasks.requests`` (延期/办结/改派/变更 and their decisions) and
``chasing.by_hand`` (催办, 督办, 无异议 closing), and import it from here.
"""

from __future__ import annotations

from datetime import date
from typing import Iterable, Optional

import sqlalchemy as sa
from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlmodel import Session, select

from tracker import clock, db
from tracker.errors import IllegalTransition, NotFound, NotPermitted, ValidationFailed
from tracker.models import (
    AuditEvent,
    ChangeRequest,
    CloseRequest,
    Counter,
    DeadlineKind,
    Department,
    ExtensionRequest,
    FeedbackCycle,
    Leader,
    Milestone,
    Motion,
    ProgressReport,
    RequestStatus,
    Source,
    SourceKind,
    Task,
    TaskAssist,
    TaskLeader,
    Urgency,
)
from tracker.services import audit
from tracker.services.actors import Actor, parties
from tracker.services.calendar import due_from_preset
from tracker.services.tasks import recurring, settled
from tracker.services.validation import Day, Id, Line, validate
from tracker.workflow import FINAL, TRANSITIONS, Action, Party, Status, Transition, check

# --- input ---------------------------------------------------------------------

FIELD_LABELS = {
    "title": "事项名称",
    "requirement": "工作要求",
    "urgency": "紧急程度",
    "deadline_kind": "时限类型",
    "due_date": "完成时限",
    "feedback_cycle": "反馈周期",
    "percent": "完成进度",
    "text": "进展情况",
}


class MilestoneInput(BaseModel):
    title: Line = Field(min_length=1, max_length=200)
    due_date: Day


class TaskInput(BaseModel):
    """What the office fills in for a draft; validated before any row is touched. Single-line
    fields (``Line``) lose bidi controls and zero-width characters: a title shows what it says."""

    title: Line = Field(min_length=1, max_length=200)
    requirement: str = ""
    source_id: Optional[Id] = None
    item_no: Line = Field(default="", max_length=20)
    parent_id: Optional[Id] = None
    lead_department_id: Optional[Id] = None
    assisting_department_ids: list[Id] = []
    leader_ids: list[Id] = []
    urgency: Urgency = Urgency.NORMAL
    deadline_kind: DeadlineKind = DeadlineKind.DATE
    due_date: Optional[Day] = None
    deadline_text: Line = Field(default="", max_length=120)
    recurrence: str = Field(default="", max_length=40)
    time_limit_preset: str = Field(default="", max_length=40)
    feedback_cycle: FeedbackCycle = FeedbackCycle.ONCE
    needs_leader_approval: bool = False
    milestones: list[MilestoneInput] = []
    # A ledger's section ("一、扎实推进项目建设"); set when the task is created, kept by later edits.
    category: Line = Field(default="", max_length=120)

    @field_validator("title", "requirement", "deadline_text", "item_no", "category", mode="before")
    @classmethod
    def _strip(cls, v):
        return v.strip() if isinstance(v, str) else v


def _validate(model: type[BaseModel], data: dict) -> BaseModel:
    return validate(model, data, FIELD_LABELS)


# --- helpers -------------------------------------------------------------------


def snapshot(session: Session, task: Task, *, links: bool = False) -> dict:
    """The task's audited fields. ``links`` adds assisting departments and leaders
    (two queries), needed only by the steps that can change them."""
    out = {
        "status": task.status,
        "title": task.title,
        "requirement": task.requirement,
        "lead_department_id": task.lead_department_id,
        "urgency": task.urgency,
        "deadline_kind": task.deadline_kind,
        "due_date": task.due_date,
        "original_due_date": task.original_due_date,
        "deadline_text": task.deadline_text,
        "recurrence": task.recurrence,
        "closed_on": task.closed_on,
    }
    if links:
        out["assisting_department_ids"] = sorted(assisting_ids(session, task.id)) if task.id else []
        out["leader_ids"] = sorted(leader_ids(session, task.id)) if task.id else []
    return out


def assisting_ids(session: Session, task_id: int) -> list[int]:
    return list(session.exec(select(TaskAssist.department_id).where(TaskAssist.task_id == task_id)))


def leader_ids(session: Session, task_id: int) -> list[int]:
    return list(session.exec(select(TaskLeader.leader_id).where(TaskLeader.task_id == task_id)))


def next_number(session: Session, name: str, year: int, count: int = 1) -> int:
    """Bump a per-year counter by ``count`` inside the current transaction (no gaps on
    rollback); returns the last number taken (numbers ``last - count + 1 .. last``)."""
    bump = (
        sa.update(Counter)
        .where(Counter.name == name, Counter.year == year)
        .values(last=Counter.last + count)
        .returning(Counter.last)
    )
    value = session.execute(bump).scalar()
    if value is None:
        try:
            with session.begin_nested():
                session.add(Counter(name=name, year=year, last=count))
            return count
        except sa.exc.IntegrityError:  # another transaction created the row first
            value = session.execute(bump).scalar()
    return value


def get_task(session: Session, task_id: int, *, lock: bool = False) -> Task:
    """The task; ``lock``: locked until the unit of work ends and read afresh (``db.lock``), so what a
    step decides on (its status above all) is what the row holds, not what an earlier read saw."""
    stmt = select(Task).where(Task.id == task_id)
    task = (db.lock(session, stmt) if lock else session.exec(stmt)).first()
    if task is None:
        raise NotFound(f"未找到编号为 {task_id} 的督办事项")
    return task


def _visible_task(session: Session, actor: Actor, task_id: int, *, lock: bool = True) -> tuple[Task, set[Party]]:
    """Load the task for an action, locked (``get_task``): every step on a task takes its lock before
    it reads what it decides on, so steps on one task queue up. A task the actor may not see does
    not exist for them."""
    task = get_task(session, task_id, lock=lock)
    who = parties(session, actor, task)
    if not who:
        raise NotFound(f"未找到编号为 {task_id} 的督办事项")
    # The session's identity map holds objects weakly: kept here, the task stays in it for the rest
    # of the unit of work, so a later step (the report's attachments) finds it without a SELECT.
    session.info.setdefault("tracker_acted_on", {})[task.id] = task
    return task, who


def check_step(session: Session, action: Action, task: Task, who: set[Party]) -> Transition:
    """``workflow.check`` on the task as locked; refused because its status has moved on, the
    message names who moved it and when (``settled.step_taken``): two clerks 签收 at once, the
    second is told who did."""
    try:
        return check(action, task.status, who)
    except IllegalTransition as exc:
        raise settled.step_taken(session, task, TRANSITIONS[action], exc) from None


def require_text(value: str, field: str, label: str) -> str:
    """The stripped text, or a ValidationFailed saying 请填写{label} on ``field``."""
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(f"请填写{label}", fields={field: f"请填写{label}"})
    return value


def _check_departments(session: Session, ids: Iterable[int], field: str) -> None:
    for dep_id in ids:
        dep = session.get(Department, dep_id)
        if dep is None or not dep.active:
            raise ValidationFailed(f"单位不存在或已停用（编号 {dep_id}）", fields={field: "单位不存在或已停用"})


def _check_leaders(session: Session, ids: Iterable[int]) -> None:
    for leader_id in ids:
        leader = session.get(Leader, leader_id)
        if leader is None or not leader.active:
            raise ValidationFailed(f"领导不存在或已停用（编号 {leader_id}）", fields={"leader_ids": "领导不存在"})


def _set_status(task: Task, status: Status) -> None:
    task.status = status
    task.updated_at = clock.now()


def record_change(session, actor, action, task, before, *, note="", entity="task", entity_id=None, links=None):
    """Audit a change of ``task``: ``before`` (a ``snapshot``) against its state now.

    Public so that the services built on tasks (motions) audit their changes the same way."""
    session.flush()
    if links is None:  # compare like with like: links in "after" when "before" has them
        links = "leader_ids" in before
    audit.record(
        session,
        actor,
        action,
        entity=entity,
        entity_id=entity_id if entity_id is not None else task.id,
        task_id=task.id,
        before=before,
        after=snapshot(session, task, links=links),
        note=note,
    )


def _pending(session: Session, model, task_id: int):
    return session.exec(select(model).where(model.task_id == task_id, model.status == RequestStatus.PENDING)).first()


# --- drafts --------------------------------------------------------------------


def _apply_input(session: Session, task: Task, data: TaskInput) -> None:
    if data.lead_department_id is not None:
        _check_departments(session, [data.lead_department_id], "lead_department_id")
    assisting = list(dict.fromkeys(data.assisting_department_ids))
    if data.lead_department_id in assisting:
        raise ValidationFailed("牵头单位不能同时是协办单位", fields={"assisting_department_ids": "与牵头单位重复"})
    _check_departments(session, assisting, "assisting_department_ids")
    leaders = list(dict.fromkeys(data.leader_ids))
    _check_leaders(session, leaders)
    if data.source_id is not None and session.get(Source, data.source_id) is None:
        raise ValidationFailed("任务来源不存在", fields={"source_id": "来源不存在"})
    if data.parent_id is not None and (data.parent_id == task.id or session.get(Task, data.parent_id) is None):
        raise ValidationFailed("上级事项不存在", fields={"parent_id": "上级事项不存在"})

    due = data.due_date
    if data.time_limit_preset and due is None:
        start = clock.today()
        if data.source_id is not None:
            start = session.get(Source, data.source_id).source_date
        result, preset = due_from_preset(session, data.time_limit_preset, start)
        due = result.value
    for name in (
        "title",
        "requirement",
        "source_id",
        "item_no",
        "parent_id",
        "lead_department_id",
        "urgency",
        "deadline_kind",
        "deadline_text",
        "recurrence",
        "time_limit_preset",
        "feedback_cycle",
        "needs_leader_approval",
    ):
        setattr(task, name, getattr(data, name))
    task.due_date = due if data.deadline_kind == DeadlineKind.DATE else data.due_date
    task.original_due_date = task.due_date  # a draft has no history yet
    task.updated_at = clock.now()
    session.add(task)
    session.flush()

    for row in session.exec(select(TaskAssist).where(TaskAssist.task_id == task.id)):
        session.delete(row)
    for row in session.exec(select(TaskLeader).where(TaskLeader.task_id == task.id)):
        session.delete(row)
    for row in session.exec(select(Milestone).where(Milestone.task_id == task.id)):
        session.delete(row)
    session.flush()
    for dep_id in assisting:
        session.add(TaskAssist(task_id=task.id, department_id=dep_id))
    for leader_id in leaders:
        session.add(TaskLeader(task_id=task.id, leader_id=leader_id))
    for order, m in enumerate(sorted(data.milestones, key=lambda m: m.due_date)):
        session.add(Milestone(task_id=task.id, title=m.title, due_date=m.due_date, sort_order=order))
    session.flush()


def create_draft(session: Session, actor: Actor, data: dict | TaskInput) -> Task:
    """Register a task as a draft (立项). Only the office registers tasks."""
    task_id, _code = create_drafts(session, actor, [data])[0]
    return session.get(Task, task_id)


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _existing(session: Session, column, ids: set[int], *where) -> set[int]:
    found: set[int] = set()
    for part in _chunks(sorted(ids), 900):
        found.update(session.scalars(select(column).where(column.in_(part), *where)))
    return found


def _check_drafts(session: Session, inputs: list[TaskInput]) -> None:
    """``_apply_input``'s checks for many drafts at once: a few queries, not a few per task."""
    for data in inputs:
        if data.lead_department_id is not None and data.lead_department_id in data.assisting_department_ids:
            raise ValidationFailed("牵头单位不能同时是协办单位", fields={"assisting_department_ids": "与牵头单位重复"})
    leads = {d.lead_department_id for d in inputs if d.lead_department_id is not None}
    assisting = {i for d in inputs for i in d.assisting_department_ids}
    active = _existing(session, Department.id, leads | assisting, Department.active.is_(True))
    for dep_id, field in [(i, "lead_department_id") for i in sorted(leads)] + [
        (i, "assisting_department_ids") for i in sorted(assisting)
    ]:
        if dep_id not in active:
            raise ValidationFailed(f"单位不存在或已停用（编号 {dep_id}）", fields={field: "单位不存在或已停用"})
    leaders = {i for d in inputs for i in d.leader_ids}
    active = _existing(session, Leader.id, leaders, Leader.active.is_(True))
    for leader_id in sorted(leaders - active):
        raise ValidationFailed(f"领导不存在或已停用（编号 {leader_id}）", fields={"leader_ids": "领导不存在"})
    sources = {d.source_id for d in inputs if d.source_id is not None}
    if sources - _existing(session, Source.id, sources):
        raise ValidationFailed("任务来源不存在", fields={"source_id": "来源不存在"})
    parents = {d.parent_id for d in inputs if d.parent_id is not None}
    if parents - _existing(session, Task.id, parents):
        raise ValidationFailed("上级事项不存在", fields={"parent_id": "上级事项不存在"})


def create_drafts(session: Session, actor: Actor, inputs: Iterable[dict | TaskInput]) -> list[tuple[int, str]]:
    """Register many drafts (立项) at once; returns (id, code) per input, in order.

    The one path that creates tasks: ``create_draft`` is this with one input, and
    the ledger import sends its 10,000 rows through here. Rows are written with
    bulk inserts (the ORM costs about 15 ms a task): the task, its assisting
    departments, leaders and milestones, and one "create" audit event each with
    the task's snapshot, exactly as ``record_change`` would store it.
    """
    if not actor.is_office:
        raise NotPermitted("只有督查室可以登记督办事项")

    inputs = [d if isinstance(d, TaskInput) else _validate(TaskInput, d) for d in inputs]
    if not inputs:
        return []
    session.flush()
    _check_drafts(session, inputs)
    now = clock.now()
    year = clock.today().year
    source_dates: dict[int, date] = {}
    rows = []
    for data in inputs:
        due = data.due_date
        if data.time_limit_preset and due is None:
            start = clock.today()
            if data.source_id is not None:
                if data.source_id not in source_dates:
                    source_dates[data.source_id] = session.get(Source, data.source_id).source_date
                start = source_dates[data.source_id]
            due = due_from_preset(session, data.time_limit_preset, start)[0].value
        due = due if data.deadline_kind == DeadlineKind.DATE else data.due_date
        rows.append(
            {
                "title": data.title,
                "requirement": data.requirement,
                "source_id": data.source_id,
                "item_no": data.item_no,
                "category": data.category,
                "parent_id": data.parent_id,
                "lead_department_id": data.lead_department_id,
                "urgency": data.urgency.value,
                "deadline_kind": data.deadline_kind.value,
                "due_date": due,
                "original_due_date": due,
                "deadline_text": data.deadline_text,
                "recurrence": data.recurrence,
                "time_limit_preset": data.time_limit_preset,
                "feedback_cycle": data.feedback_cycle.value,
                "status": Status.DRAFT.value,
                "status_before_suspend": "",
                "needs_leader_approval": data.needs_leader_approval,
                "created_by_id": actor.user_id,
                "created_at": now,
                "updated_at": now,
            }
        )
    first = next_number(session, "task", year, len(rows)) - len(rows) + 1
    for k, row in enumerate(rows):
        row["code"] = f"DB-{year}-{first + k:04d}"
    for part in _chunks(rows, 2000):
        session.execute(Task.__table__.insert(), part)
    # codes are unique: reading the ids back is cheaper than RETURNING with ordered batches
    by_code: dict[str, int] = {}
    for part in _chunks([r["code"] for r in rows], 900):
        by_code.update(session.execute(select(Task.code, Task.id).where(Task.code.in_(part))).all())
    ids = [by_code[r["code"]] for r in rows]
    assists, leaders, milestones, events = [], [], [], []
    for task_id, data, row in zip(ids, inputs, rows):
        assisting = list(dict.fromkeys(data.assisting_department_ids))
        leader_list = list(dict.fromkeys(data.leader_ids))
        assists.extend({"task_id": task_id, "department_id": d} for d in assisting)
        leaders.extend({"task_id": task_id, "leader_id": x} for x in leader_list)
        milestones.extend(
            {"task_id": task_id, "title": m.title, "due_date": m.due_date, "done_on": None, "sort_order": order}
            for order, m in enumerate(sorted(data.milestones, key=lambda m: m.due_date))
        )
        values = {
            name: row[name]
            for name in (
                "status",
                "title",
                "requirement",
                "lead_department_id",
                "urgency",
                "deadline_kind",
                "due_date",
                "original_due_date",
                "deadline_text",
                "recurrence",
            )
        }
        values.update(closed_on=None, assisting_department_ids=sorted(assisting), leader_ids=sorted(leader_list))
        if data.category:
            values["category"] = data.category
        # audit.diff({}, values), without its generality (a third of a 10,000-row import's time):
        # the keys that are set, dates as ISO text, each "before" None.
        after = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in sorted(values.items()) if v is not None}
        before = {k: None for k in after}
        events.append(
            {
                "at": now,
                "actor_id": actor.user_id,
                "actor_name": actor.name,
                "entity": "task",
                "entity_id": task_id,
                "task_id": task_id,
                "action": "create",
                "before": before or None,
                "after": after or None,
                "note": "",
            }
        )
    for model, items in ((TaskAssist, assists), (TaskLeader, leaders), (Milestone, milestones), (AuditEvent, events)):
        for part in _chunks(items, 5000):
            session.execute(model.__table__.insert(), part)
    return list(zip(ids, [r["code"] for r in rows]))


_LINKS = ("assisting_department_ids", "leader_ids", "milestones")


def draft_values(session: Session, task: Task) -> dict:
    """The task's input as it stands: every ``TaskInput`` field, its assisting departments,
    leaders and milestones included. What an edit of a draft starts from (the office's form,
    ``motions.update_draft``)."""
    values = {name: getattr(task, name) for name in TaskInput.model_fields if name not in _LINKS}
    values["category"] = task.category or ""
    values["assisting_department_ids"] = assisting_ids(session, task.id)
    values["leader_ids"] = leader_ids(session, task.id)
    values["milestones"] = [
        {"title": m.title, "due_date": m.due_date}
        for m in session.exec(select(Milestone).where(Milestone.task_id == task.id).order_by(Milestone.sort_order))
    ]
    return values


def update_draft(session: Session, actor: Actor, task_id: int, data: dict | TaskInput) -> Task:
    task, who = _visible_task(session, actor, task_id)
    check_step(session, Action.EDIT_DRAFT, task, who)
    data = data if isinstance(data, TaskInput) else _validate(TaskInput, data)
    before = snapshot(session, task, links=True)
    _apply_input(session, task, data)
    record_change(session, actor, Action.EDIT_DRAFT, task, before)
    return task


def delete_draft(session: Session, actor: Actor, task_id: int) -> None:
    """Only drafts can be deleted; the deletion itself stays in the audit log."""
    task, who = _visible_task(session, actor, task_id)
    check_step(session, Action.DELETE_DRAFT, task, who)
    _refuse_motion(session, task, "登记后不能作为普通草稿删除")
    before = snapshot(session, task, links=True)
    before["code"] = task.code
    for model in (TaskAssist, TaskLeader, Milestone):
        for row in session.exec(select(model).where(model.task_id == task.id)):
            session.delete(row)
    audit.record(
        session,
        actor,
        Action.DELETE_DRAFT,
        entity="task",
        entity_id=task.id,
        task_id=task.id,
        before=before,
        after={},
        note=task.code,
    )
    session.delete(task)
    session.flush()


# --- going out -----------------------------------------------------------------


def _check_ready(session: Session, task: Task, *, past_due_ok: bool = False) -> None:
    """A task may go out only when it says who does what by when (by a day still to come,
    unless ``past_due_ok``: minutes registered late may hand out an item already overdue)."""
    problems = {}
    if task.lead_department_id is None:
        problems["lead_department_id"] = "请指定牵头单位"
    if task.deadline_kind == DeadlineKind.DATE and task.due_date is None:
        problems["due_date"] = "请填写完成时限"
    if task.deadline_kind == DeadlineKind.RECURRING and not task.recurrence:
        problems["recurrence"] = "请填写周期报送规则"
    if task.deadline_kind == DeadlineKind.DATE and task.due_date and task.due_date < clock.today() and not past_due_ok:
        problems["due_date"] = "完成时限早于今天"
    if problems:
        raise ValidationFailed("事项信息不完整，不能交办：" + "；".join(problems.values()), fields=problems)


MOTION_KINDS = (SourceKind.NPC_SUGGESTION.value, SourceKind.CPPCC_PROPOSAL.value)


def _refuse_motion(session: Session, task: Task, what: str) -> None:
    """A 建议/提案's task goes out only through ``motions.assign_motion``, which plans its steps
    and counts its limits from that day; the generic task steps would skip both."""
    if task.source_id is None:
        return
    src = session.get(Source, task.source_id)  # cheap: the identity map holds a batch's one source
    if src is None or src.kind not in MOTION_KINDS:
        return
    motion = session.exec(select(Motion).where(Motion.task_id == task.id)).first()
    if motion is not None:
        raise ValidationFailed(
            f"该事项是{'建议' if motion.kind == 'suggestion' else '提案'}第{motion.number}号"
            f"（{motion.session_name}），{what}"
        )


def _go_out(task: Task) -> None:
    task.original_due_date = task.due_date
    task.assigned_at = clock.now()
    _set_status(task, Status.ASSIGNED)


def submit_for_approval(session: Session, actor: Actor, task_id: int) -> Task:
    task, who = _visible_task(session, actor, task_id)
    check_step(session, Action.SUBMIT_FOR_APPROVAL, task, who)
    _refuse_motion(session, task, "请在“建议提案”页面交办")
    _check_ready(session, task)
    if not leader_ids(session, task.id):
        raise ValidationFailed("提交领导审核前请指定责任领导", fields={"leader_ids": "请指定责任领导"})
    before = snapshot(session, task)
    _set_status(task, Status.PENDING_APPROVAL)
    record_change(session, actor, Action.SUBMIT_FOR_APPROVAL, task, before)
    return task


def _before_leader(session: Session, actor: Actor, task_id: int, action: Action) -> tuple[Task, set[Party]]:
    """The task a responsible leader reviews. Sent back to the office meanwhile (another leader's
    退回 made it a draft, which leaders do not see), it is a 409 naming who sent it back, not a 404:
    the leader was looking at it a moment ago."""
    try:
        task, who = _visible_task(session, actor, task_id)
    except NotFound:
        task = get_task(session, task_id, lock=True)
        if actor.leader_id is None or session.get(TaskLeader, (task.id, actor.leader_id)) is None:
            raise
        sent_back = settled.last_status_change(session, task)
        if sent_back is None or sent_back.action != Action.LEADER_REJECT:
            raise  # a draft the leaders never had before them stays unseen
        refused = IllegalTransition(f"该事项已退回督查室修改，不能执行“{TRANSITIONS[action].label}”操作")
        raise settled.step_taken(session, task, TRANSITIONS[action], refused) from None
    check_step(session, action, task, who)
    return task, who


def leader_approve(session: Session, actor: Actor, task_id: int, note: str = "") -> Task:
    """The responsible leader approves the item; it goes out at once."""
    task, who = _before_leader(session, actor, task_id, Action.LEADER_APPROVE)
    _check_ready(session, task)
    before = snapshot(session, task)
    _go_out(task)
    record_change(session, actor, Action.LEADER_APPROVE, task, before, note=note)
    return task


def leader_reject(session: Session, actor: Actor, task_id: int, reason: str) -> Task:
    task, who = _before_leader(session, actor, task_id, Action.LEADER_REJECT)
    reason = require_text(reason, "reason", "退回理由")
    before = snapshot(session, task)
    _set_status(task, Status.DRAFT)
    record_change(session, actor, Action.LEADER_REJECT, task, before, note=reason)
    return task


def assign(session: Session, actor: Actor, task_id: int, *, as_motion: bool = False, past_due_ok: bool = False) -> Task:
    """交办: the task goes out to its departments (a motion's only with ``as_motion``, from motions;
    one whose deadline has passed only with ``past_due_ok``, for minutes registered late)."""
    task, who = _visible_task(session, actor, task_id)
    check_step(session, Action.ASSIGN, task, who)
    if not as_motion:
        _refuse_motion(session, task, "请在“建议提案”页面交办")
    if task.needs_leader_approval:
        raise ValidationFailed("该事项需经责任领导审核后交办，请先提交领导审核")
    _check_ready(session, task, past_due_ok=past_due_ok)
    before = snapshot(session, task)
    _go_out(task)
    record_change(session, actor, Action.ASSIGN, task, before)
    return task


def acknowledge(session: Session, actor: Actor, task_id: int) -> Task:
    """签收 by the lead department's clerk."""
    task, who = _visible_task(session, actor, task_id)
    check_step(session, Action.ACKNOWLEDGE, task, who)
    before = snapshot(session, task)
    task.acknowledged_at = clock.now()
    _set_status(task, Status.ACKNOWLEDGED)
    record_change(session, actor, Action.ACKNOWLEDGE, task, before)
    return task


# --- doing the work ------------------------------------------------------------


class ReportInput(BaseModel):
    text: str = Field(min_length=1, max_length=20000)
    percent: Optional[int] = Field(default=None, ge=0, le=100)
    problems: str = ""
    next_steps: str = ""
    needs_coordination: bool = False
    milestones_done: list[int] = []

    @field_validator("text", "problems", "next_steps", mode="before")
    @classmethod
    def _strip(cls, v):
        return v.strip() if isinstance(v, str) else v


def report_progress(session: Session, actor: Actor, task_id: int, data: dict | ReportInput) -> ProgressReport:
    """进展反馈 by the lead (moves the task to 办理中) or by an assisting department."""
    task, who = _visible_task(session, actor, task_id)
    action = Action.REPORT if Party.LEAD in who else Action.REPORT_PART
    transition = check_step(session, action, task, who)
    try:
        data = data if isinstance(data, ReportInput) else ReportInput.model_validate(data)
    except ValidationError as exc:
        fields = {
            str(e["loc"][0]): ("完成进度应为 0–100" if e["loc"][0] == "percent" else "请填写进展情况")
            for e in exc.errors()
        }
        raise ValidationFailed("进展反馈填写有误：" + "；".join(fields.values()), fields=fields) from exc
    before = snapshot(session, task)
    report = ProgressReport(
        task_id=task.id,
        department_id=actor.department_id,
        author_id=actor.user_id,
        text=data.text,
        percent=data.percent,
        problems=data.problems,
        next_steps=data.next_steps,
        needs_coordination=data.needs_coordination,
    )
    session.add(report)
    if action == Action.REPORT and data.milestones_done:  # most reports tick none: no read then
        for m in session.exec(select(Milestone).where(Milestone.task_id == task.id)):
            if m.id in data.milestones_done and m.done_on is None:
                m.done_on = clock.today()
    if transition.target is not None and task.status != transition.target:
        _set_status(task, transition.target)
    session.flush()
    if action == Action.REPORT:  # the lead's report meets the periodic reporting deadline(s) due
        recurring.note_report(session, report)
    record_change(session, actor, action, task, before, entity="progress_report", entity_id=report.id)
    return report


# --- office controls -----------------------------------------------------------


def suspend(session: Session, actor: Actor, task_id: int, reason: str) -> Task:
    task, who = _visible_task(session, actor, task_id)
    check_step(session, Action.SUSPEND, task, who)
    reason = require_text(reason, "reason", "暂缓理由")
    before = snapshot(session, task)
    task.status_before_suspend = task.status
    _set_status(task, Status.SUSPENDED)
    record_change(session, actor, Action.SUSPEND, task, before, note=reason)
    return task


def resume(session: Session, actor: Actor, task_id: int, note: str = "") -> Task:
    task, who = _visible_task(session, actor, task_id)
    check_step(session, Action.RESUME, task, who)
    before = snapshot(session, task)
    _set_status(task, Status(task.status_before_suspend or Status.IN_PROGRESS))
    task.status_before_suspend = ""
    record_change(session, actor, Action.RESUME, task, before, note=note)
    return task


def cancel(session: Session, actor: Actor, task_id: int, reason: str) -> Task:
    task, who = _visible_task(session, actor, task_id)
    check_step(session, Action.CANCEL, task, who)
    reason = require_text(reason, "reason", "撤销理由")
    before = snapshot(session, task)
    for model in (ExtensionRequest, CloseRequest, ChangeRequest):
        for req in session.exec(select(model).where(model.task_id == task.id, model.status == RequestStatus.PENDING)):
            req.status = RequestStatus.WITHDRAWN
    _set_status(task, Status.CANCELLED)
    record_change(session, actor, Action.CANCEL, task, before, note=reason)
    return task


def reopen(session: Session, actor: Actor, task_id: int, reason: str) -> Task:
    """复查核验 failed: the closed task goes back to 办理中."""
    task, who = _visible_task(session, actor, task_id)
    check_step(session, Action.REOPEN, task, who)
    reason = require_text(reason, "reason", "重新打开的理由")
    before = snapshot(session, task)
    task.closed_on = None
    _set_status(task, Status.IN_PROGRESS)
    record_change(session, actor, Action.REOPEN, task, before, note=reason)
    return task


def is_final(task: Task) -> bool:
    return Status(task.status) in FINAL
