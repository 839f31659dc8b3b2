"""Fewer statements per list page (services/queries.py), same answers.

``list_tasks`` counts only when the rows cannot tell the total (a full page, or an
empty page past the first); ``names_for`` reads assisting departments and leaders in
one statement. Both must answer exactly what a plain count and two queries answer.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests import factories as f
from tracker.models import Department, Leader
from tracker.rules.overdue import Horizon
from tracker.services.tasks import queries
from tracker.services.tasks.queries import TaskFilter


@pytest.fixture
def d(session):
    return f.district(session)


class Counter:
    def __init__(self, engine):
        self.engine, self.counts = engine, []

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cur, statement, *_a):
        self.counts.append(statement.lstrip()[:40].lower())

    @property
    def count_statements(self) -> int:
        return sum(1 for s in self.counts if s.startswith("select count("))


@pytest.mark.parametrize("per_page", [1, 3, 7, 10])
def test_totals_on_every_page_match_the_count(session, d, per_page):
    for i in range(7):
        f.task_in(session, d, "assigned", title=f"分页事项{i}")
    session.commit()
    h = Horizon.build(session, 3)
    total = queries.count_tasks(session, d.office, TaskFilter(), h)
    assert total == 7
    seen = []
    for page in range(1, 7 // per_page + 3):  # every page, and one past the end
        with Counter(session.get_bind()) as c:
            result = queries.list_tasks(session, d.office, TaskFilter(), h, page=page, per_page=per_page)
        assert result.total == total, (per_page, page)
        seen += [r.Task.id for r in result.rows]
        full, past_the_end = len(result.rows) == per_page, not result.rows and page > 1
        assert c.count_statements == (1 if full or past_the_end else 0), (per_page, page, c.counts)
    assert len(seen) == len(set(seen)) == 7


def test_an_empty_list_needs_no_count(session, d):
    h = Horizon.build(session, 3)
    with Counter(session.get_bind()) as c:
        result = queries.list_tasks(session, d.other_clerk, TaskFilter(), h)
    assert (result.rows, result.total, result.pages) == ([], 0, 1)
    assert c.count_statements == 0


def test_names_for_in_one_statement_and_in_sort_order(session, d):
    extra = [f.department(session, f"排序单位{i}") for i in range(3)]
    bosses = [f.leader(session, f"排序领导{i}") for i in range(3)]
    for i, row in enumerate(extra + bosses):
        row.sort_order = 10 - i  # reverse of the id order: the sort order must win
        session.add(row)
    session.flush()
    t1 = f.task_in(
        session, d, "assigned", assisting_department_ids=[x.id for x in extra], leader_ids=[b.id for b in bosses]
    )
    t2 = f.task_in(session, d, "assigned", assisting_department_ids=[], leader_ids=[])
    session.commit()
    with Counter(session.get_bind()) as c:
        assist, leaders = queries.names_for(session, [t1.id, t2.id])
    assert len(c.counts) == 1
    want_assist = [
        n
        for (n,) in session.execute(
            select(Department.name)
            .where(Department.id.in_([x.id for x in extra]))
            .order_by(Department.sort_order, Department.id)
        )
    ]
    want_leaders = [
        n
        for (n,) in session.execute(
            select(Leader.name).where(Leader.id.in_([b.id for b in bosses])).order_by(Leader.sort_order, Leader.id)
        )
    ]
    assert assist == {t1.id: want_assist, t2.id: []}
    assert leaders == {t1.id: want_leaders, t2.id: []}
    assert want_assist == ["排序单位2", "排序单位1", "排序单位0"]
    assert queries.names_for(session, []) == ({}, {})


def test_derived_expressions_are_built_once_per_horizon(session):
    """Cached per Horizon (tracker/rules/overdue.py); another day gets its own, with its own dates."""
    from datetime import date

    from tracker.rules import overdue as derived

    h = Horizon.build(session, 3)
    assert derived.is_overdue(h) is derived.is_overdue(h)
    assert derived.derived_columns(h) is derived.derived_columns(h)
    other = Horizon.build(session, 3, today=date(2026, 12, 1))
    assert derived.is_overdue(other) is not derived.is_overdue(h)
    params = derived.is_overdue(other).compile().params
    assert date(2026, 12, 1) in params.values() and h.today not in params.values()
