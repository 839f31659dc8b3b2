"""The district's organisation and its people: leaders, departments, users and their access.

Leaders (区领导) and their portfolios (分管), departments with the other names
they go by, the accounts that log in, their sessions, login throttling, API tokens and saved views.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Optional

from sqlmodel import Field, SQLModel

from tracker.models.base import _opt_ts, _ts

# --- enumerations -------------------------------------------------------------


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


# --- leaders, departments and users -------------------------------------------


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


# --- access -------------------------------------------------------------------


class UserSession(SQLModel, table=True):
    """A login: the browser's cookie carries a random token, the database its hash.

    Logging out, "sign out everywhere", an administrator's revoke and a password change set
    ``revoked_at``, and the next request with the old cookie is anonymous. Idle time and
    lifetime are measured from ``last_seen_at`` and ``created_at`` (``services/accounts/sessions.py``)."""

    id: str = Field(primary_key=True, max_length=64)  # sha256 of the cookie's token, hex
    user_id: int = Field(foreign_key="app_user.id", index=True)
    created_at: datetime = _ts()
    last_seen_at: datetime = _ts()
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=255)
    revoked_at: Optional[datetime] = _opt_ts()
    # logout | everywhere | revoked (by its owner) | admin | password | deactivated | idle | expired
    revoked_reason: str = Field(default="", max_length=20)


class LoginThrottle(SQLModel, table=True):
    """Password checks counted per account, per address and per trusted browser, in the database so
    that every web worker sees them and a conditional UPDATE claims each try atomically
    (``services/accounts/throttle.py``)."""

    kind: str = Field(primary_key=True, max_length=10)  # account | address | device
    subject: str = Field(primary_key=True, max_length=160)  # login name, IP address, device id
    failures: int = 0  # tries claimed since the count began (a success gives its own back)
    last_at: datetime = _ts()


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
