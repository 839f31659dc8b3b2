"""How the office follows tasks up: reminders, notices, the weekly schedule, bulletins, scores.

Reminders (催办) and formal notices (督办) chase a department; the weekly schedule (调度)
lists what is due or blocked; bulletins (通报) freeze a period's figures; score snapshots
keep each department's daily figures for scoring (考核) and the board's trend.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from tracker.models.base import _json, _ts

# --- reminders and escalations ------------------------------------------------


class Reminder(SQLModel, table=True):
    """催办. The unique key makes an automatic rule fire once per task and day."""

    __table_args__ = (sa.UniqueConstraint("task_id", "department_id", "rule", "day", name="uq_reminder_once"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    department_id: int = Field(foreign_key="department.id")
    rule: str = Field(max_length=40)  # "manual" or an automatic rule's name
    day: date
    message: str = Field(default="", sa_type=sa.Text)
    sent_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = _ts()


class Escalation(SQLModel, table=True):
    """督办: a formal notice to the department head and the responsible leader."""

    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    department_id: int = Field(foreign_key="department.id")
    level: int = 1  # 1 clerk, 2 department head, 3 responsible leader
    # Automatic escalations: one per task, level and deadline (rule:level:due_date); None when manual.
    auto_key: Optional[str] = Field(default=None, max_length=80, sa_column_kwargs={"unique": True})
    notice_no: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    reason: str = Field(sa_type=sa.Text)
    created_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = _ts()


# --- weekly scheduling, bulletins and scoring ---------------------------------


class WeeklySchedule(SQLModel, table=True):
    """每周重点工作调度 for one ISO week (004 §30, §47), generated Monday morning."""

    __table_args__ = (sa.UniqueConstraint("iso_year", "iso_week", name="uq_weeklyschedule_week"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    iso_year: int
    iso_week: int
    week_start: date
    generated_at: datetime = _ts()
    status: str = Field(default="open", max_length=20)  # open | held (meeting recorded)
    meeting_date: Optional[date] = None
    source_id: Optional[int] = Field(default=None, foreign_key="source.id")  # the 调度会 as a source
    counts: Optional[dict] = _json()


class ScheduleItem(SQLModel, table=True):
    """A task in a week's schedule, in one section; blocked items can go on the agenda."""

    __table_args__ = (sa.UniqueConstraint("schedule_id", "task_id", "section", name="uq_scheduleitem_once"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    schedule_id: int = Field(foreign_key="weeklyschedule.id", index=True, ondelete="CASCADE")
    task_id: int = Field(foreign_key="task.id", index=True)
    # due_this_week | due_next_week | overdue | milestone | report_missing | blocked
    section: str = Field(max_length=20)
    detail: str = Field(default="", sa_type=sa.Text)  # the milestone, the problem named...
    # blocked items: 项目推进类 / 内部协调类 / 向上争取类 / 重要洽谈类 (004 §47)
    category: str = Field(default="", max_length=20)
    lead_leader_id: Optional[int] = Field(default=None, foreign_key="leader.id")
    lead_department_id: Optional[int] = Field(default=None, foreign_key="department.id")
    proposal: str = Field(default="", sa_type=sa.Text)
    on_agenda: bool = False
    agenda_order: int = 0
    decision: str = Field(default="", sa_type=sa.Text)
    decision_task_id: Optional[int] = Field(default=None, foreign_key="task.id")


class Bulletin(SQLModel, table=True):
    """通报: a dated snapshot of a week's or month's figures that never changes afterwards."""

    __table_args__ = (sa.UniqueConstraint("kind", "period", name="uq_bulletin_period"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)  # week | month
    period: str = Field(max_length=10)  # 2026-W48 | 2026-11
    period_start: date
    period_end: date
    generated_at: datetime = _ts()
    data: Optional[dict] = _json()


class ScoreSnapshot(SQLModel, table=True):
    """A department's figures on one day (nightly), for scoring and the dashboard's trend."""

    __table_args__ = (sa.UniqueConstraint("day", "department_id", name="uq_scoresnapshot_day"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    day: date = Field(index=True)
    department_id: int = Field(foreign_key="department.id", index=True)
    open_count: int = 0
    overdue_count: int = 0
    closed_count: int = 0  # closed so far (lead only)
    closed_on_time: int = 0
    overdue_task_days: int = 0  # working days overdue summed over open tasks
    returns: int = 0
    late_reports: int = 0
    extensions: int = 0
    score: float = 0.0
