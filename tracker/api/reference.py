"""Reference data: task sources, departments (with aliases), leaders, and the caller.

A source is the office's record of a meeting or an instruction: the office sees
every source, anyone else only the sources of tasks they can see (its minutes
may cover other departments' business)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g
from flask_wtf.csrf import generate_csrf
from sqlmodel import select

from tracker.api import schemas as s
from tracker.api.blueprint import bp
from tracker.api.core import body, operation, query, reply
from tracker.api.present import ROLE_PARTY, local
from tracker.db import get_session
from tracker.errors import NotFound
from tracker.http.login import current_actor, current_row
from tracker.models import (
    DEPARTMENT_KIND_LABELS,
    ROLE_LABELS,
    Department,
    DepartmentAlias,
    DepartmentKind,
    Leader,
    LeaderDepartment,
    Role,
    Source,
    Task,
)
from tracker.services.actors import Actor, visible_clause
from tracker.services.tasks import sources as source_svc
from tracker.services.tasks.queries import normalise_text
from tracker.workflow import Party, status_label

TAG_SOURCES = "任务来源"
TAG_ORG = "单位和领导"


def _task_counts(actor: Actor):
    return (
        select(Task.source_id.label("source_id"), sa.func.count().label("n"))
        .where(Task.source_id.is_not(None), visible_clause(actor))
        .group_by(Task.source_id)
        .subquery()
    )


def _source_item(src: Source, leader: Leader | None, count: int) -> dict:
    return dict(
        id=src.id,
        kind=src.kind,
        kind_label=source_svc.kind_label(src.kind),
        title=src.title,
        reference=src.reference,
        source_date=src.source_date,
        leader=s.LeaderRef(id=leader.id, name=leader.name, title=leader.title) if leader else None,
        task_count=int(count or 0),
        created_at=local(src.created_at),
    )


def _sources_select(actor: Actor):
    counts = _task_counts(actor)
    stmt = (
        select(Source, Leader, sa.func.coalesce(counts.c.n, 0))
        .join(Leader, Leader.id == Source.leader_id, isouter=True)
        .join(counts, counts.c.source_id == Source.id, isouter=True)
    )
    if not actor.is_office:
        stmt = stmt.where(counts.c.n > 0)
    return stmt


@operation(
    bp,
    "GET",
    "/sources",
    summary="任务来源列表（新的在前）",
    tag=TAG_SOURCES,
    query=s.SourceQuery,
    response=s.SourcePage,
    description="督查室看全部来源；其他用户只看到有自己可见事项的来源，task_count 也只计可见事项。",
)
def list_sources():
    q = query(s.SourceQuery)
    session = get_session()
    actor = current_actor()
    stmt = _sources_select(actor)
    if q.kind:
        stmt = stmt.where(Source.kind == q.kind.value)
    text = normalise_text(q.q)
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            sa.or_(Source.title.ilike(pattern, escape="\\"), Source.reference.ilike(pattern, escape="\\"))
        )
    total = session.scalar(select(sa.func.count()).select_from(stmt.subquery()))
    rows = session.execute(
        stmt.order_by(Source.source_date.desc(), Source.id.desc()).limit(q.per_page).offset((q.page - 1) * q.per_page)
    ).all()
    items = [s.SourceItem(**_source_item(src, leader, n)) for src, leader, n in rows]
    return reply(
        s.SourcePage(items=items, total=total, page=q.page, per_page=q.per_page, pages=max(1, -(-total // q.per_page)))
    )


def _source_detail(session, actor: Actor, source_id: int) -> s.SourceDetail:
    row = session.execute(_sources_select(actor).where(Source.id == source_id)).first()
    if row is None:
        raise NotFound(f"未找到编号为 {source_id} 的任务来源")
    src, leader, count = row
    party = ROLE_PARTY.get(actor.role, Party.NONE)
    tasks = session.exec(
        select(Task).where(Task.source_id == src.id, visible_clause(actor)).order_by(Task.item_no, Task.id)
    )
    return s.SourceDetail(
        **_source_item(src, leader, count),
        body=src.body,
        details=src.details,
        tasks=[
            s.SourceTask(
                id=t.id,
                code=t.code,
                title=t.title,
                item_no=t.item_no,
                status=t.status,
                status_label=status_label(t.status, party),
            )
            for t in tasks
        ],
    )


@operation(
    bp,
    "GET",
    "/sources/{source_id}",
    summary="任务来源详情（含由它产生的可见事项）",
    tag=TAG_SOURCES,
    response=s.SourceDetail,
    path_params={"source_id": "来源编号（id）"},
)
def get_source(source_id: int):
    return reply(_source_detail(get_session(), current_actor(), source_id))


@operation(
    bp,
    "POST",
    "/sources",
    summary="登记任务来源（仅督查室）",
    tag=TAG_SOURCES,
    body=s.SourceCreate,
    response=s.SourceDetail,
    status=201,
)
def create_source():
    data = body(s.SourceCreate)
    session = get_session()
    actor = current_actor()
    src = source_svc.create_source(session, actor, data)
    session.commit()
    return reply(_source_detail(session, actor, src.id), 201)


# --- departments and leaders -----------------------------------------------------


@operation(
    bp,
    "GET",
    "/departments",
    summary="单位列表（含别名、简称）",
    tag=TAG_ORG,
    query=s.DepartmentQuery,
    response=s.DepartmentList,
)
def list_departments():
    q = query(s.DepartmentQuery)
    session = get_session()
    stmt = select(Department).order_by(Department.sort_order, Department.id)
    if not q.include_inactive:
        stmt = stmt.where(Department.active.is_(True))
    deps = list(session.exec(stmt))
    aliases: dict[int, list[str]] = {d.id: [] for d in deps}
    for row in session.exec(select(DepartmentAlias).order_by(DepartmentAlias.id)):
        if row.department_id in aliases:
            aliases[row.department_id].append(row.alias)
    return reply(
        s.DepartmentList(
            items=[
                s.DepartmentOut(
                    id=d.id,
                    name=d.name,
                    short_name=d.short_name,
                    kind=d.kind,
                    kind_label=_kind_label(d.kind),
                    active=d.active,
                    aliases=aliases[d.id],
                )
                for d in deps
            ]
        )
    )


def _kind_label(kind: str) -> str:
    try:
        return DEPARTMENT_KIND_LABELS[DepartmentKind(kind)]
    except ValueError:
        return kind


@operation(bp, "GET", "/leaders", summary="区领导列表（含分管单位）", tag=TAG_ORG, response=s.LeaderList)
def list_leaders():
    session = get_session()
    leaders = list(session.exec(select(Leader).where(Leader.active.is_(True)).order_by(Leader.sort_order, Leader.id)))
    portfolio: dict[int, list[s.Ref]] = {ldr.id: [] for ldr in leaders}
    for leader_id, dep in session.execute(
        select(LeaderDepartment.leader_id, Department)
        .join(Department, Department.id == LeaderDepartment.department_id)
        .order_by(Department.sort_order, Department.id)
    ):
        if leader_id in portfolio:
            portfolio[leader_id].append(s.Ref(id=dep.id, name=dep.name))
    return reply(
        s.LeaderList(
            items=[
                s.LeaderOut(id=ldr.id, name=ldr.name, title=ldr.title, active=ldr.active, departments=portfolio[ldr.id])
                for ldr in leaders
            ]
        )
    )


@operation(bp, "GET", "/me", summary="当前调用者（会话调用时附带 CSRF 令牌）", tag=TAG_ORG, response=s.Me)
def me():
    session = get_session()
    row = current_row()
    dep = session.get(Department, row.department_id) if row.department_id else None
    leader = session.get(Leader, row.leader_id) if row.leader_id else None
    token_auth = bool(getattr(g, "token_auth", False))
    return reply(
        s.Me(
            id=row.id,
            username=row.username,
            display_name=row.display_name,
            role=row.role,
            role_label=ROLE_LABELS[Role(row.role)],
            department=s.Ref(id=dep.id, name=dep.name) if dep else None,
            leader=s.LeaderRef(id=leader.id, name=leader.name, title=leader.title) if leader else None,
            auth="token" if token_auth else "session",
            csrf_token=None if token_auth else generate_csrf(),
        )
    )
