"""The one-time keys of submissions (tracker/services/submissions.py): inserted first, in the
transaction of the change; a repeat gets the first answer, even one sent at the same moment."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests import factories as f
from tracker import clock, jobs
from tracker.db import is_postgres
from tracker.errors import Conflict, ValidationFailed
from tracker.models import Role, Submission
from tracker.services import submissions


@pytest.fixture
def user_id(session):
    u = f.user(session, Role.SUPERVISOR)
    session.commit()
    return u.id


ANSWER = submissions.Answer(302, "/tasks/7", "text/html; charset=utf-8", "", [("success", "进展已报送")])


def _first(db, user_id, key="k" * 22, fingerprint="a" * 64) -> int:
    with Session(db) as s:
        row = submissions.claim(s, user_id, key, fingerprint)
        assert isinstance(row, Submission)
        s.commit()
        submissions.answer(s, row.id, ANSWER)
        return row.id


def test_a_repeat_gets_the_first_answer(db, user_id):
    _first(db, user_id)
    with Session(db) as s:
        assert submissions.claim(s, user_id, "k" * 22, "a" * 64) == ANSWER
        assert s.exec(select(sa.func.count()).select_from(Submission)).one() == 1


def test_the_same_key_with_other_content_is_refused(db, user_id):
    _first(db, user_id)
    with Session(db) as s, pytest.raises(ValidationFailed) as refused:
        submissions.claim(s, user_id, "k" * 22, "b" * 64)
    assert refused.value.http_status == 422 and "内容与上次不同" in refused.value.message


def test_keys_belong_to_their_user(db, session, user_id):
    _first(db, user_id)
    other = f.user(session, Role.SUPERVISOR).id
    session.commit()
    with Session(db) as s:
        assert isinstance(submissions.claim(s, other, "k" * 22, "a" * 64), Submission)


def test_a_key_rolled_back_with_its_change_is_free_again(db, user_id):
    """A refused form (the view rolls back) leaves no key: the corrected form may go."""
    with Session(db) as s:
        submissions.claim(s, user_id, "k" * 22, "a" * 64)
        s.rollback()
    with Session(db) as s:
        assert isinstance(submissions.claim(s, user_id, "k" * 22, "a" * 64), Submission)


def test_a_repeat_at_the_same_moment_waits_for_the_first_and_gets_its_answer(db, user_id):
    """B claims while A holds its key uncommitted: B waits (on the key's unique index on
    PostgreSQL, on the write lock on SQLite), then gets A's answer; nothing is stored twice."""
    a = Session(db)
    first = submissions.claim(a, user_id, "k" * 22, "a" * 64)
    outcome: list = []

    def repeat():
        with Session(db) as b:
            outcome.append(submissions.claim(b, user_id, "k" * 22, "a" * 64))

    b = threading.Thread(target=repeat)
    b.start()
    if is_postgres(db):  # B is queued behind A's row: PostgreSQL shows it waiting on a lock
        with db.connect() as probe:
            waiting = sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            deadline = clock.now() + timedelta(seconds=30)
            while probe.execute(waiting).scalar() == 0:
                assert clock.now() < deadline, "the repeat never waited on the first"
                time.sleep(0.02)
    else:
        b.join(timeout=0.5)
        assert b.is_alive(), outcome  # still waiting for SQLite's write lock, held by A
    a.commit()
    submissions.answer(a, first.id, ANSWER)
    a.close()
    b.join(timeout=60)
    assert outcome == [ANSWER]
    with Session(db) as s:
        assert s.exec(select(sa.func.count()).select_from(Submission)).one() == 1


def test_a_first_saved_but_never_answered_is_a_409_after_the_wait(db, user_id):
    with Session(db) as s:
        submissions.claim(s, user_id, "k" * 22, "a" * 64)
        s.commit()
    with Session(db) as s, pytest.raises(Conflict, match="正在处理"):
        submissions.claim(s, user_id, "k" * 22, "a" * 64, wait=0.2)


def test_old_keys_are_pruned_by_the_scheduler_job(db, session, user_id):
    old = _first(db, user_id, key="o" * 22)
    new = _first(db, user_id, key="n" * 22)
    session.get(Submission, old).created_at = clock.now() - submissions.KEEP - timedelta(minutes=1)
    session.commit()
    run = jobs.run_job(db, "submissions")
    assert run.status == "ok" and run.counts == {"pruned": 1}
    session.expire_all()
    assert session.get(Submission, old) is None and session.get(Submission, new) is not None
