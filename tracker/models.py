"""SQLModel tables only: no behaviour beyond column definitions.

Timestamps are stored as UTC through ``UTCDateTime`` (SQLite drops offsets);
deadlines are plain ``DATE`` columns. Enumerations are stored as short strings
so that the same schema works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from enum import StrEnum
from typing import Any, Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from tracker import clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


class UTCDateTime(sa.types.TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on every database."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


def _ts(**kw: Any):
    return Field(default_factory=clock.now, sa_type=UTCDateTime, **kw)


def _opt_ts():
    return Field(default=None, sa_type=UTCDateTime)


def _json():
    return Field(default=None, sa_type=sa.JSON)


# --- enumerations --------------------------------------------------------------


class DepartmentKind(StrEnum):
    COMPONENT = "component"  # 区政府组成部门
    STREET = "street"  # 街道办事处
    TOWN = "town"  # 乡镇
    INSTITUTION = "institution"  # 事业单位 / 直属机构
    OTHER = "other"


DEPARTMENT_KIND_LABELS = {
    DepartmentKind.COMPONENT: "组成部门",
    DepartmentKind.STREET: "街道",
    DepartmentKind.TOWN: "乡镇",
    DepartmentKind.INSTITUTION: "事业单位",
    DepartmentKind.OTHER: "其他",
}


class Role(StrEnum):
    SUPERVISOR = "supervisor"  # 督查室
    CLERK = "clerk"  # 承办单位联络员
    LEADER = "leader"  # 区领导
    ADMIN = "admin"


ROLE_LABELS = {
    Role.SUPERVISOR: "督查室",
    Role.CLERK: "承办单位",
    Role.LEADER: "区领导",
    Role.ADMIN: "系统管理员",
}


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


# --- organisation --------------------------------------------------------------


class Leader(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=40, index=True)
    title: str = Field(default="", max_length=60)  # 区长 / 常务副区长 / 副区长 ...
    active: bool = True
    sort_order: int = 0


class Department(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, sa_column_kwargs={"unique": True})
    short_name: str = Field(default="", max_length=40)
    kind: str = Field(default=DepartmentKind.COMPONENT, max_length=20)
    active: bool = True
    sort_order: int = 0


class DepartmentAlias(SQLModel, table=True):
    """Other names a department goes by (区发改委 for 区发展和改革委员会)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    department_id: int = Field(foreign_key="department.id", index=True, ondelete="CASCADE")
    alias: str = Field(max_length=120, sa_column_kwargs={"unique": True})


class LeaderDepartment(SQLModel, table=True):
    """分管: the departments in a leader's portfolio."""

    leader_id: int = Field(foreign_key="leader.id", primary_key=True, ondelete="CASCADE")
    department_id: int = Field(foreign_key="department.id", primary_key=True, ondelete="CASCADE")


class User(SQLModel, table=True):
    __tablename__ = "app_user"  # "user" is reserved on PostgreSQL

    id: Optional[int] = Field(default=None, primary_key=True)
    username: str = Field(max_length=60, sa_column_kwargs={"unique": True})
    display_name: str = Field(max_length=60)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=20)
    department_id: Optional[int] = Field(default=None, foreign_key="department.id")
    leader_id: Optional[int] = Field(default=None, foreign_key="leader.id")
    active: bool = True
    must_change_password: bool = False
    email: str = Field(default="", max_length=120)  # for e-mail notifications
    is_head: bool = False  # 单位负责人: the second rung of the escalation ladder
    created_at: datetime = _ts()


# --- sources and tasks ---------------------------------------------------------


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


class Reminder(SQLModel, table=True):
    """催办. The unique key makes an automatic rule fire once per task and day."""

    __table_args__ = (
        sa.UniqueConstraint("task_id", "department_id", "rule", "day", name="uq_reminder_once"),
    )

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


class AuditEvent(SQLModel, table=True):
    """Append-only: one row for every change, written in the change's transaction."""

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


# --- calendar ------------------------------------------------------------------


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


# --- access --------------------------------------------------------------------


class LoginFailure(SQLModel, table=True):
    """Failed logins, kept in the database so throttling holds across web workers."""

    id: Optional[int] = Field(default=None, primary_key=True)
    username: str = Field(max_length=60, index=True)
    ip: str = Field(default="", max_length=64)
    at: datetime = _ts(index=True)


class ApiToken(SQLModel, table=True):
    """A bearer token for other systems (OA, 政务钉钉/企业微信 bots); only its hash is kept."""

    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    name: str = Field(max_length=60)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime = _ts()
    last_used_at: Optional[datetime] = _opt_ts()
    revoked: bool = False


class SavedView(SQLModel, table=True):
    """A named task-list filter a user keeps (e.g. 我分管的逾期事项)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    name: str = Field(max_length=60)
    query: str = Field(max_length=1000)
    created_at: datetime = _ts()


# --- ledger imports --------------------------------------------------------------


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


# --- notifications, reminders and scheduler runs ---------------------------------


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


class AppSetting(SQLModel, table=True):
    """Office-editable settings kept as JSON: reminder rules, escalation ladder, score weights."""

    key: str = Field(primary_key=True, max_length=60)
    value: Optional[dict] = _json()
    updated_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    updated_at: datetime = _ts()


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


# --- weekly scheduling, bulletins and scoring ------------------------------------


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

    __table_args__ = (
        sa.UniqueConstraint("schedule_id", "task_id", "section", name="uq_scheduleitem_once"),
    )

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


# --- 人大代表建议 / 政协委员提案 (000 §36, 001 §14, 002 §32, 003 §14, 004 §37) ----------


class Motion(SQLModel, table=True):
    """A deputy's suggestion (建议) or a member's proposal (提案), handled as one task.

    The task carries the lead (主办) and co-handling (协办) units and the answer
    deadline; this row keeps what is particular to motions: the deputy, the
    answer's category, the satisfaction feedback and the handling round.
    """

    __table_args__ = (sa.UniqueConstraint("kind", "session_name", "number", name="uq_motion_number"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20, index=True)  # suggestion (建议) | proposal (提案)
    number: int  # 建议第12号
    session_name: str = Field(max_length=80)  # 届次: 区十七届人大三次会议
    title: str = Field(max_length=200)
    body: str = Field(default="", sa_type=sa.Text)
    proposer: str = Field(max_length=60)  # 领衔代表 / 提案人
    co_signers: str = Field(default="", max_length=500)  # 附议代表 / 联名委员
    contact: str = Field(default="", max_length=120)  # never published
    category: str = Field(default="", max_length=40, index=True)  # 城建, 教育 ...
    is_key: bool = False  # 重点建议 / 重点提案
    supervising_leader_id: Optional[int] = Field(default=None, foreign_key="leader.id")
    source_id: int = Field(foreign_key="source.id", index=True)
    task_id: int = Field(foreign_key="task.id", index=True, sa_column_kwargs={"unique": True})
    round: int = 1  # 2 after a 不满意 re-opened it
    stage: str = Field(default="handling", max_length=20, index=True)  # handling | review | feedback | done
    answer_category: str = Field(default="", max_length=1)  # A | B | C | D
    answer_summary: str = Field(default="", sa_type=sa.Text)
    answer_attachment_id: Optional[int] = Field(default=None, foreign_key="attachment.id")
    answered_on: Optional[date] = None  # the current round's answer
    first_answered_on: Optional[date] = None  # the first round's answer, for "answered on time"
    first_answer_due: Optional[date] = None
    promise_date: Optional[date] = None  # B: 列入计划解决 by this date
    follow_up_done_on: Optional[date] = None  # B: the promise kept
    satisfaction: str = Field(default="", max_length=10)  # 满意 | 基本满意 | 不满意 (latest)
    publish: bool = True  # the office may withhold one answer from the public export
    created_at: datetime = _ts()


class MotionStep(SQLModel, table=True):
    """One handling step with its own deadline and the unit that owes it.

    opinion (协办意见, one per co-handling unit), consult (面商), answer (答复),
    follow_up (B: the promise kept). A step past its due date and not done makes
    the task overdue (``derived.step_missed``) and is reminded like a deadline.
    """

    id: Optional[int] = Field(default=None, primary_key=True)
    motion_id: int = Field(foreign_key="motion.id", index=True, ondelete="CASCADE")
    task_id: int = Field(foreign_key="task.id", index=True)
    kind: str = Field(max_length=20)
    round: int = 1
    department_id: int = Field(foreign_key="department.id")
    due_date: date = Field(index=True)
    done_on: Optional[date] = None
    text: str = Field(default="", sa_type=sa.Text)  # the opinion, the 面商 notes
    form: str = Field(default="", max_length=20)  # 面商 form: 当面 | 电话 | 座谈 | 视察 ...
    met_on: Optional[date] = None  # the 面商 date
    by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")


class MotionFeedback(SQLModel, table=True):
    """The deputy's or member's answer to an answer: 满意 / 基本满意 / 不满意."""

    id: Optional[int] = Field(default=None, primary_key=True)
    motion_id: int = Field(foreign_key="motion.id", index=True, ondelete="CASCADE")
    round: int = 1
    result: str = Field(max_length=10)
    note: str = Field(default="", sa_type=sa.Text)
    received_on: date
    recorded_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = _ts()
