"""How a web request's transaction ends (tracker/db.py ``close_session``).

On PostgreSQL a request that only read ends with COMMIT, because psycopg drops the
connection's prepared statements on every ROLLBACK (issue 8: the load test's pages
were planned afresh on every request). Anything a request wrote and did not commit
is still rolled back, on both engines.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import select

from tests import factories as f
from tests.test_dashboard import district  # noqa: F401  (the seeded district fixture)
from tests.test_dashboard_access import _cards_payload, _grid_payload, _post
from tests.webutil import login
from tracker.db import get_session, is_postgres
from tracker.models import Department, Role, User


def _outcomes(engine) -> dict[str, int]:
    seen = {"commit": 0, "rollback": 0}
    sa.event.listen(engine, "commit", lambda conn: seen.__setitem__("commit", seen["commit"] + 1))
    sa.event.listen(engine, "rollback", lambda conn: seen.__setitem__("rollback", seen["rollback"] + 1))
    return seen


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


def test_a_read_only_page_commits_on_postgresql_and_rolls_back_on_sqlite(app, session, db):
    client, _d = _clerk(app, session)
    seen = _outcomes(db)
    for _ in range(3):
        assert client.get("/dept/").status_code == 200
    if is_postgres(db):
        assert seen["commit"] == 3 and seen["rollback"] == 0, seen
    else:
        assert seen["commit"] == 0, seen


def test_what_a_request_wrote_without_committing_is_rolled_back(app, session, db):
    client, d = _clerk(app, session)
    seen = _outcomes(db)
    assert client.get("/_write_and_forget").get_data(as_text=True) == "ok"
    assert client.get("/_change_and_forget").get_data(as_text=True) == "ok"
    session.expire_all()
    assert session.exec(select(Department.name).where(Department.id == d.id)).one() == "区发改委"
    assert seen["commit"] == 0 and seen["rollback"] >= 2, seen


def test_board_callbacks_end_with_commit_too(app, session, db, district):  # noqa: F811
    """The board's callbacks only read. They once ran ``SET LOCAL jit = off`` first, which counted
    as a write: every callback ended with ROLLBACK and emptied its connection's prepared statements,
    so under load the pages' statements were planned afresh (issue 8, pg_stat_statements: 1,976 plans
    for 2,645 task-row reads)."""
    client = app.test_client()
    assert login(client, session.get(User, district.other_clerk.user_id).username).status_code == 302
    seen = _outcomes(db)
    for payload in (_grid_payload({}), _cards_payload({})):
        assert _post(client, payload).status_code == 200
    if is_postgres(db):
        assert seen["commit"] == 2 and seen["rollback"] == 0, seen
    else:
        assert seen["commit"] == 0, seen


def test_psycopg_keeps_the_conversion_of_the_long_task_row_statement(db):
    """The task page's row statement is longer than psycopg's default 4 KB cache limit (tracker/db.py)."""
    if not is_postgres(db):
        return  # SQLite: no psycopg
    from datetime import date

    from psycopg import _queries

    from tracker.services import taskpage
    from tracker.services.derived import Horizon

    sql = str(taskpage.task_select(Horizon(date(2026, 11, 23), date(2026, 11, 26), 100))
              .compile(dialect=db.dialect))
    assert len(sql) > 4096
    assert _queries.MAX_CACHED_STATEMENT_LENGTH >= len(sql)
