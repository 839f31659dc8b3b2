"""Notifications: the in-app inbox, the group robots, and each copy sent over a channel."""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from tracker.models.base import _json, _opt_ts, _ts


class Notification(SQLModel, table=True):
    """An in-app message (the inbox every user has); channels deliver copies of it.

    ``key`` makes automatic messages idempotent: one digest per user and day is
    the key ``digest:<user>:<day>``, enforced by the database.
    """

    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    kind: str = Field(max_length=20)  # digest | reminder | escalation | schedule | bulletin | system
    key: Optional[str] = Field(default=None, max_length=120, sa_column_kwargs={"unique": True})
    day: date = Field(index=True)
    title: str = Field(max_length=200)
    body: str = Field(default="", sa_type=sa.Text)
    payload: Optional[dict] = _json()  # items with task ids and links
    created_at: datetime = _ts()
    read_at: Optional[datetime] = _opt_ts()


class NotificationChannel(SQLModel, table=True):
    """A group robot (企业微信 / 钉钉 webhook) that receives a department's or the office's messages."""

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    kind: str = Field(default="webhook", max_length=20)  # webhook
    flavour: str = Field(default="wecom", max_length=20)  # wecom | dingtalk | generic
    url: str = Field(max_length=500)
    department_id: Optional[int] = Field(default=None, foreign_key="department.id")  # None: the office
    active: bool = True
    created_at: datetime = _ts()


class Delivery(SQLModel, table=True):
    """One notification sent over one channel (e-mail or webhook), retried with back-off."""

    __table_args__ = (
        sa.UniqueConstraint("notification_id", "channel", "target", name="uq_delivery_once"),
        sa.Index("ix_delivery_status_next", "status", "next_attempt_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notification.id", index=True, ondelete="CASCADE")
    channel: str = Field(max_length=20)  # email | webhook
    target: str = Field(max_length=500)  # address or channel id
    status: str = Field(default="pending", max_length=20)  # pending | sent | failed (retrying) | dead
    attempts: int = 0
    next_attempt_at: Optional[datetime] = _opt_ts()
    last_error: str = Field(default="", sa_type=sa.Text)
    sent_at: Optional[datetime] = _opt_ts()
    created_at: datetime = _ts()
