"""Department scoring (考核, 督考合一): figures per department, a score and a rank.

"健全完善……绩效考评制度，突出结果导向" (003 §37). Every figure counts the
**lead department only** (牵头单位计入完成率): the lead answers for the whole
task (000 §31, 004 §29); assisting departments are not scored on it.

Figures over a period ``[start, end]`` are taken **at the end of ``end``**, i.e.
as the dashboard shows them on the morning of ``end + 1`` (``as_of``):

- ``closed`` / ``closed_on_time``: tasks closed in the period; on time when
  ``closed_on <= due_date``. An approved extension moved ``due_date`` (it can
  only be asked for before the deadline, ``tasks.requests.request_extension``), so a
  task closed within its extended deadline is on time; ``original_due_date``
  is kept only to show it. An extension the office approves only after the
  original deadline is treated the same (the department asked in time; the
  delay was the office's).
- ``open`` / ``overdue``: tasks assigned before ``as_of`` and still running at
  the end of ``end`` (a task closed after ``end`` counts as open then);
  overdue when its fixed deadline is before ``as_of``.
- ``overdue_task_days``: working days overdue summed over those tasks,
  ``seq(as_of) - seq(due_date)`` on ``calendarday`` (``tracker.rules.overdue``),
  so 国庆 and 调休 count as the calendar says.
- ``returns``: close requests the office returned (退回) in the period.
- ``late_reports``: reporting deadlines (ReportDue) falling in the period that
  were met after their date, or are still unmet after it (unless the task was
  closed before the date, or is suspended).
- ``extensions``: extension requests approved in the period.

The score (100-point scale; weights in AppSetting ``score_weights``, edited by
the office on 系统管理 → 考核权重)::

    score = (100 - on_time_rate) + on_time_rate × rate
            - min(overdue_day_cap, overdue_day × overdue_task_days)
            - min(return_cap,      return_ × returns)
            - min(late_report_cap, late_report × late_reports)
            - min(extension_cap,   extension × extensions)
    floored at 0, rounded to 2 decimals

    rate = closed_on_time / (closed + overdue)      -- late closings and tasks
           still overdue both count against it; with nothing closed and nothing
           overdue the rate is undefined ("—") and the full points are given.

Defaults (``DEFAULT_WEIGHTS``): on-time rate 40 points; 0.5 per overdue
task-day, at most 30; 2 per return, at most 10; 1 per late report, at most 10;
1 per approved extension, at most 5. Ranking: score, then rate, then fewer
overdue task-days, then the department's sort order and id — never a tie.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock
from tracker.errors import NotPermitted, ValidationFailed
from tracker.models import (
    AppSetting,
    CalendarDay,
    CloseRequest,
    Department,
    ExtensionRequest,
    ReportDue,
    RequestStatus,
    Role,
    ScoreSnapshot,
    Task,
)
from tracker.rules.overdue import open_at, overdue_at, overdue_days_at
from tracker.rules.periods import week_key, week_of
from tracker.services import audit
from tracker.services.actors import SYSTEM, Actor
from tracker.sql import none_of
from tracker.workflow import Status

SETTING_KEY = "score_weights"

DEFAULT_WEIGHTS: dict[str, float] = {
    "on_time_rate": 40.0,  # points for a 100 % on-time rate; the rest of 100 is the base
    "overdue_day": 0.5,  # per working day overdue, summed over open overdue tasks
    "overdue_day_cap": 30.0,
    "return_": 2.0,  # per close request returned (退回)
    "return_cap": 10.0,
    "late_report": 1.0,  # per reporting deadline missed or met late
    "late_report_cap": 10.0,
    "extension": 1.0,  # per approved extension
    "extension_cap": 5.0,
}

WEIGHT_LABELS: dict[str, str] = {
    "on_time_rate": "按时办结率（满分）",
    "overdue_day": "逾期每工作日扣分（按事项累计）",
    "overdue_day_cap": "逾期扣分上限",
    "return_": "每次退回扣分",
    "return_cap": "退回扣分上限",
    "late_report": "每次进展报送超期扣分",
    "late_report_cap": "报送超期扣分上限",
    "extension": "每次延期扣分",
    "extension_cap": "延期扣分上限",
}

# (figure, per-unit weight, cap) of the deductions, in the order they are shown.
DEDUCTIONS = (
    ("overdue_task_days", "overdue_day", "overdue_day_cap"),
    ("returns", "return_", "return_cap"),
    ("late_reports", "late_report", "late_report_cap"),
    ("extensions", "extension", "extension_cap"),
)

_NOT_OUT = [Status.DRAFT.value, Status.PENDING_APPROVAL.value]


# --- weights --------------------------------------------------------------------


def score_weights(session: Session) -> dict[str, float]:
    """The office's weights, any missing key filled from the defaults."""
    row = session.get(AppSetting, SETTING_KEY)
    weights = dict(DEFAULT_WEIGHTS)
    if row is not None and isinstance(row.value, dict):
        for key in DEFAULT_WEIGHTS:
            value = row.value.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                weights[key] = float(value)
    return weights


def validate_weights(raw: dict) -> dict[str, float]:
    """Weights from a form: every key a number ≥ 0, the rate and each cap at most 100.

    Raises ValidationFailed naming each wrong field; nothing is saved then."""
    out: dict[str, float] = {}
    fields: dict[str, str] = {}
    for key, label in WEIGHT_LABELS.items():
        text = str(raw.get(key, "")).strip()
        if text == "":
            fields[key] = f"请填写“{label}”"
            continue
        try:
            value = float(text)
        except ValueError:
            fields[key] = f"“{label}”应为数字，收到“{text[:20]}”"
            continue
        if not math.isfinite(value) or value < 0:
            fields[key] = f"“{label}”应为不小于0的数字"
        elif (key == "on_time_rate" or key.endswith("_cap")) and value > 100:
            fields[key] = f"“{label}”不能超过100分"
        else:
            out[key] = value
    if fields:
        raise ValidationFailed("考核权重有误：" + "；".join(fields.values()), fields=fields)
    return out


def set_weights(session: Session, actor: Actor, raw: dict) -> dict[str, float]:
    """Save the office's weights (validated) with an audit event; returns them."""
    if actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise NotPermitted("只有督查室或系统管理员可以修改考核权重")
    weights = validate_weights(raw)
    before = score_weights(session)
    row = session.get(AppSetting, SETTING_KEY)
    if row is None:
        row = AppSetting(key=SETTING_KEY)
        session.add(row)
    row.value = weights
    row.updated_by_id = actor.user_id
    row.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor,
        "set_score_weights",
        entity="app_setting",
        entity_id=None,
        before=before,
        after=weights,
        note=SETTING_KEY,
    )
    return weights


# --- figures ----------------------------------------------------------------------


@dataclass
class Figures:
    department_id: int
    department: str = ""
    sort_order: int = 0
    closed: int = 0
    closed_on_time: int = 0
    open: int = 0
    overdue: int = 0
    overdue_task_days: int = 0
    returns: int = 0
    late_reports: int = 0
    extensions: int = 0
    score: float = 0.0
    rank: int | None = None

    @property
    def on_time_rate(self) -> float | None:
        """On-time closings over closings plus tasks still overdue; None when neither."""
        denominator = self.closed + self.overdue
        return None if denominator == 0 else self.closed_on_time / denominator

    @property
    def has_business(self) -> bool:
        """Anything to score: departments with no lead task in the period are not ranked."""
        return any((self.closed, self.open, self.returns, self.late_reports, self.extensions))

    def as_dict(self) -> dict:
        data = asdict(self)
        rate = self.on_time_rate
        data["on_time_rate"] = None if rate is None else round(rate, 4)
        return data


def _seq(session: Session, day: date) -> int | None:
    return session.exec(select(CalendarDay.seq).where(CalendarDay.day == day)).first()


def _utc_bounds(start: date | None, end: date) -> tuple:
    lo = clock.start_of_local_day(start) if start else None
    return lo, clock.start_of_local_day(end + timedelta(days=1))


def task_scope(as_of: date):
    """Tasks that were out (assigned) before ``as_of``, cancelled ones left out."""
    assigned = sa.func.coalesce(Task.assigned_at, Task.created_at)
    return sa.and_(
        Task.lead_department_id.is_not(None),
        none_of(Task.status, [*_NOT_OUT, Status.CANCELLED.value]),
        assigned < clock.start_of_local_day(as_of),
    )


def period_figures(
    session: Session, start: date | None, end: date, department_ids: list[int] | None = None
) -> dict[int, Figures]:
    """Figures per active department for the period, at the end of ``end`` (see the module doc).

    Four GROUP BY queries (tasks, returns, extensions, reporting deadlines)."""
    as_of = end + timedelta(days=1)
    dq = select(Department.id, Department.name, Department.sort_order).where(Department.active)
    if department_ids is not None:
        dq = dq.where(Department.id.in_(department_ids))
    out = {i: Figures(i, name, order) for i, name, order in session.exec(dq).all()}
    if not out:
        return out
    ids = list(out)
    closed_in = sa.and_(Task.status == Status.CLOSED.value, Task.closed_on <= end)
    if start is not None:
        closed_in = sa.and_(closed_in, Task.closed_on >= start)
    on_time = sa.and_(closed_in, sa.or_(Task.due_date.is_(None), Task.closed_on <= Task.due_date))
    as_int = lambda cond: sa.func.sum(sa.case((cond, 1), else_=0))  # noqa: E731
    rows = session.execute(
        select(
            Task.lead_department_id,
            as_int(closed_in),
            as_int(on_time),
            as_int(open_at(as_of)),
            as_int(overdue_at(as_of)),
            sa.func.sum(overdue_days_at(session, as_of)),
        )
        .where(task_scope(as_of), Task.lead_department_id.in_(ids))
        .group_by(Task.lead_department_id)
    ).all()
    for dep, closed, on_time_n, open_n, overdue_n, days in rows:
        f = out[dep]
        f.closed, f.closed_on_time, f.open, f.overdue = (
            int(closed or 0),
            int(on_time_n or 0),
            int(open_n or 0),
            int(overdue_n or 0),
        )
        f.overdue_task_days = int(days or 0)
    lo, hi = _utc_bounds(start, end)
    for model, status, attr in (
        (CloseRequest, RequestStatus.REJECTED, "returns"),
        (ExtensionRequest, RequestStatus.APPROVED, "extensions"),
    ):
        q = (
            select(model.department_id, sa.func.count())
            .where(model.status == status.value, model.decided_at < hi, model.department_id.in_(ids))
            .group_by(model.department_id)
        )
        if lo is not None:
            q = q.where(model.decided_at >= lo)
        for dep, n in session.execute(q).all():
            setattr(out[dep], attr, int(n))
    # Unmet counts only while the task still owed it: not once closed before the date,
    # nor while suspended (a suspended task owes no report, services/recurring.py).
    late = sa.or_(
        ReportDue.met_on > ReportDue.due_date,
        sa.and_(
            ReportDue.met_on.is_(None),
            ReportDue.due_date < as_of,
            Task.status != Status.SUSPENDED.value,
            sa.or_(Task.closed_on.is_(None), Task.closed_on > ReportDue.due_date),
        ),
    )
    q = (
        select(Task.lead_department_id, sa.func.count())
        .select_from(ReportDue)
        .join(Task, Task.id == ReportDue.task_id)
        .where(
            late,
            ReportDue.due_date <= end,
            Task.lead_department_id.in_(ids),
            none_of(Task.status, [*_NOT_OUT, Status.CANCELLED.value]),
        )
        .group_by(Task.lead_department_id)
    )
    if start is not None:
        q = q.where(ReportDue.due_date >= start)
    for dep, n in session.execute(q).all():
        out[dep].late_reports = int(n)
    return out


# --- score and rank -----------------------------------------------------------------


def score(f: Figures, weights: dict[str, float]) -> float:
    """The formula of the module docstring."""
    rate = f.on_time_rate
    full = weights["on_time_rate"]
    value = (100.0 - full) + full * (1.0 if rate is None else rate)
    for figure, per, cap in DEDUCTIONS:
        value -= min(weights[cap], weights[per] * getattr(f, figure))
    return round(max(0.0, value), 2)


def deductions(f: Figures, weights: dict[str, float]) -> dict[str, float]:
    """Points taken off per figure, to explain a score."""
    return {figure: round(min(weights[cap], weights[per] * getattr(f, figure)), 2) for figure, per, cap in DEDUCTIONS}


def rank(figures: list[Figures], weights: dict[str, float]) -> list[Figures]:
    """Scores every department and ranks those with business 1..n (no ties);
    the others come last, unranked."""
    for f in figures:
        f.score = score(f, weights)
    key = lambda f: (
        -f.score,
        -(f.on_time_rate if f.on_time_rate is not None else 1.0),  # noqa: E731
        f.overdue_task_days,
        f.sort_order,
        f.department_id,
    )
    ranked = sorted((f for f in figures if f.has_business), key=key)
    for i, f in enumerate(ranked, start=1):
        f.rank = i
    return ranked + sorted((f for f in figures if not f.has_business), key=lambda f: (f.sort_order, f.department_id))


def ranking(session: Session, start: date | None, end: date) -> list[Figures]:
    return rank(list(period_figures(session, start, end).values()), score_weights(session))


# --- snapshots ------------------------------------------------------------------------


def take_snapshot(session: Session, day: date, *, actor: Actor = SYSTEM) -> int:
    """One ScoreSnapshot per active department for ``day`` (nightly), at the end of the day.

    Counters (closed, returns, late reports, extensions) are running totals
    since the first task ("so far"), so the closings of a week are the growth
    of ``closed_count`` between two snapshots (``weekly_trend``, the dashboard);
    open and overdue are the state at the end of the day; the score is the
    formula over those figures. Upserts: running it again the same day
    rewrites the same rows. Returns the number of departments written."""
    figures = ranking(session, None, day)
    existing = {s.department_id: s for s in session.exec(select(ScoreSnapshot).where(ScoreSnapshot.day == day)).all()}
    for f in figures:
        snap = existing.get(f.department_id)
        if snap is None:
            snap = ScoreSnapshot(day=day, department_id=f.department_id)
            session.add(snap)
        snap.open_count, snap.overdue_count = f.open, f.overdue
        snap.closed_count, snap.closed_on_time = f.closed, f.closed_on_time
        snap.overdue_task_days, snap.returns = f.overdue_task_days, f.returns
        snap.late_reports, snap.extensions, snap.score = f.late_reports, f.extensions, f.score
    session.flush()
    audit.record(
        session,
        actor,
        "take_score_snapshot",
        entity="score_snapshot",
        entity_id=None,
        after={"day": day, "departments": len(figures)},
        note=f"考核快照 {day.isoformat()}",
    )
    return len(figures)


def backfill_snapshots(session: Session, start: date, end: date, *, actor: Actor = SYSTEM) -> int:
    """Snapshots for every day from ``start`` to ``end`` (a new installation, the demo),
    so the dashboard's trend has history. Past days are rebuilt from dates kept on
    the rows (assignment, closing, decisions); a task suspended or cancelled since
    is taken as it is now. Returns the number of days written."""
    if end < start:
        raise ValidationFailed(
            f"起始日期 {start.isoformat()} 晚于结束日期 {end.isoformat()}", fields={"since": "起止日期颠倒"}
        )
    if (end - start).days > 400:
        raise ValidationFailed("一次最多补写400天的考核快照", fields={"since": "期间过长"})
    day = start
    while day <= end:
        take_snapshot(session, day, actor=actor)
        day += timedelta(days=1)
    return (end - start).days + 1


def weekly_trend(
    session: Session, weeks: int = 26, department_ids: list[int] | None = None, today: date | None = None
) -> list[dict]:
    """Open, overdue and closed per week over the last ``weeks`` weeks (this one last),
    from the snapshots: open/overdue from the week's latest snapshot, closed as the
    growth of the running count since the latest snapshot before the week (looked
    for up to a week back). A week without a snapshot has None figures; closed is
    None too when there is no earlier snapshot to compare with."""
    today = today or clock.today()
    this_monday, this_sunday = week_of(today)
    first_monday = this_monday - timedelta(weeks=weeks - 1)
    q = (
        select(
            ScoreSnapshot.day,
            sa.func.sum(ScoreSnapshot.open_count),
            sa.func.sum(ScoreSnapshot.overdue_count),
            sa.func.sum(ScoreSnapshot.closed_count),
        )
        .where(ScoreSnapshot.day >= first_monday - timedelta(days=7), ScoreSnapshot.day <= this_sunday)
        .group_by(ScoreSnapshot.day)
        .order_by(ScoreSnapshot.day)
    )
    if department_ids is not None:
        q = q.where(ScoreSnapshot.department_id.in_(department_ids))
    days = [(d, int(o or 0), int(v or 0), int(c or 0)) for d, o, v, c in session.execute(q).all()]
    out = []
    for i in range(weeks):
        monday, sunday = week_of(first_monday + timedelta(weeks=i))
        entry = {
            "week": week_key(monday),
            "week_start": monday,
            "day": None,
            "open": None,
            "overdue": None,
            "closed": None,
        }
        in_week = [d for d in days if monday <= d[0] <= sunday]
        if in_week:
            last = in_week[-1]
            before = [d for d in days if d[0] < monday]
            closed = max(0, last[3] - before[-1][3]) if before else None
            entry.update(day=last[0], open=last[1], overdue=last[2], closed=closed)
        out.append(entry)
    return out
