"""The append-only audit log: every change writes exactly one event, in its own
transaction, so the log and the data can never disagree."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from tracker.models import AuditEvent
from tracker.services.actors import Actor


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return [_plain(v) for v in sorted(value, key=str)]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def diff(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values changed, as JSON-ready dicts."""
    keys = [k for k in after.keys() | before.keys() if before.get(k) != after.get(k)]
    return (
        {k: _plain(before.get(k)) for k in sorted(keys)},
        {k: _plain(after.get(k)) for k in sorted(keys)},
    )


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    entity: str,
    entity_id: int | None,
    task_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    note: str = "",
) -> AuditEvent:
    b, a = diff(before or {}, after or {})
    event = AuditEvent(
        actor_id=actor.user_id,
        actor_name=actor.name,
        entity=entity,
        entity_id=entity_id,
        task_id=task_id,
        action=action,
        before=b or None,
        after=a or None,
        note=note,
    )
    session.add(event)
    return event
