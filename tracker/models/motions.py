"""人大代表建议 and 政协委员提案 (000 §36, 001 §14, 002 §32, 003 §14, 004 §37).

Each motion is handled as one task; these tables keep what is particular to
motions: the deputy, the handling steps, the answer and the satisfaction feedback.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from tracker.models.base import _ts


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
