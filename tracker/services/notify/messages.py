"""Messages to users: writing them to the inbox, queuing their deliveries, and reading the inbox.

A message is a ``Notification`` row; each e-mail or robot post it should go out as is a
``Delivery`` row, which ``notify/queue.py`` then sends. Keyed messages (``digest:<user>:<day>``,
``escalation:<id>``) are written with ``INSERT … ON CONFLICT DO NOTHING`` (PostgreSQL and SQLite),
so a second run, or a concurrent one from another process, creates nothing: the database decides,
not memory. Deliveries are written the same way against ``uq_delivery_once`` (notification ×
channel × target).

A normal service: it flushes; the caller commits once.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock
from tracker.config import Settings, load_settings
from tracker.errors import NotFound, ValidationFailed
from tracker.models import Delivery, Notification, User
from tracker.services.actors import Actor
from tracker.services.notify.channels import smtp_configured

# The states of a Delivery: queued here as PENDING, moved along by delivery_queue.py.
PENDING, SENDING, SENT, FAILED, DEAD = "pending", "sending", "sent", "failed", "dead"
STATUS_LABELS = {PENDING: "待发送", SENDING: "发送中", SENT: "已发送", FAILED: "失败待重试", DEAD: "已放弃"}
CHANNEL_LABELS = {"email": "电子邮件", "webhook": "群机器人"}
KIND_LABELS = {
    "digest": "每日提醒",
    "reminder": "催办",
    "escalation": "督办",
    "schedule": "调度",
    "bulletin": "通报",
    "system": "系统消息",
}


def resolve_settings(settings: Settings | None) -> Settings:
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


def insert_ignore_many(
    session: Session, table: sa.Table, rows: list[dict], conflict: list[str], label: str, chunk: int = 500
) -> dict:
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
        out.update({new_id: value for new_id, value in session.execute(stmt, rows[i : i + chunk]).all()})
    return out


def _add_notification(
    session: Session,
    *,
    user_id: int,
    kind: str,
    title: str,
    body: str,
    key: str | None,
    payload: dict | None,
    day: date,
) -> int | None:
    values = dict(
        user_id=user_id,
        kind=kind,
        key=key,
        day=day,
        title=title[:200],
        body=body,
        payload=payload,
        created_at=clock.now(),
        read_at=None,
    )
    if key is None:
        return session.execute(
            sa.insert(Notification.__table__).values(**values).returning(Notification.__table__.c.id)
        ).scalar()
    return _insert_ignore(session, Notification.__table__, values, ["key"])


def _add_delivery(session: Session, notification_id: int, channel: str, target: str) -> int | None:
    values = dict(
        notification_id=notification_id,
        channel=channel,
        target=target,
        status=PENDING,
        attempts=0,
        next_attempt_at=None,
        last_error="",
        sent_at=None,
        created_at=clock.now(),
    )
    return _insert_ignore(session, Delivery.__table__, values, ["notification_id", "channel", "target"])


# --- writing messages ---------------------------------------------------------------------


def notify_user(
    session: Session,
    user_id: int,
    kind: str,
    title: str,
    body: str,
    *,
    key: str | None = None,
    payload: dict | None = None,
    day: date | None = None,
    settings: Settings | None = None,
) -> Notification | None:
    """An immediate message to one user's inbox (and e-mail, when they have an address).

    ``key`` makes it idempotent in the database: None is returned when a message
    with that key exists already (e.g. ``escalation:<id>``). Flushes; the caller commits."""
    settings = resolve_settings(settings)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"用户不存在：{user_id}")
    if not title.strip():
        raise ValidationFailed("消息标题不能为空", fields={"title": "消息标题不能为空"})
    nid = _add_notification(
        session,
        user_id=user_id,
        kind=kind[:20],
        title=title,
        body=body,
        key=key,
        payload=payload,
        day=day or clock.today(),
    )
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
    settings = resolve_settings(settings)
    now, today = clock.now(), clock.today()
    rows = []
    for m in messages:
        if not m.get("key") or not str(m.get("title", "")).strip():
            raise ValidationFailed("批量消息须有标题和唯一标识", fields={"key": "缺少消息标识"})
        rows.append(
            dict(
                user_id=m["user_id"],
                kind=m["kind"][:20],
                key=m["key"],
                day=m.get("day") or today,
                title=m["title"][:200],
                body=m.get("body", ""),
                payload=m.get("payload"),
                created_at=now,
                read_at=None,
            )
        )
    made = insert_ignore_many(session, Notification.__table__, rows, ["key"], "user_id")
    if made and smtp_configured(settings):
        users = {
            u: e
            for part in _chunks(sorted(set(made.values())), 900)
            for u, e in session.execute(
                select(User.id, User.email).where(User.id.in_(part), User.active.is_(True), User.email != "")
            ).all()
        }
        deliveries = [
            dict(
                notification_id=nid,
                channel="email",
                target=users[uid],
                status=PENDING,
                attempts=0,
                next_attempt_at=None,
                last_error="",
                sent_at=None,
                created_at=now,
            )
            for nid, uid in made.items()
            if users.get(uid)
        ]
        insert_ignore_many(
            session, Delivery.__table__, deliveries, ["notification_id", "channel", "target"], "notification_id"
        )
    session.flush()
    return len(made)


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- reading for the pages --------------------------------------------------------------------


def unread_count_of(user_id) -> sa.ScalarSelect:
    """How many unread messages ``user_id`` (a value or a column) has, as a scalar subquery: the
    page's user is loaded with it in one statement (``tracker.http.login``)."""
    return (
        select(sa.func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .scalar_subquery()
    )


def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(select(unread_count_of(user_id))) or 0


def inbox(session: Session, user_id: int, *, page: int = 1, per_page: int = 20) -> tuple[list[Notification], int]:
    total = (
        session.scalar(select(sa.func.count()).select_from(Notification).where(Notification.user_id == user_id)) or 0
    )
    rows = session.exec(
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    ).all()
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
