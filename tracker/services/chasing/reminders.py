"""Automatic reminders (催办), the escalation ladder (督办) and 会签 closing by rule.

The rules are data (``tracker.services.chasing.rules``, edited by the office on
the rules page). ``run_rules`` applies them for one day:

- the lead department is reminded N working days before a due date or a
  milestone (default 3 and 1), on the day itself, and every working day after a
  due date has passed;
- a department that has not acknowledged (签收) within ``ack_workdays`` working
  days of assignment is reminded every working day until it does;
- a periodic report (``ReportDue``, see ``recurring.py``) is reminded on its due
  day and every working day it stays missing;
- an overdue deadline (``tracker.rules.overdue``) climbs the ladder
  (``tracker.rules.ladder``), each rung once per deadline (``Escalation.auto_key``);
- a 会签/征求意见 item (a ``countersign_*`` preset) unanswered past its deadline
  closes as 无异议 (000 §54, 001 §27) through ``chasing.by_hand.close_no_objection``.

Nothing happens on a non-working day, and nothing twice: reminders are written
with INSERT … SELECT … ON CONFLICT DO NOTHING on the (task, department, rule,
day) key and escalations on ``auto_key``, so a second run, or a second process
running at the same moment, adds nothing. The SQL is set-based (one statement
per rule) so that a district with 100,000 tasks runs in seconds (bench/).
"""

from __future__ import annotations

import contextlib
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from tracker import clock
from tracker.errors import ValidationFailed
from tracker.models import (
    AuditEvent,
    CalendarDay,
    Counter,
    DeadlineKind,
    Escalation,
    ExtensionRequest,
    Milestone,
    Reminder,
    ReportDue,
    RequestStatus,
    Task,
    UTCDateTime,
)
from tracker.rules.ladder import level_name
from tracker.rules.overdue import CHASED_VALUES, deadline_name
from tracker.services.actors import SYSTEM
from tracker.services.calendar import load_calendar
from tracker.services.chasing import by_hand as task_chasing
from tracker.services.chasing.notices import notify_escalations
from tracker.services.chasing.rules import load_rules
from tracker.workflow import TRANSITIONS, Action

# --- the daily run ---------------------------------------------------------------


def _insert(session: Session, model):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def _text(value) -> sa.ColumnElement:
    return sa.cast(value, sa.String)


def _lit(value: str) -> sa.ColumnElement:
    return sa.literal(value, sa.String)


def _day_seq(session: Session, day: date) -> int | None:
    return session.scalar(select(CalendarDay.seq).where(CalendarDay.day == day))


def _reminder_selects(session: Session, day: date, rules: dict, seq: int, cal) -> list[tuple[str, sa.Select]]:
    """(counter name, SELECT task_id, department_id, rule, message) for each rule that is on."""
    out: list[tuple[str, sa.Select]] = []
    cd = aliased(CalendarDay)
    due_text = _text(Task.due_date)

    def due_base(*cols):
        return (
            select(Task.id, Task.lead_department_id, *cols)
            .join(cd, cd.day == Task.due_date)
            .where(
                Task.status.in_(CHASED_VALUES),
                Task.deadline_kind == DeadlineKind.DATE.value,
                Task.lead_department_id.is_not(None),
            )
        )

    for n in rules["before_due"]:
        out.append(
            (
                "before_due",
                due_base(
                    _lit(f"before_due:{n}"), _lit("距完成时限（") + due_text + _lit(f"）还有{n}个工作日，请抓紧办理")
                ).where(Task.due_date > day, cd.seq == seq + n),
            )
        )
    if rules["on_due"]:
        out.append(
            (
                "due_today",
                due_base(
                    _lit("due_today"), _lit("完成时限为") + due_text + _lit("，今天是最后一个工作日，请按时办结")
                ).where(Task.due_date >= day, cd.seq == seq),
            )
        )
    if rules["overdue_daily"]:
        out.append(
            (
                "overdue",
                due_base(
                    _lit("overdue"),
                    _lit("已超过完成时限（")
                    + due_text
                    + _lit("）")
                    + _text(seq - cd.seq)
                    + _lit("个工作日，请尽快办结并报送情况"),
                ).where(Task.due_date < day),
            )
        )
    if rules["milestones"]:
        mcd = aliased(CalendarDay)
        ms_text = _lit("时间节点“") + Milestone.title + _lit("”（") + _text(Milestone.due_date) + _lit("）")

        def ms_base(*cols):
            return (
                select(Task.id, Task.lead_department_id, *cols)
                .join(Milestone, Milestone.task_id == Task.id)
                .join(mcd, mcd.day == Milestone.due_date)
                .where(
                    Task.status.in_(CHASED_VALUES), Milestone.done_on.is_(None), Task.lead_department_id.is_not(None)
                )
            )

        for n in rules["before_due"]:
            out.append(
                (
                    "milestone",
                    ms_base(
                        _lit("milestone:") + _text(Milestone.id) + _lit(f":before:{n}"),
                        ms_text + _lit(f"还有{n}个工作日"),
                    ).where(Milestone.due_date > day, mcd.seq == seq + n),
                )
            )
        if rules["on_due"]:
            out.append(
                (
                    "milestone",
                    ms_base(
                        _lit("milestone:") + _text(Milestone.id) + _lit(":today"), ms_text + _lit("今天到期")
                    ).where(Milestone.due_date >= day, mcd.seq == seq),
                )
            )
    if rules["ack_workdays"]:
        n = rules["ack_workdays"]
        cutoff = clock.start_of_local_day(cal.add_workdays(day, -n).value)
        out.append(
            (
                "not_acknowledged",
                select(
                    Task.id,
                    Task.lead_department_id,
                    _lit("not_acknowledged"),
                    _lit(f"交办后超过{n}个工作日尚未签收，请及时签收办理"),
                ).where(
                    Task.status == "assigned",
                    Task.lead_department_id.is_not(None),
                    Task.assigned_at < sa.bindparam("ack_cutoff", cutoff, type_=UTCDateTime()),
                ),
            )
        )
    if rules["report_reminders"]:
        out.extend(report_selects(day, "report_due", "report_overdue"))
    return out


def report_selects(day: date, due_rule: str | None, overdue_rule: str | None) -> list[tuple[str, sa.Select]]:
    """Reminders for periodic reports: due today (``due_rule``) and past due (``overdue_rule``)."""
    base = (
        select(Task.id, Task.lead_department_id)
        .join(ReportDue, ReportDue.task_id == Task.id)
        .where(Task.status.in_(CHASED_VALUES), ReportDue.met_on.is_(None), Task.lead_department_id.is_not(None))
    )
    out = []
    if due_rule:
        words = "本期进展尚未报送，今天是报送期限" if due_rule == "report_missing" else "今天是进展报送期限"
        out.append(
            (due_rule, base.add_columns(_lit(due_rule), _lit(words + "，请按时报送")).where(ReportDue.due_date == day))
        )
    if overdue_rule:
        # one reminder per task and day, however many periods are missing
        out.append(
            (
                overdue_rule,
                base.add_columns(
                    _lit(overdue_rule),
                    _lit("进展报送已逾期（应于")
                    + _text(sa.func.min(ReportDue.due_date))
                    + _lit("前报送），请尽快补报"),
                )
                .where(ReportDue.due_date < day)
                .group_by(Task.id, Task.lead_department_id),
            )
        )
    return out


def _write_reminders(session: Session, day: date, selects, *, dry_run: bool, skip: list[int] = ()) -> dict[str, int]:
    """Insert the selected reminders that are not there yet; ``skip``: tasks a dry run
    would have closed first (会签), so that its counts match a real run."""
    counts: dict[str, int] = {}
    now = clock.now()
    for name, stmt in selects:
        sub = stmt.subquery()
        cols = list(sub.c)
        fresh = select(cols[0], cols[1], cols[2], cols[3]).where(
            ~sa.exists().where(
                Reminder.task_id == cols[0],
                Reminder.department_id == cols[1],
                Reminder.rule == cols[2],
                Reminder.day == day,
            )
        )
        if dry_run:
            if skip:
                fresh = fresh.where(cols[0].not_in(skip))
            n = session.scalar(select(sa.func.count()).select_from(fresh.subquery())) or 0
        else:
            src = (
                select(
                    cols[0],
                    cols[1],
                    cols[2],
                    sa.literal(day, sa.Date),
                    cols[3],
                    sa.bindparam("now", now, type_=UTCDateTime()),
                )
                .where(sa.true())
                .order_by(cols[0], cols[2])
            )
            ins = (
                _insert(session, Reminder)
                .from_select(["task_id", "department_id", "rule", "day", "message", "created_at"], src)
                .on_conflict_do_nothing()
                .returning(Reminder.id, Reminder.task_id, Reminder.message)
            )
            rows = session.execute(ins).all()
            n = len(rows)
            if rows:
                session.execute(
                    sa.insert(AuditEvent),
                    [
                        {
                            "at": now,
                            "actor_id": None,
                            "actor_name": SYSTEM.name,
                            "entity": "reminder",
                            "entity_id": rid,
                            "task_id": tid,
                            "action": "remind",
                            "note": msg,
                        }
                        for rid, tid, msg in rows
                    ],
                )
        counts[name] = counts.get(name, 0) + n
    return counts


def _deadline_rows(session: Session, day: date, seq: int, min_over: int) -> sa.Select:
    """Overdue deadlines: (task_id, department_id, deadline, days_over, kind), one per task.

    A dated task's due date, or a recurring/ongoing task's earliest missing report."""
    cd = aliased(CalendarDay)
    dated = (
        select(
            Task.id.label("task_id"),
            Task.lead_department_id.label("department_id"),
            Task.due_date.label("deadline"),
            (seq - cd.seq).label("days_over"),
            _lit("overdue").label("kind"),
        )
        .join(cd, cd.day == Task.due_date)
        .where(
            Task.status.in_(CHASED_VALUES),
            Task.deadline_kind == DeadlineKind.DATE.value,
            Task.lead_department_id.is_not(None),
            Task.due_date < day,
            seq - cd.seq >= min_over,
        )
    )
    first_missing = (
        select(ReportDue.task_id, sa.func.min(ReportDue.due_date).label("due"))
        .where(ReportDue.met_on.is_(None), ReportDue.due_date < day)
        .group_by(ReportDue.task_id)
        .subquery()
    )
    rcd = aliased(CalendarDay)
    reports = (
        select(Task.id, Task.lead_department_id, first_missing.c.due, (seq - rcd.seq), _lit("report"))
        .join(first_missing, first_missing.c.task_id == Task.id)
        .join(rcd, rcd.day == first_missing.c.due)
        .where(
            Task.status.in_(CHASED_VALUES),
            Task.deadline_kind != DeadlineKind.DATE.value,
            Task.lead_department_id.is_not(None),
            seq - rcd.seq >= min_over,
        )
    )
    return sa.union_all(dated, reports).subquery()


def _escalation_candidates(session: Session, day: date, seq: int, ladder: list[int]) -> list[tuple]:
    """(level, task_id, department_id, deadline, days_over, kind, auto_key), one per task.

    The highest rung the deadline has reached whose notice (or a higher one's) does
    not exist yet. A deadline first seen far past several rungs (the scheduler was
    down, the system is new) gets one notice at the highest rung, not three at once.
    """
    dl = _deadline_rows(session, day, seq, ladder[0])

    def key(level: int):
        return dl.c.kind + _lit(":") + _text(dl.c.task_id) + _lit(f":{level}:") + _text(dl.c.deadline)

    best: dict[int, tuple] = {}
    for level, threshold in enumerate(ladder, start=1):
        higher = [key(k) for k in range(level, len(ladder) + 1)]
        stmt = select(dl.c.task_id, dl.c.department_id, dl.c.deadline, dl.c.days_over, dl.c.kind, key(level)).where(
            dl.c.days_over >= threshold,
            ~sa.exists().where(Escalation.task_id == dl.c.task_id, Escalation.auto_key.in_(higher)),
        )
        for row in session.execute(stmt):
            best[row[0]] = (level, *row)  # a later (higher) level replaces a lower one
    return sorted(best.values(), key=lambda r: (r[1], r[0]))


def _lock_counter(session: Session, year: int) -> None:
    """Take the escalation counter's row lock before choosing what to escalate, so a
    concurrent run waits here and then sees the notices the first one wrote."""
    stmt = sa.update(Counter).where(Counter.name == "escalation", Counter.year == year).values(last=Counter.last)
    if session.execute(stmt).rowcount == 0:
        try:
            with session.begin_nested():
                session.add(Counter(name="escalation", year=year, last=0))
        except sa.exc.IntegrityError:
            pass
        session.execute(stmt)


def _escalate(
    session: Session, day: date, seq: int, rules: dict, *, dry_run: bool, skip: list[int] = ()
) -> tuple[int, list[dict]]:
    ladder = rules["ladder"]
    if dry_run:
        return len([r for r in _escalation_candidates(session, day, seq, ladder) if r[1] not in set(skip)]), []
    _lock_counter(session, day.year)
    found = _escalation_candidates(session, day, seq, ladder)
    if not found:
        return 0, []
    bump = (
        sa.update(Counter)
        .where(Counter.name == "escalation", Counter.year == day.year)
        .values(last=Counter.last + len(found))
        .returning(Counter.last)
    )
    last = session.execute(bump).scalar()
    first = last - len(found) + 1
    now = clock.now()
    rows = []
    for i, (level, task_id, dep_id, deadline, days_over, kind, key) in enumerate(found):
        what = deadline_name("report" if kind == "report" else "due")
        reason = (
            f"{what}（{deadline.isoformat()}）已逾期{days_over}个工作日，"
            f"按规则自动督办（第{level}级：{level_name(level)}）"
        )
        rows.append(
            {
                "task_id": task_id,
                "department_id": dep_id,
                "level": level,
                "auto_key": key,
                "notice_no": f"督办〔{day.year}〕{first + i}号",
                "reason": reason,
                "created_at": now,
            }
        )
    made = []
    for i in range(0, len(rows), 5000):
        ins = (
            _insert(session, Escalation)
            .on_conflict_do_nothing()
            .returning(
                Escalation.id,
                Escalation.task_id,
                Escalation.department_id,
                Escalation.level,
                Escalation.notice_no,
                Escalation.reason,
            )
        )
        made += [r._asdict() for r in session.execute(ins, rows[i : i + 5000])]
    if made:
        session.execute(
            sa.insert(AuditEvent),
            [
                {
                    "at": now,
                    "actor_id": None,
                    "actor_name": SYSTEM.name,
                    "entity": "escalation",
                    "entity_id": e["id"],
                    "task_id": e["task_id"],
                    "action": "escalate",
                    "note": e["reason"],
                }
                for e in made
            ],
        )
    return len(made), made


def _countersign_candidates(day: date, rules: dict) -> sa.Select:
    return (
        select(Task.id)
        .where(
            Task.time_limit_preset.in_(rules["countersign_presets"] or [""]),
            Task.status.in_(sorted(s.value for s in TRANSITIONS[Action.CLOSE_NO_OBJECTION].sources)),
            Task.due_date < day,
            ~sa.exists().where(
                ExtensionRequest.task_id == Task.id, ExtensionRequest.status == RequestStatus.PENDING.value
            ),
        )
        .order_by(Task.id)
    )


def _close_countersigns(session: Session, day: date, rules: dict, *, dry_run: bool) -> list[int]:
    if not rules["countersign_auto_close"] or not rules["countersign_presets"]:
        return []
    ids = list(session.scalars(_countersign_candidates(day, rules)))
    if dry_run:
        return ids
    for task_id in ids:
        task_chasing.close_no_objection(session, SYSTEM, task_id)
    return ids


def run_rules(session: Session, day: date, *, dry_run: bool = False) -> dict[str, int]:
    """Apply the rules for ``day``: reminders, escalations, 会签 closing. Flushes, never commits.

    Returns counts per rule. On a non-working day it does nothing (``workday`` 0).
    With ``dry_run`` it counts what a real run would add and writes nothing.
    """
    rules = load_rules(session)
    cal = load_calendar(session)
    if not cal.is_workday(day):
        return {"workday": 0, "reminders": 0, "escalations": 0, "closed_no_objection": 0}
    seq = _day_seq(session, day)
    if seq is None:
        raise ValidationFailed(f"{day.isoformat()} 超出工作日历的范围")
    # The services called here (and their audit rows) must see the run's day; the freeze is
    # process-wide, so only a run for another day (a catch-up, --date) takes it.
    with clock.frozen(day) if day != clock.today() else contextlib.nullcontext():
        closed = _close_countersigns(session, day, rules, dry_run=dry_run)
        session.flush()
        skip = closed if dry_run else []
        per_rule = _write_reminders(
            session, day, _reminder_selects(session, day, rules, seq, cal), dry_run=dry_run, skip=skip
        )
        escalated, made = _escalate(session, day, seq, rules, dry_run=dry_run, skip=skip)
        notified = 0 if dry_run else notify_escalations(session, day, made)
    session.flush()
    counts = {
        "workday": 1,
        **per_rule,
        "reminders": sum(per_rule.values()),
        "escalations": escalated,
        "closed_no_objection": len(closed),
        "escalation_notices": notified,
    }
    for level in (1, 2, 3):
        counts[f"escalation_level_{level}"] = sum(1 for e in made if e["level"] == level)
    return counts


def report_reminders(session: Session, day: date, *, dry_run: bool = False) -> dict[str, int]:
    """The Friday-afternoon check: remind the lead departments whose report due today is
    still missing (rule "report_missing", distinct from the morning's "report_due")."""
    if not load_calendar(session).is_workday(day) or not load_rules(session)["report_reminders"]:
        return {"report_missing": 0}
    return _write_reminders(session, day, report_selects(day, "report_missing", None), dry_run=dry_run)


def auto_reminders(session: Session, day: date | None = None, limit: int = 200) -> list[Reminder]:
    """The automatic reminders of a day, newest first (for the office's pages)."""
    stmt = select(Reminder).where(Reminder.rule != "manual")
    if day is not None:
        stmt = stmt.where(Reminder.day == day)
    return list(session.exec(stmt.order_by(Reminder.id.desc()).limit(limit)))
