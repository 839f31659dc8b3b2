"""How a web request's statements meet the database's transactions (tracker/db.py).

On PostgreSQL plain reads run outside any transaction and the first statement that writes or
locks opens one (``_begin_on_demand``): a read-only page sends no BEGIN, COMMIT or ROLLBACK, so
psycopg keeps its prepared statements, and dead pooled connections are replaced without a ping
(issue 8: each round trip waits for both processes to be scheduled under load). What a request
wrote and did not commit is still rolled back, on both engines, and locks still last until the
end of their transaction.
"""

from __future__ import annotations

import io
import time

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests import factories as f
from tests.test_dashboard import district  # noqa: F401  (the seeded district fixture)
from tests.test_dashboard_access import _cards_payload, _grid_payload, _post
from tests.webutil import login, post, statements_on
from tracker.db import _needs_transaction, get_session, is_postgres
from tracker.models import Department, Role, User


def _in_transaction(engine):
    """(inside a transaction?, statement) for every statement the engine sends in the block."""
    from psycopg.pq import TransactionStatus

    return statements_on(
        engine,
        lambda cursor, statement: (cursor.connection.info.transaction_status != TransactionStatus.IDLE, statement),
    )


def _clerk(app, session):
    d = f.department(session, "区发改委")
    f.user(session, Role.CLERK, username="fgw", department_id=d.id)
    session.commit()

    @app.get("/_write_and_forget")
    def _write_and_forget():  # changes a row and neither commits nor fails: the teardown decides
        s = get_session()
        s.execute(sa.update(Department).where(Department.id == d.id).values(name="改掉的名字"))
        return "ok"

    @app.get("/_change_and_forget")
    def _change_and_forget():  # an ORM change not yet flushed
        s = get_session()
        s.get(Department, d.id).name = "也改掉的名字"
        return "ok"

    client = app.test_client()
    assert login(client, "fgw").status_code == 302
    return client, d


def test_a_read_only_page_runs_outside_any_transaction_on_postgresql(app, session, db):
    client, _d = _clerk(app, session)
    if not is_postgres(db):
        assert client.get("/dept/").status_code == 200
        return  # SQLite: pysqlite begins only before a write, prepares nothing across requests
    with _in_transaction(db) as seen:
        for _ in range(3):
            assert client.get("/dept/").status_code == 200
    assert seen and not any(inside for inside, _sql in seen), seen
    with db.connect() as conn:  # and none was left open on a pooled connection
        assert conn.connection.dbapi_connection.info.transaction_status.name == "IDLE"


def test_what_a_request_wrote_without_committing_is_rolled_back(app, session, db):
    client, d = _clerk(app, session)
    assert client.get("/_write_and_forget").get_data(as_text=True) == "ok"
    assert client.get("/_change_and_forget").get_data(as_text=True) == "ok"
    session.expire_all()
    assert session.exec(select(Department.name).where(Department.id == d.id)).one() == "区发改委"


def test_board_callbacks_open_no_transaction_either(app, session, db, district):  # noqa: F811
    """The board's callbacks only read. They once ran ``SET LOCAL jit = off`` first, which needed a
    transaction and ended with ROLLBACK, emptying the connection's prepared statements: under load
    the pages' statements were planned afresh (issue 8, pg_stat_statements: 1,976 plans for 2,645
    task-row reads)."""
    client = app.test_client()
    assert login(client, session.get(User, district.other_clerk.user_id).username).status_code == 302
    if not is_postgres(db):
        return
    with _in_transaction(db) as seen:
        for payload in (_grid_payload({}), _cards_payload({})):
            assert _post(client, payload).status_code == 200
    assert seen and not any(inside for inside, _sql in seen), seen


def test_a_report_writes_in_one_transaction_from_its_row_lock_on(app, session, db):
    """Submitting progress locks the task row (``FOR UPDATE``), then writes the report, its file,
    the task and the audit event: all of that inside one transaction, so two reports on one task
    queue up and a failure leaves nothing behind (tests/test_ops_faults.py)."""
    d = f.district(session)
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    client = app.test_client()
    assert login(client, session.get(User, d.lead_clerk.user_id).username).status_code == 302
    if not is_postgres(db):
        return
    with _in_transaction(db) as seen:
        resp = post(
            client,
            f"/tasks/{task.id}/report",
            {"text": "已完成可研批复", "percent": "50", "files": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "批复.pdf")},
            token_from=f"/tasks/{task.id}",
            content_type="multipart/form-data",
        )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    lock = next(i for i, (_inside, sql) in enumerate(seen) if "FOR UPDATE" in sql)
    assert not any(inside for inside, _sql in seen[:lock])  # the task page and the form's reads
    assert all(inside for inside, _sql in seen[lock:]), seen[lock:]
    assert any(sql.lstrip().upper().startswith("INSERT INTO PROGRESSREPORT") for _inside, sql in seen[lock:])


@pytest.mark.parametrize(
    "statement, needs",
    [
        ("SELECT tasks.id FROM tasks", False),
        ("  select 1", False),
        ("SELECT tasks.id FROM tasks WHERE tasks.id = %(id)s FOR UPDATE", True),
        ("SELECT d.id FROM deliveries d LIMIT 1 FOR UPDATE SKIP LOCKED", True),
        ("SELECT t.id FROM tasks t FOR NO KEY UPDATE", True),
        ("SELECT t.id FROM tasks t FOR SHARE", True),
        ("SELECT t.id FROM tasks t\nFOR KEY SHARE", True),
        ("SELECT pg_try_advisory_xact_lock(%(key)s)", True),
        ("SELECT pg_advisory_xact_lock(42)", True),
        ("INSERT INTO audit_events (x) VALUES (%(x)s)", True),
        ("UPDATE tasks SET status = 'closed'", True),
        ("WITH gone AS (DELETE FROM t RETURNING id) SELECT count(*) FROM gone", True),
        ("SAVEPOINT sa_savepoint_1", True),
        ("SELECT tasks.title FROM tasks WHERE tasks.title = 'FOR UPDATE'", True),  # on the safe side
    ],
)
def test_which_statements_open_a_transaction(statement, needs):
    assert _needs_transaction(statement) is needs


def test_an_advisory_transaction_lock_lasts_until_commit(db):
    """The scheduler's job lock (tracker/jobs.py) and the weekly agenda's (services/schedule.py) are
    ``pg_*advisory_xact_lock``: taken as the first statement, they must not end with it."""
    if not is_postgres(db):
        return
    key = sa.func.pg_try_advisory_xact_lock(918_273)
    with Session(db) as first, db.connect() as other:
        assert first.scalar(sa.select(key)) is True
        assert other.scalar(sa.select(key)) is False  # still held by ``first``
        other.rollback()
        first.commit()
        assert other.scalar(sa.select(key)) is True
        other.rollback()


def test_a_row_lock_lasts_until_commit(db, session):
    if not is_postgres(db):
        return
    d = f.department(session, "区水务局")
    session.commit()
    with Session(db) as first, db.connect() as other:
        assert first.get(Department, d.id, with_for_update=True).name == "区水务局"
        with pytest.raises(sa.exc.OperationalError):  # LockNotAvailable
            other.execute(sa.select(Department.id).where(Department.id == d.id).with_for_update(nowait=True))
        other.rollback()
        first.commit()
        assert other.scalar(sa.select(Department.id).where(Department.id == d.id).with_for_update(nowait=True)) == d.id
        other.rollback()


def test_a_connection_the_server_ended_is_replaced_without_an_error(app, session, db):
    """A PostgreSQL restart or a terminated backend leaves dead connections in the pool; the next
    request takes a new one instead of failing (``_discard_dead_connections``, no ping)."""
    client, _d = _clerk(app, session)
    assert client.get("/dept/").status_code == 200
    if not is_postgres(db):
        return
    session.close()
    admin = sa.create_engine(db.url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            others = "datname = current_database() AND pid <> pg_backend_pid()"
            ended = conn.scalar(
                sa.text(f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE {others}")
            )
            assert ended >= 1
            for _ in range(100):
                if not conn.scalar(sa.text(f"SELECT count(*) FROM pg_stat_activity WHERE {others}")):
                    break
                time.sleep(0.05)
        for _ in range(3):
            assert client.get("/dept/").status_code == 200
    finally:
        admin.dispose()


def test_psycopg_keeps_the_conversion_of_the_long_task_row_statement(db):
    """The task page's row statement is longer than psycopg's default 4 KB cache limit (tracker/db.py)."""
    if not is_postgres(db):
        return  # SQLite: no psycopg
    from datetime import date

    from psycopg import _queries

    from tracker.rules.overdue import Horizon
    from tracker.services.tasks import page as taskpage

    sql = str(taskpage.task_select(Horizon(date(2026, 11, 23), date(2026, 11, 26), 100)).compile(dialect=db.dialect))
    assert len(sql) > 4096
    assert _queries.MAX_CACHED_STATEMENT_LENGTH >= len(sql)


def test_psycopg_describes_each_statement_once_and_never_wrongly(db):
    """``cursor.description`` is built once per statement and field types (tracker/db.py
    ``_described_cursor``): the same statement reuses its columns, also once psycopg has prepared
    it, a parameter or a field of another type gets its own, and a command still has none."""
    if not is_postgres(db):
        return  # SQLite: no psycopg
    import psycopg

    def described(cur):
        return [(c.name, c.type_code) for c in cur.description]

    raw = db.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SELECT id, name FROM department WHERE id > %(n)s", {"n": 0})
        first = cur.description
        assert described(cur) == [(c.name, c.type_code) for c in psycopg.Cursor.description.fget(cur)]
        cur.execute("SELECT id, name FROM department WHERE id > %(n)s", {"n": 5})
        assert cur.description[0] is first[0]  # built once
        cur.description.append("scribbled on")  # a caller's copy: the cached list stays whole
        assert len(cur.description) == 2
        for n in range(2 * raw.prepare_threshold):  # psycopg prepares it after a few runs
            cur.execute("SELECT id, name FROM department WHERE id > %(n)s", {"n": n})
            assert cur.description[0] is first[0], f"run {n + 3} built it again"

        cur.execute("SELECT %(v)s AS v", {"v": 1})
        as_number = described(cur)
        cur.execute("SELECT %(v)s AS v", {"v": "一"})
        assert described(cur) != as_number and described(cur) == [("v", psycopg.adapters.types["text"].oid)]

        cur.execute("SELECT 1 AS a; SELECT 2 AS b")  # two results of one statement string
        assert described(cur) == [("a", psycopg.adapters.types["int4"].oid)]
        cur.nextset()
        assert described(cur) == [("b", psycopg.adapters.types["int4"].oid)]

        cur.execute("CREATE TEMPORARY TABLE described_probe (x integer)")
        assert cur.description is None
        cur.execute("SELECT x FROM described_probe")
        assert described(cur) == [("x", psycopg.adapters.types["int4"].oid)]
        cur.execute("ALTER TABLE described_probe ALTER COLUMN x TYPE text")
        cur.execute("SELECT x FROM described_probe")
        assert described(cur) == [("x", psycopg.adapters.types["text"].oid)]
    finally:
        raw.rollback()
        raw.cursor().execute("DROP TABLE IF EXISTS described_probe")  # the connection goes back to the pool
        raw.close()
