"""The daily digest: who gets which sections, reading them, rendering them, and building one per user.

One digest per user per working day lists everything due, late or waiting for them, never on a
non-working day and never twice, even when two scheduler processes run at once: a digest is a
keyed message (``digest:<user>:<day>``) written by ``notify.insert_ignore_many``. What a digest
lists is read with the shared rule SQL (``tracker.rules.overdue``), a bounded number of rows per
section, in a handful of queries for the whole district.

A normal service: it flushes; the caller commits once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock
from tracker.config import Settings
from tracker.models import (
    ChangeKind,
    ChangeRequest,
    CloseRequest,
    Delivery,
    Escalation,
    ExtensionRequest,
    Notification,
    NotificationChannel,
    Reminder,
    ReportDue,
    RequestStatus,
    Role,
    Task,
    TaskAssist,
    User,
)
from tracker.rules.overdue import Horizon, is_due_soon, is_overdue, is_running
from tracker.services.actors import UNPUBLISHED, Actor, visible_clause
from tracker.services.calendar import load_calendar
from tracker.services.notify.channels import smtp_configured
from tracker.services.notify.messages import DEAD, FAILED, PENDING, insert_ignore_many, resolve_settings
from tracker.services.organisation.directory import ladder_recipients
from tracker.workflow import Status

SECTION_LIMIT = 30  # items listed per section; the rest is a count and a link to the full list
TASK_PATH = "/tasks/{id}"  # tracker.web.tasks: the task page


# --- what a digest says ----------------------------------------------------------------


@dataclass
class Section:
    key: str
    title: str
    total: int = 0
    items: list[dict] = field(default_factory=list)
    more_url: str = ""  # the full list, when there are more than SECTION_LIMIT

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "title": self.title,
            "total": self.total,
            "items": self.items,
            "more_url": self.more_url,
        }


def _returned_clause() -> sa.ColumnElement[bool]:
    """退回: the latest close request was returned and the task is back in progress
    (the department inbox's definition, tracker/web/department.py)."""
    latest = (
        select(CloseRequest.status)
        .where(CloseRequest.task_id == Task.id)
        .order_by(CloseRequest.id.desc())
        .limit(1)
        .correlate(Task)
        .scalar_subquery()
    )
    return sa.and_(Task.status == Status.IN_PROGRESS.value, latest == RequestStatus.REJECTED.value)


class _Reader:
    """Reads digest sections for one day; department, leader and office contents are
    computed once per run and shared by every user who gets the same content."""

    def __init__(self, session: Session, day: date, settings: Settings):
        self.s = session
        self.day = day
        self.base = settings.base_url.rstrip("/")
        self.h = Horizon.build(session, settings.due_soon_workdays, today=day)
        cal = load_calendar(session)
        # Escalations made since the previous working day's digest (weekends included).
        prev = day - timedelta(days=1)
        while not cal.is_workday(prev) and (day - prev).days < 40:
            prev -= timedelta(days=1)
        self.since = clock.start_of_local_day(prev + timedelta(days=1))
        self.until = clock.start_of_local_day(day + timedelta(days=1))
        self._cache: dict[tuple, list[Section]] = {}
        self._tasks = self._head_overdue = self._dues = self._reminders = self._esc = {}
        self._reached: dict[int, list[int]] | None = None

    def url(self, path: str) -> str:
        return self.base + path

    def _task_item(self, t: Task, note: str = "") -> dict:
        return {
            "task_id": t.id,
            "code": t.code,
            "title": t.title,
            "due_date": t.due_date.isoformat() if t.due_date else "",
            "url": self.url(TASK_PATH.format(id=t.id)),
            "note": note,
        }

    def tasks(
        self, key: str, title: str, where: list, *, more: str = "", seen: set[int] | None = None, order=None
    ) -> Section:
        """A section of tasks: one bounded SELECT that also counts every match."""
        clauses = list(where)
        if seen:
            clauses.append(Task.id.not_in(seen))
        sec = Section(key, title)
        rows, sec.total = self._bounded(
            select(Task).where(*clauses).order_by(*(order or (Task.due_date.asc().nulls_last(), Task.id.asc())))
        )
        sec.items = [self._task_item(t, self._late_note(t)) for (t,) in rows]
        if seen is not None:
            seen.update(t.id for (t,) in rows)
        if sec.total > SECTION_LIMIT and more:
            sec.more_url = self.url(more)
        return sec

    def _bounded(self, stmt) -> tuple[list, int]:
        """The first SECTION_LIMIT rows and the number of all matching rows, in one query
        (``count(*) OVER ()`` is computed before the LIMIT)."""
        rows = self.s.execute(stmt.add_columns(sa.func.count().over().label("_total")).limit(SECTION_LIMIT)).all()
        return [tuple(r)[:-1] for r in rows], (rows[0][-1] if rows else 0)

    def _late_note(self, t: Task) -> str:
        if t.due_date is None:
            return ""
        if t.due_date < self.day:
            return f"已逾期（时限 {t.due_date.isoformat()}）"
        if t.due_date == self.day:
            return "今日到期"
        return f"时限 {t.due_date.isoformat()}"

    def _reached_by(self, user_id: int) -> list[int]:
        """The window's escalations whose rung reaches this user, by the ladder's one rule
        (``tracker.rules.ladder.recipients``, as the notices were sent): read once per run."""
        if self._reached is None:
            rows = [
                dict(r._mapping)
                for r in self.s.execute(
                    select(Escalation.id, Escalation.level, Escalation.task_id, Escalation.department_id).where(
                        Escalation.created_at >= self.since, Escalation.created_at < self.until
                    )
                )
            ]
            self._reached = {}
            for eid, users in (ladder_recipients(self.s, rows) if rows else {}).items():
                for uid in users:
                    self._reached.setdefault(uid, []).append(eid)
        return self._reached.get(user_id, [])

    def _escalations(self, title: str, where: list) -> Section:
        sec = Section("escalations", title)
        clauses = [Escalation.created_at >= self.since, Escalation.created_at < self.until, *where]
        rows, sec.total = self._bounded(
            select(Escalation, Task)
            .join(Task, Task.id == Escalation.task_id)
            .where(*clauses)
            .order_by(Escalation.level.desc(), Escalation.id)
        )
        if rows:
            sec.items = [
                self._task_item(t, f"督办通知 {e.notice_no}（第{e.level}级）：{e.reason}"[:300]) for e, t in rows
            ]
        return sec

    # -- audiences --

    def _top_per_group(self, stmt, groups: list[str], order) -> dict[tuple, tuple[list, int]]:
        """For every group (e.g. department × section) its first SECTION_LIMIT rows and its
        size, in ONE query over all groups: a digest run costs a handful of queries for the
        whole district instead of a dozen per department. ``stmt`` selects labelled columns,
        among them the ``groups``, ``task_id`` and what ``order(columns)`` sorts on."""
        sub = stmt.subquery()
        part = [sub.c[g] for g in groups]
        ranked = select(
            sub,
            sa.func.row_number().over(partition_by=part, order_by=order(sub.c)).label("rn"),
            sa.func.count().over(partition_by=part).label("total"),
        ).subquery()
        out: dict[tuple, tuple[list, int]] = {}
        for row in self.s.execute(
            select(ranked, Task)
            .join(Task, Task.id == ranked.c.task_id)
            .where(ranked.c.rn <= SECTION_LIMIT)
            .order_by(*[ranked.c[g] for g in groups], ranked.c.rn)
        ).all():
            key = tuple(row._mapping[g] for g in groups)
            items, _ = out.setdefault(key, ([], row._mapping["total"]))
            items.append(row)
        return out

    def _load_departments(self, deps: set[int]) -> None:
        """The department sections of every department in ``deps`` (those with clerks)."""
        if not deps:
            return
        h = self.h
        # (task, department) for the lead and every assisting department: a clerk sees both.
        pairs = sa.union(
            select(Task.id.label("task_id"), Task.lead_department_id.label("dep")).where(
                Task.lead_department_id.in_(deps)
            ),
            select(TaskAssist.task_id.label("task_id"), TaskAssist.department_id.label("dep")).where(
                TaskAssist.department_id.in_(deps)
            ),
        ).subquery("pairs")
        is_lead = Task.lead_department_id == pairs.c.dep
        # Each task in its most urgent section only, as in the department inbox.
        section = sa.case(
            (sa.and_(is_lead, Task.status == Status.ASSIGNED.value), "acknowledge"),
            (sa.and_(is_lead, _returned_clause()), "returned"),
            (is_overdue(h), "overdue"),
            (is_due_soon(h), "due_soon"),
            else_=None,
        )
        by_due = lambda c: (c.due_date.asc().nulls_last(), c.task_id.asc())  # noqa: E731
        base = (
            select(Task.id.label("task_id"), pairs.c.dep.label("dep"), Task.due_date.label("due_date"))
            .join(pairs, pairs.c.task_id == Task.id)
            .where(Task.status.not_in(UNPUBLISHED))
        )
        self._tasks = self._top_per_group(
            base.add_columns(section.label("section")).where(
                sa.or_(
                    sa.and_(is_lead, Task.status == Status.ASSIGNED.value),
                    sa.and_(is_lead, _returned_clause()),
                    is_overdue(h),
                    is_due_soon(h),
                )
            ),
            ["dep", "section"],
            by_due,
        )
        self._head_overdue = self._top_per_group(base.where(is_overdue(h)), ["dep"], by_due)
        # each task once, however many periods it has missed: a report brings the task up to date
        late = sa.case((ReportDue.due_date < self.day, 1), else_=0)
        self._dues = self._top_per_group(
            select(
                ReportDue.task_id.label("task_id"),
                Task.lead_department_id.label("dep"),
                sa.func.min(ReportDue.due_date).label("due_date"),
                sa.func.max(ReportDue.due_date).label("last_due"),
                sa.func.sum(late).label("missed"),
            )
            .join(Task, Task.id == ReportDue.task_id)
            .where(
                ReportDue.met_on.is_(None),
                ReportDue.due_date <= h.soon_until,
                is_running(),
                Task.lead_department_id.in_(deps),
            )
            .group_by(ReportDue.task_id, Task.lead_department_id),
            ["dep"],
            lambda c: (c.due_date.asc(), c.task_id.asc()),
        )
        self._reminders = self._top_per_group(
            select(
                Reminder.task_id.label("task_id"),
                Reminder.department_id.label("dep"),
                Reminder.id.label("rid"),
                Reminder.message.label("message"),
            ).where(Reminder.day == self.day, Reminder.department_id.in_(deps)),
            ["dep"],
            lambda c: (c.rid.asc(),),
        )
        esc = select(
            Escalation.task_id.label("task_id"),
            Escalation.department_id.label("dep"),
            Escalation.id.label("eid"),
            Escalation.level.label("level"),
            Escalation.notice_no.label("notice_no"),
            Escalation.reason.label("reason"),
        ).where(
            Escalation.created_at >= self.since, Escalation.created_at < self.until, Escalation.department_id.in_(deps)
        )
        by_level = lambda c: (c.level.desc(), c.eid.asc())  # noqa: E731
        self._esc = self._top_per_group(esc, ["dep"], by_level)

    def _section(self, key: str, title: str, found: tuple[list, int] | None, note, more: str = "") -> Section:
        sec = Section(key, title)
        if found:
            rows, sec.total = found
            sec.items = [self._task_item(r.Task, note(r)) for r in rows]
            if sec.total > SECTION_LIMIT and more:
                sec.more_url = self.url(more)
        return sec

    def _esc_note(self, r) -> str:
        m = r._mapping
        return f"督办通知 {m['notice_no']}（第{m['level']}级）：{m['reason']}"[:300]

    def _due_note(self, r) -> str:
        m = r._mapping
        missed, first, last = int(m["missed"] or 0), m["due_date"], m["last_due"]
        if missed > 1:
            return f"已有 {missed} 期进展未报送（最早一期应于 {first.isoformat()} 前报送），报送最新进展即可"
        if missed == 1:
            return f"已逾期未报，本期进展应于 {first.isoformat()} 前报送"
        return f"本期进展应于 {last.isoformat()} 前报送"

    def department(self, dep: int) -> list[Section]:
        """What a department clerk must do: the department inbox's sections, plus the day's 催办 and 督办."""
        late = lambda r: self._late_note(r.Task)  # noqa: E731
        t = self._tasks
        return [
            self._section("acknowledge", "待签收", t.get((dep, "acknowledge")), late, "/dept/"),
            self._section("returned", "被退回", t.get((dep, "returned")), late, "/dept/"),
            self._section("overdue", "已逾期", t.get((dep, "overdue")), late, "/dept/tasks?overdue=1"),
            self._section("due_soon", "即将到期", t.get((dep, "due_soon")), late, "/dept/tasks?due_soon=1"),
            self._section("report_due", "应报送进展", self._dues.get((dep,)), self._due_note),
            self._section(
                "reminders",
                "催办",
                self._reminders.get((dep,)),
                lambda r: (r._mapping["message"] or "请抓紧办理并及时反馈")[:300],
            ),
            self._section("escalations", "督办通知", self._esc.get((dep,)), self._esc_note),
        ]

    def head(self, dep: int, user_id: int) -> list[Section]:
        """单位负责人: the escalations whose rung reached them and the department's overdue list."""
        reached = self._reached_by(user_id)
        return [
            self._escalations("督办通知（单位负责人）", [Escalation.id.in_(reached)])
            if reached
            else Section("escalations", "督办通知（单位负责人）"),
            self._section(
                "overdue",
                "本单位逾期事项",
                self._head_overdue.get((dep,)),
                lambda r: self._late_note(r.Task),
                "/dept/tasks?overdue=1",
            ),
        ]

    def leader(self, leader_id: int, user_id: int) -> list[Section]:
        if ("leader", leader_id, user_id) in self._cache:
            return self._cache[("leader", leader_id, user_id)]
        reached = self._reached_by(user_id)
        vis = visible_clause(Actor(None, "", Role.LEADER, leader_id=leader_id))
        out = [
            self.tasks("approval", "待审批交办", [vis, Task.status == Status.PENDING_APPROVAL.value], more="/leader/"),
            self.tasks("overdue", "分管逾期事项", [vis, is_overdue(self.h)], more="/leader/"),
            self.tasks("due_soon", "分管临期事项", [vis, is_due_soon(self.h)], more="/leader/"),
            self._escalations("督办至责任领导", [Escalation.id.in_(reached)])
            if reached
            else Section("escalations", "督办至责任领导"),
        ]
        self._cache[("leader", leader_id, user_id)] = out
        return out

    def office(self) -> list[Section]:
        """督查室: counts with links rather than task lists (the office sees everything)."""
        if ("office",) in self._cache:
            return self._cache[("office",)]
        s = self.s
        closes = (
            s.scalar(
                select(sa.func.count())
                .select_from(CloseRequest)
                .join(Task, Task.id == CloseRequest.task_id)
                .where(CloseRequest.status == RequestStatus.PENDING.value, Task.status == Status.PENDING_REVIEW.value)
            )
            or 0
        )
        extensions = (
            s.scalar(
                select(sa.func.count())
                .select_from(ExtensionRequest)
                .where(ExtensionRequest.status == RequestStatus.PENDING.value)
            )
            or 0
        )
        changes = {True: 0, False: 0}
        for kind, n in s.execute(
            select(ChangeRequest.kind, sa.func.count())
            .where(ChangeRequest.status == RequestStatus.PENDING.value)
            .group_by(ChangeRequest.kind)
        ).all():
            changes[kind == ChangeKind.REASSIGN.value] += n
        overdue = s.scalar(select(sa.func.count()).select_from(Task).where(is_overdue(self.h))) or 0
        failed = dict(
            s.execute(
                select(Delivery.status, sa.func.count())
                .where(Delivery.status.in_([FAILED, DEAD]))
                .group_by(Delivery.status)
            ).all()
        )
        review = Section("review", "待审核")
        for label, n in (
            ("办结申请", closes),
            ("延期申请", extensions),
            ("改派申请", changes.get(True, 0)),
            ("变更申请", changes.get(False, 0)),
        ):
            if n:
                review.items.append({"label": f"{label} {n} 项", "url": self.url("/office/review")})
                review.total += n
        late = Section("overdue", "逾期事项", total=overdue)
        if overdue:
            late.items.append({"label": f"全区逾期事项 {overdue} 项", "url": self.url("/office/tasks?overdue=1")})
        bad = Section("deliveries", "发送失败", total=sum(failed.values()))
        if bad.total:
            bad.items.append(
                {
                    "label": f"发送失败待重试 {failed.get(FAILED, 0)} 条，已放弃 {failed.get(DEAD, 0)} 条",
                    "url": self.url("/notifications/deliveries"),
                }
            )
        out = [review, late, bad]
        self._cache[("office",)] = out
        return out

    def for_user(self, user: User) -> tuple[str, list[Section]] | None:
        if user.role == Role.CLERK and user.department_id is not None:
            if user.is_head:
                return "head", self.head(user.department_id, user.id)
            return "department", self.department(user.department_id)
        if user.role == Role.LEADER and user.leader_id is not None:
            return "leader", self.leader(user.leader_id, user.id)
        if user.role == Role.SUPERVISOR:
            return "office", self.office()
        return None  # administrators have no business with tasks


# --- rendering ---------------------------------------------------------------------------


def _date_cn(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def digest_title(day: date, sections: list[dict]) -> str:
    parts = "、".join(f"{s['title']}{s['total']}" for s in sections if s["total"])
    return f"督办每日提醒（{_date_cn(day)}）：{parts}"[:200]


def _item_line(item: dict) -> tuple[str, str]:
    text = item.get("label") or f"{item.get('code', '')} {item.get('title', '')}".strip()
    if item.get("note"):
        text += f"（{item['note']}）"
    return text, item.get("url", "")


def render_text(title: str, payload: dict) -> str:
    """Plain text for the inbox and e-mail: each item with its link on the next line."""
    lines = [title, ""]
    for sec in payload.get("sections", []):
        if not sec["total"]:
            continue
        lines.append(f"【{sec['title']}】{sec['total']} 项")
        for item in sec["items"]:
            text, url = _item_line(item)
            lines.append(f"- {text}")
            if url:
                lines.append(f"  {url}")
        if sec.get("more_url"):
            lines.append(f"  另有 {sec['total'] - len(sec['items'])} 项：{sec['more_url']}")
        lines.append("")
    lines.append("本消息由督查督办平台自动发送，请勿直接回复。")
    return "\n".join(lines)


def render_markdown(title: str, payload: dict | None, body: str = "") -> str:
    """Markdown both robots render: headings, bold and [text](url) links."""
    if not payload or not payload.get("sections"):
        return f"### {title}\n{body}"
    lines = [f"### {title}"]
    for sec in payload["sections"]:
        if not sec["total"]:
            continue
        lines.append(f"**{sec['title']}（{sec['total']}项）**")
        for item in sec["items"]:
            text, url = _item_line(item)
            lines.append(f"- [{text}]({url})" if url else f"- {text}")
        if sec.get("more_url"):
            lines.append(f"- [另有 {sec['total'] - len(sec['items'])} 项]({sec['more_url']})")
    return "\n".join(lines)


# --- building digests -----------------------------------------------------------------------


def digest_key(user_id: int, day: date) -> str:
    return f"digest:{user_id}:{day.isoformat()}"


def _items(payload: dict) -> frozenset[tuple]:
    """What a digest asks of its reader: every listed task with its section, its note (今日到期,
    已有 3 期进展未报送, the day's 催办) and the section's size."""
    return frozenset(
        (sec["key"], sec.get("total", 0), item.get("task_id") or 0, item.get("note", ""))
        for sec in payload.get("sections", [])
        for item in sec.get("items", [])
    )


def _previous_items(session: Session, day: date) -> dict[int, frozenset]:
    """Each user's last digest before ``day``, as ``_items``: a digest that would say the same
    again is not sent."""
    last = (
        select(sa.func.max(Notification.id).label("id"))
        .where(Notification.kind == "digest", Notification.day < day)
        .group_by(Notification.user_id)
        .subquery()
    )
    rows = session.execute(select(Notification.user_id, Notification.payload).join(last, last.c.id == Notification.id))
    return {user_id: _items(payload or {}) for user_id, payload in rows}


def build_digests(session: Session, day: date, *, settings: Settings | None = None) -> dict[str, int]:
    """One digest per active user for ``day`` (a working day only), with its deliveries.

    Returns counts: ``created`` digests, ``existing`` (already there: a second or a
    concurrent run), ``empty`` (nothing to say, no digest), ``unchanged`` (the same list as the
    user's last digest: nothing new, no digest), ``emails`` and ``webhooks``
    deliveries queued, and ``skipped`` = 1 on a non-working day. Flushes; the caller commits.
    """
    settings = resolve_settings(settings)
    counts = {"created": 0, "existing": 0, "empty": 0, "unchanged": 0, "emails": 0, "webhooks": 0, "skipped": 0}
    if not load_calendar(session).is_workday(day):
        counts["skipped"] = 1
        return counts
    reader = _Reader(session, day, settings)
    users = session.exec(select(User).where(User.active, User.role != Role.ADMIN.value).order_by(User.id)).all()
    # The group robot of a department (or of the office) gets one digest a day: the department
    # clerks' shared content, attached to its lowest-id clerk's digest so that reruns pick the same one.
    channels: dict[int | None, list[NotificationChannel]] = {}
    for ch in session.exec(select(NotificationChannel).where(NotificationChannel.active)).all():
        channels.setdefault(ch.department_id, []).append(ch)
    channel_owner: dict[int | None, int] = {}
    for u in users:
        if u.role == Role.CLERK and not u.is_head and u.department_id is not None:
            channel_owner.setdefault(u.department_id, u.id)
        elif u.role == Role.SUPERVISOR:
            channel_owner.setdefault(None, u.id)
    key_ids: dict[str, int] = {}
    if users:
        keys = [digest_key(u.id, day) for u in users]
        for i in range(0, len(keys), 500):
            key_ids.update(
                session.execute(
                    select(Notification.key, Notification.id).where(Notification.key.in_(keys[i : i + 500]))
                ).all()
            )
    # Read only what the users still without today's digest need (a rerun reads next to nothing).
    reader._load_departments(
        {
            u.department_id
            for u in users
            if u.role == Role.CLERK and u.department_id and digest_key(u.id, day) not in key_ids
        }
    )
    previous = _previous_items(session, day)
    rows, wanted = [], {}
    for user in users:
        key = digest_key(user.id, day)
        if key in key_ids:
            counts["existing"] += 1
            continue
        found = reader.for_user(user)
        if found is None:
            continue
        audience, sections = found
        payload = {"audience": audience, "day": day.isoformat(), "sections": [s.as_dict() for s in sections]}
        if not any(s.total for s in sections):
            counts["empty"] += 1
            continue
        if _items(payload) == previous.get(user.id):  # the same list as last time: nothing new
            counts["unchanged"] += 1
            continue
        title = digest_title(day, payload["sections"])
        rows.append(
            dict(
                user_id=user.id,
                kind="digest",
                key=key,
                day=day,
                title=title,
                body=render_text(title, payload),
                payload=payload,
                created_at=clock.now(),
                read_at=None,
            )
        )
        wanted[key] = user
    created = insert_ignore_many(session, Notification.__table__, rows, ["key"], "key")
    counts["created"] = len(created)
    counts["existing"] += len(rows) - len(created)  # another process wrote them since we looked
    deliveries = []
    for nid, key in created.items():
        user = wanted[key]
        if user.email and smtp_configured(settings):
            deliveries.append(("email", nid, user.email))
        owner_of = None if user.role == Role.SUPERVISOR else user.department_id
        if channel_owner.get(owner_of) == user.id:
            deliveries += [("webhook", nid, str(ch.id)) for ch in channels.get(owner_of, [])]
    now = clock.now()
    made = insert_ignore_many(
        session,
        Delivery.__table__,
        [
            dict(
                notification_id=nid,
                channel=channel,
                target=target,
                status=PENDING,
                attempts=0,
                next_attempt_at=None,
                last_error="",
                sent_at=None,
                created_at=now,
            )
            for channel, nid, target in deliveries
        ],
        ["notification_id", "channel", "target"],
        "channel",
    )
    counts["emails"] = sum(1 for c in made.values() if c == "email")
    counts["webhooks"] = len(made) - counts["emails"]
    session.flush()
    return counts
