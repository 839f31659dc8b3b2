"""Departments, their aliases, leaders and their portfolios (分管), and users."""

from __future__ import annotations

import unicodedata

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
    User,
)
from tracker.services import audit
from tracker.services.actors import Actor

MIN_PASSWORD_LENGTH = 8
# scrypt by default; the test suite swaps in a cheap method to stay fast.
PASSWORD_METHOD = "scrypt"


def normalise_name(text: str) -> str:
    """NFKC (full-width to half-width) and no inner spaces: how names are compared."""
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def create_department(session: Session, actor: Actor, name: str, *, kind: str = DepartmentKind.COMPONENT,
                      short_name: str = "", aliases: list[str] | tuple[str, ...] = (),
                      sort_order: int = 0) -> Department:
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
    audit.record(session, actor, "department_create", entity="department", entity_id=dep.id,
                 after={"name": name, "kind": kind, "aliases": list(aliases)})
    return dep


def add_alias(session: Session, dep: Department, alias: str, *, audit_actor: Actor | None) -> None:
    alias = normalise_name(alias)
    if not alias or alias == dep.name:
        return
    clash = session.exec(select(DepartmentAlias).where(DepartmentAlias.alias == alias)).first()
    if clash and clash.department_id != dep.id:
        other = session.get(Department, clash.department_id)
        raise Conflict(f"简称“{alias}”已被“{other.name}”使用")
    if session.exec(select(Department).where(Department.name == alias, Department.id != dep.id)).first():
        raise Conflict(f"简称“{alias}”与另一单位的全称相同")
    if clash is None:
        session.add(DepartmentAlias(department_id=dep.id, alias=alias))
        session.flush()
        if audit_actor is not None:
            audit.record(session, audit_actor, "department_alias_add", entity="department",
                         entity_id=dep.id, after={"alias": alias})


def create_leader(session: Session, actor: Actor, name: str, title: str = "", *,
                  department_ids: list[int] | tuple[int, ...] = (), sort_order: int = 0) -> Leader:
    name = normalise_name(name)
    if not name:
        raise ValidationFailed("领导姓名不能为空", fields={"name": "不能为空"})
    leader = Leader(name=name, title=title.strip(), sort_order=sort_order)
    session.add(leader)
    session.flush()
    set_portfolio(session, leader, department_ids)
    audit.record(session, actor, "leader_create", entity="leader", entity_id=leader.id,
                 after={"name": name, "title": title, "department_ids": list(department_ids)})
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


def create_user(session: Session, actor: Actor, username: str, display_name: str, password: str,
                role: str, *, department_id: int | None = None, leader_id: int | None = None,
                must_change_password: bool = False) -> User:
    username = (username or "").strip()
    fields = {}
    if not username:
        fields["username"] = "登录名不能为空"
    if role not in Role.__members__.values():
        fields["role"] = f"角色无效：{role}"
    if len(password or "") < MIN_PASSWORD_LENGTH:
        fields["password"] = f"密码至少 {MIN_PASSWORD_LENGTH} 位"
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
    user = User(username=username, display_name=display_name.strip() or username,
                password_hash=generate_password_hash(password, method=PASSWORD_METHOD), role=role,
                department_id=department_id if role == Role.CLERK else None,
                leader_id=leader_id if role == Role.LEADER else None,
                must_change_password=must_change_password)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user_create", entity="user", entity_id=user.id,
                 after={"username": username, "role": role, "department_id": user.department_id,
                        "leader_id": user.leader_id})
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.exec(select(User).where(User.username == (username or "").strip())).first()
    if user is None or not user.active or not check_password_hash(user.password_hash, password or ""):
        return None
    return user


def change_password(session: Session, actor: Actor, user: User, old: str, new: str, confirm: str) -> None:
    fields = {}
    if not check_password_hash(user.password_hash, old or ""):
        fields["old_password"] = "原密码不正确"
    if len(new or "") < MIN_PASSWORD_LENGTH:
        fields["new_password"] = f"新密码至少 {MIN_PASSWORD_LENGTH} 位"
    elif new == old:
        fields["new_password"] = "新密码不能与原密码相同"
    elif not (any(c.isdigit() for c in new) and any(c.isalpha() for c in new)):
        fields["new_password"] = "新密码须同时包含字母和数字"
    if new != confirm:
        fields["confirm"] = "两次输入的新密码不一致"
    if fields:
        raise ValidationFailed("密码修改失败：" + "；".join(fields.values()), fields=fields)
    user.password_hash = generate_password_hash(new, method=PASSWORD_METHOD)
    user.must_change_password = False
    session.flush()
    audit.record(session, actor, "password_change", entity="user", entity_id=user.id)
