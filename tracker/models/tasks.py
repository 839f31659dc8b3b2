"""Tasks and what hangs on them: their sources, parties, milestones, reports and requests.

A task comes from a source (a meeting's minutes, an instruction, a document...),
has one lead department, assisting departments and responsible leaders; the
departments report progress, attach files and ask for extensions, closing or
changes, which the office reviews.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from tracker.models.base import _json, _opt_ts, _ts

# --- enumerations -------------------------------------------------------------


class SourceKind(StrEnum):
    PLENARY_MEETING = "plenary_meeting"  # 区政府全体会议
    EXECUTIVE_MEETING = "executive_meeting"  # 区政府常务会议
    MAYOR_OFFICE_MEETING = "mayor_office_meeting"  # 区长办公会议
    TOPIC_MEETING = "topic_meeting"  # 专题会议
    PARTY_GROUP_MEETING = "party_group_meeting"  # 党组会议
    SCHEDULING_MEETING = "scheduling_meeting"  # 重点工作调度推进会议
    LEADER_INSTRUCTION = "leader_instruction"  # 领导批示
    KEY_WORK = "key_work"  # 年度重点工作
    NPC_SUGGESTION = "npc_suggestion"  # 人大代表建议
    CPPCC_PROPOSAL = "cppcc_proposal"  # 政协委员提案
    DOCUMENT = "document"  # 上级文件 / 请示 / 会签
    LETTER = "letter"  # 工作提示函 / 沟通函
    AUDIT_FINDING = "audit_finding"  # 审计 / 督查发现问题整改
    PUBLIC_OPINION = "public_opinion"  # 政务舆情
    OTHER = "other"


SOURCE_KIND_LABELS = {
    SourceKind.PLENARY_MEETING: "区政府全体会议",
    SourceKind.EXECUTIVE_MEETING: "区政府常务会议",
    SourceKind.MAYOR_OFFICE_MEETING: "区长办公会议",
    SourceKind.TOPIC_MEETING: "专题会议",
    SourceKind.PARTY_GROUP_MEETING: "区政府党组会议",
    SourceKind.SCHEDULING_MEETING: "重点工作调度推进会议",
    SourceKind.LEADER_INSTRUCTION: "领导批示",
    SourceKind.KEY_WORK: "年度重点工作",
    SourceKind.NPC_SUGGESTION: "人大代表建议",
    SourceKind.CPPCC_PROPOSAL: "政协委员提案",
    SourceKind.DOCUMENT: "文件办理",
    SourceKind.LETTER: "工作提示函/沟通函",
    SourceKind.AUDIT_FINDING: "审计及督查整改",
    SourceKind.PUBLIC_OPINION: "政务舆情",
    SourceKind.OTHER: "其他",
}


MEETING_KINDS = frozenset(
    {
        SourceKind.PLENARY_MEETING,
        SourceKind.EXECUTIVE_MEETING,
        SourceKind.MAYOR_OFFICE_MEETING,
        SourceKind.TOPIC_MEETING,
        SourceKind.PARTY_GROUP_MEETING,
        SourceKind.SCHEDULING_MEETING,
    }
)


class Urgency(StrEnum):
    EXTRA_URGENT = "extra_urgent"  # 特急
    URGENT = "urgent"  # 急件
    NORMAL = "normal"  # 一般


URGENCY_LABELS = {Urgency.EXTRA_URGENT: "特急", Urgency.URGENT: "急件", Urgency.NORMAL: "一般"}


class DeadlineKind(StrEnum):
    DATE = "date"  # a fixed completion date
    RECURRING = "recurring"  # 每月25日前报送 and the like: reporting deadlines recur
    ONGOING = "ongoing"  # 长期坚持 / 持续推进: no end date, periodic reports


DEADLINE_KIND_LABELS = {
    DeadlineKind.DATE: "固定日期",
    DeadlineKind.RECURRING: "周期报送",
    DeadlineKind.ONGOING: "长期坚持",
}


class FeedbackCycle(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ONCE = "once"


FEEDBACK_CYCLE_LABELS = {
    FeedbackCycle.WEEKLY: "每周",
    FeedbackCycle.MONTHLY: "每月",
    FeedbackCycle.QUARTERLY: "每季度",
    FeedbackCycle.ONCE: "一次性",
}


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"  # refused extension / returned close request / refused change
    WITHDRAWN = "withdrawn"


class ChangeKind(StrEnum):
    REASSIGN = "reassign"  # 改派: the department says it is not responsible
    LEAD_CHANGE = "lead_change"  # the office changes the lead department
    REQUIREMENT_CHANGE = "requirement_change"  # the office changes what must be done


# --- sources and tasks --------------------------------------------------------


class Source(SQLModel, table=True):
    """Where tasks come from: a meeting's minutes, an instruction, a document..."""

    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(max_length=30, index=True)
    title: str = Field(max_length=200)
    reference: str = Field(default="", max_length=120)  # 文号 or 会议名称+期数
    source_date: date = Field(index=True)
    leader_id: Optional[int] = Field(default=None, foreign_key="leader.id")  # chair / issuer
    body: str = Field(default="", sa_type=sa.Text)  # minutes or instruction text
    details: Optional[dict] = _json()  # meeting attendees, document it was written on...
    created_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = _ts()


class Counter(SQLModel, table=True):
    """Per-year sequences (task codes DB-2026-0001, 督办通知单 numbers), bumped in the
    transaction that uses the number so that a rollback leaves no gap behind."""

    name: str = Field(primary_key=True, max_length=20)
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = 0


class Task(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_task_status_due", "status", "due_date"),
        sa.Index("ix_task_lead_status", "lead_department_id", "status"),
        # Never reuse a deleted draft's id: audit events find their task by id.
        {"sqlite_autoincrement": True},
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, sa_column_kwargs={"unique": True})
    title: str = Field(max_length=200)
    requirement: str = Field(default="", sa_type=sa.Text)
    source_id: Optional[int] = Field(default=None, foreign_key="source.id", index=True)
    item_no: str = Field(default="", max_length=20)  # 议定事项序号
    category: str = Field(default="", max_length=120)  # a ledger's section ("一、扎实推进项目建设")
    parent_id: Optional[int] = Field(default=None, foreign_key="task.id", index=True)
    # One lead department, structurally: a column, not a role in a link table.
    lead_department_id: Optional[int] = Field(default=None, foreign_key="department.id")
    urgency: str = Field(default=Urgency.NORMAL, max_length=20)
    deadline_kind: str = Field(default=DeadlineKind.DATE, max_length=20)
    due_date: Optional[date] = Field(default=None)
    # The deadline as first assigned; an approved extension moves due_date only.
    original_due_date: Optional[date] = Field(default=None)
    deadline_text: str = Field(default="", max_length=120)  # the phrase as written
    recurrence: str = Field(default="", max_length=40)  # e.g. monthly:25, weekly:5
    time_limit_preset: str = Field(default="", max_length=40)
    feedback_cycle: str = Field(default=FeedbackCycle.ONCE, max_length=20)
    status: str = Field(default="draft", max_length=20)
    status_before_suspend: str = Field(default="", max_length=20)
    needs_leader_approval: bool = False
    created_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = _ts()
    assigned_at: Optional[datetime] = _opt_ts()
    acknowledged_at: Optional[datetime] = _opt_ts()
    closed_on: Optional[date] = Field(default=None)  # China date of closing, for 超期办结
    updated_at: datetime = _ts()


class TaskAssist(SQLModel, table=True):
    """协办单位 of a task."""

    task_id: int = Field(foreign_key="task.id", primary_key=True, ondelete="CASCADE")
    department_id: int = Field(foreign_key="department.id", primary_key=True, index=True)


class TaskLeader(SQLModel, table=True):
    """责任领导 of a task."""

    task_id: int = Field(foreign_key="task.id", primary_key=True, ondelete="CASCADE")
    leader_id: int = Field(foreign_key="leader.id", primary_key=True, index=True)


class Milestone(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True, ondelete="CASCADE")
    title: str = Field(max_length=200)
    due_date: date
    done_on: Optional[date] = None
    sort_order: int = 0


# --- reports and requests -----------------------------------------------------


class ProgressReport(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    department_id: int = Field(foreign_key="department.id")
    author_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = _ts()
    text: str = Field(sa_type=sa.Text)
    percent: Optional[int] = None
    problems: str = Field(default="", sa_type=sa.Text)  # 阻点 / 断点
    next_steps: str = Field(default="", sa_type=sa.Text)
    needs_coordination: bool = False


class Attachment(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    report_id: Optional[int] = Field(default=None, foreign_key="progressreport.id")
    original_name: str = Field(max_length=255)
    stored_name: str = Field(max_length=80, sa_column_kwargs={"unique": True})
    content_type: str = Field(default="", max_length=100)
    size: int = 0
    uploaded_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = _ts()


class ReportDue(SQLModel, table=True):
    """A reporting deadline of a recurring or ongoing task (每周 / 每月25日前 / 每季度末).

    Generated ahead from the task's recurrence; met by the first progress report
    of the lead department in its period. A missed one is overdue like any deadline.
    """

    __table_args__ = (sa.UniqueConstraint("task_id", "due_date", name="uq_reportdue_once"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True, ondelete="CASCADE")
    period_start: date
    due_date: date = Field(index=True)
    report_id: Optional[int] = Field(default=None, foreign_key="progressreport.id")
    met_on: Optional[date] = None


class ExtensionRequest(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    department_id: int = Field(foreign_key="department.id")
    requested_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = _ts()
    reason: str = Field(sa_type=sa.Text)
    old_due_date: date
    new_due_date: date
    status: str = Field(default=RequestStatus.PENDING, max_length=20, index=True)
    decided_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    decided_at: Optional[datetime] = _opt_ts()
    decision_note: str = Field(default="", sa_type=sa.Text)


class CloseRequest(SQLModel, table=True):
    """申请办结 and the office's review (办结 or 退回)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    department_id: int = Field(foreign_key="department.id")
    requested_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = _ts()
    summary: str = Field(sa_type=sa.Text)
    status: str = Field(default=RequestStatus.PENDING, max_length=20, index=True)
    decided_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    decided_at: Optional[datetime] = _opt_ts()
    decision_note: str = Field(default="", sa_type=sa.Text)


class ChangeRequest(SQLModel, table=True):
    """A reviewed change: 改派, a new lead department, or a new requirement."""

    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    kind: str = Field(max_length=30)
    department_id: Optional[int] = Field(default=None, foreign_key="department.id")
    requested_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = _ts()
    reason: str = Field(sa_type=sa.Text)
    payload: Optional[dict] = _json()  # proposed values
    status: str = Field(default=RequestStatus.PENDING, max_length=20, index=True)
    decided_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    decided_at: Optional[datetime] = _opt_ts()
    decision_note: str = Field(default="", sa_type=sa.Text)
