"""Notifications: the daily digest, immediate messages, and the delivery queue.

Issue 5: "one digest per user per day that lists everything due, late or
waiting for them … never on a non-working day, never twice … even when two
scheduler processes run at once". So:

* a digest is a ``Notification`` with the key ``digest:<user>:<day>``; rows are
  written with ``INSERT … ON CONFLICT DO NOTHING`` (PostgreSQL and SQLite), so a
  second run, or a concurrent one from another process, creates nothing: the
  database decides, not memory. Its ``Delivery`` rows are written the same way
  against ``uq_delivery_once`` (notification × channel × target);
* what a digest lists is read with the shared derived-state SQL
  (``derived.py``, ``queries.py``), a bounded number of rows per section;
* ``deliver_pending`` is a queue worker: it claims one due delivery at a time
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never send the same
  one), sends it and commits its new state at once. Committing per delivery is
  deliberate: an e-mail or robot post cannot be taken back, so its outcome must
  be on record before the next send, or a crash would send it again.

Building is a normal service (flushes; the caller commits once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock
from tracker.config import Settings, load_settings
from tracker.db import is_postgres
from tracker.errors import NotFound, ValidationFailed
from tracker.models import (
    ChangeKind,
    ChangeRequest,
    CloseRequest,
    Delivery,
    Department,
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
from tracker.services import audit
from tracker.services.actors import UNPUBLISHED, Actor, visible_clause
from tracker.services.calendar import load_calendar
from tracker.services.channels import (
    FLAVOURS,
    DeliveryFailed,
    post_webhook,
    send_email,
    smtp_configured,
    webhook_payload,
)
from tracker.services.organisation import ladder_recipients
from tracker.workflow import Status

SECTION_LIMIT = 30  # items listed per section; the rest is a count and a link to the full list
# Back-off after the 1st..5th failure; the 6th failure makes a delivery "dead" (shown to the office).
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
           timedelta(hours=6))
MAX_ATTEMPTS = len(BACKOFF) + 1

PENDING, SENDING, SENT, FAILED, DEAD = "pending", "sending", "sent", "failed", "dead"
STATUS_LABELS = {PENDING: "待发送", SENDING: "发送中", SENT: "已发送", FAILED: "失败待重试", DEAD: "已放弃"}
LEASE = timedelta(minutes=15)  # a "sending" row whose worker died is due again after this
CHANNEL_LABELS = {"email": "电子邮件", "webhook": "群机器人"}
KIND_LABELS = {"digest": "每日提醒", "reminder": "催办", "escalation": "督办", "schedule": "调度",
               "bulletin": "通报", "system": "系统消息"}

TASK_PATH = "/tasks/{id}"  # tracker.web.tasks: the task page


def _settings(settings: Settings | None) -> Settings:
    """The app's settings inside an app context (web, CLI, scheduler), else the environment."""
    if settings is not None:
        return settings
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app.config["TRACKER"]
    return load_settings()


# --- idempotent inserts -------------------------------------------------------------


def _insert_ignore(session: Session, table: sa.Table, values: dict, conflict: list[str]) -> int | None:
    """Insert a row unless one with the same unique ``conflict`` columns exists; the new id or None.

    The database arbitrates: a concurrent transaction inserting the same key waits
    for ours and then inserts nothing."""
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(table).values(**values).on_conflict_do_nothing(index_elements=conflict)
        return session.execute(stmt.returning(table.c.id)).scalar()
    try:  # other databases: a savepoint and the unique constraint
        with session.begin_nested():
            return session.execute(sa.insert(table).values(**values).returning(table.c.id)).scalar()
    except sa.exc.IntegrityError:
        return None


def _insert_ignore_many(session: Session, table: sa.Table, rows: list[dict], conflict: list[str],
                        label: str, chunk: int = 500) -> dict:
    """``_insert_ignore`` for many rows, a chunk per statement: {id: row[label]} of the rows
    actually inserted (on other databases, one savepoint per row)."""
    out: dict = {}
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        for row in rows:
            new_id = _insert_ignore(session, table, row, conflict)
            if new_id is not None:
                out[new_id] = row[label]
        return out
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    # executemany with RETURNING: SQLAlchemy batches it into multi-row INSERTs ("insertmanyvalues")
    # without compiling a statement per chunk
    stmt = insert(table).on_conflict_do_nothing(index_elements=conflict).returning(table.c.id, table.c[label])
    for i in range(0, len(rows), chunk):
        out.update({new_id: value for new_id, value in session.execute(stmt, rows[i:i + chunk]).all()})
    return out


def _add_notification(session: Session, *, user_id: int, kind: str, title: str, body: str, key: str | None,
                      payload: dict | None, day: date) -> int | None:
    values = dict(user_id=user_id, kind=kind, key=key, day=day, title=title[:200], body=body,
                  payload=payload, created_at=clock.now(), read_at=None)
    if key is None:
        return session.execute(sa.insert(Notification.__table__).values(**values)
                               .returning(Notification.__table__.c.id)).scalar()
    return _insert_ignore(session, Notification.__table__, values, ["key"])


def _add_delivery(session: Session, notification_id: int, channel: str, target: str) -> int | None:
    values = dict(notification_id=notification_id, channel=channel, target=target, status=PENDING, attempts=0,
                  next_attempt_at=None, last_error="", sent_at=None, created_at=clock.now())
    return _insert_ignore(session, Delivery.__table__, values, ["notification_id", "channel", "target"])


# --- what a digest says ----------------------------------------------------------------


@dataclass
class Section:
    key: str
    title: str
    total: int = 0
    items: list[dict] = field(default_factory=list)
    more_url: str = ""  # the full list, when there are more than SECTION_LIMIT

    def as_dict(self) -> dict:
        return {"key": self.key, "title": self.title, "total": self.total, "items": self.items,
                "more_url": self.more_url}


def _returned_clause() -> sa.ColumnElement[bool]:
    """退回: the latest close request was returned and the task is back in progress
    (the department inbox's definition, tracker/web/department.py)."""
    latest = (select(CloseRequest.status).where(CloseRequest.task_id == Task.id)
              .order_by(CloseRequest.id.desc()).limit(1).correlate(Task).scalar_subquery())
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
        return {"task_id": t.id, "code": t.code, "title": t.title,
                "due_date": t.due_date.isoformat() if t.due_date else "", "url": self.url(TASK_PATH.format(id=t.id)),
                "note": note}

    def tasks(self, key: str, title: str, where: list, *, more: str = "", seen: set[int] | None = None,
              order=None) -> Section:
        """A section of tasks: one bounded SELECT that also counts every match."""
        clauses = list(where)
        if seen:
            clauses.append(Task.id.not_in(seen))
        sec = Section(key, title)
        rows, sec.total = self._bounded(select(Task).where(*clauses).order_by(
            *(order or (Task.due_date.asc().nulls_last(), Task.id.asc()))))
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
            rows = [dict(r._mapping) for r in self.s.execute(
                select(Escalation.id, Escalation.level, Escalation.task_id, Escalation.department_id)
                .where(Escalation.created_at >= self.since, Escalation.created_at < self.until))]
            self._reached = {}
            for eid, users in (ladder_recipients(self.s, rows) if rows else {}).items():
                for uid in users:
                    self._reached.setdefault(uid, []).append(eid)
        return self._reached.get(user_id, [])

    def _escalations(self, title: str, where: list) -> Section:
        sec = Section("escalations", title)
        clauses = [Escalation.created_at >= self.since, Escalation.created_at < self.until, *where]
        rows, sec.total = self._bounded(select(Escalation, Task).join(Task, Task.id == Escalation.task_id)
                                        .where(*clauses).order_by(Escalation.level.desc(), Escalation.id))
        if rows:
            sec.items = [self._task_item(t, f"督办通知 {e.notice_no}（第{e.level}级）：{e.reason}"[:300])
                         for e, t in rows]
        return sec

    # -- audiences --

    def _top_per_group(self, stmt, groups: list[str], order) -> dict[tuple, tuple[list, int]]:
        """For every group (e.g. department × section) its first SECTION_LIMIT rows and its
        size, in ONE query over all groups: a digest run costs a handful of queries for the
        whole district instead of a dozen per department. ``stmt`` selects labelled columns,
        among them the ``groups``, ``task_id`` and what ``order(columns)`` sorts on."""
        sub = stmt.subquery()
        part = [sub.c[g] for g in groups]
        ranked = select(sub, sa.func.row_number().over(partition_by=part, order_by=order(sub.c)).label("rn"),
                        sa.func.count().over(partition_by=part).label("total")).subquery()
        out: dict[tuple, tuple[list, int]] = {}
        for row in self.s.execute(select(ranked, Task).join(Task, Task.id == ranked.c.task_id)
                                  .where(ranked.c.rn <= SECTION_LIMIT)
                                  .order_by(*[ranked.c[g] for g in groups], ranked.c.rn)).all():
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
            select(Task.id.label("task_id"), Task.lead_department_id.label("dep"))
            .where(Task.lead_department_id.in_(deps)),
            select(TaskAssist.task_id.label("task_id"), TaskAssist.department_id.label("dep"))
            .where(TaskAssist.department_id.in_(deps)),
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
        base = (select(Task.id.label("task_id"), pairs.c.dep.label("dep"), Task.due_date.label("due_date"))
                .join(pairs, pairs.c.task_id == Task.id).where(Task.status.not_in(UNPUBLISHED)))
        self._tasks = self._top_per_group(
            base.add_columns(section.label("section")).where(
                sa.or_(sa.and_(is_lead, Task.status == Status.ASSIGNED.value), sa.and_(is_lead, _returned_clause()),
                       is_overdue(h), is_due_soon(h))),
            ["dep", "section"], by_due)
        self._head_overdue = self._top_per_group(base.where(is_overdue(h)), ["dep"], by_due)
        self._dues = self._top_per_group(
            select(ReportDue.task_id.label("task_id"), Task.lead_department_id.label("dep"),
                   ReportDue.due_date.label("due_date"), ReportDue.id.label("rid"))
            .join(Task, Task.id == ReportDue.task_id)
            .where(ReportDue.met_on.is_(None), ReportDue.due_date <= h.soon_until, is_running(),
                   Task.lead_department_id.in_(deps)),
            ["dep"], lambda c: (c.due_date.asc(), c.rid.asc()))
        self._reminders = self._top_per_group(
            select(Reminder.task_id.label("task_id"), Reminder.department_id.label("dep"),
                   Reminder.id.label("rid"), Reminder.message.label("message"))
            .where(Reminder.day == self.day, Reminder.department_id.in_(deps)),
            ["dep"], lambda c: (c.rid.asc(),))
        esc = (select(Escalation.task_id.label("task_id"), Escalation.department_id.label("dep"),
                      Escalation.id.label("eid"), Escalation.level.label("level"),
                      Escalation.notice_no.label("notice_no"), Escalation.reason.label("reason"))
               .where(Escalation.created_at >= self.since, Escalation.created_at < self.until,
                      Escalation.department_id.in_(deps)))
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
        due = r._mapping["due_date"]
        return ("已逾期未报，" if due < self.day else "") + f"本期进展应于 {due.isoformat()} 前报送"

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
            self._section("reminders", "催办", self._reminders.get((dep,)),
                          lambda r: (r._mapping["message"] or "请抓紧办理并及时反馈")[:300]),
            self._section("escalations", "督办通知", self._esc.get((dep,)), self._esc_note),
        ]

    def head(self, dep: int, user_id: int) -> list[Section]:
        """单位负责人: the escalations whose rung reached them and the department's overdue list."""
        reached = self._reached_by(user_id)
        return [
            self._escalations("督办通知（单位负责人）", [Escalation.id.in_(reached)]) if reached
            else Section("escalations", "督办通知（单位负责人）"),
            self._section("overdue", "本单位逾期事项", self._head_overdue.get((dep,)),
                          lambda r: self._late_note(r.Task), "/dept/tasks?overdue=1"),
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
            self._escalations("督办至责任领导", [Escalation.id.in_(reached)]) if reached
            else Section("escalations", "督办至责任领导"),
        ]
        self._cache[("leader", leader_id, user_id)] = out
        return out

    def office(self) -> list[Section]:
        """督查室: counts with links rather than task lists (the office sees everything)."""
        if ("office",) in self._cache:
            return self._cache[("office",)]
        s = self.s
        closes = s.scalar(select(sa.func.count()).select_from(CloseRequest).join(Task, Task.id == CloseRequest.task_id)
                          .where(CloseRequest.status == RequestStatus.PENDING.value,
                                 Task.status == Status.PENDING_REVIEW.value)) or 0
        extensions = s.scalar(select(sa.func.count()).select_from(ExtensionRequest)
                              .where(ExtensionRequest.status == RequestStatus.PENDING.value)) or 0
        changes = {True: 0, False: 0}
        for kind, n in s.execute(select(ChangeRequest.kind, sa.func.count())
                                 .where(ChangeRequest.status == RequestStatus.PENDING.value)
                                 .group_by(ChangeRequest.kind)).all():
            changes[kind == ChangeKind.REASSIGN.value] += n
        overdue = s.scalar(select(sa.func.count()).select_from(Task).where(is_overdue(self.h))) or 0
        failed = dict(s.execute(select(Delivery.status, sa.func.count())
                                .where(Delivery.status.in_([FAILED, DEAD])).group_by(Delivery.status)).all())
        review = Section("review", "待审核")
        for label, n in (("办结申请", closes), ("延期申请", extensions), ("改派申请", changes.get(True, 0)),
                         ("变更申请", changes.get(False, 0))):
            if n:
                review.items.append({"label": f"{label} {n} 项", "url": self.url("/office/review")})
                review.total += n
        late = Section("overdue", "逾期事项", total=overdue)
        if overdue:
            late.items.append({"label": f"全区逾期事项 {overdue} 项", "url": self.url("/office/tasks?overdue=1")})
        bad = Section("deliveries", "发送失败", total=sum(failed.values()))
        if bad.total:
            bad.items.append({"label": f"发送失败待重试 {failed.get(FAILED, 0)} 条，已放弃 {failed.get(DEAD, 0)} 条",
                              "url": self.url("/notifications/deliveries")})
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


def build_digests(session: Session, day: date, *, settings: Settings | None = None) -> dict[str, int]:
    """One digest per active user for ``day`` (a working day only), with its deliveries.

    Returns counts: ``created`` digests, ``existing`` (already there: a second or a
    concurrent run), ``empty`` (nothing to say, no digest), ``emails`` and ``webhooks``
    deliveries queued, and ``skipped`` = 1 on a non-working day. Flushes; the caller commits.
    """
    settings = _settings(settings)
    counts = {"created": 0, "existing": 0, "empty": 0, "emails": 0, "webhooks": 0, "skipped": 0}
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
            key_ids.update(session.execute(select(Notification.key, Notification.id)
                                           .where(Notification.key.in_(keys[i:i + 500]))).all())
    # Read only what the users still without today's digest need (a rerun reads next to nothing).
    reader._load_departments({u.department_id for u in users if u.role == Role.CLERK and u.department_id
                              and digest_key(u.id, day) not in key_ids})
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
        title = digest_title(day, payload["sections"])
        rows.append(dict(user_id=user.id, kind="digest", key=key, day=day, title=title,
                         body=render_text(title, payload), payload=payload, created_at=clock.now(), read_at=None))
        wanted[key] = user
    created = _insert_ignore_many(session, Notification.__table__, rows, ["key"], "key")
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
    made = _insert_ignore_many(session, Delivery.__table__, [
        dict(notification_id=nid, channel=channel, target=target, status=PENDING, attempts=0, next_attempt_at=None,
             last_error="", sent_at=None, created_at=now) for channel, nid, target in deliveries],
        ["notification_id", "channel", "target"], "channel")
    counts["emails"] = sum(1 for c in made.values() if c == "email")
    counts["webhooks"] = len(made) - counts["emails"]
    session.flush()
    return counts


def notify_user(session: Session, user_id: int, kind: str, title: str, body: str, *, key: str | None = None,
                payload: dict | None = None, day: date | None = None,
                settings: Settings | None = None) -> Notification | None:
    """An immediate message to one user's inbox (and e-mail, when they have an address).

    ``key`` makes it idempotent in the database: None is returned when a message
    with that key exists already (e.g. ``escalation:<id>``). Flushes; the caller commits."""
    settings = _settings(settings)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"用户不存在：{user_id}")
    if not title.strip():
        raise ValidationFailed("消息标题不能为空", fields={"title": "消息标题不能为空"})
    nid = _add_notification(session, user_id=user_id, kind=kind[:20], title=title, body=body, key=key,
                            payload=payload, day=day or clock.today())
    if nid is None:
        return None
    if user.active and user.email and smtp_configured(settings):
        _add_delivery(session, nid, "email", user.email)
    session.flush()
    return session.get(Notification, nid)


def notify_many(session: Session, messages: list[dict], *, settings: Settings | None = None) -> int:
    """``notify_user`` for a batch of keyed messages, a few statements per 500: the first
    escalation run of a large district sends tens of thousands at once.

    Each message is a dict of user_id, kind, title, body, key (required: it keeps the
    batch idempotent), payload and day. Returns how many were new. Flushes; the caller
    commits."""
    if not messages:
        return 0
    settings = _settings(settings)
    now, today = clock.now(), clock.today()
    rows = []
    for m in messages:
        if not m.get("key") or not str(m.get("title", "")).strip():
            raise ValidationFailed("批量消息须有标题和唯一标识", fields={"key": "缺少消息标识"})
        rows.append(dict(user_id=m["user_id"], kind=m["kind"][:20], key=m["key"], day=m.get("day") or today,
                         title=m["title"][:200], body=m.get("body", ""), payload=m.get("payload"),
                         created_at=now, read_at=None))
    made = _insert_ignore_many(session, Notification.__table__, rows, ["key"], "user_id")
    if made and smtp_configured(settings):
        users = {u: e for part in _chunks(sorted(set(made.values())), 900)
                 for u, e in session.execute(select(User.id, User.email).where(
                     User.id.in_(part), User.active.is_(True), User.email != "")).all()}
        deliveries = [dict(notification_id=nid, channel="email", target=users[uid], status=PENDING, attempts=0,
                           next_attempt_at=None, last_error="", sent_at=None, created_at=now)
                      for nid, uid in made.items() if users.get(uid)]
        _insert_ignore_many(session, Delivery.__table__, deliveries, ["notification_id", "channel", "target"],
                            "notification_id")
    session.flush()
    return len(made)


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


# --- the delivery queue ---------------------------------------------------------------------


def _due_clause(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(Delivery.status == PENDING,
                  sa.and_(Delivery.status.in_([FAILED, SENDING]), Delivery.next_attempt_at <= now))


def _claim(session: Session, now: datetime, pg: bool) -> int | None:
    """Take the oldest due delivery: one UPDATE … WHERE id = (SELECT … LIMIT 1 [FOR UPDATE SKIP
    LOCKED]) RETURNING id, committed at once. The row is then "sending" with a lease: if this
    process dies mid-send, the row is due again when the lease runs out, never lost.

    On PostgreSQL SKIP LOCKED lets a second worker pass over the row the first one is claiming;
    on SQLite the single statement takes the write lock before it reads, so two workers serialise."""
    pick = select(Delivery.id).where(_due_clause(now)).order_by(Delivery.id).limit(1)
    if pg:
        pick = pick.with_for_update(skip_locked=True)
    table = Delivery.__table__
    stmt = (sa.update(table).where(table.c.id == pick.scalar_subquery())
            .values(status=SENDING, attempts=table.c.attempts + 1, next_attempt_at=now + LEASE)
            .returning(table.c.id))
    claimed = session.execute(stmt).scalar()
    session.commit()
    return claimed


def _send(session: Session, d: Delivery, settings: Settings) -> None:
    note = session.get(Notification, d.notification_id)
    if note is None:
        raise DeliveryFailed("消息已删除")
    if d.channel == "email":
        send_email(settings, d.target, note.title, note.body)
        return
    if d.channel == "webhook":
        ch = session.get(NotificationChannel, int(d.target)) if d.target.isdigit() else None
        if ch is None or not ch.active:
            raise DeliveryFailed("群机器人已删除或停用")
        title = note.title
        post_webhook(ch.url, webhook_payload(ch.flavour, title, render_markdown(title, note.payload, note.body)),
                     settings.webhook_timeout)
        return
    raise DeliveryFailed(f"未知的发送渠道：{d.channel}")


def deliver_pending(session: Session, now: datetime | None = None, *, settings: Settings | None = None,
                    limit: int = 1000) -> dict[str, int]:
    """Send pending deliveries and failed ones whose retry time has come.

    COMMITS at each state change (see the module docstring): call it with a session of
    its own (the scheduler job or the CLI), never inside a request's unit of work.
    """
    settings = _settings(settings)
    now = now or clock.now()
    counts = {"sent": 0, "failed": 0, "dead": 0}
    session.commit()  # start from a clean transaction: nothing of the caller's rides along later
    pg = is_postgres(session)
    for _ in range(limit):
        claimed = _claim(session, now, pg)
        if claimed is None:
            break
        d = session.get(Delivery, claimed, populate_existing=True)
        try:
            _send(session, d, settings)
        except DeliveryFailed as exc:
            d.last_error = exc.reason
            if d.attempts >= MAX_ATTEMPTS:
                d.status, d.next_attempt_at = DEAD, None
                counts["dead"] += 1
            else:
                d.status, d.next_attempt_at = FAILED, now + BACKOFF[d.attempts - 1]
                counts["failed"] += 1
        else:
            d.status, d.sent_at, d.next_attempt_at, d.last_error = SENT, clock.now(), None, ""
            counts["sent"] += 1
        session.add(d)
        session.commit()
    return counts


def retry_delivery(session: Session, actor: Actor, delivery_id: int) -> Delivery:
    """The office re-queues a failed or dead delivery (a fresh round of attempts)."""
    _office(actor)
    d = session.get(Delivery, delivery_id)
    if d is None:
        raise NotFound("发送记录不存在")
    if d.status in (SENT, SENDING, PENDING):
        raise ValidationFailed(f"该消息{STATUS_LABELS[d.status]}，无需重试", fields={"status": STATUS_LABELS[d.status]})
    before = {"status": d.status, "attempts": d.attempts}
    d.status, d.attempts, d.next_attempt_at = PENDING, 0, None
    session.add(d)
    audit.record(session, actor, "retry_delivery", entity="delivery", entity_id=d.id, before=before,
                 after={"status": d.status, "attempts": 0})
    session.flush()
    return d


# --- reading for the pages --------------------------------------------------------------------


def unread_count_of(user_id) -> sa.ScalarSelect:
    """How many unread messages ``user_id`` (a value or a column) has, as a scalar subquery: the
    page's user is loaded with it in one statement (``tracker.web.auth``)."""
    return (select(sa.func.count()).select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None)).scalar_subquery())


def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(select(unread_count_of(user_id))) or 0


def inbox(session: Session, user_id: int, *, page: int = 1, per_page: int = 20) -> tuple[list[Notification], int]:
    total = session.scalar(select(sa.func.count()).select_from(Notification)
                           .where(Notification.user_id == user_id)) or 0
    rows = session.exec(select(Notification).where(Notification.user_id == user_id)
                        .order_by(Notification.created_at.desc(), Notification.id.desc())
                        .limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
    return list(rows), total


def mark_read(session: Session, actor: Actor, notification_id: int | None = None) -> int:
    """Mark one of the actor's messages (or all of them) read; the number changed.

    Reading one's own inbox is not a business change, so no audit event is written."""
    stmt = sa.update(Notification).where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
    if notification_id is not None:
        if session.scalar(select(Notification.user_id).where(Notification.id == notification_id)) != actor.user_id:
            raise NotFound("消息不存在")
        stmt = stmt.where(Notification.id == notification_id)
    n = session.execute(stmt.values(read_at=clock.now())).rowcount or 0
    session.flush()
    return n


def deliveries(session: Session, *, limit: int = 200) -> list[Any]:
    """The office's view: dead and failed first, then pending, then the latest sent."""
    order = sa.case((Delivery.status == DEAD, 0), (Delivery.status == FAILED, 1),
                    (Delivery.status.in_([PENDING, SENDING]), 2), else_=3)
    return session.execute(
        select(Delivery, Notification.title, User.display_name)
        .join(Notification, Notification.id == Delivery.notification_id)
        .join(User, User.id == Notification.user_id)
        .order_by(order, Delivery.id.desc()).limit(limit)).all()


def delivery_counts(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Delivery.status, sa.func.count()).group_by(Delivery.status)).all())


# --- channels and e-mail addresses (admin) -------------------------------------------------------


def _office(actor: Actor) -> None:
    from tracker.errors import NotPermitted

    if actor.role != Role.SUPERVISOR:
        raise NotPermitted("仅督查室可以执行此操作")


def _admin(actor: Actor) -> None:
    from tracker.errors import NotPermitted

    if actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise NotPermitted("仅督查室或系统管理员可以维护群机器人")


def _channel_fields(session: Session, name: str, flavour: str, url: str, department_id: int | None) -> dict:
    name, url = (name or "").strip(), (url or "").strip()
    fields: dict[str, str] = {}
    if not name:
        fields["name"] = "名称不能为空"
    elif len(name) > 60:
        fields["name"] = "名称不能超过 60 个字"
    if flavour not in FLAVOURS:
        fields["flavour"] = "请选择机器人类型（企业微信或钉钉）"
    if not url.startswith(("http://", "https://")):
        fields["url"] = "Webhook 地址应以 http:// 或 https:// 开头"
    elif len(url) > 500 or any(c.isspace() for c in url):
        fields["url"] = "Webhook 地址过长或含空格"
    if department_id is not None and session.get(Department, department_id) is None:
        fields["department_id"] = "单位不存在"
    if fields:
        raise ValidationFailed("群机器人信息有误：" + "；".join(fields.values()), fields=fields)
    return {"name": name, "flavour": flavour, "url": url, "department_id": department_id}


def create_channel(session: Session, actor: Actor, *, name: str, flavour: str, url: str,
                   department_id: int | None) -> NotificationChannel:
    _admin(actor)
    data = _channel_fields(session, name, flavour, url, department_id)
    ch = NotificationChannel(kind="webhook", **data)
    session.add(ch)
    session.flush()
    audit.record(session, actor, "create_channel", entity="notificationchannel", entity_id=ch.id, after=data)
    return ch


def update_channel(session: Session, actor: Actor, channel_id: int, *, name: str, flavour: str, url: str,
                   department_id: int | None) -> NotificationChannel:
    _admin(actor)
    ch = get_channel(session, channel_id)
    data = _channel_fields(session, name, flavour, url, department_id)
    before = {k: getattr(ch, k) for k in data}
    for k, v in data.items():
        setattr(ch, k, v)
    session.add(ch)
    audit.record(session, actor, "update_channel", entity="notificationchannel", entity_id=ch.id, before=before,
                 after=data)
    session.flush()
    return ch


def set_channel_active(session: Session, actor: Actor, channel_id: int, active: bool) -> NotificationChannel:
    _admin(actor)
    ch = get_channel(session, channel_id)
    if ch.active != active:
        audit.record(session, actor, "enable_channel" if active else "disable_channel",
                     entity="notificationchannel", entity_id=ch.id, before={"active": ch.active},
                     after={"active": active})
        ch.active = active
        session.add(ch)
        session.flush()
    return ch


def send_test_message(session: Session, actor: Actor, channel_id: int, *, settings: Settings | None = None) -> None:
    """Post a test message to a robot at once, so whoever enters the URL sees that it works.

    Raises ValidationFailed with the robot's answer (bad key, keyword missing, unreachable)."""
    _admin(actor)
    settings = _settings(settings)
    ch = get_channel(session, channel_id)
    title = "督查督办平台测试消息"
    text = f"### {title}\n群机器人“{ch.name}”已接入，每个工作日将在此推送督办每日提醒。"
    try:
        post_webhook(ch.url, webhook_payload(ch.flavour, title, text), settings.webhook_timeout)
    except DeliveryFailed as exc:
        raise ValidationFailed(f"测试消息发送失败：{exc.reason}", fields={"url": exc.reason}) from exc
    audit.record(session, actor, "test_channel", entity="notificationchannel", entity_id=ch.id)


def get_channel(session: Session, channel_id: int) -> NotificationChannel:
    ch = session.get(NotificationChannel, channel_id)
    if ch is None:
        raise NotFound("群机器人不存在")
    return ch


def set_user_email(session: Session, actor: Actor, user_id: int, email: str) -> User:
    """The administrator sets (or clears) the address a user's digests are e-mailed to."""
    from tracker.errors import NotPermitted

    if actor.role != Role.ADMIN:
        raise NotPermitted("仅系统管理员可以修改用户邮箱")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在")
    email = (email or "").strip()
    if email:
        local, at, domain = email.partition("@")
        if not at or not local or "." not in domain.strip(".") or any(c.isspace() or c in "<>,;\"" for c in email) \
                or len(email) > 120:
            raise ValidationFailed(f"电子邮箱格式不正确：{email}", fields={"email": "电子邮箱格式不正确"})
    if email != user.email:
        audit.record(session, actor, "set_email", entity="user", entity_id=user.id, before={"email": user.email},
                     after={"email": email})
        user.email = email
        session.add(user)
        session.flush()
    return user
