"""Departments, their aliases, leaders and their portfolios (分管), and users."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.errors import Conflict, NotFound, ValidationFailed
from tracker.models import (
    Department,
    DepartmentAlias,
    DepartmentKind,
    Leader,
    LeaderDepartment,
    Role,
    Task,
    TaskAssist,
    TaskLeader,
    User,
)
from tracker.rules import ladder
from tracker.rules.names import normalise_name
from tracker.rules.text import one_line
from tracker.services import audit
from tracker.services.accounts import passwords, sessions
from tracker.services.actors import Actor

# scrypt by default; the test suite swaps in a cheap method to stay fast.
PASSWORD_METHOD = "scrypt"


def create_department(
    session: Session,
    actor: Actor,
    name: str,
    *,
    kind: str = DepartmentKind.COMPONENT,
    short_name: str = "",
    aliases: list[str] | tuple[str, ...] = (),
    sort_order: int = 0,
) -> Department:
    name = normalise_name(name)
    if not name:
        raise ValidationFailed("单位全称不能为空", fields={"name": "不能为空"})
    if kind not in DepartmentKind.__members__.values():
        raise ValidationFailed(f"单位类型无效：{kind}", fields={"kind": "取值无效"})
    if session.exec(select(Department).where(Department.name == name)).first():
        raise Conflict(f"单位“{name}”已存在")
    dep = Department(name=name, kind=kind, short_name=normalise_name(short_name), sort_order=sort_order)
    session.add(dep)
    session.flush()
    for alias in aliases:
        add_alias(session, dep, alias, audit_actor=None)
    audit.record(
        session,
        actor,
        "department_create",
        entity="department",
        entity_id=dep.id,
        after={"name": name, "kind": kind, "aliases": list(aliases)},
    )
    return dep


def name_holder(session: Session, text: str) -> tuple[Department | None, str]:
    """The department that already answers to ``text`` (normalised), and how: "name" (its full
    name) or "alias"; (None, "") when the text is free. A name or alias names one department."""
    key = normalise_name(text)
    named = session.exec(select(Department).where(Department.name == key)).first()
    if named is not None:
        return named, "name"
    clash = session.exec(select(DepartmentAlias).where(DepartmentAlias.alias == key)).first()
    if clash is not None:
        return session.get(Department, clash.department_id), "alias"
    return None, ""


def add_alias(session: Session, dep: Department, alias: str, *, audit_actor: Actor | None) -> None:
    alias = normalise_name(alias)
    if not alias or alias == dep.name:
        return
    holder, how = name_holder(session, alias)
    if holder is not None and holder.id != dep.id:
        if how == "name":
            raise Conflict(f"简称“{alias}”与另一单位的全称相同")
        raise Conflict(f"简称“{alias}”已被“{holder.name}”使用")
    if holder is None:
        session.add(DepartmentAlias(department_id=dep.id, alias=alias))
        session.flush()
        if audit_actor is not None:
            audit.record(
                session,
                audit_actor,
                "department_alias_add",
                entity="department",
                entity_id=dep.id,
                after={"alias": alias},
            )


def create_leader(
    session: Session,
    actor: Actor,
    name: str,
    title: str = "",
    *,
    department_ids: list[int] | tuple[int, ...] = (),
    sort_order: int = 0,
) -> Leader:
    name = normalise_name(name)
    if not name:
        raise ValidationFailed("领导姓名不能为空", fields={"name": "不能为空"})
    title = one_line(title or "")
    fields = _leader_fields(name, title)
    if fields:
        raise ValidationFailed("领导信息有误：" + "；".join(fields.values()), fields=fields)
    leader = Leader(name=name, title=title, sort_order=sort_order)
    session.add(leader)
    session.flush()
    set_portfolio(session, leader, department_ids)
    audit.record(
        session,
        actor,
        "leader_create",
        entity="leader",
        entity_id=leader.id,
        after={"name": name, "title": title, "department_ids": list(department_ids)},
    )
    return leader


def set_portfolio(session: Session, leader: Leader, department_ids) -> None:
    for row in session.exec(select(LeaderDepartment).where(LeaderDepartment.leader_id == leader.id)):
        session.delete(row)
    session.flush()
    for dep_id in dict.fromkeys(department_ids):
        if session.get(Department, dep_id) is None:
            raise NotFound(f"单位不存在（编号 {dep_id}）")
        session.add(LeaderDepartment(leader_id=leader.id, department_id=dep_id))
    session.flush()


def create_user(
    session: Session,
    actor: Actor,
    username: str,
    display_name: str,
    password: str,
    role: str,
    *,
    department_id: int | None = None,
    leader_id: int | None = None,
    must_change_password: bool = False,
) -> User:
    username = (username or "").strip()
    fields = {}
    if not username:
        fields["username"] = "登录名不能为空"
    if role not in Role.__members__.values():
        fields["role"] = f"角色无效：{role}"
    if problem := passwords.problem(password, user_inputs=(username, display_name), allow_demo=True):
        fields["password"] = problem
    if role == Role.CLERK and department_id is None:
        fields["department_id"] = "承办单位用户须绑定单位"
    if role == Role.LEADER and leader_id is None:
        fields["leader_id"] = "领导用户须绑定领导"
    if department_id is not None and session.get(Department, department_id) is None:
        fields["department_id"] = "单位不存在"
    if leader_id is not None and session.get(Leader, leader_id) is None:
        fields["leader_id"] = "领导不存在"
    if fields:
        raise ValidationFailed("用户信息有误：" + "；".join(fields.values()), fields=fields)
    if session.exec(select(User).where(User.username == username)).first():
        raise Conflict(f"登录名“{username}”已存在")
    user = User(
        username=username,
        display_name=one_line(display_name or "") or username,
        password_hash=generate_password_hash(password, method=PASSWORD_METHOD),
        role=role,
        department_id=department_id if role == Role.CLERK else None,
        leader_id=leader_id if role == Role.LEADER else None,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        "user_create",
        entity="user",
        entity_id=user.id,
        after={"username": username, "role": role, "department_id": user.department_id, "leader_id": user.leader_id},
    )
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.exec(select(User).where(User.username == (username or "").strip())).first()
    if user is None or not user.active or not check_password_hash(user.password_hash, password or ""):
        return None
    return user


def change_password(
    session: Session, actor: Actor, user: User, old: str, new: str, confirm: str, *, keep_session: str | None = None
) -> None:
    """Change one's own password; every other session of the user ends with it (``keep_session``:
    the session the change is made in)."""
    fields = {}
    if not check_password_hash(user.password_hash, old or ""):
        fields["old_password"] = "原密码不正确"
    if new == old and new:
        fields["new_password"] = "新密码不能与原密码相同"
    elif problem := passwords.problem(new, user_inputs=(user.username, user.display_name)):
        fields["new_password"] = "新" + problem
    if new != confirm:
        fields["confirm"] = "两次输入的新密码不一致"
    if fields:
        raise ValidationFailed("密码修改失败：" + "；".join(fields.values()), fields=fields)
    user.password_hash = generate_password_hash(new, method=PASSWORD_METHOD)
    user.must_change_password = False
    session.flush()
    ended = sessions.end_all(session, actor, user.id, reason="password", keep=keep_session)
    audit.record(session, actor, "password_changed", entity="user", entity_id=user.id, after={"sessions_ended": ended})


# --- administration: the admin pages' changes ------------------------------------
# Each function is one change with its audit event; the caller commits. Clashes
# come back as ValidationFailed with a field, so a form can show them in place.

# Tasks in these statuses are finished: a department may go without a warning.
_FINISHED_STATUSES = ("closed", "cancelled")
USER_FIELD_LIMITS = {"username": 60, "display_name": 60}


def _too_long(fields: dict, key: str, value: str, limit: int) -> None:
    if len(value) > limit:
        fields.setdefault(key, f"不能超过 {limit} 个字")


def get_department(session: Session, dep_id: int) -> Department:
    dep = session.get(Department, dep_id)
    if dep is None:
        raise NotFound("未找到该单位")
    return dep


def get_leader(session: Session, leader_id: int) -> Leader:
    leader = session.get(Leader, leader_id)
    if leader is None:
        raise NotFound("未找到该领导")
    return leader


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("未找到该用户")
    return user


def open_task_counts(session: Session, dep_id: int | None = None) -> dict[int, int]:
    """Unfinished tasks per department, as lead or assisting department."""
    lead = select(Task.lead_department_id.label("dep"), Task.id.label("task")).where(
        Task.lead_department_id.is_not(None), Task.status.not_in(_FINISHED_STATUSES)
    )
    assist = (
        select(TaskAssist.department_id.label("dep"), Task.id.label("task"))
        .join(Task, Task.id == TaskAssist.task_id)
        .where(Task.status.not_in(_FINISHED_STATUSES))
    )
    if dep_id is not None:
        lead = lead.where(Task.lead_department_id == dep_id)
        assist = assist.where(TaskAssist.department_id == dep_id)
    both = sa.union(lead, assist).subquery()
    rows = session.execute(select(both.c.dep, sa.func.count()).group_by(both.c.dep))
    return {dep: count for dep, count in rows}


def _check_department_name(session: Session, name: str, dep_id: int | None, field: str = "name") -> None:
    """A full name may clash neither with another department's name nor its aliases."""
    other = session.exec(select(Department).where(Department.name == name)).first()
    if other is not None and other.id != dep_id:
        raise ValidationFailed(f"单位“{name}”已存在", fields={field: "已有单位使用该名称"})
    alias = session.exec(select(DepartmentAlias).where(DepartmentAlias.alias == name)).first()
    if alias is not None and alias.department_id != dep_id:
        owner = session.get(Department, alias.department_id)
        raise ValidationFailed(f"“{name}”已是“{owner.name}”的简称", fields={field: f"已是“{owner.name}”的简称"})


def _department_fields(name: str, kind: str, short_name: str) -> dict:
    fields: dict = {}
    if not name:
        fields["name"] = "单位全称不能为空"
    _too_long(fields, "name", name, 120)
    if kind not in DepartmentKind.__members__.values():
        fields["kind"] = "请选择单位类型"
    _too_long(fields, "short_name", short_name, 40)
    return fields


def register_department(
    session: Session,
    actor: Actor,
    name: str,
    *,
    kind: str = DepartmentKind.COMPONENT,
    short_name: str = "",
    aliases: list[str] | tuple[str, ...] = (),
    sort_order: int = 0,
) -> Department:
    """create_department with every problem reported against a form field."""
    name, short_name = normalise_name(name), normalise_name(short_name)
    aliases = [a for a in dict.fromkeys(normalise_name(a) for a in aliases) if a and a != name]
    fields = _department_fields(name, kind, short_name)
    for alias in aliases:
        _too_long(fields, "aliases", alias, 120)
    if fields:
        raise ValidationFailed("单位信息有误：" + "；".join(fields.values()), fields=fields)
    _check_department_name(session, name, None)
    try:
        return create_department(
            session, actor, name, kind=kind, short_name=short_name, aliases=aliases, sort_order=sort_order
        )
    except Conflict as exc:
        raise ValidationFailed(exc.message, fields={"aliases": exc.message}) from None


def update_department(
    session: Session,
    actor: Actor,
    dep_id: int,
    *,
    name: str,
    kind: str,
    short_name: str = "",
    sort_order: int = 0,
    keep_old_name: bool = True,
) -> Department:
    """Edit a department; a renamed one keeps its old name as an alias (for imports)."""
    dep = get_department(session, dep_id)
    name, short_name = normalise_name(name), normalise_name(short_name)
    fields = _department_fields(name, kind, short_name)
    if fields:
        raise ValidationFailed("单位信息有误：" + "；".join(fields.values()), fields=fields)
    _check_department_name(session, name, dep.id)
    before = {"name": dep.name, "kind": dep.kind, "short_name": dep.short_name, "sort_order": dep.sort_order}
    old_name = dep.name
    own = session.exec(
        select(DepartmentAlias).where(DepartmentAlias.department_id == dep.id, DepartmentAlias.alias == name)
    ).first()
    if own is not None:  # the new name was an alias: it is the name now
        session.delete(own)
    dep.name, dep.kind, dep.short_name, dep.sort_order = name, kind, short_name, sort_order
    session.add(dep)
    session.flush()
    if keep_old_name and old_name != name:
        add_alias(session, dep, old_name, audit_actor=None)
    after = {"name": name, "kind": kind, "short_name": short_name, "sort_order": sort_order}
    audit.record(session, actor, "department_update", entity="department", entity_id=dep.id, before=before, after=after)
    return dep


def add_department_alias(session: Session, actor: Actor, dep_id: int, alias: str) -> DepartmentAlias:
    dep = get_department(session, dep_id)
    alias = normalise_name(alias)
    problem = None
    if not alias:
        problem = "简称不能为空"
    elif len(alias) > 120:
        problem = "简称不能超过 120 个字"
    elif alias == dep.name:
        problem = "简称与本单位全称相同，无需添加"
    elif session.exec(
        select(DepartmentAlias).where(DepartmentAlias.alias == alias, DepartmentAlias.department_id == dep.id)
    ).first():
        problem = f"本单位已有简称“{alias}”"
    if problem is None:
        try:
            add_alias(session, dep, alias, audit_actor=actor)
        except Conflict as exc:
            problem = exc.message
    if problem:
        raise ValidationFailed(problem, fields={"alias": problem})
    return session.exec(select(DepartmentAlias).where(DepartmentAlias.alias == alias)).one()


def remove_department_alias(session: Session, actor: Actor, dep_id: int, alias_id: int) -> None:
    row = session.get(DepartmentAlias, alias_id)
    if row is None or row.department_id != dep_id:
        raise NotFound("未找到该简称")
    session.delete(row)
    session.flush()
    audit.record(
        session, actor, "department_alias_remove", entity="department", entity_id=dep_id, before={"alias": row.alias}
    )


def set_department_active(
    session: Session, actor: Actor, dep_id: int, active: bool, *, accept_open_tasks: bool = False
) -> int:
    """(De)activate a department. Its unfinished tasks keep it; deactivating one that has
    any needs ``accept_open_tasks`` (the user saw the warning). Returns that count."""
    dep = get_department(session, dep_id)
    count = open_task_counts(session, dep.id).get(dep.id, 0) if not active else 0
    if dep.active == active:
        return count
    if not active and count and not accept_open_tasks:
        msg = f"该单位尚有 {count} 项未办结事项，请确认后再停用"
        raise ValidationFailed(msg, fields={"confirm": msg})
    dep.active = active
    session.add(dep)
    session.flush()
    audit.record(
        session,
        actor,
        "department_activate" if active else "department_deactivate",
        entity="department",
        entity_id=dep.id,
        before={"active": not active},
        after={"active": active},
        note=f"未办结事项 {count} 项" if count else "",
    )
    return count


def _leader_fields(name: str, title: str) -> dict:
    fields: dict = {}
    if not name:
        fields["name"] = "领导姓名不能为空"
    _too_long(fields, "name", name, 40)
    _too_long(fields, "title", title, 60)
    return fields


def _check_department_ids(session: Session, department_ids) -> list[int]:
    ids = list(dict.fromkeys(department_ids))
    missing = [i for i in ids if session.get(Department, i) is None]
    if missing:
        raise ValidationFailed("所选单位不存在", fields={"department_ids": "所选单位不存在，请刷新页面后重选"})
    return ids


def register_leader(
    session: Session, actor: Actor, name: str, title: str = "", *, department_ids=(), sort_order: int = 0
) -> Leader:
    """create_leader with field-level checks (lengths, unknown departments)."""
    name, title = normalise_name(name), one_line(title or "")
    fields = _leader_fields(name, title)
    if fields:
        raise ValidationFailed("领导信息有误：" + "；".join(fields.values()), fields=fields)
    ids = _check_department_ids(session, department_ids)
    return create_leader(session, actor, name, title, department_ids=ids, sort_order=sort_order)


def update_leader(
    session: Session, actor: Actor, leader_id: int, *, name: str, title: str, sort_order: int = 0
) -> Leader:
    leader = get_leader(session, leader_id)
    name, title = normalise_name(name), one_line(title or "")
    fields = _leader_fields(name, title)
    if fields:
        raise ValidationFailed("领导信息有误：" + "；".join(fields.values()), fields=fields)
    before = {"name": leader.name, "title": leader.title, "sort_order": leader.sort_order}
    leader.name, leader.title, leader.sort_order = name, title, sort_order
    session.add(leader)
    session.flush()
    audit.record(
        session,
        actor,
        "leader_update",
        entity="leader",
        entity_id=leader.id,
        before=before,
        after={"name": name, "title": title, "sort_order": sort_order},
    )
    return leader


def portfolio_ids(session: Session, leader_id: int) -> list[int]:
    return sorted(session.exec(select(LeaderDepartment.department_id).where(LeaderDepartment.leader_id == leader_id)))


def change_portfolio(session: Session, actor: Actor, leader_id: int, department_ids) -> Leader:
    """set_portfolio with its audit event: which departments a leader is in charge of."""
    leader = get_leader(session, leader_id)
    ids = _check_department_ids(session, department_ids)
    before = portfolio_ids(session, leader.id)
    set_portfolio(session, leader, ids)
    audit.record(
        session,
        actor,
        "leader_portfolio",
        entity="leader",
        entity_id=leader.id,
        before={"department_ids": before},
        after={"department_ids": sorted(ids)},
    )
    return leader


def set_leader_active(session: Session, actor: Actor, leader_id: int, active: bool) -> Leader:
    """(De)activate a leader; the portfolio and existing tasks are kept."""
    leader = get_leader(session, leader_id)
    if leader.active != active:
        leader.active = active
        session.add(leader)
        session.flush()
        audit.record(
            session,
            actor,
            "leader_activate" if active else "leader_deactivate",
            entity="leader",
            entity_id=leader.id,
            before={"active": not active},
            after={"active": active},
        )
    return leader


def register_user(
    session: Session,
    actor: Actor,
    username: str,
    display_name: str,
    password: str,
    role: str,
    *,
    department_id: int | None = None,
    leader_id: int | None = None,
    must_change_password: bool = True,
) -> User:
    """create_user with lengths checked and a taken login name shown at its field."""
    fields: dict = {}
    _too_long(fields, "username", (username or "").strip(), 60)
    _too_long(fields, "display_name", one_line(display_name or ""), 60)
    if fields:
        raise ValidationFailed("用户信息有误：" + "；".join(fields.values()), fields=fields)
    try:
        return create_user(
            session,
            actor,
            username,
            display_name,
            password,
            role,
            department_id=department_id,
            leader_id=leader_id,
            must_change_password=must_change_password,
        )
    except Conflict as exc:
        raise ValidationFailed(exc.message, fields={"username": "该登录名已被使用"}) from None


def update_user(
    session: Session,
    actor: Actor,
    user_id: int,
    *,
    display_name: str,
    role: str,
    department_id: int | None = None,
    leader_id: int | None = None,
) -> User:
    """Change a user's name, role and binding; nobody changes their own role."""
    user = get_user(session, user_id)
    display_name = one_line(display_name or "")
    fields: dict = {}
    if not display_name:
        fields["display_name"] = "姓名不能为空"
    _too_long(fields, "display_name", display_name, 60)
    if role not in Role.__members__.values():
        fields["role"] = "请选择角色"
    elif user.id == actor.user_id and role != user.role:
        fields["role"] = "不能修改自己的角色"
    if role == Role.CLERK and department_id is None:
        fields["department_id"] = "承办单位用户须绑定单位"
    if role == Role.LEADER and leader_id is None:
        fields["leader_id"] = "领导用户须绑定领导"
    if department_id is not None and session.get(Department, department_id) is None:
        fields["department_id"] = "单位不存在"
    if leader_id is not None and session.get(Leader, leader_id) is None:
        fields["leader_id"] = "领导不存在"
    if fields:
        raise ValidationFailed("用户信息有误：" + "；".join(fields.values()), fields=fields)
    before = {
        "display_name": user.display_name,
        "role": user.role,
        "department_id": user.department_id,
        "leader_id": user.leader_id,
    }
    user.display_name, user.role = display_name, role
    user.department_id = department_id if role == Role.CLERK else None
    user.leader_id = leader_id if role == Role.LEADER else None
    session.add(user)
    session.flush()
    rights = ("role", "department_id", "leader_id")
    audit.record(
        session,
        actor,
        "role_changed" if any(before[k] != getattr(user, k) for k in rights) else "user_update",
        entity="user",
        entity_id=user.id,
        before=before,
        after={
            "display_name": user.display_name,
            "role": user.role,
            "department_id": user.department_id,
            "leader_id": user.leader_id,
        },
    )
    return user


def set_user_active(session: Session, actor: Actor, user_id: int, active: bool) -> User:
    """(De)activate a login; a deactivated user's sessions and API tokens stop working."""
    user = get_user(session, user_id)
    if not active and user.id == actor.user_id:
        raise ValidationFailed("不能停用自己的账号", fields={"active": "不能停用自己的账号"})
    if user.active != active:
        user.active = active
        session.add(user)
        session.flush()
        if not active:
            sessions.end_all(session, actor, user.id, reason="deactivated")
        audit.record(
            session,
            actor,
            "user_activate" if active else "user_deactivate",
            entity="user",
            entity_id=user.id,
            before={"active": not active},
            after={"active": active},
        )
    return user


def reset_password(session: Session, actor: Actor, user_id: int, password: str) -> User:
    """An administrator sets a new initial password; the user must change it at next login."""
    user = get_user(session, user_id)
    if msg := passwords.problem(password, user_inputs=(user.username, user.display_name)):
        raise ValidationFailed(msg, fields={"password": msg})
    user.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)
    user.must_change_password = True
    session.add(user)
    session.flush()
    ended = sessions.end_all(session, actor, user.id, reason="password")
    audit.record(
        session,
        actor,
        "password_reset",
        entity="user",
        entity_id=user.id,
        after={"must_change_password": True, "sessions_ended": ended},
    )
    return user


def ladder_recipients(session: Session, escalations: list[dict]) -> dict[int, list[int]]:
    """Escalation id → user ids on its rung (``tracker.rules.ladder.recipients``): the clerks and heads of
    the lead department and the leaders' accounts, read in three statements, for
    escalations given as dicts with ``id``, ``level``, ``task_id`` and ``department_id``."""
    deps = {e["department_id"] for e in escalations}
    tasks_ = {e["task_id"] for e in escalations}
    staff: dict[int, dict[str, list[int]]] = {}
    for uid, dep, is_head in session.execute(
        select(User.id, User.department_id, User.is_head)
        .where(User.department_id.in_(deps), User.active, User.role == Role.CLERK.value)
        .order_by(User.id)
    ):
        staff.setdefault(dep, {"clerks": [], "heads": []})["heads" if is_head else "clerks"].append(uid)
    leaders: dict[int, list[int]] = {}
    for uid, tid in session.execute(
        select(User.id, TaskLeader.task_id)
        .join(TaskLeader, TaskLeader.leader_id == User.leader_id)
        .where(TaskLeader.task_id.in_(tasks_), User.active, User.role == Role.LEADER.value)
        .order_by(User.id)
    ):
        leaders.setdefault(tid, []).append(uid)
    in_charge: dict[int, list[int]] = {}
    for uid, dep in session.execute(
        select(User.id, LeaderDepartment.department_id)
        .join(LeaderDepartment, LeaderDepartment.leader_id == User.leader_id)
        .where(LeaderDepartment.department_id.in_(deps), User.active, User.role == Role.LEADER.value)
        .order_by(User.id)
    ):
        in_charge.setdefault(dep, []).append(uid)
    return ladder.recipients_by_escalation(escalations, staff=staff, leaders=leaders, in_charge=in_charge)
