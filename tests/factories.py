"""Tiny factories that build a district through the real services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session

from tracker import clock
from tracker.models import Role, SourceKind, Source
from tracker.services import organisation, tasks
from tracker.services.actors import SYSTEM, Actor

_seq = itertools.count(1)


def department(session: Session, name: str | None = None, **kw):
    return organisation.create_department(session, SYSTEM, name or f"测试单位{next(_seq)}", **kw)


def leader(session: Session, name: str | None = None, title: str = "副区长", **kw):
    return organisation.create_leader(session, SYSTEM, name or f"领导{next(_seq)}", title, **kw)


def user(session: Session, role: Role, **kw):
    n = next(_seq)
    return organisation.create_user(session, SYSTEM, kw.pop("username", f"user{n}"), f"用户{n}",
                                    kw.pop("password", "password123"), role, **kw)


def source(session: Session, **kw):
    src = Source(kind=kw.pop("kind", SourceKind.EXECUTIVE_MEETING), title=kw.pop("title", "区政府第12次常务会议"),
                 source_date=kw.pop("source_date", clock.today() - timedelta(days=7)), **kw)
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
        lead_id=lead.id, assist_id=assist.id, other_id=other.id, leader_id=boss.id,
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


def task_in(session: Session, d: District, status: str, **kw):
    """A task walked through the real loop into ``status``."""
    task = draft(session, d, **kw)
    if status == "draft":
        return task
    if status == "pending_approval":
        return tasks.submit_for_approval(session, d.office, task.id)
    tasks.assign(session, d.office, task.id)
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
    tasks.request_close(session, d.lead_clerk, task.id, "已全部完成")
    if status == "pending_review":
        return task
    tasks.review_close(session, d.office, task.id, approve=True)
    assert status == "closed", status
    return task


def on(day: date):
    return clock.frozen(day)
