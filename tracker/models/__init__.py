"""The SQLModel tables, one module per subject; importing this package registers them all.

``SQLModel.metadata`` (used by the migrations and the tests) knows a table only once its module
is imported, so every table module is imported here, and every name is re-exported so that
``from tracker.models import Task`` is the one way the rest of the code reaches a table.

- ``base``: the naming convention, ``UTCDateTime`` and the column helpers
- ``organisation``: leaders, departments, users and their access
- ``tasks``: sources, tasks, their parties, milestones, reports and requests
- ``supervision``: reminders, escalations, the weekly schedule, bulletins, score snapshots
- ``motions``: 人大代表建议 and 政协委员提案
- ``notifications``: the inbox, group robots and deliveries
- ``office``: settings, the calendar, time-limit presets, job runs, imports, the audit trail
"""

from __future__ import annotations

from tracker.models.base import (
    NAMING_CONVENTION,
    UTCDateTime,
)
from tracker.models.motions import (
    Motion,
    MotionFeedback,
    MotionStep,
)
from tracker.models.notifications import (
    Delivery,
    Notification,
    NotificationChannel,
)
from tracker.models.office import (
    AppSetting,
    AuditEvent,
    CalendarDay,
    CalendarYear,
    Holiday,
    ImportJob,
    JobRun,
    LedgerMapping,
    Submission,
    TimeLimitPreset,
)
from tracker.models.organisation import (
    DEPARTMENT_KIND_LABELS,
    ROLE_LABELS,
    ApiToken,
    Department,
    DepartmentAlias,
    DepartmentKind,
    Leader,
    LeaderDepartment,
    LoginThrottle,
    Role,
    SavedView,
    User,
    UserSession,
)
from tracker.models.supervision import (
    Bulletin,
    Escalation,
    Reminder,
    ScheduleItem,
    ScoreSnapshot,
    WeeklySchedule,
)
from tracker.models.tasks import (
    DEADLINE_KIND_LABELS,
    FEEDBACK_CYCLE_LABELS,
    MEETING_KINDS,
    SOURCE_KIND_LABELS,
    URGENCY_LABELS,
    Attachment,
    ChangeKind,
    ChangeRequest,
    CloseRequest,
    Counter,
    DeadlineKind,
    ExtensionRequest,
    FeedbackCycle,
    Milestone,
    ProgressReport,
    ReportDue,
    RequestStatus,
    Source,
    SourceKind,
    Task,
    TaskAssist,
    TaskLeader,
    Urgency,
)

__all__ = [
    "DEPARTMENT_KIND_LABELS",
    "FEEDBACK_CYCLE_LABELS",
    "MEETING_KINDS",
    "NAMING_CONVENTION",
    "ROLE_LABELS",
    "SOURCE_KIND_LABELS",
    "DEADLINE_KIND_LABELS",
    "URGENCY_LABELS",
    "ApiToken",
    "AppSetting",
    "Attachment",
    "AuditEvent",
    "Bulletin",
    "CalendarDay",
    "CalendarYear",
    "ChangeKind",
    "ChangeRequest",
    "CloseRequest",
    "Counter",
    "DeadlineKind",
    "Delivery",
    "Department",
    "DepartmentAlias",
    "DepartmentKind",
    "Escalation",
    "ExtensionRequest",
    "FeedbackCycle",
    "Holiday",
    "ImportJob",
    "JobRun",
    "Leader",
    "LeaderDepartment",
    "LedgerMapping",
    "LoginThrottle",
    "Milestone",
    "Motion",
    "MotionFeedback",
    "MotionStep",
    "Notification",
    "NotificationChannel",
    "ProgressReport",
    "Reminder",
    "ReportDue",
    "RequestStatus",
    "Role",
    "SavedView",
    "ScheduleItem",
    "ScoreSnapshot",
    "Source",
    "SourceKind",
    "Submission",
    "Task",
    "TaskAssist",
    "TaskLeader",
    "TimeLimitPreset",
    "UTCDateTime",
    "Urgency",
    "User",
    "UserSession",
    "WeeklySchedule",
]
