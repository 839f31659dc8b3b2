"""每周重点工作调度 (004 §30, §47): the agenda the office sets from a week's schedule, the meeting
it records (each decision becomes a task step: 催办, 督办, 延期, a new task), and the plain data
the CLI and the exports print."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, select

from tracker import clock
from tracker.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from tracker.models import (
    Department,
    FeedbackCycle,
    Leader,
    ScheduleItem,
    SourceKind,
    WeeklySchedule,
)
from tracker.services import audit
from tracker.services.actors import Actor
from tracker.services.chasing import by_hand as task_chasing
from tracker.services.scheduling.weekly import (
    CATEGORIES,
    DECISION_ACTIONS,
    DEFAULT_CATEGORY,
    SECTION_LABELS,
    SECTIONS,
    ItemRow,
    by_section,
    get_schedule_by_id,
    iso_or_blank,
    items,
    week_of,
)
from tracker.services.tasks import lifecycle as task_svc
from tracker.services.tasks import requests as task_requests
from tracker.services.tasks import sources as source_svc

# --- the agenda ----------------------------------------------------------------


def _require_office(actor: Actor) -> None:
    if not actor.is_office:
        raise NotPermitted("只有督查室可以安排调度会议议程")


def _item_state(item: ScheduleItem) -> dict[str, Any]:
    return {
        k: getattr(item, k)
        for k in (
            "category",
            "lead_leader_id",
            "lead_department_id",
            "proposal",
            "on_agenda",
            "agenda_order",
            "decision",
            "decision_task_id",
        )
    }


def _renumber(session: Session, schedule_id: int) -> None:
    """Agenda order is 1..n in the office's order; off-agenda items hold 0."""
    rows = session.exec(
        select(ScheduleItem)
        .where(ScheduleItem.schedule_id == schedule_id)
        .order_by(ScheduleItem.agenda_order, ScheduleItem.id)
    ).all()
    n = 0
    for it in rows:
        if it.on_agenda:
            n += 1
            it.agenda_order = n
        elif it.agenda_order:
            it.agenda_order = 0
    session.flush()


def _check_open(schedule: WeeklySchedule) -> None:
    if schedule.status == "held":
        raise Conflict("本周调度会议已记录，议程不能再修改")


def update_items(session: Session, actor: Actor, schedule_id: int, edits: dict[int, dict]) -> int:
    """Apply the office's edits to several items at once: all checked first, then written.

    Each edit may hold ``on_agenda``, ``agenda_order`` (a number: the place on the
    agenda), ``category``, ``lead_leader_id``, ``lead_department_id``, ``proposal``.
    Returns the number of items changed; each change is one audit event.
    """
    _require_office(actor)
    schedule = get_schedule_by_id(session, schedule_id)
    _check_open(schedule)
    loaded = {
        it.id: it
        for it in session.exec(
            select(ScheduleItem).where(ScheduleItem.schedule_id == schedule_id, ScheduleItem.id.in_(list(edits) or [0]))
        )
    }
    errors: dict[str, str] = {}
    for item_id, edit in edits.items():
        if item_id not in loaded:
            raise NotFound(f"调度清单中没有编号为 {item_id} 的事项")
        cat = edit.get("category")
        if cat not in (None, "") and cat not in CATEGORIES:
            errors[f"item-{item_id}-category"] = f"类别应为{'、'.join(CATEGORIES)}之一"
        lid = edit.get("lead_leader_id")
        if lid is not None and (session.get(Leader, lid) is None):
            errors[f"item-{item_id}-lead_leader_id"] = "领导不存在"
        did = edit.get("lead_department_id")
        if did is not None and (session.get(Department, did) is None):
            errors[f"item-{item_id}-lead_department_id"] = "单位不存在"
        order = edit.get("agenda_order")
        if order is not None and not (0 <= order <= 9999):
            errors[f"item-{item_id}-agenda_order"] = "议程序号应为 0–9999"
    if errors:
        raise ValidationFailed("议程填写有误：" + "；".join(sorted(set(errors.values()))), fields=errors)

    befores = {}
    for item_id, edit in edits.items():
        item = loaded[item_id]
        befores[item_id] = _item_state(item)
        for key in ("category", "lead_leader_id", "lead_department_id", "proposal", "on_agenda"):
            if key in edit:
                value = edit[key]
                setattr(item, key, value.strip() if isinstance(value, str) else value)
        if "agenda_order" in edit and edit["agenda_order"] is not None:
            item.agenda_order = edit["agenda_order"]
        if item.on_agenda and not befores[item_id]["on_agenda"] and not edit.get("agenda_order"):
            item.agenda_order = 10_000 + item_id  # newly added without a number: at the end
    session.flush()
    _renumber(session, schedule_id)
    changed = 0
    for item_id, before in befores.items():  # audited as they stand after renumbering
        item = loaded[item_id]
        after = _item_state(item)
        if after == before:
            continue
        changed += 1
        action = (
            "schedule_agenda_add"
            if after["on_agenda"] and not before["on_agenda"]
            else "schedule_agenda_remove"
            if before["on_agenda"] and not after["on_agenda"]
            else "schedule_item_update"
        )
        audit.record(
            session,
            actor,
            action,
            entity="schedule_item",
            entity_id=item.id,
            task_id=item.task_id,
            before=before,
            after=after,
            note=week_of(schedule).key,
        )
    session.flush()
    return changed


def move_item(session: Session, actor: Actor, item_id: int, direction: str) -> ScheduleItem:
    """Swap an agenda item with its neighbour ("up" or "down")."""
    _require_office(actor)
    item = session.get(ScheduleItem, item_id)
    if item is None or not item.on_agenda:
        raise NotFound("议程中没有该事项")
    if direction not in ("up", "down"):
        raise ValidationFailed("移动方向无效", fields={"direction": "应为 up 或 down"})
    schedule = get_schedule_by_id(session, item.schedule_id)
    _check_open(schedule)
    _renumber(session, item.schedule_id)
    agenda = session.exec(
        select(ScheduleItem)
        .where(ScheduleItem.schedule_id == item.schedule_id, ScheduleItem.on_agenda.is_(True))
        .order_by(ScheduleItem.agenda_order)
    ).all()
    i = agenda.index(item)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(agenda):
        other = agenda[j]
        before = {"agenda_order": item.agenda_order}
        item.agenda_order, other.agenda_order = other.agenda_order, item.agenda_order
        session.flush()
        audit.record(
            session,
            actor,
            "schedule_agenda_move",
            entity="schedule_item",
            entity_id=item.id,
            task_id=item.task_id,
            before=before,
            after={"agenda_order": item.agenda_order},
            note=week_of(schedule).key,
        )
    return item


# --- the meeting ---------------------------------------------------------------


@dataclass
class Decision:
    """What the meeting decided on one agenda item."""

    item_id: int
    action: str  # a key of DECISION_ACTIONS
    text: str
    title: str = ""  # new_task: the new task's title
    due_date: date | None = None  # new_task: its deadline
    extra: dict = field(default_factory=dict)


def record_meeting(
    session: Session,
    actor: Actor,
    schedule_id: int,
    meeting_date: date,
    decisions: list[Decision],
    *,
    chair_leader_id: int | None = None,
    attendees: str = "",
) -> WeeklySchedule:
    """记录调度推进会议: the meeting becomes a Source (重点工作调度推进会议) and each
    decision closes its loop through the task services — a new task assigned from
    that source, a requirement change put to review, or a 催办 carrying the decision.

    Everything is checked before anything is written; a refusal from a task
    service leaves the caller to roll back the whole meeting.
    """
    _require_office(actor)
    schedule = get_schedule_by_id(session, schedule_id)
    _check_open(schedule)
    week = week_of(schedule)
    agenda = {
        it.id: it
        for it in session.exec(
            select(ScheduleItem).where(ScheduleItem.schedule_id == schedule_id, ScheduleItem.on_agenda.is_(True))
        )
    }
    if not agenda:
        raise ValidationFailed("议程为空：请先将需协调的事项列入议程")
    errors: dict[str, str] = {}
    seen: set[int] = set()
    for d in decisions:
        key = f"item-{d.item_id}"
        if d.item_id not in agenda:
            raise NotFound(f"议程中没有编号为 {d.item_id} 的事项")
        if d.item_id in seen:
            errors[f"{key}-action"] = "同一议题只能记录一项决定"
        seen.add(d.item_id)
        d.text = (d.text or "").strip()
        d.title = (d.title or "").strip()
        if d.action not in DECISION_ACTIONS:
            errors[f"{key}-action"] = "请选择会议决定的处理方式"
            continue
        if not d.text:
            errors[f"{key}-decision"] = f"第 {agenda[d.item_id].agenda_order} 项：请填写会议决定"
        if d.action == "new_task":
            if not d.title:
                errors[f"{key}-title"] = f"第 {agenda[d.item_id].agenda_order} 项：请填写新事项名称"
            if d.due_date is None:
                errors[f"{key}-due_date"] = f"第 {agenda[d.item_id].agenda_order} 项：请填写新事项的完成时限"
            elif d.due_date < clock.today():
                errors[f"{key}-due_date"] = f"第 {agenda[d.item_id].agenda_order} 项：完成时限早于今天"
            if agenda[d.item_id].lead_department_id is None:
                errors[f"{key}-lead_department_id"] = f"第 {agenda[d.item_id].agenda_order} 项：请指定牵头单位"
    if errors:
        raise ValidationFailed("会议记录填写有误：" + "；".join(errors.values()), fields=errors)

    body = "\n".join(
        f"{agenda[d.item_id].agenda_order}. {d.text}"
        for d in sorted(decisions, key=lambda d: agenda[d.item_id].agenda_order)
    )
    source = source_svc.create_source(
        session,
        actor,
        {
            "kind": SourceKind.SCHEDULING_MEETING,
            "title": f"重点工作调度推进会议（{week.label}）",
            "reference": week.key,
            "source_date": meeting_date,
            "leader_id": chair_leader_id,
            "body": body,
            "attendees": attendees,
        },
    )
    for d in sorted(decisions, key=lambda d: agenda[d.item_id].agenda_order):
        item = agenda[d.item_id]
        before = _item_state(item)
        note = d.text
        if d.action == "new_task":
            task = task_svc.create_draft(
                session,
                actor,
                {
                    "title": d.title,
                    "requirement": d.text,
                    "source_id": source.id,
                    "item_no": str(item.agenda_order),
                    "lead_department_id": item.lead_department_id,
                    "leader_ids": [item.lead_leader_id] if item.lead_leader_id else [],
                    "due_date": d.due_date,
                    "feedback_cycle": FeedbackCycle.WEEKLY,
                },
            )
            task_svc.assign(session, actor, task.id)
            item.decision_task_id = task.id
            note = f"{d.text}（形成新事项 {task.code}）"
        elif d.action == "change":
            task = task_svc.get_task(session, item.task_id)
            addition = f"【{meeting_date.isoformat()} 调度会议定】{d.text}"
            requirement = f"{task.requirement}\n{addition}" if task.requirement else addition
            task_requests.request_change(session, actor, item.task_id, f"{source.title}议定", requirement=requirement)
        elif d.action == "remind":
            task_chasing.remind(session, actor, item.task_id, f"调度会议定：{d.text}", rule="schedule_meeting")
        item.decision = d.text
        session.flush()
        audit.record(
            session,
            actor,
            "schedule_decision",
            entity="schedule_item",
            entity_id=item.id,
            task_id=item.task_id,
            before=before,
            after=_item_state(item),
            note=f"{DECISION_ACTIONS[d.action]}：{note}",
        )
    before = {"status": schedule.status, "meeting_date": schedule.meeting_date, "source_id": schedule.source_id}
    schedule.status, schedule.meeting_date, schedule.source_id = "held", meeting_date, source.id
    session.add(schedule)
    session.flush()
    audit.record(
        session,
        actor,
        "schedule_meeting",
        entity="weekly_schedule",
        entity_id=schedule.id,
        before=before,
        after={"status": "held", "meeting_date": meeting_date, "source_id": source.id},
        note=f"{week.key} 议定 {len(decisions)} 项",
    )
    return schedule


# --- plain data for the CLI and the exports ------------------------------------


def as_dict(session: Session, schedule: WeeklySchedule, actor: Actor | None = None) -> dict:
    week = week_of(schedule)
    rows = items(session, schedule.id, actor)
    sections = by_section(rows)

    def one(r: ItemRow) -> dict:
        it = r.item
        return {
            "item_id": it.id,
            "task_id": it.task_id,
            "code": r.code,
            "title": r.title,
            "status": r.status,
            "due_date": iso_or_blank(r.due_date),
            "detail": it.detail,
            "department": r.department,
            "leader": r.leader,
            "category": it.category,
            "proposal": it.proposal,
            "on_agenda": it.on_agenda,
            "agenda_order": it.agenda_order,
            "decision": it.decision,
            "decision_task_id": it.decision_task_id,
        }

    agenda = sorted((r for r in rows if r.item.on_agenda), key=lambda r: (r.item.agenda_order, r.item.id))
    return {
        "week": week.key,
        "label": week.label,
        "week_start": week.start.isoformat(),
        "week_end": week.end.isoformat(),
        "status": schedule.status,
        "meeting_date": iso_or_blank(schedule.meeting_date),
        "source_id": schedule.source_id,
        "generated_at": schedule.generated_at.isoformat() if schedule.generated_at else "",
        "counts": {s: len(sections.get(s, [])) for s in SECTIONS},
        "sections": {s: [one(r) for r in sections.get(s, [])] for s in SECTIONS},
        "agenda": [one(r) for r in agenda],
    }


def as_text(data: dict) -> str:
    lines = [f"每周重点工作调度 {data['label']}", f"状态：{'已召开调度会' if data['status'] == 'held' else '待召开'}"]
    for s in SECTIONS:
        rows = data["sections"][s]
        lines.append("")
        lines.append(f"【{SECTION_LABELS[s]}】{len(rows)} 项")
        for r in rows:
            extra = f" [{r['category']}]" if s == "blocked" else ""
            lines.append(f"  {r['code']} {r['title']} — {r['department'] or '未定'}；{r['detail']}{extra}")
    lines.append("")
    lines.append(f"【调度会议议程】{len(data['agenda'])} 项")
    for r in data["agenda"]:
        lines.append(
            f"  {r['agenda_order']}. [{r['category'] or DEFAULT_CATEGORY}] {r['code']} {r['title']}；"
            f"牵头领导：{r['leader'] or '未定'}；牵头单位：{r['department'] or '未定'}；"
            f"建议：{r['proposal'] or '—'}" + (f"；决定：{r['decision']}" if r["decision"] else "")
        )
    return "\n".join(lines)
