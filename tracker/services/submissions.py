"""One change per submission: a form's one-time token, an API caller's ``Idempotency-Key``.

A double click, a browser's retry, a client that timed out and sends again: each repeat carries
the key of the first. ``claim`` inserts the key before the request changes anything, in the
same transaction, so it is saved with the change or not at all (a refused form leaves no key
behind, and the corrected form may go again). The key is unique per user: a repeat sent at
the same moment waits on the first's uncommitted row (PostgreSQL) or on the write lock
(SQLite, ``db.begin_write``), then finds it. ``answer`` stores what the first request answered;
a repeat gets that answer (``Answer``) and changes nothing. Keys are kept ``KEEP`` and then
pruned by the scheduler (``prune``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from tracker import clock, db
from tracker.errors import Conflict, ValidationFailed
from tracker.models import Submission

KEEP = timedelta(days=7)  # a week: a form left open over a weekend and sent twice is still caught
KEY_MAX = 200

# How long a repeat waits for the first's answer once the first's change is saved: the answer is
# stored just after (the page, the JSON), so this only covers a first request that is slow to finish.
WAIT_SECONDS = 10.0
_POLL = 0.05


@dataclass(frozen=True)
class Answer:
    """What the first request answered, to be sent again to each repeat."""

    status: int
    location: str = ""
    content_type: str = ""
    body: str = ""
    flashes: list = field(default_factory=list)


_table = Submission.__table__


def _stored(session: Session, user_id: int, key: str):
    """The key's row as committed now (a plain row: never an identity-map copy read earlier)."""
    return session.execute(sa.select(_table).where(_table.c.user_id == user_id, _table.c.key == key)).first()


def _answer_of(row, fingerprint: str) -> Answer | None:
    if row.fingerprint != fingerprint:
        raise ValidationFailed(
            "该提交已使用过，但这次提交的内容与上次不同，未予处理；请刷新页面后重新填写提交",
            code="submission_reused",
        )
    if row.status is None:
        return None
    return Answer(row.status, row.location, row.content_type, row.body, [tuple(f) for f in row.flashes or []])


def claim(
    session: Session, user_id: int, key: str, fingerprint: str, *, wait: float = WAIT_SECONDS
) -> Submission | Answer:
    """The new row for a first submission of ``key`` (the request goes on and commits it with its
    change), or the first submission's ``Answer`` for a repeat.

    Raises ValidationFailed (422) when the key came with other content than the first time, and
    Conflict (409) when the first is saved but its answer is not after ``wait`` seconds."""
    row = _stored(session, user_id, key)
    if row is None:
        db.begin_write(session)
        try:
            with session.begin_nested():
                new = Submission(user_id=user_id, key=key, fingerprint=fingerprint)
                session.add(new)
            return new
        except sa.exc.IntegrityError:
            # A repeat sent at the same moment: the first has just committed its change. Nothing of
            # this request is kept, and its write lock (SQLite) must not hold up the first's answer.
            session.rollback()
    deadline = time.monotonic() + wait
    while True:
        row = _stored(session, user_id, key)
        found = _answer_of(row, fingerprint) if row is not None else None
        if found is not None:
            return found
        if row is None:  # the first rolled back after all, or was pruned: this one is the first now
            return claim(session, user_id, key, fingerprint, wait=max(0.0, deadline - time.monotonic()))
        if time.monotonic() >= deadline:
            raise Conflict("这份提交正在处理中，请稍后刷新页面查看结果，不要重复提交", code="submission_in_progress")
        time.sleep(_POLL)


def answer(session: Session, submission_id: int, found: Answer) -> None:
    """Store the first request's answer, in a transaction of its own (its change is committed)."""
    session.execute(
        sa.update(_table)
        .where(_table.c.id == submission_id)
        .values(
            status=found.status,
            location=found.location[:2000],
            content_type=found.content_type[:120],
            body=found.body,
            flashes=[list(f) for f in found.flashes],
        )
    )
    session.commit()


def prune(session: Session, now: datetime | None = None) -> int:
    """Forget the keys older than ``KEEP``; returns how many."""
    cutoff = (now or clock.now()) - KEEP
    return session.execute(sa.delete(_table).where(_table.c.created_at < cutoff)).rowcount
