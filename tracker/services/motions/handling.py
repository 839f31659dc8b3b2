"""人大代表建议 and 政协委员提案: a kind of source with its own handling steps.

"依法认真办理人大代表建议和政协委员提案，加强与代表委员沟通，严格责任，限时办结，
主动公开办理结果" (000 §36, 001 §14, 002 §32, 003 §14, 004 §37).

Each motion is one ``Motion`` row linked to one task: the task carries the lead unit
(主办), the co-handling units (协办) and the answer deadline, so the dashboard, the
exports and the reminder ladder treat it like any task. The steps particular to
motions are ``MotionStep`` rows with their own deadline and the unit that owes
them; a missed step makes the task overdue (``rules.overdue.step_missed``) and
``motions.reminders`` reminds the owing unit on the same working days as any
deadline (``chasing.rules.load_rules``: 3 and 1 working days before, on the day, then
daily). The time limits are in ``motions.limits``; figures and publishing in
``motions.publishing``.

The closed loop is the task's own: 交办 = ``tasks.lifecycle.assign`` (at registration, or later
as its own step: ``assign_batch``; until then the motion's stage is "unassigned",
its task a draft that only the office sees, and ``update_draft`` may change its
units and leader); 改派 = ``tasks.requests.request_reassign``/``decide_reassign``; the
answer is ``tasks.requests.request_close`` and the office's review
``tasks.requests.review_close``; a 不满意 re-opens through ``tasks.lifecycle.reopen``. Only the
task service's core (``tasks.lifecycle._set_status``) sets a status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock, db
from tracker.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from tracker.models import (
    ChangeRequest,
    Department,
    Leader,
    Motion,
    MotionFeedback,
    MotionStep,
    RequestStatus,
    Role,
    Source,
    SourceKind,
    Task,
    TaskAssist,
)
from tracker.services import audit
from tracker.services.actors import SYSTEM, Actor, parties
from tracker.services.calendar import load_calendar
from tracker.services.motions.limits import limit_due, limit_text, load_limits
from tracker.services.tasks import attachments
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks import requests as task_requests
from tracker.workflow import Party, Status

KIND_LABELS = {"suggestion": "建议", "proposal": "提案"}
KIND_SOURCE = {"suggestion": SourceKind.NPC_SUGGESTION, "proposal": SourceKind.CPPCC_PROPOSAL}
PERSON_LABELS = {"suggestion": "领衔代表", "proposal": "提案人"}
STEP_LABELS = {"opinion": "协办意见", "consult": "面商沟通", "answer": "书面答复", "follow_up": "列入计划事项跟踪"}
UNASSIGNED = "unassigned"  # registered, its task still a draft: the office has not assigned it yet
STAGE_LABELS = {
    UNASSIGNED: "待交办",
    "handling": "办理中",
    "review": "答复待审核",
    "feedback": "待代表委员反馈",
    "done": "已办结",
}
CATEGORY_LABELS = {
    "A": "A 已解决或采纳",
    "B": "B 正在解决或列入计划解决",
    "C": "C 因条件限制或其他原因暂不能解决",
    "D": "D 留作参考",
}
SATISFACTION = ("满意", "基本满意", "不满意")
CONSULT_FORMS = ("当面", "电话", "座谈", "视察", "书面", "网络")


# --- reading -------------------------------------------------------------------


def label(motion: Motion) -> str:
    return f"{KIND_LABELS[motion.kind]}第{motion.number}号"


def get(session: Session, actor: Actor, motion_id: int, *, lock: bool = False) -> tuple[Motion, Task, set[Party]]:
    """The motion, its task and the actor's relation to it. ``lock``: for a step that changes them,
    the task and then the motion are locked and read afresh (``tracker.db.lock``) before anything is
    decided on them, so two steps on one motion at once queue up and the second sees the first's."""
    motion = session.get(Motion, motion_id)
    if motion is None:
        raise NotFound(f"未找到编号为 {motion_id} 的建议提案")
    if lock:
        task = tasks.get_task(session, motion.task_id, lock=True)
        motion = db.locked(session, Motion, motion_id)
    else:
        task = session.get(Task, motion.task_id)
    who = parties(session, actor, task)
    if not who:
        raise NotFound(f"未找到编号为 {motion_id} 的建议提案")
    return motion, task, who


def steps(session: Session, motion_id: int) -> list[MotionStep]:
    return list(
        session.exec(
            select(MotionStep)
            .where(MotionStep.motion_id == motion_id)
            .order_by(MotionStep.round, MotionStep.due_date, MotionStep.id)
        )
    )


def feedbacks(session: Session, motion_id: int) -> list[MotionFeedback]:
    return list(
        session.exec(select(MotionFeedback).where(MotionFeedback.motion_id == motion_id).order_by(MotionFeedback.id))
    )


def list_motions(
    session: Session,
    actor: Actor,
    *,
    kind: str = "",
    session_name: str = "",
    department_id: int | None = None,
    category: str = "",
    key_only: bool = False,
    stage: str = "",
) -> list[tuple[Motion, Task]]:
    stmt = select(Motion, Task).join(Task, Task.id == Motion.task_id)
    if actor.role == Role.CLERK:
        mine = sa.or_(
            Task.lead_department_id == actor.department_id,
            sa.exists().where(TaskAssist.task_id == Task.id, TaskAssist.department_id == actor.department_id),
        )
        stmt = stmt.where(mine, Task.status != "draft")
    elif not actor.is_office:
        raise NotPermitted("只有督查室和承办单位可以查看建议提案")
    if kind:
        stmt = stmt.where(Motion.kind == kind)
    if session_name:
        stmt = stmt.where(Motion.session_name == session_name)
    if department_id:
        stmt = stmt.where(
            sa.or_(
                Task.lead_department_id == department_id,
                sa.exists().where(TaskAssist.task_id == Task.id, TaskAssist.department_id == department_id),
            )
        )
    if category:
        stmt = stmt.where(Motion.category == category)
    if key_only:
        stmt = stmt.where(Motion.is_key.is_(True))
    if stage:
        stmt = stmt.where(Motion.stage == stage)  # UNASSIGNED: the drafts, which a unit never gets
    return list(session.exec(stmt.order_by(Motion.kind.desc(), Motion.session_name, Motion.number)))


def filter_values(session: Session) -> dict[str, list[str]]:
    return {
        "sessions": list(session.exec(select(Motion.session_name).distinct().order_by(Motion.session_name))),
        "categories": [c for c in session.exec(select(Motion.category).distinct().order_by(Motion.category)) if c],
    }


# --- registering and assigning ---------------------------------------------------


@dataclass
class MotionInput:
    kind: str
    number: int
    session_name: str
    title: str
    proposer: str
    lead_department_id: int
    assisting_department_ids: list[int] = field(default_factory=list)
    body: str = ""
    co_signers: str = ""
    contact: str = ""
    category: str = ""
    is_key: bool = False
    supervising_leader_id: int | None = None
    due_date: date | None = None  # a 办理时限 written on the list; else the answer limit
    row: int | None = None  # the list's row, for messages


def _where(data: MotionInput) -> str:
    return f"第{data.row}行：" if data.row else ""


def check_inputs(session: Session, inputs: list[MotionInput]) -> list[str]:
    """Every problem with a batch, in Chinese, by row; empty when the batch may be written."""
    problems = []
    seen: set[tuple] = set()
    for d in inputs:
        w = _where(d)
        if d.kind not in KIND_LABELS:
            problems.append(f"{w}类别应为建议或提案")
            continue
        if not d.title.strip():
            problems.append(f"{w}{KIND_LABELS[d.kind]}题目为空")
        if not d.proposer.strip():
            problems.append(f"{w}{PERSON_LABELS[d.kind]}为空")
        if not d.session_name.strip():
            problems.append(f"{w}届次为空")
        if d.number is None or d.number <= 0:
            problems.append(f"{w}{KIND_LABELS[d.kind]}编号应为正整数")
        key = (d.kind, d.session_name, d.number)
        if key in seen:
            problems.append(f"{w}{KIND_LABELS[d.kind]}第{d.number}号在清单中重复")
        seen.add(key)
        if session.exec(
            select(Motion.id).where(
                Motion.kind == d.kind, Motion.session_name == d.session_name, Motion.number == d.number
            )
        ).first():
            problems.append(f"{w}{d.session_name}{KIND_LABELS[d.kind]}第{d.number}号已经登记")
        if d.lead_department_id is None:
            problems.append(f"{w}未填写主办单位")
        if d.lead_department_id in d.assisting_department_ids:
            problems.append(f"{w}主办单位不能同时是协办单位")
        if d.due_date is not None and d.due_date < clock.today():
            problems.append(f"{w}办理时限 {d.due_date.isoformat()} 早于交办日")
    return problems


def register(session: Session, actor: Actor, inputs: list[MotionInput], *, assign: bool = True) -> list[Motion]:
    """Register a batch (one Source per kind and session) and, by default, assign it (交办).

    All or nothing: every row is checked before anything is written.
    """
    if not actor.is_office:
        raise NotPermitted("只有督查室可以登记和交办建议提案")
    problems = check_inputs(session, inputs)
    if problems:
        raise ValidationFailed(
            "清单有误，未导入任何一件："
            + "；".join(problems[:20])
            + (f"；等共{len(problems)}处" if len(problems) > 20 else "")
        )
    today = clock.today()
    limits = load_limits(session)
    sources: dict[tuple[str, str], Source] = {}
    made = []
    for d in inputs:
        src = sources.get((d.kind, d.session_name))
        if src is None:
            src = session.exec(
                select(Source).where(Source.kind == KIND_SOURCE[d.kind].value, Source.reference == d.session_name)
            ).first()
            if src is None:
                src = Source(
                    kind=KIND_SOURCE[d.kind].value,
                    reference=d.session_name,
                    source_date=today,
                    title=f"{d.session_name}{'代表建议' if d.kind == 'suggestion' else '委员提案'}",
                    created_by_id=actor.user_id,
                )
                session.add(src)
                session.flush()
            sources[(d.kind, d.session_name)] = src
        due = d.due_date or limit_due(session, today, limits["answer"])
        leader_ids = [d.supervising_leader_id] if d.supervising_leader_id else []
        task = tasks.create_draft(
            session,
            actor,
            {
                "title": f"{KIND_LABELS[d.kind]}第{d.number}号：{d.title}"[:200],
                "requirement": d.body or d.title,
                "source_id": src.id,
                "item_no": str(d.number),
                "lead_department_id": d.lead_department_id,
                "assisting_department_ids": d.assisting_department_ids,
                "leader_ids": leader_ids,
                "due_date": due,
                "urgency": "normal",
            },
        )
        task.category = d.category[:120]
        motion = Motion(
            kind=d.kind,
            number=d.number,
            session_name=d.session_name.strip(),
            title=d.title.strip(),
            body=d.body,
            proposer=d.proposer.strip(),
            co_signers=d.co_signers,
            contact=d.contact,
            category=d.category.strip(),
            is_key=d.is_key,
            supervising_leader_id=d.supervising_leader_id,
            source_id=src.id,
            task_id=task.id,
            first_answer_due=d.due_date,
            stage="handling" if assign else UNASSIGNED,
        )
        session.add(motion)
        session.flush()
        audit.record(
            session,
            actor,
            "motion_register",
            entity="motion",
            entity_id=motion.id,
            task_id=task.id,
            after={"label": label(motion), "proposer": motion.proposer},
        )
        if assign:
            assign_motion(session, actor, motion)
        made.append(motion)
    return made


def assign_motion(session: Session, actor: Actor, motion: Motion) -> None:
    """交办: the task goes out and the first round's steps get their deadlines.

    The limits count from the day of assignment (交办之日起): a motion assigned
    weeks after its registration gets its answer deadline from today, unless the
    list gave one (``first_answer_due`` of a not-yet-assigned motion holds only that).
    """
    today = clock.today()
    task = session.get(Task, motion.task_id)
    if motion.first_answer_due is None:
        due = limit_due(session, today, load_limits(session)["answer"])
        if task.due_date != due:
            before = tasks.snapshot(session, task)
            task.due_date = task.original_due_date = due
            task.updated_at = clock.now()
            tasks.record_change(
                session, actor, "motion_deadline", task, before, note=f"{label(motion)}答复时限自交办之日起计算"
            )
    tasks.assign(session, actor, motion.task_id, as_motion=True)
    motion.stage = "handling"
    _plan_round(session, motion, today, keep_due=True)
    motion.first_answer_due = task.due_date
    session.flush()


def _named(motion: Motion) -> str:
    return f"{motion.session_name}{label(motion)}"


def assign_batch(session: Session, actor: Actor, motion_ids: list[int]) -> list[Motion]:
    """交办 registered motions in one batch (the office's 交办 as its own step).

    All or nothing: every item is checked first (still waiting to be assigned, has a
    lead unit, its deadline not passed) and one problem refuses the whole batch, in
    Chinese, naming the item. Each assignment is audited through ``tasks.lifecycle.assign``.
    """
    if not actor.is_office:
        raise NotPermitted("只有督查室可以交办建议提案")
    ids = list(dict.fromkeys(int(i) for i in motion_ids))
    if not ids:
        raise ValidationFailed("请先勾选要交办的建议提案", fields={"motion_ids": "未选择"})
    found = {m.id: m for m in session.exec(select(Motion).where(Motion.id.in_(ids)))}
    # Lock the tasks (in one order: two batches never wait on each other), then the motions, and
    # read both afresh: "still waiting to be assigned" is decided on what they hold now.
    db.lock(session, select(Task).where(Task.id.in_([m.task_id for m in found.values()])).order_by(Task.id)).all()
    found = {m.id: m for m in db.lock(session, select(Motion).where(Motion.id.in_(ids)).order_by(Motion.id))}
    today = clock.today()
    problems = []
    for mid in ids:
        motion = found.get(mid)
        if motion is None:
            problems.append(f"编号为 {mid} 的建议提案不存在")
            continue
        task = session.get(Task, motion.task_id)
        if task.status != Status.DRAFT:
            problems.append(f"{_named(motion)}已经交办")
            continue
        if task.lead_department_id is None:
            problems.append(f"{_named(motion)}未指定主办单位")
        if motion.first_answer_due is not None and motion.first_answer_due < today:
            problems.append(f"{_named(motion)}的办理时限 {motion.first_answer_due.isoformat()} 已过，请先修改")
    if problems:
        raise ValidationFailed(
            "未交办任何一件：" + "；".join(problems[:20]) + (f"；等共{len(problems)}处" if len(problems) > 20 else "")
        )
    out = []
    for mid in ids:
        assign_motion(session, actor, found[mid])
        out.append(found[mid])
    return out


def update_draft(
    session: Session,
    actor: Actor,
    motion_id: int,
    *,
    lead_department_id: int | None,
    assisting_department_ids: list[int],
    supervising_leader_id: int | None,
) -> Motion:
    """Change the lead unit, the co-handling units and the 领办领导 before assignment.

    Once assigned, a change of lead goes through 改派 (``request_reassign``). The task's
    own draft edit (``tasks.lifecycle.update_draft``) checks the units and leaders and audits it.
    """
    motion, task, who = get(session, actor, motion_id, lock=True)
    if Party.OFFICE not in who:
        raise NotPermitted("只有督查室可以修改建议提案的承办单位")
    if task.status != Status.DRAFT:
        raise Conflict(f"{_named(motion)}已经交办，不能再直接修改承办单位；主办单位认为不属于本单位职责的，请走改派")
    if lead_department_id is None:
        raise ValidationFailed("请选择主办单位", fields={"lead_department_id": "请选择主办单位"})
    assisting = list(dict.fromkeys(assisting_department_ids))
    if lead_department_id in assisting:
        raise ValidationFailed("主办单位不能同时是协办单位", fields={"assisting_department_ids": "与主办单位重复"})
    data = tasks.draft_values(session, task)
    leader_list = [i for i in data["leader_ids"] if i != motion.supervising_leader_id]
    if supervising_leader_id:
        leader_list.insert(0, supervising_leader_id)
    data.update(lead_department_id=lead_department_id, assisting_department_ids=assisting, leader_ids=leader_list)
    tasks.update_draft(session, actor, task.id, data)
    if motion.supervising_leader_id != supervising_leader_id:
        before = {"supervising_leader_id": motion.supervising_leader_id}
        motion.supervising_leader_id = supervising_leader_id
        session.flush()
        audit.record(
            session,
            actor,
            "motion_update",
            entity="motion",
            entity_id=motion.id,
            task_id=task.id,
            before=before,
            after={"supervising_leader_id": supervising_leader_id},
            note=label(motion),
        )
    return motion


def _plan_round(session: Session, motion: Motion, start: date, *, keep_due: bool = False) -> None:
    """(Re)write the open steps of the current round, counted from ``start``; ``keep_due``:
    the answer is due on the task's date (a 办理时限 written on the list)."""
    task = session.get(Task, motion.task_id)
    limits = load_limits(session)
    for step in session.exec(
        select(MotionStep).where(
            MotionStep.motion_id == motion.id, MotionStep.round == motion.round, MotionStep.done_on.is_(None)
        )
    ):
        session.delete(step)
    session.flush()
    done = {
        (s.kind, s.department_id)
        for s in session.exec(
            select(MotionStep).where(MotionStep.motion_id == motion.id, MotionStep.round == motion.round)
        )
    }
    if motion.round == 1:
        answer_due = limit_due(session, start, limits["answer"])
        if keep_due and task.due_date:
            answer_due = task.due_date
        plan = [
            ("consult", task.lead_department_id, min(limit_due(session, start, limits["consult"]), answer_due)),
            ("answer", task.lead_department_id, answer_due),
        ]
        opinion_due = min(limit_due(session, start, limits["opinion"]), answer_due)
        plan += [("opinion", dep, opinion_due) for dep in tasks.assisting_ids(session, task.id)]
    else:
        answer_due = limit_due(session, start, limits["second"])
        plan = [("consult", task.lead_department_id, answer_due), ("answer", task.lead_department_id, answer_due)]
    for kind, dep, due in plan:
        if (kind, dep) not in done:
            session.add(
                MotionStep(
                    motion_id=motion.id, task_id=task.id, kind=kind, round=motion.round, department_id=dep, due_date=due
                )
            )
    if task.due_date != answer_due:
        before = tasks.snapshot(session, task)
        task.due_date = answer_due
        if motion.round == 1:
            task.original_due_date = answer_due
            motion.first_answer_due = answer_due
        task.updated_at = clock.now()
        session.flush()
        tasks.record_change(
            session, SYSTEM, "motion_deadline", task, before, note=f"{label(motion)}第{motion.round}轮办理时限"
        )
    session.flush()


# --- the lead unit's and the co-handling units' steps ---------------------------------


def _open_step(session: Session, motion: Motion, kind: str, department_id: int) -> MotionStep:
    step = session.exec(
        select(MotionStep).where(
            MotionStep.motion_id == motion.id,
            MotionStep.round == motion.round,
            MotionStep.kind == kind,
            MotionStep.department_id == department_id,
        )
    ).first()
    if step is None:
        raise NotPermitted(f"本单位在{label(motion)}中没有“{STEP_LABELS[kind]}”这一步")
    return step


def request_reassign(
    session: Session, actor: Actor, motion_id: int, reason: str, suggested_department_id: int | None = None
) -> ChangeRequest:
    """A lead unit that is not responsible asks for 改派 within the limit (default 10 days)."""
    motion, task, who = get(session, actor, motion_id, lock=True)
    limit = load_limits(session)["reassign"]
    assigned_on = clock.local_date(task.assigned_at)
    last = limit_due(session, assigned_on, limit)
    if clock.today() > last:
        raise ValidationFailed(
            f"改派申请应在交办后{limit_text(limit)}内（{last.isoformat()}前）提出，已超过期限，请与督查室联系"
        )
    # the motion's own window replaces the task's default two working days
    window = load_calendar(session).workdays_between(assigned_on, last).value
    return task_requests.request_reassign(
        session, actor, task.id, reason, suggested_department_id, window_workdays=window
    )


def decide_reassign(
    session: Session,
    actor: Actor,
    motion_id: int,
    approve: bool,
    new_lead_department_id: int | None = None,
    note: str = "",
) -> ChangeRequest:
    """The office decides; an approved 改派 restarts the limits from the new assignment."""
    motion, task, who = get(session, actor, motion_id, lock=True)
    req = session.exec(
        select(ChangeRequest).where(
            ChangeRequest.task_id == task.id, ChangeRequest.status == RequestStatus.PENDING.value
        )
    ).first()
    if req is None:
        raise NotFound("该建议提案没有待审核的改派申请")
    req = task_requests.decide_reassign(session, actor, req.id, approve, new_lead_department_id, note)
    if approve:
        for step in session.exec(select(MotionStep).where(MotionStep.motion_id == motion.id)):
            if step.done_on is None:
                session.delete(step)
        session.flush()
        _plan_round(session, motion, clock.today())
    return req


def send_opinion(session: Session, actor: Actor, motion_id: int, text: str) -> MotionStep:
    """A co-handling unit sends its opinion to the lead (协办意见)."""
    motion, task, who = get(session, actor, motion_id, lock=True)
    if Party.ASSIST not in who:
        raise NotPermitted("只有协办单位可以报送协办意见")
    text = tasks.require_text(text, "text", "协办意见")
    step = _open_step(session, motion, "opinion", actor.department_id)
    if step.done_on is not None:
        raise Conflict("本单位已报送协办意见")
    tasks.report_progress(session, actor, task.id, {"text": f"协办意见：{text}"})
    step.text, step.done_on, step.by_id = text, clock.today(), actor.user_id
    session.flush()
    return step


def _lead_only(who: set[Party], what: str) -> None:
    if Party.LEAD not in who:
        raise NotPermitted(f"只有主办单位可以{what}")


def record_consult(session: Session, actor: Actor, motion_id: int, met_on: date, form: str, text: str) -> MotionStep:
    """面商/沟通 with the deputy before answering: its date, form and what was said."""
    motion, task, who = get(session, actor, motion_id, lock=True)
    _lead_only(who, "记录面商沟通情况")
    if form not in CONSULT_FORMS:
        raise ValidationFailed("请选择沟通方式", fields={"form": "请选择沟通方式"})
    if met_on > clock.today():
        raise ValidationFailed("沟通日期不能晚于今天", fields={"met_on": "不能晚于今天"})
    text = tasks.require_text(text, "text", "沟通情况")
    step = _open_step(session, motion, "consult", task.lead_department_id)
    if task.status == Status.ASSIGNED:
        tasks.acknowledge(session, actor, task.id)
    tasks.report_progress(
        session, actor, task.id, {"text": f"与{motion.proposer}{form}沟通（{met_on.isoformat()}）：{text}"}
    )
    step.met_on, step.form, step.text, step.done_on, step.by_id = met_on, form, text, clock.today(), actor.user_id
    session.flush()
    return step


def answer(
    session: Session,
    actor: Actor,
    motion_id: int,
    category: str,
    summary: str,
    upload=None,
    *,
    promise_date: date | None = None,
    directory=None,
) -> Motion:
    """The lead unit's written answer (答复函): file, category, summary; goes to the office's review."""
    motion, task, who = get(session, actor, motion_id, lock=True)
    _lead_only(who, "提交答复")
    if category not in CATEGORY_LABELS:
        raise ValidationFailed("请选择答复类别（A/B/C/D）", fields={"category": "请选择答复类别"})
    summary = tasks.require_text(summary, "summary", "答复内容摘要")
    if category == "B" and promise_date is None:
        raise ValidationFailed("B类答复请填写承诺解决时限", fields={"promise_date": "请填写承诺解决时限"})
    if promise_date is not None and promise_date <= clock.today():
        raise ValidationFailed("承诺解决时限应晚于今天", fields={"promise_date": "应晚于今天"})
    consult = _open_step(session, motion, "consult", task.lead_department_id)
    if consult.done_on is None:
        raise ValidationFailed("答复前应先与代表委员面商沟通，请先记录沟通情况")
    missing = [
        s for s in steps(session, motion.id) if s.kind == "opinion" and s.round == motion.round and s.done_on is None
    ]
    if missing:
        names = "、".join(session.get(Department, s.department_id).name for s in missing)
        raise ValidationFailed(f"协办单位（{names}）尚未报送协办意见，暂不能答复")
    if upload is None:
        raise ValidationFailed("请上传答复函", fields={"file": "请上传答复函"})
    if task.status == Status.ASSIGNED:
        tasks.acknowledge(session, actor, task.id)
    req = task_requests.request_close(session, actor, task.id, f"{CATEGORY_LABELS[category]}：{summary}")

    att = attachments.store(session, actor, task.id, None, upload, close_request_id=req.id, directory=directory)
    step = _open_step(session, motion, "answer", task.lead_department_id)
    step.done_on, step.text, step.by_id = clock.today(), summary, actor.user_id
    motion.answer_category, motion.answer_summary, motion.answer_attachment_id = category, summary, att.id
    motion.answered_on, motion.promise_date = clock.today(), promise_date
    if motion.round == 1:
        motion.first_answered_on = clock.today()
    motion.stage = "review"
    session.flush()
    return motion


def review_answer(session: Session, actor: Actor, motion_id: int, approve: bool, note: str = "") -> Motion:
    """The office reviews the answer before it is sent: approved → sent, awaiting feedback; or returned."""
    motion, task, who = get(session, actor, motion_id, lock=True)
    task_requests.review_close(session, actor, task.id, approve, note)
    if approve:
        motion.stage = "feedback"
        if motion.answer_category == "B" and motion.promise_date and motion.round == 1:
            exists = session.exec(
                select(MotionStep).where(MotionStep.motion_id == motion.id, MotionStep.kind == "follow_up")
            ).first()
            if exists is None:
                session.add(
                    MotionStep(
                        motion_id=motion.id,
                        task_id=task.id,
                        kind="follow_up",
                        round=motion.round,
                        department_id=task.lead_department_id,
                        due_date=motion.promise_date,
                    )
                )
    else:
        step = _open_step(session, motion, "answer", task.lead_department_id)
        step.done_on = None
        motion.answered_on = None
        if motion.round == 1:
            motion.first_answered_on = None
        motion.stage = "handling"
    session.flush()
    return motion


def record_feedback(
    session: Session, actor: Actor, motion_id: int, result: str, note: str = "", received_on: date | None = None
) -> Motion:
    """The deputy's satisfaction; 不满意 re-opens the item for a second handling (default three months)."""
    motion, task, who = get(session, actor, motion_id, lock=True)
    if Party.OFFICE not in who:
        raise NotPermitted("只有督查室可以登记代表委员的满意度")
    if result not in SATISFACTION:
        raise ValidationFailed("请选择满意度（满意/基本满意/不满意）", fields={"result": "请选择满意度"})
    if motion.stage != "feedback":
        raise Conflict("答复经督查室审核发出后才能登记满意度")
    received_on = received_on or clock.today()
    session.add(
        MotionFeedback(
            motion_id=motion.id,
            round=motion.round,
            result=result,
            note=note,
            received_on=received_on,
            recorded_by_id=actor.user_id,
        )
    )
    motion.satisfaction = result
    if result == "不满意":
        if motion.round >= 2:
            motion.stage = "done"
            session.flush()
            audit.record(
                session,
                actor,
                "motion_feedback",
                entity="motion",
                entity_id=motion.id,
                task_id=task.id,
                after={"result": result, "round": motion.round},
                note="二次办理后仍不满意，如实记录",
            )
            return motion
        tasks.reopen(session, actor, task.id, f"{motion.proposer}对答复不满意，重新办理：{note or '无说明'}")
        motion.round = 2
        motion.stage = "handling"
        session.flush()
        _plan_round(session, motion, clock.today())
    else:
        motion.stage = "done"
    session.flush()
    audit.record(
        session,
        actor,
        "motion_feedback",
        entity="motion",
        entity_id=motion.id,
        task_id=task.id,
        after={"result": result, "round": motion.round},
        note=note,
    )
    return motion


def keep_promise(session: Session, actor: Actor, motion_id: int, text: str) -> MotionStep:
    """A B answer's promise kept (列入计划解决的事项已落实): the follow-up ends."""
    motion, task, who = get(session, actor, motion_id, lock=True)
    if not (who & {Party.LEAD, Party.OFFICE}):
        raise NotPermitted("只有主办单位或督查室可以登记落实情况")
    step = session.exec(
        select(MotionStep).where(
            MotionStep.motion_id == motion.id, MotionStep.kind == "follow_up", MotionStep.done_on.is_(None)
        )
    ).first()
    if step is None:
        raise Conflict("该件没有待跟踪落实的承诺事项")
    step.text = tasks.require_text(text, "text", "落实情况")
    step.done_on, step.by_id = clock.today(), actor.user_id
    motion.follow_up_done_on = clock.today()
    session.flush()
    audit.record(
        session,
        actor,
        "motion_promise_kept",
        entity="motion",
        entity_id=motion.id,
        task_id=task.id,
        after={"done_on": step.done_on},
        note=step.text,
    )
    return step


def leaders(session: Session) -> list[Leader]:
    return list(session.exec(select(Leader).where(Leader.active).order_by(Leader.sort_order, Leader.id)))
