"""Tiny factories that build a district through the real services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session

from tracker import clock
from tracker.models import Role, Source, SourceKind
from tracker.services.actors import SYSTEM, Actor
from tracker.services.organisation import directory as organisation
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks import requests as task_requests

_seq = itertools.count(1)
PASSWORD = "Factory-pass-7"  # every factory user's; passes the password policy (accounts/passwords.py)


def department(session: Session, name: str | None = None, **kw):
    return organisation.create_department(session, SYSTEM, name or f"测试单位{next(_seq)}", **kw)


def leader(session: Session, name: str | None = None, title: str = "副区长", **kw):
    return organisation.create_leader(session, SYSTEM, name or f"领导{next(_seq)}", title, **kw)


def user(session: Session, role: Role, **kw):
    n = next(_seq)
    return organisation.create_user(
        session, SYSTEM, kw.pop("username", f"user{n}"), f"用户{n}", kw.pop("password", PASSWORD), role, **kw
    )


def source(session: Session, **kw):
    src = Source(
        kind=kw.pop("kind", SourceKind.EXECUTIVE_MEETING),
        title=kw.pop("title", "区政府第12次常务会议"),
        source_date=kw.pop("source_date", clock.today() - timedelta(days=7)),
        **kw,
    )
    session.add(src)
    session.flush()
    return src


@dataclass
class District:
    """One office user, two departments with clerks, an assisting one, a leader."""

    office: Actor
    office2: Actor
    lead_clerk: Actor
    assist_clerk: Actor
    other_clerk: Actor
    leader: Actor
    other_leader: Actor
    lead_id: int
    assist_id: int
    other_id: int
    leader_id: int
    source_id: int
    admin: Actor | None = None  # a system administrator: no business with any task


def district(session: Session) -> District:
    lead = department(session, "区发展和改革委员会", aliases=["区发改委"])
    assist = department(session, "区财政局")
    other = department(session, "区教育局")
    boss = leader(session, "吴海涛", "副区长", department_ids=[lead.id])
    other_boss = leader(session, "李明", "副区长", department_ids=[other.id])
    src = source(session)
    d = District(
        office=Actor.of(user(session, Role.SUPERVISOR)),
        office2=Actor.of(user(session, Role.SUPERVISOR)),
        lead_clerk=Actor.of(user(session, Role.CLERK, department_id=lead.id)),
        assist_clerk=Actor.of(user(session, Role.CLERK, department_id=assist.id)),
        other_clerk=Actor.of(user(session, Role.CLERK, department_id=other.id)),
        leader=Actor.of(user(session, Role.LEADER, leader_id=boss.id)),
        other_leader=Actor.of(user(session, Role.LEADER, leader_id=other_boss.id)),
        lead_id=lead.id,
        assist_id=assist.id,
        other_id=other.id,
        leader_id=boss.id,
        source_id=src.id,
        admin=Actor.of(user(session, Role.ADMIN)),
    )
    session.commit()
    return d


def quick_district(session: Session) -> District:
    """The same district as ``district()``, written as plain rows in two flushes.

    For tests that build a district many hundred times (the workflow matrix, the
    property test): the organisation services and their audit events are covered
    elsewhere, and users here never log in, so they get no usable password."""
    from tracker.models import Department, Leader, LeaderDepartment, User

    n = next(_seq)
    lead, assist, other = (Department(name=f"{name}{n}") for name in ("区发展和改革委员会", "区财政局", "区教育局"))
    boss, other_boss = Leader(name="吴海涛", title="副区长"), Leader(name="李明", title="副区长")
    src = Source(
        kind=SourceKind.EXECUTIVE_MEETING, title="区政府第12次常务会议", source_date=clock.today() - timedelta(days=7)
    )
    session.add_all([lead, assist, other, boss, other_boss, src])
    session.flush()
    users = {
        "office": User(role=Role.SUPERVISOR),
        "office2": User(role=Role.SUPERVISOR),
        "lead_clerk": User(role=Role.CLERK, department_id=lead.id),
        "assist_clerk": User(role=Role.CLERK, department_id=assist.id),
        "other_clerk": User(role=Role.CLERK, department_id=other.id),
        "leader": User(role=Role.LEADER, leader_id=boss.id),
        "other_leader": User(role=Role.LEADER, leader_id=other_boss.id),
        "admin": User(role=Role.ADMIN),
    }
    for key, u in users.items():
        u.username, u.display_name, u.password_hash = f"{key}{n}", f"用户{key}{n}", "!"
    portfolios = [
        LeaderDepartment(leader_id=boss.id, department_id=lead.id),
        LeaderDepartment(leader_id=other_boss.id, department_id=other.id),
    ]
    session.add_all([*portfolios, *users.values()])
    session.flush()
    # The session's identity map holds rows weakly: keep these alive, so that the services'
    # session.get() of a department, leader or portfolio costs no query.
    session.info.setdefault("district_rows", []).extend(
        [lead, assist, other, boss, other_boss, src, *portfolios, *users.values()]
    )
    d = District(
        **{key: Actor.of(u) for key, u in users.items()},
        lead_id=lead.id,
        assist_id=assist.id,
        other_id=other.id,
        leader_id=boss.id,
        source_id=src.id,
    )
    session.commit()
    return d


def draft(session: Session, d: District, **kw):
    data = {
        "title": kw.pop("title", "推进重点项目前期工作"),
        "requirement": "按会议要求完成项目前期手续",
        "source_id": d.source_id,
        "lead_department_id": d.lead_id,
        "assisting_department_ids": [d.assist_id],
        "leader_ids": [d.leader_id],
        "due_date": kw.pop("due_date", clock.today() + timedelta(days=30)),
    }
    data.update(kw)
    return tasks.create_draft(session, d.office, data)


def open_request(session: Session, d: District, task, kind: str):
    """A pending request of ``kind`` on an assigned task, made by the lead department's clerk.

    kind: "extension" (延期申请), "reassign" (改派申请) or "change" (a requirement change).
    """
    if kind == "extension":
        return task_requests.request_extension(
            session, d.lead_clerk, task.id, task.due_date + timedelta(days=14), "资金未到位"
        )
    if kind == "reassign":
        return task_requests.request_reassign(session, d.lead_clerk, task.id, "不属于我单位职责", d.other_id)
    if kind == "change":
        return task_requests.request_change(
            session, d.lead_clerk, task.id, "会议要求调整", requirement="按调整后的会议要求办理"
        )
    raise ValueError(kind)


def task_in(session: Session, d: District, status: str, *, pending: tuple[str, ...] = (), **kw):
    """A task walked through the real loop into ``status``.

    ``pending`` names requests (see ``open_request``) opened right after assignment and
    left undecided on the way to ``status``; drafts and pending approvals cannot have any.
    """
    task = draft(session, d, **kw)
    if status == "draft":
        return task
    if status == "pending_approval":
        return tasks.submit_for_approval(session, d.office, task.id)
    tasks.assign(session, d.office, task.id)
    for kind in pending:
        open_request(session, d, task, kind)
    if status == "assigned":
        return task
    tasks.acknowledge(session, d.lead_clerk, task.id)
    if status == "acknowledged":
        return task
    tasks.report_progress(session, d.lead_clerk, task.id, {"text": "已完成初步工作", "percent": 30})
    if status == "in_progress":
        return task
    if status == "suspended":
        return tasks.suspend(session, d.office, task.id, "等待上级政策")
    if status == "cancelled":
        return tasks.cancel(session, d.office, task.id, "事项已由上级统筹")
    task_requests.request_close(session, d.lead_clerk, task.id, "已全部完成")
    if status == "pending_review":
        return task
    task_requests.review_close(session, d.office, task.id, approve=True)
    assert status == "closed", status
    return task


def on(day: date):
    return clock.frozen(day)


def task_state(session: Session, task) -> dict:
    """Everything a step on ``task`` could touch, to compare before and after a step:
    all the task's columns, its assisting departments and leaders, its requests with
    their status, and how many reports, reminders, escalations and audit events hang
    off it. Two queries: the matrix and the property test call it thousands of times."""
    import sqlalchemy as sa
    from sqlmodel import select

    from tracker.models import (
        AuditEvent,
        ChangeRequest,
        CloseRequest,
        Escalation,
        ExtensionRequest,
        ProgressReport,
        Reminder,
        Task,
        TaskAssist,
        TaskLeader,
    )

    state = {c.name: getattr(task, c.name) for c in Task.__table__.columns}
    tag = lambda name: sa.literal(name, sa.String)  # noqa: E731
    parts = [
        select(tag("assisting_department_ids"), TaskAssist.department_id, tag("")).where(TaskAssist.task_id == task.id),
        select(tag("leader_ids"), TaskLeader.leader_id, tag("")).where(TaskLeader.task_id == task.id),
    ]
    parts += [
        select(tag(model.__name__), model.id, model.status).where(model.task_id == task.id)
        for model in (ExtensionRequest, ChangeRequest, CloseRequest)
    ]
    rows = session.execute(sa.union_all(*parts)).all()
    state.update(assisting_department_ids=[], leader_ids=[], ExtensionRequest=[], ChangeRequest=[], CloseRequest=[])
    for key, ident, status in sorted(rows):
        state[key].append(ident if key in ("assisting_department_ids", "leader_ids") else (ident, status))
    counts = session.execute(
        select(
            *(
                select(sa.func.count())
                .select_from(model)
                .where(model.task_id == task.id)
                .scalar_subquery()
                .label(model.__name__)
                for model in (ProgressReport, Reminder, Escalation, AuditEvent)
            )
        )
    ).one()
    state.update(counts._asdict())
    state["audit"] = state.pop("AuditEvent")
    return state
