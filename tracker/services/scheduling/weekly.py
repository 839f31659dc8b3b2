"""每周重点工作调度 (004 §30, §47): the week's schedule, generated and read.

The agenda the office sets and the meeting it records are in ``scheduling.meeting``.

"原则每周进行重点工作定期调度，聚焦影响工作推进的'节点''阻点''断点'" (004 §47): every ISO
week gets one ``WeeklySchedule`` whose ``ScheduleItem`` rows sort the running tasks
into six sections. The lists are computed in SQL with the derived-state
expressions (``tracker/rules/overdue.py``) against the working-day calendar, so a
district with 100,000 tasks is scheduled in seconds.

Regenerating a week refreshes the lists and keeps what the office did with them:
an item's category, lead leader, lead department and proposal are guessed once
when the item is first listed and never overwritten afterwards; items that are on
the agenda or carry a decision stay even when the task no longer qualifies. The
unique keys (one schedule per week, one item per task and section) make two runs,
even concurrent ones, converge on the same rows.

Section rules (``day`` is the as-of date, normally the Monday the job runs):
- overdue: running, fixed deadline before ``day`` (``derived.is_overdue``), with the
  working days late;
- due_this_week: fixed deadline from ``day`` to the week's Sunday;
- due_next_week: fixed deadline in the following ISO week;
- milestone: an unfinished milestone due on or before the week's Sunday (this
  week's, and earlier ones still missed);
- report_missing: an unmet ``ReportDue`` whose date is before ``day``; or a task with
  a weekly feedback cycle, assigned at least five working days ago, whose lead
  department has not reported within the last five working days (working days, not
  seven calendar days, so the National Day week does not make every weekly task late);
- blocked: the task's latest progress report names a problem (阻点/断点) or asks for
  coordination.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from tracker import clock
from tracker.errors import BadInput, NotFound
from tracker.models import (
    DeadlineKind,
    Department,
    FeedbackCycle,
    Leader,
    LeaderDepartment,
    Milestone,
    ProgressReport,
    ReportDue,
    Role,
    ScheduleItem,
    Task,
    TaskLeader,
    WeeklySchedule,
)
from tracker.rules import periods
from tracker.rules.overdue import Horizon, is_overdue, is_running, overdue_workdays
from tracker.services import audit
from tracker.services.actors import SYSTEM, Actor, visible_clause
from tracker.services.calendar import load_calendar

SECTIONS = ("overdue", "due_this_week", "due_next_week", "milestone", "report_missing", "blocked")
SECTION_LABELS = {
    "overdue": "逾期事项",
    "due_this_week": "本周到期",
    "due_next_week": "下周到期",
    "milestone": "时间节点",
    "report_missing": "未按期反馈",
    "blocked": "阻点断点（需协调事项）",
}

# 004 §47: the four kinds of items a 调度推进会议 takes up.
CATEGORIES = ("项目推进类", "内部协调类", "向上争取类", "重要洽谈类")
DEFAULT_CATEGORY = "项目推进类"
# First match wins: help from above outranks a negotiation, which outranks internal coordination.
CATEGORY_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("上级", "省", "市级", "市里", "市委", "市政府", "争取", "资金", "指标", "政策支持"), "向上争取类"),
    (("企业", "洽谈", "签约", "客商", "投资方", "谈判"), "重要洽谈类"),
    (("部门", "协调", "配合", "会商", "衔接"), "内部协调类"),
)

# Weekly feedback is missing when the lead has not reported within this many working days.
WEEKLY_REPORT_WORKDAYS = 5

DECISION_ACTIONS = {
    "new_task": "形成新的督办事项",
    "change": "调整工作要求（变更申请）",
    "remind": "催办（通知承办单位）",
    "note": "仅记录",
}

# Any number fits: it only keeps generate_week of one week from running twice at once on PostgreSQL.
_LOCK_BASE = 0x5CED0000


# --- weeks ---------------------------------------------------------------------


@dataclass(frozen=True)
class Week:
    iso_year: int
    iso_week: int
    start: date  # Monday
    end: date  # Sunday

    @classmethod
    def of(cls, day: date) -> "Week":
        start, end = periods.week_of(day)
        iso = start.isocalendar()
        return cls(iso.year, iso.week, start, end)

    @property
    def key(self) -> str:
        return periods.week_key(self.start)

    @property
    def label(self) -> str:
        return periods.week_label(self.start)

    def shift(self, weeks: int) -> "Week":
        return Week.of(self.start + timedelta(days=7 * weeks))


def parse_week(text: str | None, default: date | None = None) -> Week:
    """``2026-W40`` or a date ``2026-09-30`` (its week); blank is ``default``'s week."""
    text = (text or "").strip()
    if not text:
        return Week.of(default or clock.today())
    keyed = periods.week_of_key(text)
    try:
        day = keyed.start if keyed else date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or not periods.in_range(day):
        raise BadInput(
            f"周次或日期无效：{text[:40]}（应为 2026-W40 或 2026-09-30，1900年至2100年之间）",
            fields={"week": "周次无效"},
        )
    return Week.of(day)


def week_of(schedule: WeeklySchedule) -> Week:
    return Week.of(schedule.week_start)


def guess_category(text: str, needs_coordination: bool = False) -> str:
    """004 §47's four kinds, guessed from the problem's words; the office corrects it."""
    text = text or ""
    for words, category in CATEGORY_RULES:
        if any(w in text for w in words):
            return category
    return "内部协调类" if needs_coordination else DEFAULT_CATEGORY


# --- generation ----------------------------------------------------------------


@dataclass
class _Candidate:
    detail: str
    category: str = ""
    lead_leader_id: int | None = None
    lead_department_id: int | None = None
    proposal: str = ""


def iso_or_blank(d: date | None) -> str:
    return d.isoformat() if d else ""


def _candidates(session: Session, week: Week, day: date) -> dict[tuple[int, str], _Candidate]:
    h = Horizon.build(session, today=day)
    cal = load_calendar(session)
    out: dict[tuple[int, str], _Candidate] = {}
    running = is_running()
    dated = sa.and_(running, Task.deadline_kind == DeadlineKind.DATE.value, Task.due_date.is_not(None))

    for task_id, due, late in session.execute(select(Task.id, Task.due_date, overdue_workdays(h)).where(is_overdue(h))):
        out[(task_id, "overdue")] = _Candidate(f"完成时限 {iso_or_blank(due)}，已逾期 {late or 0} 个工作日")

    for section, lo, hi in (
        ("due_this_week", day, week.end),
        ("due_next_week", week.end + timedelta(days=1), week.end + timedelta(days=7)),
    ):
        if lo > hi:
            continue
        for task_id, due in session.execute(
            select(Task.id, Task.due_date).where(dated, Task.due_date >= lo, Task.due_date <= hi)
        ):
            out[(task_id, section)] = _Candidate(f"完成时限 {iso_or_blank(due)}")

    ms: dict[int, list[str]] = {}
    for task_id, title, due in session.execute(
        select(Milestone.task_id, Milestone.title, Milestone.due_date)
        .join(Task, Task.id == Milestone.task_id)
        .where(running, Milestone.done_on.is_(None), Milestone.due_date <= week.end)
        .order_by(Milestone.task_id, Milestone.due_date, Milestone.sort_order)
    ):
        ms.setdefault(task_id, []).append(f"{title}（{iso_or_blank(due)}{'，已过' if due < day else ''}）")
    for task_id, parts in ms.items():
        out[(task_id, "milestone")] = _Candidate("节点：" + "；".join(parts))

    missing: dict[int, list[str]] = {}
    for task_id, first_due, n in session.execute(
        select(ReportDue.task_id, sa.func.min(ReportDue.due_date), sa.func.count())
        .join(Task, Task.id == ReportDue.task_id)
        .where(running, ReportDue.met_on.is_(None), ReportDue.report_id.is_(None), ReportDue.due_date < day)
        .group_by(ReportDue.task_id)
    ):
        missing.setdefault(task_id, []).append(
            f"应于 {iso_or_blank(first_due)} 前报送" + (f"（共 {n} 期未报）" if n > 1 else "")
        )
    cutoff = cal.add_workdays(day, -WEEKLY_REPORT_WORKDAYS).value
    window_start = clock.start_of_local_day(cutoff + timedelta(days=1))
    last_lead = (
        select(sa.func.max(ProgressReport.created_at))
        .where(ProgressReport.task_id == Task.id, ProgressReport.department_id == Task.lead_department_id)
        .correlate(Task)
        .scalar_subquery()
    )
    recent = sa.exists().where(
        ProgressReport.task_id == Task.id,
        ProgressReport.department_id == Task.lead_department_id,
        ProgressReport.created_at >= window_start,
    )
    for task_id, last in session.execute(
        select(Task.id, last_lead).where(
            running, Task.feedback_cycle == FeedbackCycle.WEEKLY.value, Task.assigned_at < window_start, sa.not_(recent)
        )
    ):
        when = clock.local_date(last).isoformat() if isinstance(last, datetime) else "尚无"
        missing.setdefault(task_id, []).append(
            f"每周反馈，近 {WEEKLY_REPORT_WORKDAYS} 个工作日未报（最近一次：{when}）"
        )
    for task_id, parts in missing.items():
        out[(task_id, "report_missing")] = _Candidate("；".join(parts))

    latest = (
        select(ProgressReport.task_id, sa.func.max(ProgressReport.id).label("rid"))
        .group_by(ProgressReport.task_id)
        .subquery()
    )
    blocked = session.execute(
        select(
            Task.id,
            Task.lead_department_id,
            ProgressReport.problems,
            ProgressReport.next_steps,
            ProgressReport.needs_coordination,
            ProgressReport.created_at,
        )
        .join(latest, latest.c.task_id == Task.id)
        .join(ProgressReport, ProgressReport.id == latest.c.rid)
        .where(running, sa.or_(ProgressReport.problems != "", ProgressReport.needs_coordination.is_(True)))
    ).all()
    if blocked:
        leaders = _lead_leaders(session, [r[0] for r in blocked])
        for task_id, dep_id, problems, next_steps, coord, at in blocked:
            text = (problems or "").strip()
            detail = text or "承办单位申请协调"
            if coord and text:
                detail += "（申请协调）"
            out[(task_id, "blocked")] = _Candidate(
                f"{detail}（{clock.local_date(at).isoformat()} 反馈）",
                category=guess_category(text, bool(coord)),
                lead_leader_id=leaders.get(task_id),
                lead_department_id=dep_id,
                proposal=(next_steps or "").strip(),
            )
    return out


def _lead_leaders(session: Session, task_ids: list[int]) -> dict[int, int]:
    """The task's responsible leader (the first named), else the leader in charge of its lead."""
    found: dict[int, int] = {}
    for chunk in _chunks(task_ids):
        for task_id, leader_id in session.execute(
            select(TaskLeader.task_id, sa.func.min(TaskLeader.leader_id))
            .where(TaskLeader.task_id.in_(chunk))
            .group_by(TaskLeader.task_id)
        ):
            found[task_id] = leader_id
        rest = [t for t in chunk if t not in found]
        if rest:
            for task_id, leader_id in session.execute(
                select(Task.id, sa.func.min(LeaderDepartment.leader_id))
                .join(LeaderDepartment, LeaderDepartment.department_id == Task.lead_department_id)
                .where(Task.id.in_(rest))
                .group_by(Task.id)
            ):
                found[task_id] = leader_id
    return found


def _chunks(items: list, size: int = 1000) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


_PG_INSERT = sa.text("""
INSERT INTO scheduleitem (schedule_id, task_id, section, detail, category, lead_leader_id, lead_department_id,
                          proposal, on_agenda, agenda_order, decision)
SELECT :schedule_id, u.t, u.s, u.d, u.c, u.l, u.dep, u.p, false, 0, ''
FROM unnest(CAST(:t AS integer[]), CAST(:s AS varchar[]), CAST(:d AS text[]), CAST(:c AS varchar[]),
            CAST(:l AS integer[]), CAST(:dep AS integer[]), CAST(:p AS text[])) AS u(t, s, d, c, l, dep, p)
ON CONFLICT (schedule_id, task_id, section) DO NOTHING
""")


_PG_UPDATE = sa.text("""
UPDATE scheduleitem SET detail = u.d
FROM unnest(CAST(:ids AS integer[]), CAST(:d AS text[])) AS u(id, d)
WHERE scheduleitem.id = u.id
""")


def _insert_items(session: Session, schedule_id: int, rows: list[dict]) -> None:
    """INSERT … ON CONFLICT DO NOTHING: a concurrent run's rows win quietly.

    On PostgreSQL the rows travel as arrays through ``unnest`` — one statement per
    chunk; psycopg's executemany sends a statement per row (10 s for 60,000 items)."""
    if session.get_bind().dialect.name == "postgresql":
        for chunk in _chunks(rows, 20000):
            session.execute(
                _PG_INSERT,
                {
                    "schedule_id": schedule_id,
                    "t": [r["task_id"] for r in chunk],
                    "s": [r["section"] for r in chunk],
                    "d": [r["detail"] for r in chunk],
                    "c": [r["category"] for r in chunk],
                    "l": [r["lead_leader_id"] for r in chunk],
                    "dep": [r["lead_department_id"] for r in chunk],
                    "p": [r["proposal"] for r in chunk],
                },
            )
        return
    from sqlalchemy.dialects.sqlite import insert

    stmt = insert(ScheduleItem.__table__).on_conflict_do_nothing(index_elements=["schedule_id", "task_id", "section"])
    for chunk in _chunks(rows, 5000):
        session.execute(stmt, chunk)


def _get_or_create(session: Session, week: Week) -> WeeklySchedule:
    stmt = select(WeeklySchedule).where(
        WeeklySchedule.iso_year == week.iso_year, WeeklySchedule.iso_week == week.iso_week
    )
    found = session.exec(stmt).first()
    if found is not None:
        return found
    try:
        with session.begin_nested():
            schedule = WeeklySchedule(iso_year=week.iso_year, iso_week=week.iso_week, week_start=week.start)
            session.add(schedule)
        return schedule
    except sa.exc.IntegrityError:  # a concurrent run created the week first
        return session.exec(stmt).one()


def generate_week(session: Session, day: date, *, actor: Actor = SYSTEM) -> WeeklySchedule:
    """Build or refresh the schedule of ``day``'s ISO week, as of ``day``.

    Idempotent: a second run changes nothing but ``generated_at``; the office's
    agenda choices, order, edits and decisions survive every run. Flushes; the
    caller commits.
    """
    week = Week.of(day)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_BASE + week.iso_year * 100 + week.iso_week)))
    schedule = _get_or_create(session, week)
    wanted = _candidates(session, week, day)

    cols = (
        ScheduleItem.id,
        ScheduleItem.task_id,
        ScheduleItem.section,
        ScheduleItem.detail,
        ScheduleItem.on_agenda,
        ScheduleItem.decision,
        ScheduleItem.decision_task_id,
    )
    existing = {
        (r.task_id, r.section): r for r in session.execute(select(*cols).where(ScheduleItem.schedule_id == schedule.id))
    }

    new_rows = [
        {
            "schedule_id": schedule.id,
            "task_id": t,
            "section": s,
            "detail": c.detail,
            "category": c.category,
            "lead_leader_id": c.lead_leader_id,
            "lead_department_id": c.lead_department_id,
            "proposal": c.proposal,
            "on_agenda": False,
            "agenda_order": 0,
            "decision": "",
        }
        for (t, s), c in wanted.items()
        if (t, s) not in existing
    ]
    changed = [
        {"id": r.id, "detail": wanted[k].detail}
        for k, r in existing.items()
        if k in wanted and r.detail != wanted[k].detail
    ]
    stale = [
        r.id
        for k, r in existing.items()
        if k not in wanted and not r.on_agenda and not r.decision and r.decision_task_id is None
    ]
    _insert_items(session, schedule.id, new_rows)
    if changed and session.get_bind().dialect.name == "postgresql":
        for chunk in _chunks(changed, 20000):
            session.execute(_PG_UPDATE, {"ids": [r["id"] for r in chunk], "d": [r["detail"] for r in chunk]})
    elif changed:
        session.execute(sa.update(ScheduleItem), changed)
    for chunk in _chunks(stale):
        session.execute(sa.delete(ScheduleItem).where(ScheduleItem.id.in_(chunk)))

    counts = {s: 0 for s in SECTIONS}
    for section, n in session.execute(
        select(ScheduleItem.section, sa.func.count())
        .where(ScheduleItem.schedule_id == schedule.id)
        .group_by(ScheduleItem.section)
    ):
        counts[section] = n
    before = {"counts": schedule.counts}
    schedule.counts = counts
    schedule.generated_at = clock.now()
    session.add(schedule)
    session.flush()
    audit.record(
        session,
        actor,
        "schedule_generate",
        entity="weekly_schedule",
        entity_id=schedule.id,
        before=before,
        after={"counts": counts},
        note=f"{week.key}（截至 {day.isoformat()}）新增 {len(new_rows)} 项，移出 {len(stale)} 项",
    )
    # Rows were written with Core statements: loaded items must be read afresh.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, ScheduleItem) and obj.schedule_id == schedule.id:
            session.expire(obj)
    return schedule


# --- reading -------------------------------------------------------------------


@dataclass
class ItemRow:
    item: ScheduleItem
    code: str
    title: str
    status: str
    due_date: date | None
    department: str
    leader: str


def get_schedule(session: Session, week: Week) -> WeeklySchedule | None:
    return session.exec(
        select(WeeklySchedule).where(WeeklySchedule.iso_year == week.iso_year, WeeklySchedule.iso_week == week.iso_week)
    ).first()


def get_schedule_by_id(session: Session, schedule_id: int | None) -> WeeklySchedule:
    schedule = session.get(WeeklySchedule, schedule_id) if schedule_id else None
    if schedule is None:
        raise NotFound("未找到该周的调度清单")
    return schedule


def list_schedules(session: Session, limit: int = 104) -> list[WeeklySchedule]:
    return list(
        session.exec(
            select(WeeklySchedule).order_by(WeeklySchedule.iso_year.desc(), WeeklySchedule.iso_week.desc()).limit(limit)
        )
    )


def _visible(actor: Actor | None) -> list[sa.ColumnElement[bool]]:
    """A leader sees the items of tasks they may see or that they are to lead; a
    department sees nothing here (its tasks are on its own pages)."""
    if actor is None or actor.is_office:
        return []
    if actor.role == Role.LEADER and actor.leader_id is not None:
        return [sa.or_(visible_clause(actor), ScheduleItem.lead_leader_id == actor.leader_id)]
    return [sa.false()]


def section_counts(session: Session, schedule_id: int, actor: Actor | None = None) -> dict[str, int]:
    counts = {s: 0 for s in SECTIONS}
    for section, n in session.execute(
        select(ScheduleItem.section, sa.func.count())
        .join(Task, Task.id == ScheduleItem.task_id)
        .where(ScheduleItem.schedule_id == schedule_id, *_visible(actor))
        .group_by(ScheduleItem.section)
    ):
        counts[section] = n
    return counts


def items(
    session: Session,
    schedule_id: int,
    actor: Actor | None = None,
    *,
    section: str | None = None,
    agenda_only: bool = False,
    limit: int | None = None,
) -> list[ItemRow]:
    """The week's items the actor may see, with the names a page needs, in one query;
    the most urgent first (earliest deadline), the agenda in the office's order."""
    where = [ScheduleItem.schedule_id == schedule_id, *_visible(actor)]
    if section:
        where.append(ScheduleItem.section == section)
    if agenda_only:
        where.append(ScheduleItem.on_agenda.is_(True))
    dep = aliased(Department)
    stmt = (
        select(ScheduleItem, Task.code, Task.title, Task.status, Task.due_date, dep.name, Leader.name)
        .join(Task, Task.id == ScheduleItem.task_id)
        .join(dep, dep.id == sa.func.coalesce(ScheduleItem.lead_department_id, Task.lead_department_id), isouter=True)
        .join(Leader, Leader.id == ScheduleItem.lead_leader_id, isouter=True)
        .where(*where)
    )
    if agenda_only:
        stmt = stmt.order_by(ScheduleItem.agenda_order, ScheduleItem.id)
    else:
        stmt = stmt.order_by(ScheduleItem.section, Task.due_date, Task.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        ItemRow(it, code, title, status, due, dname or "", lname or "")
        for it, code, title, status, due, dname, lname in session.execute(stmt).all()
    ]


def by_section(rows: list[ItemRow]) -> dict[str, list[ItemRow]]:
    out: dict[str, list[ItemRow]] = {s: [] for s in SECTIONS}
    for r in rows:
        out.setdefault(r.item.section, []).append(r)
    return out
