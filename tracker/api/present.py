"""Turning rows into response models. Read-side only: visibility is decided by
queries.list_tasks (in SQL) and actors.parties (for one task) before this runs."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlmodel import Session, select

from tracker import clock
from tracker.api import schemas as s
from tracker.errors import NotFound
from tracker.models import (
    FEEDBACK_CYCLE_LABELS,
    URGENCY_LABELS,
    ChangeRequest,
    CloseRequest,
    Department,
    ExtensionRequest,
    FeedbackCycle,
    Leader,
    Milestone,
    RequestStatus,
    Role,
    Task,
    TaskAssist,
    TaskLeader,
    Urgency,
)
from tracker.rules.overdue import Horizon, light_label
from tracker.services.actors import Actor, own_part_only, parties
from tracker.services.tasks import queries
from tracker.services.tasks.lifecycle import assisting_ids, leader_ids
from tracker.services.tasks.sources import kind_label
from tracker.workflow import TRANSITIONS, Action, Party, allowed, status_label

ROLE_PARTY = {Role.SUPERVISOR: Party.OFFICE, Role.CLERK: Party.LEAD, Role.LEADER: Party.LEADER, Role.ADMIN: Party.NONE}
PARTY_ORDER = [Party.LEAD, Party.ASSIST, Party.LEADER, Party.OFFICE]


def horizon(session: Session) -> Horizon:
    return Horizon.build(session, current_app.config["TRACKER"].due_soon_workdays)


def local(ts: datetime | None) -> datetime | None:
    """Timestamps go out in China time with their offset (+08:00)."""
    return ts.astimezone(clock.CHINA) if ts is not None else None


def main_party(who: set[Party]) -> Party:
    return next((p for p in PARTY_ORDER if p in who), Party.NONE)


def label_of(mapping: dict, enum, value: str) -> str:
    try:
        return mapping[enum(value)]
    except ValueError:
        return value


def people(session: Session, task_ids: list[int]) -> tuple[dict[int, list[s.Ref]], dict[int, list[s.LeaderRef]]]:
    """Assisting departments and responsible leaders, with their ids, for a page of tasks."""
    assist: dict[int, list[s.Ref]] = {i: [] for i in task_ids}
    leaders: dict[int, list[s.LeaderRef]] = {i: [] for i in task_ids}
    if task_ids:
        for tid, dep in session.execute(
            select(TaskAssist.task_id, Department)
            .join(Department, Department.id == TaskAssist.department_id)
            .where(TaskAssist.task_id.in_(task_ids))
            .order_by(Department.sort_order, Department.id)
        ):
            assist[tid].append(s.Ref(id=dep.id, name=dep.name))
        for tid, ldr in session.execute(
            select(TaskLeader.task_id, Leader)
            .join(Leader, Leader.id == TaskLeader.leader_id)
            .where(TaskLeader.task_id.in_(task_ids))
            .order_by(Leader.sort_order, Leader.id)
        ):
            leaders[tid].append(s.LeaderRef(id=ldr.id, name=ldr.name, title=ldr.title))
    return assist, leaders


def item_fields(row, party: Party, assist: list[s.Ref], leaders: list[s.LeaderRef]) -> dict:
    task: Task = row.Task
    return dict(
        id=task.id,
        code=task.code,
        title=task.title,
        status=task.status,
        status_label=status_label(task.status, party),
        light=row.light,
        light_label=light_label(row.light, bool(row.due_soon)),
        overdue=bool(row.overdue),
        overdue_workdays=int(row.overdue_workdays or 0),
        due_soon=bool(row.due_soon),
        due_date=task.due_date,
        original_due_date=task.original_due_date,
        deadline_kind=task.deadline_kind,
        deadline_text=task.deadline_text,
        lead_department=(
            s.Ref(id=task.lead_department_id, name=row.lead_name) if task.lead_department_id is not None else None
        ),
        assisting=assist,
        leaders=leaders,
        source=(
            s.SourceRef(
                id=task.source_id, title=row.source_title, kind=row.source_kind, kind_label=kind_label(row.source_kind)
            )
            if task.source_id is not None
            else None
        ),
        urgency=task.urgency,
        urgency_label=label_of(URGENCY_LABELS, Urgency, task.urgency),
        last_report_at=local(row.last_report_at),
    )


def task_page(session: Session, actor: Actor, page: queries.Page) -> s.TaskPage:
    ids = [row.Task.id for row in page.rows]
    assist, leaders = people(session, ids)
    party = ROLE_PARTY.get(actor.role, Party.NONE)
    items = [s.TaskItem(**item_fields(row, party, assist[row.Task.id], leaders[row.Task.id])) for row in page.rows]
    return s.TaskPage(items=items, total=page.total, page=page.page, per_page=page.per_page, pages=page.pages)


def visible_task(session: Session, actor: Actor, task_id: int) -> tuple[Task, set[Party]]:
    """The task and the caller's relation to it; invisible tasks do not exist (404)."""
    task = session.get(Task, task_id)
    who = parties(session, actor, task) if task is not None else set()
    if not who:
        raise NotFound(f"未找到编号为 {task_id} 的督办事项")
    return task, who


def pending_requests(session: Session, task_id: int) -> list[s.PendingRequestOut]:
    out: list[s.PendingRequestOut] = []
    names = {}

    def dep(dep_id):
        if dep_id is None:
            return None
        if dep_id not in names:
            row = session.get(Department, dep_id)
            names[dep_id] = s.Ref(id=row.id, name=row.name) if row else None
        return names[dep_id]

    for req in session.exec(
        select(ExtensionRequest).where(
            ExtensionRequest.task_id == task_id, ExtensionRequest.status == RequestStatus.PENDING
        )
    ):
        out.append(
            s.PendingRequestOut(
                kind="extension",
                request_id=req.id,
                department=dep(req.department_id),
                requested_by_id=req.requested_by_id,
                created_at=local(req.created_at),
                reason=req.reason,
                old_due_date=req.old_due_date,
                new_due_date=req.new_due_date,
                payload=None,
            )
        )
    for req in session.exec(
        select(CloseRequest).where(CloseRequest.task_id == task_id, CloseRequest.status == RequestStatus.PENDING)
    ):
        out.append(
            s.PendingRequestOut(
                kind="close",
                request_id=req.id,
                department=dep(req.department_id),
                requested_by_id=req.requested_by_id,
                created_at=local(req.created_at),
                reason=req.summary,
                old_due_date=None,
                new_due_date=None,
                payload=None,
            )
        )
    for req in session.exec(
        select(ChangeRequest).where(ChangeRequest.task_id == task_id, ChangeRequest.status == RequestStatus.PENDING)
    ):
        out.append(
            s.PendingRequestOut(
                kind=req.kind,
                request_id=req.id,
                department=dep(req.department_id),
                requested_by_id=req.requested_by_id,
                created_at=local(req.created_at),
                reason=req.reason,
                old_due_date=None,
                new_due_date=None,
                payload=req.payload,
            )
        )
    return out


# Actions taken elsewhere than POST .../transitions.
ACTION_ROUTES = {
    Action.EDIT_DRAFT: ("PATCH", "/api/v1/tasks/{id}"),
    Action.DELETE_DRAFT: ("DELETE", "/api/v1/tasks/{id}"),
}
DECISIONS = {
    Action.DECIDE_EXTENSION: ("extension",),
    Action.DECIDE_REASSIGN: ("reassign",),
    Action.DECIDE_CHANGE: ("lead_change", "requirement_change"),
}


def actions(task: Task, who: set[Party], actor: Actor, pending: list[s.PendingRequestOut]) -> list[s.ActionOut]:
    """workflow.allowed, less the decisions with nothing to decide (or only one's own request)."""
    out = []
    for action in allowed(task.status, who):
        kinds = DECISIONS.get(action)
        if kinds and not any(
            p.kind in kinds and not (action == Action.DECIDE_CHANGE and p.requested_by_id == actor.user_id)
            for p in pending
        ):
            continue
        method, path = ACTION_ROUTES.get(action, ("POST", "/api/v1/tasks/{id}/transitions"))
        out.append(
            s.ActionOut(action=action, label=TRANSITIONS[action].label, method=method, path=path.format(id=task.id))
        )
    return out


def task_detail(session: Session, actor: Actor, task_id: int) -> s.TaskDetail:
    task, who = visible_task(session, actor, task_id)
    h = horizon(session)
    row = session.execute(queries.task_rows_select(h).where(Task.id == task.id)).one()
    assist, leaders = people(session, [task.id])
    pending = pending_requests(session, task.id)
    milestones = session.exec(
        select(Milestone).where(Milestone.task_id == task.id).order_by(Milestone.sort_order, Milestone.id)
    )
    events = queries.timeline(session, task.id, only_department=own_part_only(actor, who))
    return s.TaskDetail(
        **item_fields(row, main_party(who), assist[task.id], leaders[task.id]),
        requirement=task.requirement,
        item_no=task.item_no,
        parent_id=task.parent_id,
        recurrence=task.recurrence,
        time_limit_preset=task.time_limit_preset,
        feedback_cycle=task.feedback_cycle,
        feedback_cycle_label=label_of(FEEDBACK_CYCLE_LABELS, FeedbackCycle, task.feedback_cycle),
        needs_leader_approval=task.needs_leader_approval,
        closed_late=bool(row.closed_late),
        closed_on=task.closed_on,
        created_at=local(task.created_at),
        updated_at=local(task.updated_at),
        assigned_at=local(task.assigned_at),
        acknowledged_at=local(task.acknowledged_at),
        parties=sorted(p.value for p in who),
        actions=actions(task, who, actor, pending),
        pending_requests=pending,
        milestones=[s.MilestoneOut(id=m.id, title=m.title, due_date=m.due_date, done_on=m.done_on) for m in milestones],
        timeline=[
            s.EventOut(
                id=e.id,
                at=local(e.at),
                actor_name=e.actor_name,
                action=e.action,
                entity=e.entity,
                entity_id=e.entity_id,
                note=e.note,
                before=e.before,
                after=e.after,
            )
            for e in events
        ],
    )


def draft_values(session: Session, task: Task) -> dict:
    """A draft's current input, for PATCH to overlay the given fields on."""
    milestones = session.exec(
        select(Milestone).where(Milestone.task_id == task.id).order_by(Milestone.sort_order, Milestone.id)
    )
    return {
        "title": task.title,
        "requirement": task.requirement,
        "source_id": task.source_id,
        "item_no": task.item_no,
        "parent_id": task.parent_id,
        "lead_department_id": task.lead_department_id,
        "assisting_department_ids": sorted(assisting_ids(session, task.id)),
        "leader_ids": sorted(leader_ids(session, task.id)),
        "urgency": task.urgency,
        "deadline_kind": task.deadline_kind,
        "due_date": task.due_date,
        "deadline_text": task.deadline_text,
        "recurrence": task.recurrence,
        "time_limit_preset": task.time_limit_preset,
        "feedback_cycle": task.feedback_cycle,
        "needs_leader_approval": task.needs_leader_approval,
        "milestones": [{"title": m.title, "due_date": m.due_date} for m in milestones],
    }
