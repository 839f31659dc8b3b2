"""The delivery queue: sending each queued e-mail and robot post, retries with back-off, and the
office's delivery log.

``deliver_pending`` is a queue worker: it claims one due delivery at a time (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so two workers never send the same one), sends it through
``channels.py`` and commits its new state at once. Committing per delivery is deliberate: an
e-mail or robot post cannot be taken back, so its outcome must be on record before the next
send, or a crash would send it again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock
from tracker.config import Settings
from tracker.db import is_postgres
from tracker.errors import NotFound, NotPermitted, ValidationFailed
from tracker.models import Delivery, Notification, NotificationChannel, Role, User
from tracker.services import audit
from tracker.services.actors import Actor
from tracker.services.notify.channels import DeliveryFailed, post_webhook, send_email, webhook_payload
from tracker.services.notify.digest import render_markdown
from tracker.services.notify.messages import (
    DEAD,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    STATUS_LABELS,
    resolve_settings,
)

# Back-off after the 1st..5th failure; the 6th failure makes a delivery "dead" (shown to the office).
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6))
MAX_ATTEMPTS = len(BACKOFF) + 1
LEASE = timedelta(minutes=15)  # a "sending" row whose worker died is due again after this


def _due_clause(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        Delivery.status == PENDING, sa.and_(Delivery.status.in_([FAILED, SENDING]), Delivery.next_attempt_at <= now)
    )


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
    stmt = (
        sa.update(table)
        .where(table.c.id == pick.scalar_subquery())
        .values(status=SENDING, attempts=table.c.attempts + 1, next_attempt_at=now + LEASE)
        .returning(table.c.id)
    )
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
        post_webhook(
            ch.url,
            webhook_payload(ch.flavour, title, render_markdown(title, note.payload, note.body)),
            settings.webhook_timeout,
        )
        return
    raise DeliveryFailed(f"未知的发送渠道：{d.channel}")


def deliver_pending(
    session: Session, now: datetime | None = None, *, settings: Settings | None = None, limit: int = 1000
) -> dict[str, int]:
    """Send pending deliveries and failed ones whose retry time has come.

    COMMITS at each state change (see the module docstring): call it with a session of
    its own (the scheduler job or the CLI), never inside a request's unit of work.
    """
    settings = resolve_settings(settings)
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


def _office(actor: Actor) -> None:
    if actor.role != Role.SUPERVISOR:
        raise NotPermitted("仅督查室可以执行此操作")


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
    audit.record(
        session,
        actor,
        "retry_delivery",
        entity="delivery",
        entity_id=d.id,
        before=before,
        after={"status": d.status, "attempts": 0},
    )
    session.flush()
    return d


# --- the office's delivery log ---------------------------------------------------------------


def deliveries(session: Session, *, limit: int = 200) -> list[Any]:
    """The office's view: dead and failed first, then pending, then the latest sent."""
    order = sa.case(
        (Delivery.status == DEAD, 0),
        (Delivery.status == FAILED, 1),
        (Delivery.status.in_([PENDING, SENDING]), 2),
        else_=3,
    )
    return session.execute(
        select(Delivery, Notification.title, User.display_name)
        .join(Notification, Notification.id == Delivery.notification_id)
        .join(User, User.id == Notification.user_id)
        .order_by(order, Delivery.id.desc())
        .limit(limit)
    ).all()


def delivery_counts(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Delivery.status, sa.func.count()).group_by(Delivery.status)).all())
