"""The hot statements compile to a fixed SQL text (tracker/sql.py).

An ``IN`` over a Python list compiles to an "expanding" parameter that SQLAlchemy rewrites into
the statement's text on every execution; for the task row (5 KB) that was a regular expression
over the whole statement on every page, 3-5 % of the inbox's CPU (issue 8).
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select

from tests import factories as f
from tracker.calendar import WorkCalendar
from tracker.models import Role, Task
from tracker.rules.overdue import Horizon, derived_columns, is_running
from tracker.services.actors import Actor, visible_clause, visible_template
from tracker.services.figures import board
from tracker.services.tasks import page as taskpage
from tracker.services.tasks import queries, recurring
from tracker.sql import none_of, one_of
from tracker.web.department import _inbox_statements

H = Horizon(date(2026, 11, 23), date(2026, 11, 26), 100)
CLERK = Actor(1, "联络员", Role.CLERK, department_id=3)
PERIODS = recurring.PeriodsInForce.compute(WorkCalendar.from_package(), H.today, 5, ["monthly:25"])


def _post_compiled(stmt, dialect) -> set[str]:
    return {p.key for p in stmt.compile(dialect=dialect).post_compile_params}


@pytest.mark.parametrize(
    "name, build",
    [
        ("running", lambda pg: select(Task.id).where(is_running())),
        ("visibility (clerk)", lambda pg: select(Task.id).where(visible_clause(CLERK))),
        ("visibility (template)", lambda pg: select(Task.id).where(visible_template("clerk"))),
        ("derived columns", lambda pg: select(*derived_columns(H))),
        ("task page row", lambda pg: taskpage.task_select(H)),
        ("list rows", lambda pg: queries.list_rows_select(H)),
        ("inbox sections", lambda pg: _inbox_statements(H, PERIODS)[0]),
        ("rows by ids", lambda pg: queries._list_rows_by_ids(H, pg)),
        ("board names", lambda pg: board._names_select(pg, Task.id, Task.title)),
    ],
)
def test_hot_statements_have_no_expanding_parameters_on_postgresql(name, build):
    assert _post_compiled(build(True), postgresql.dialect()) == set(), name


def test_sqlite_still_expands_lists_of_ids():
    """SQLite has no arrays: a list of ids stays an expanding IN there."""
    assert _post_compiled(queries._list_rows_by_ids(H, False), sqlite.dialect()) == {"ids"}


def test_one_of_and_none_of_filter_like_in_and_not_in(session):
    d = f.district(session)
    drafted = f.task_in(session, d, "draft")
    running = f.task_in(session, d, "in_progress")
    closed = f.task_in(session, d, "closed")
    session.commit()
    ids = [drafted.id, running.id, closed.id]

    def matching(clause) -> set[int]:
        return set(session.exec(select(Task.id).where(Task.id.in_(ids), clause)).all())

    assert matching(one_of(Task.status, ["in_progress", "closed"])) == {running.id, closed.id}
    assert matching(none_of(Task.status, frozenset({"draft", "pending_approval"}))) == {running.id, closed.id}
    assert matching(one_of(Task.status, ["draft"])) == {drafted.id}
    assert matching(is_running()) == {running.id}
