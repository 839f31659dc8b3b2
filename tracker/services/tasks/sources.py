"""Registering task sources (任务来源): meetings, leaders' instructions, documents...

A source is registered before its items are split into tasks, so that every
task can name the meeting and item number (or the instruction) it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import sqlalchemy as sa
from pydantic import BaseModel, Field, field_validator
from sqlmodel import Session, select

from tracker.errors import NotFound, NotPermitted, ValidationFailed
from tracker.models import MEETING_KINDS, SOURCE_KIND_LABELS, Leader, Source, SourceKind, Task
from tracker.services import audit
from tracker.services.actors import Actor
from tracker.services.intake.layout import read_minutes
from tracker.services.validation import Day, Id, Line, search_text, validate
from tracker.sql import contains_pattern

FIELD_LABELS = {
    "kind": "来源类型",
    "title": "名称",
    "reference": "文号或期数",
    "source_date": "日期",
    "leader_id": "领导",
    "body": "正文",
    "attendees": "参会人员",
    "document": "批示所在文件",
}


class SourceInput(BaseModel):
    kind: SourceKind
    title: Line = Field(default="", max_length=200)
    reference: Line = Field(default="", max_length=120)
    source_date: Day
    leader_id: Optional[Id] = None
    body: str = Field(default="", max_length=100_000)
    attendees: str = Field(default="", max_length=2000)  # meetings
    document: str = Field(default="", max_length=500)  # instructions: the document it was written on

    @field_validator("title", "reference", "body", "attendees", "document", mode="before")
    @classmethod
    def _strip(cls, v):
        return v.strip() if isinstance(v, str) else ("" if v is None else v)

    @field_validator("leader_id", "source_date", mode="before")
    @classmethod
    def _blank_is_none(cls, v):
        return None if isinstance(v, str) and not v.strip() else v


def _validate(data: dict) -> SourceInput:
    return validate(SourceInput, data, FIELD_LABELS, missing="请填写{label}", none_is_missing=True)


def is_meeting(kind: str) -> bool:
    return kind in MEETING_KINDS


def create_source(session: Session, actor: Actor, data: dict | SourceInput) -> Source:
    """Register a source. Only the office does; a meeting's chair and an
    instruction's leader must be known leaders, and an instruction needs its text."""
    if not actor.is_office:
        raise NotPermitted("只有督查室可以登记任务来源")
    data = data if isinstance(data, SourceInput) else _validate(data)
    fields: dict[str, str] = {}
    leader = None
    if data.leader_id is not None:
        leader = session.get(Leader, data.leader_id)
        if leader is None or not leader.active:
            fields["leader_id"] = "领导不存在或已停用"
    if data.kind == SourceKind.LEADER_INSTRUCTION:
        if data.leader_id is None:
            fields["leader_id"] = "请选择作出批示的领导"
        if not data.body:
            fields["body"] = "请填写批示内容"
    title = data.title
    if not title:
        if is_meeting(data.kind):
            # the customary name from the minutes' own title line (区政府第31次常务会议纪要 →
            # 区政府第31次常务会议), else the kind and the number the clerk gave
            title = (read_minutes(data.body).title if data.body else "") or (
                SOURCE_KIND_LABELS[data.kind] + (f"（{data.reference}）" if data.reference else "")
            )
        elif data.kind == SourceKind.LEADER_INSTRUCTION and leader is not None:
            title = f"{leader.name}同志批示"
        else:
            fields.setdefault("title", "请填写名称")
    if fields:
        raise ValidationFailed("输入有误：" + "；".join(fields.values()), fields=fields)

    details = {}
    if is_meeting(data.kind) and data.attendees:
        details["attendees"] = data.attendees
    if data.kind == SourceKind.LEADER_INSTRUCTION and data.document:
        details["document"] = data.document
    src = Source(
        kind=data.kind.value,
        title=title[:200],
        reference=data.reference,
        source_date=data.source_date,
        leader_id=data.leader_id,
        body=data.body,
        details=details or None,
        created_by_id=actor.user_id,
    )
    session.add(src)
    session.flush()
    audit.record(
        session,
        actor,
        "source_create",
        entity="source",
        entity_id=src.id,
        after={
            "kind": src.kind,
            "title": src.title,
            "reference": src.reference,
            "source_date": src.source_date,
            "leader_id": src.leader_id,
        },
    )
    return src


def get_source(session: Session, source_id: int) -> Source:
    src = session.get(Source, source_id)
    if src is None:
        raise NotFound(f"未找到编号为 {source_id} 的任务来源")
    return src


@dataclass
class SourceRow:
    source: Source
    leader_name: str
    task_count: int

    @property
    def kind_label(self) -> str:
        return kind_label(self.source.kind)


def kind_label(kind: str) -> str:
    try:
        return SOURCE_KIND_LABELS[SourceKind(kind)]
    except ValueError:
        return kind


def list_sources(
    session: Session, *, kind: str = "", text: str = "", page: int = 1, per_page: int = 50
) -> tuple[list[SourceRow], int]:
    """Newest first, with the number of tasks registered from each source."""
    where = []
    if kind:
        where.append(Source.kind == kind)
    text = search_text(text)
    if text:
        pattern = contains_pattern(text)
        where.append(sa.or_(Source.title.ilike(pattern, escape="\\"), Source.reference.ilike(pattern, escape="\\")))
    total = session.scalar(select(sa.func.count()).select_from(Source).where(*where))
    counts = (
        select(Task.source_id, sa.func.count().label("n"))
        .where(Task.source_id.is_not(None))
        .group_by(Task.source_id)
        .subquery()
    )
    stmt = (
        select(Source, Leader.name, sa.func.coalesce(counts.c.n, 0))
        .join(Leader, Leader.id == Source.leader_id, isouter=True)
        .join(counts, counts.c.source_id == Source.id, isouter=True)
        .where(*where)
        .order_by(Source.source_date.desc(), Source.id.desc())
        .limit(per_page)
        .offset((max(1, page) - 1) * per_page)
    )
    rows = [SourceRow(src, name or "", n) for src, name, n in session.execute(stmt).all()]
    return rows, total
