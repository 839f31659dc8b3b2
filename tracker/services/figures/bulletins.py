"""通报: the weekly and monthly bulletin, frozen as a dated snapshot.

A bulletin is computed once, at the end of its period (the figures of
``scoring.period_figures``: lead departments only, at the end of the last day),
and stored as JSON in ``Bulletin.data``. Asking again returns the stored one
unchanged, so last month's published figures never move, whatever happens to
the tasks later (003 §37 通报 / 考评).

Decision on 重新生成: there is none. A bulletin can only be generated once its
period has ended (``period_end < today``), so an unfinished period is never
frozen early and a finished one never needs recomputing. The scheduler's
weekly job generates last week's bulletin on Monday; the office may generate
any past week or month by hand (页面 通报 → 生成, or the CLI).

Periods: ``week`` is a week keyed by its ISO number (``2026-W48``, Monday to Sunday,
titled by its dates), ``month`` a calendar month (``2026-11``); without one, the last
complete period (``rules/periods.py``).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock
from tracker.errors import NotFound, ValidationFailed
from tracker.models import Bulletin, Department, Leader, Role, Task, TaskLeader, User
from tracker.rules import periods
from tracker.rules.overdue import overdue_at, overdue_days_at
from tracker.services import audit
from tracker.services.actors import SYSTEM, Actor
from tracker.services.figures import scoring
from tracker.services.notify.messages import notify_user
from tracker.workflow import Status, status_label

KINDS = {"week": "周", "month": "月"}
TOP_RETURNS = 5
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
# The order statuses are listed in.
STATUS_ORDER = [
    Status.ASSIGNED,
    Status.ACKNOWLEDGED,
    Status.IN_PROGRESS,
    Status.PENDING_REVIEW,
    Status.SUSPENDED,
    Status.CLOSED,
]


# --- periods ----------------------------------------------------------------------------


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValidationFailed(
            f"通报类型应为 week（周通报）或 month（月通报），收到“{kind}”", fields={"kind": "类型无效"}
        )
    return kind


def parse_period(kind: str, period: str) -> tuple[str, date, date]:
    """``(canonical period, first day, last day)``; a clear error for anything else."""
    _check_kind(kind)
    text = (period or "").strip().upper()
    if kind == "week":
        week = periods.week_of_key(text)
        if week is None:
            raise ValidationFailed(f"周次格式应为“2026-W48”（ISO周），收到“{period}”", fields={"period": "周次无效"})
        return periods.week_key(week.start), week.start, week.end
    m = _MONTH.match(text)
    if m and 1 <= int(m[2]) <= 12 and periods.in_range(date(int(m[1]), int(m[2]), 1)):
        month = periods.month_of(date(int(m[1]), int(m[2]), 1))
        return f"{month.start.year}-{month.start.month:02d}", month.start, month.end
    raise ValidationFailed(f"月份格式应为“2026-11”，收到“{period}”", fields={"period": "月份无效"})


def last_complete_period(kind: str, today: date | None = None) -> str:
    today = today or clock.today()
    if _check_kind(kind) == "week":
        return periods.week_key(today - timedelta(days=7))
    last = periods.add_months(today, -1)
    return f"{last.year}-{last.month:02d}"


def title_of(kind: str, period: str, start: date, end: date) -> str:
    if kind == "week":
        return f"督查督办工作周通报（{periods.week_label(start)}）"
    return f"督查督办工作月通报（{periods.month_label(start)}）"


# --- the frozen bulletin ------------------------------------------------------------------


def generate_bulletin(session: Session, kind: str, period: str | None = None, *, actor: Actor = SYSTEM) -> Bulletin:
    """The bulletin for the period (default: the last complete one), computed and
    frozen the first time; an existing one is returned unchanged, never recomputed.

    Raises ValidationFailed for a bad kind or period, or a period not yet over."""
    period, start, end = parse_period(kind, period or last_complete_period(kind))
    existing = find(session, kind, period)
    if existing is not None:
        return existing
    today = clock.today()
    if end >= today:
        raise ValidationFailed(
            f"{period} 尚未结束（至 {end.isoformat()}），通报只能在期末之后生成，生成后即固定不变",
            fields={"period": "本期尚未结束"},
        )
    bulletin = Bulletin(
        kind=kind, period=period, period_start=start, period_end=end, data=compute(session, kind, period, start, end)
    )
    session.add(bulletin)
    session.flush()
    audit.record(
        session,
        actor,
        "generate_bulletin",
        entity="bulletin",
        entity_id=bulletin.id,
        after={"kind": kind, "period": period},
        note=bulletin.data["title"],
    )
    publish(session, bulletin)
    return bulletin


def publish(session: Session, bulletin: Bulletin) -> int:
    """An inbox message (通报已发布) to every active office, leader and department user,
    once per bulletin and user (the notification key); a department's message names
    its own place in the ranking. Returns the number of messages written."""

    d = bulletin.data or {}
    s = d.get("summary", {})
    rate = s.get("on_time_rate")
    general = (
        f"本期办结 {s.get('closed', 0)} 件，按时办结率 {'—' if rate is None else f'{rate * 100:.1f}%'}；"
        f"期末逾期 {s.get('overdue', 0)} 件。"
    )
    places = {r["department_id"]: r for r in d.get("ranking", [])}
    users = session.exec(
        select(User)
        .where(User.active, User.role.in_([Role.SUPERVISOR.value, Role.LEADER.value, Role.CLERK.value]))
        .order_by(User.id)
    ).all()
    n = 0
    for user in users:
        body = general
        if user.role == Role.CLERK and user.department_id is not None:
            place = places.get(user.department_id)
            body += (
                f"本单位排名第 {place['rank']}/{len(places)} 名，得分 {place['score']:.2f}。"
                if place
                else "本单位本期无牵头事项，未参加排名。"
            )
        # The inbox shows a message's sections (the link) with the item's note; e-mail shows the body.
        payload = {
            "bulletin_id": bulletin.id,
            "sections": [
                {
                    "title": "通报",
                    "total": 1,
                    "items": [
                        {"label": d.get("title", bulletin.period), "url": f"/bulletins/{bulletin.id}", "note": body}
                    ],
                }
            ],
        }
        if (
            notify_user(
                session,
                user.id,
                "bulletin",
                f"通报已发布：{d.get('title', bulletin.period)}",
                body,
                key=f"bulletin:{bulletin.id}:{user.id}",
                payload=payload,
            )
            is not None
        ):
            n += 1
    return n


def find(session: Session, kind: str, period: str) -> Bulletin | None:
    return session.exec(select(Bulletin).where(Bulletin.kind == kind, Bulletin.period == period)).first()


def get(session: Session, bulletin_id: int) -> Bulletin:
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise NotFound("未找到该通报")
    return bulletin


def list_bulletins(session: Session, kind: str | None = None) -> list[Bulletin]:
    q = select(Bulletin).order_by(Bulletin.period_end.desc(), Bulletin.kind.desc())
    if kind:
        q = q.where(Bulletin.kind == kind)
    return list(session.exec(q).all())


def compute(session: Session, kind: str, period: str, start: date, end: date) -> dict:
    """Every figure of the bulletin as plain JSON (dates as ISO text)."""
    as_of = end + timedelta(days=1)
    weights = scoring.score_weights(session)
    figures = scoring.rank(list(scoring.period_figures(session, start, end).values()), weights)
    ranked = [f for f in figures if f.rank is not None]
    total = {
        k: sum(getattr(f, k) for f in figures)
        for k in (
            "closed",
            "closed_on_time",
            "open",
            "overdue",
            "overdue_task_days",
            "returns",
            "late_reports",
            "extensions",
        )
    }
    denominator = total["closed"] + total["overdue"]
    total["closed_late"] = total["closed"] - total["closed_on_time"]
    total["on_time_rate"] = None if denominator == 0 else round(total["closed_on_time"] / denominator, 4)
    total["assigned"] = session.execute(
        select(sa.func.count())
        .select_from(Task)
        .where(
            scoring.task_scope(as_of),
            sa.func.coalesce(Task.assigned_at, Task.created_at) >= clock.start_of_local_day(start),
        )
    ).scalar_one()
    by_dept, by_leader = _overdue_lists(session, as_of)
    return {
        "version": 1,
        "kind": kind,
        "period": period,
        "title": title_of(kind, period, start, end),
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "as_of": as_of.isoformat(),
        "summary": total,
        "status_counts": _status_counts(session, as_of),
        "overdue_by_department": by_dept,
        "overdue_by_leader": by_leader,
        "top_returns": [
            {"department_id": f.department_id, "department": f.department, "returns": f.returns}
            for f in sorted(
                (f for f in figures if f.returns), key=lambda f: (-f.returns, f.sort_order, f.department_id)
            )[:TOP_RETURNS]
        ],
        "ranking": [dict(f.as_dict(), deductions=scoring.deductions(f, weights)) for f in ranked],
        "unranked": [f.department for f in figures if f.rank is None],
        "weights": weights,
    }


def _status_counts(session: Session, as_of: date) -> list[dict]:
    """Tasks out by the period end, by their status then; one closed after the end
    counts as 办理中 (the status it had is not kept)."""
    status = sa.case(
        (sa.and_(Task.status == Status.CLOSED.value, Task.closed_on >= as_of), Status.IN_PROGRESS.value),
        else_=Task.status,
    ).label("s")
    inner = select(status).where(scoring.task_scope(as_of)).subquery()
    counts = dict(session.execute(select(inner.c.s, sa.func.count()).group_by(inner.c.s)).all())
    return [{"status": s.value, "label": status_label(s), "count": int(counts.get(s.value, 0))} for s in STATUS_ORDER]


def _overdue_lists(session: Session, as_of: date) -> tuple[list[dict], list[dict]]:
    """Overdue tasks at the period end, per lead department and per responsible leader."""
    days = overdue_days_at(session, as_of).label("days")
    rows = session.execute(
        select(
            Task.id,
            Task.code,
            Task.title,
            Task.lead_department_id,
            Task.due_date,
            Task.original_due_date,
            days,
            Department.name,
            Department.sort_order,
        )
        .join(Department, Department.id == Task.lead_department_id)
        .where(scoring.task_scope(as_of), overdue_at(as_of))
        .order_by(Department.sort_order, Department.id, sa.desc("days"), Task.code)
    ).all()
    leaders: dict[int, list[tuple[int, str]]] = {}
    if rows:
        for task_id, leader_id, name in session.execute(
            select(TaskLeader.task_id, Leader.id, Leader.name)
            .join(Leader, Leader.id == TaskLeader.leader_id)
            .where(TaskLeader.task_id.in_([r.id for r in rows]))
            .order_by(Leader.sort_order, Leader.id)
        ).all():
            leaders.setdefault(task_id, []).append((leader_id, name))
    by_dept: dict[int, dict] = {}
    by_leader: dict[int | None, dict] = {}
    for r in rows:
        item = {
            "task_id": r.id,
            "code": r.code,
            "title": r.title,
            "department": r.name,
            "due_date": r.due_date.isoformat(),
            "original_due_date": r.original_due_date.isoformat() if r.original_due_date else None,
            "overdue_workdays": int(r.days or 0),
            "leaders": [name for _, name in leaders.get(r.id, [])],
        }
        d = by_dept.setdefault(
            r.lead_department_id,
            {"department_id": r.lead_department_id, "department": r.name, "count": 0, "task_days": 0, "tasks": []},
        )
        d["count"] += 1
        d["task_days"] += item["overdue_workdays"]
        d["tasks"].append(item)
        for leader_id, name in leaders.get(r.id) or [(None, "未明确责任领导")]:
            entry = by_leader.setdefault(
                leader_id, {"leader_id": leader_id, "leader": name, "count": 0, "task_days": 0, "tasks": []}
            )
            entry["count"] += 1
            entry["task_days"] += item["overdue_workdays"]
            entry["tasks"].append(item)
    key = lambda e: (-e["count"], -e["task_days"], e["department" if "department" in e else "leader"])  # noqa: E731
    for entry in by_leader.values():
        entry["tasks"].sort(key=lambda t: (-t["overdue_workdays"], t["code"]))
    return sorted(by_dept.values(), key=key), sorted(by_leader.values(), key=key)


def as_text(bulletin: Bulletin) -> str:
    """The bulletin as plain text, for the CLI and a quick paste into a message."""
    d = bulletin.data or {}
    s = d.get("summary", {})
    rate = s.get("on_time_rate")
    lines = [
        d.get("title", bulletin.period),
        f"统计截至 {d.get('period_end')}（牵头单位计入完成率）",
        "",
        f"本期交办 {s.get('assigned', 0)} 件；办结 {s.get('closed', 0)} 件，其中按时 {s.get('closed_on_time', 0)} 件、"
        f"超期 {s.get('closed_late', 0)} 件；按时办结率 {'—' if rate is None else f'{rate * 100:.1f}%'}。",
        f"期末在办 {s.get('open', 0)} 件，其中逾期 {s.get('overdue', 0)} 件，累计逾期 {s.get('overdue_task_days', 0)} 个工作日；"
        f"退回 {s.get('returns', 0)} 次，延期 {s.get('extensions', 0)} 次，报送超期 {s.get('late_reports', 0)} 次。",
        "",
        "各状态事项：",
    ]
    lines += [f"  {c['label']}：{c['count']}" for c in d.get("status_counts", [])]
    lines += ["", "逾期事项（按牵头单位）："]
    for dep in d.get("overdue_by_department", []):
        lines.append(f"  {dep['department']}：{dep['count']} 件，{dep['task_days']} 个工作日")
        lines += [
            f"    {t['code']} {t['title']}（时限 {t['due_date']}，逾期 {t['overdue_workdays']} 个工作日）"
            for t in dep["tasks"]
        ]
    if not d.get("overdue_by_department"):
        lines.append("  无")
    lines += ["", "逾期事项（按责任领导）："]
    lines += [
        f"  {e['leader']}：{e['count']} 件，{e['task_days']} 个工作日" for e in d.get("overdue_by_leader", [])
    ] or ["  无"]
    lines += ["", "退回次数较多的单位："]
    lines += [f"  {e['department']}：{e['returns']} 次" for e in d.get("top_returns", [])] or ["  无"]
    lines += ["", "考核排名："]
    for f in d.get("ranking", []):
        r = f.get("on_time_rate")
        lines.append(
            f"  {f['rank']}. {f['department']} {f['score']:.2f} 分（按时办结率 {'—' if r is None else f'{r * 100:.1f}%'}，"
            f"逾期 {f['overdue']} 件/{f['overdue_task_days']} 个工作日，退回 {f['returns']}，"
            f"报送超期 {f['late_reports']}，延期 {f['extensions']}）"
        )
    return "\n".join(lines)
