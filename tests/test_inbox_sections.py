"""The inbox deals its sections out of two statements (web/department.py ``_sections``).

It must give exactly what one query per section gave: the same tasks in the same order,
each in its most urgent section among those shown, the same totals, and a task cut
from a full section still showing up in a later one.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests import factories as f
from tests.test_web_department import d, inbox_tasks  # noqa: F401 - fixtures
from tracker.models import Task
from tracker.rules.overdue import Horizon
from tracker.services.actors import visible_clause
from tracker.services.tasks import queries, recurring
from tracker.web import department


def per_section(session, actor, base, conditions, limit):
    """The inbox as it was built before: one statement per section (and a count when cut)."""
    seen: set[int] = set()
    out = []
    for where in conditions:
        clauses = [visible_clause(actor), *where]
        if seen:
            clauses.append(Task.id.not_in(seen))
        rows = session.execute(
            base.where(*clauses).order_by(Task.due_date.asc().nulls_last(), Task.id.asc()).limit(limit)
        ).all()
        total = len(rows)
        if total == limit:
            total = session.scalar(select(sa.func.count()).select_from(Task).where(*clauses))
        seen.update(r.Task.id for r in rows)
        out.append(([r.Task.id for r in rows], total))
    return out


@pytest.mark.parametrize("limit", [1, 2, 100])
@pytest.mark.parametrize("who", ["lead_clerk", "assist_clerk", "other_clerk"])
def test_sections_match_one_query_per_section(session, d, inbox_tasks, monkeypatch, who, limit):  # noqa: F811
    with f.on(date(2026, 11, 2)):  # two overdue tasks still to acknowledge: at limit 1, one shows under 已逾期
        late = [
            f.task_in(session, d, "assigned", title=f"逾期未签收{i}", due_date=date(2026, 11, day)).id
            for i, day in enumerate((5, 10))
        ]
    session.commit()
    monkeypatch.setattr(department, "SECTION_LIMIT", limit)
    actor = getattr(d, who)
    h = Horizon.build(session, 3)
    base = queries.task_rows_select(h)
    periods = recurring.periods_in_force(session, h.today)
    conditions = [where for *_t, where in department.inbox_specs(actor.department_id, h, periods)]
    expected = per_section(session, actor, base, conditions, limit)
    got = [([r.Task.id for r in rows], total) for rows, total in department._sections(session, actor, base, conditions)]
    assert got == expected
    if who == "lead_clerk":
        assert any(expected), "the district gives the lead clerk a full inbox"
        acknowledge, overdue = expected[0], expected[2]
        if limit == 1:  # the late task cut from 待签收 is counted under 已逾期 (with 逾期事项)
            assert acknowledge == ([late[0]], 3) and overdue[1] == 2
        else:
            assert set(late) <= set(acknowledge[0]) and overdue == ([inbox_tasks["overdue"].id], 1)


def test_the_inbox_page_reads_five_sections_in_two_statements(app, session, d, inbox_tasks):  # noqa: F811
    from tests.test_web_department import client_for

    client = client_for(app, session, d.lead_clerk)
    client.get("/dept/")
    engine = app.extensions["tracker_engine"]
    task_selects: list[str] = []

    def listen(_conn, _cur, statement, *_a):
        if statement.lstrip().upper().startswith("SELECT TASK.ID"):
            task_selects.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        html = client.get("/dept/").get_data(as_text=True)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    assert ">逾期事项</a>" in html
    assert len(task_selects) == 2, task_selects
