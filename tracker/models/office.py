"""The office's own records: settings, calendar, scheduler runs, imports and the audit trail.

Office-editable settings; the holiday table, the working-day count derived from it and the
time-limit presets; one row per scheduler run; remembered ledger mappings and web import
jobs; the append-only audit event written with every change; and the one-time tokens of
submitted forms and API calls, with the first answer to each.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from tracker.models.base import _json, _opt_ts, _ts

# --- settings -----------------------------------------------------------------


class AppSetting(SQLModel, table=True):
    """Office-editable settings kept as JSON: reminder rules, escalation ladder, score weights."""

    key: str = Field(primary_key=True, max_length=60)
    value: Optional[dict] = _json()
    updated_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    updated_at: datetime = _ts()


# --- calendar -----------------------------------------------------------------


class Holiday(SQLModel, table=True):
    """An exception to the Monday–Friday week: a weekday off or a make-up workday."""

    day: date = Field(primary_key=True)
    is_workday: bool  # True: 调休 workday on a weekend; False: holiday on a weekday
    name: str = Field(default="", max_length=40)
    origin: str = Field(default="office", max_length=20)  # package | office


class CalendarYear(SQLModel, table=True):
    """Years whose holiday arrangement is known; any other year is provisional."""

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    origin: str = Field(default="office", max_length=20)  # package | office


class CalendarDay(SQLModel, table=True):
    """Every date with its running count of working days.

    Derived from Holiday and rebuilt when it changes; it lets SQL count working
    days (days overdue = seq(today) - seq(due_date)) without Python in the loop.
    """

    day: date = Field(primary_key=True)
    is_workday: bool
    seq: int = Field(index=True)  # working days from the table's first date up to this one


class TimeLimitPreset(SQLModel, table=True):
    """Time limits from the work rules, offered when a task is created."""

    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    name: str = Field(max_length=80)
    amount: int
    unit: str = Field(default="workdays", max_length=20)  # workdays | days | hours
    urgency: str = Field(default="", max_length=20)
    basis: str = Field(default="", max_length=80)  # citation, e.g. "004 §57"
    active: bool = True
    sort_order: int = 0


# --- scheduler runs and ledger imports ----------------------------------------


class JobRun(SQLModel, table=True):
    """One run of a scheduler job or its CLI twin: when, how long, what it did, what failed."""

    id: Optional[int] = Field(default=None, primary_key=True)
    job: str = Field(max_length=40, index=True)  # reminders | schedule | report_check | scoring | bulletin
    for_day: Optional[date] = None
    started_at: datetime = _ts(index=True)
    finished_at: Optional[datetime] = _opt_ts()
    status: str = Field(default="running", max_length=20)  # running | ok | failed | skipped | interrupted
    counts: Optional[dict] = _json()
    error: str = Field(default="", sa_type=sa.Text)
    host: str = Field(default="", max_length=120)  # host:pid, to tell two schedulers apart
    heartbeat_at: Optional[datetime] = _opt_ts()  # a running run's last sign of life (jobs.HEARTBEAT)


class LedgerMapping(SQLModel, table=True):
    """A column mapping the user corrected, remembered for ledgers with the same headers.

    In the database (not a file) so that every web server sees the same choices.
    """

    id: Optional[int] = Field(default=None, primary_key=True)
    signature: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    kind: str = Field(default="ledger", max_length=20)  # ledger | departments | motions
    headers: Optional[list] = _json()  # header texts, in column order
    fields: Optional[dict] = _json()  # column index (as text) -> field name or null
    updated_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    updated_at: datetime = _ts()


class ImportJob(SQLModel, table=True):
    """One upload in the web importer: the file, the user's choices, progress and report.

    Progress lives here (not in a worker's memory) so that any web server can
    answer the progress bar's polling.
    """

    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    kind: str = Field(default="ledger", max_length=20)  # ledger | departments | motions
    filename: str = Field(max_length=255)
    stored_name: str = Field(max_length=80, sa_column_kwargs={"unique": True})
    size: int = 0
    # uploaded -> planning -> planned -> committing -> done | failed
    status: str = Field(default="uploaded", max_length=20)
    options: Optional[dict] = _json()  # sheet, base_date, assign, column overrides
    done: int = 0
    total: int = 0
    report: Optional[dict] = _json()  # the dry-run (or final) report, as the CLI's JSON
    error: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


# --- audit --------------------------------------------------------------------


class AuditEvent(SQLModel, table=True):
    """Append-only: one row for every change, written in the change's transaction. The ORM
    refuses to change or delete one (``_append_only`` below); the audit viewer reads them newest
    first by id, per person or per action through the indexes below."""

    __table_args__ = (
        sa.Index("ix_auditevent_actor_id_id", "actor_id", "id"),
        sa.Index("ix_auditevent_action_id", "action", "id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    actor_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    actor_name: str = Field(default="", max_length=60)
    entity: str = Field(max_length=40)
    entity_id: Optional[int] = None
    task_id: Optional[int] = Field(default=None, index=True)
    action: str = Field(max_length=40)
    before: Optional[dict] = _json()
    after: Optional[dict] = _json()
    note: str = Field(default="", sa_type=sa.Text)


# --- submissions ----------------------------------------------------------------


class Submission(SQLModel, table=True):
    """A form's one-time submission token or an API caller's ``Idempotency-Key``, and the first
    answer to it (``services/submissions.py``).

    Inserted first, in the transaction of the change it guards: the unique key makes a repeat sent
    at the same moment wait for the first and then find it, instead of making the change twice.
    ``status`` stays empty until the first answer is stored."""

    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_submission_user_id_key"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    key: str = Field(max_length=200)
    fingerprint: str = Field(max_length=64)  # sha256 of the method, the path and what was sent
    created_at: datetime = _ts(index=True)
    status: Optional[int] = None  # the first answer's HTTP status
    location: str = Field(default="", max_length=2000)
    content_type: str = Field(default="", max_length=120)
    body: str = Field(default="", sa_type=sa.Text)
    flashes: Optional[list] = _json()  # the messages the first answer flashed: [[category, text]]


class AppendOnly(RuntimeError):
    """An attempt to change or delete an audit event: a bug, never a user's doing."""


@sa.event.listens_for(AuditEvent, "before_update")
@sa.event.listens_for(AuditEvent, "before_delete")
def _append_only(_mapper, _connection, target: AuditEvent) -> None:
    raise AppendOnly(f"audit events are append-only (event {target.id})")


@sa.event.listens_for(Session, "do_orm_execute")
def _no_bulk_change(state) -> None:
    """``update(AuditEvent)`` / ``delete(AuditEvent)`` through a session, refused like a flush."""
    if (state.is_update or state.is_delete) and any(m.class_ is AuditEvent for m in state.all_mappers if m is not None):
        raise AppendOnly("audit events are append-only")
