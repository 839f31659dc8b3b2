from datetime import date

import pytest

from tests import factories as f
from tracker.rules.overdue import Horizon
from tracker.services.chasing import by_hand as task_chasing
from tracker.services.tasks import queries
from tracker.services.tasks.queries import TaskFilter


@pytest.fixture
def d(session):
    return f.district(session)


def _codes(session, actor, flt, **kw):
    page = queries.list_tasks(session, actor, flt, Horizon.build(session), **kw)
    return [row.Task.title for row in page.rows], page.total


def test_visibility_is_applied_in_sql(session, d):
    with f.on(date(2026, 11, 2)):
        f.task_in(session, d, "in_progress", title="甲", due_date=date(2026, 11, 10))
        f.task_in(session, d, "draft", title="草稿事项")
        f.task_in(
            session,
            d,
            "assigned",
            title="乙",
            lead_department_id=d.other_id,
            assisting_department_ids=[],
            leader_ids=[],
        )
    session.commit()
    assert _codes(session, d.office, TaskFilter())[1] == 3
    assert _codes(session, d.lead_clerk, TaskFilter())[0] == ["甲"]
    assert _codes(session, d.assist_clerk, TaskFilter())[0] == ["甲"]
    assert _codes(session, d.other_clerk, TaskFilter())[0] == ["乙"]
    assert _codes(session, d.leader, TaskFilter())[0] == ["甲"]
    assert sorted(_codes(session, d.other_leader, TaskFilter())[0]) == ["乙"]


def test_filters_and_text_search(session, d):
    with f.on(date(2026, 11, 2)):
        f.task_in(session, d, "in_progress", title="老旧小区改造", due_date=date(2026, 11, 10))
        f.task_in(session, d, "assigned", title="河长制巡查", due_date=date(2026, 12, 20))
    session.commit()
    assert _codes(session, d.office, TaskFilter(overdue=True))[0] == ["老旧小区改造"]
    assert _codes(session, d.office, TaskFilter(light="green"))[0] == ["河长制巡查"]
    assert _codes(session, d.office, TaskFilter(text="河长"))[0] == ["河长制巡查"]
    assert _codes(session, d.office, TaskFilter(text="％"))[1] == 0  # full-width % is not a wildcard
    assert _codes(session, d.office, TaskFilter(status=["assigned"]))[0] == ["河长制巡查"]
    args = TaskFilter(overdue=True, text="小区", due_to=date(2026, 12, 1)).to_args()
    assert TaskFilter.from_args(args) == TaskFilter(overdue=True, text="小区", due_to=date(2026, 12, 1))


def test_count_matches_list(session, d):
    for i in range(7):
        f.task_in(session, d, "assigned", title=f"事项{i}")
    session.commit()
    h = Horizon.build(session)
    page = queries.list_tasks(session, d.office, TaskFilter(), h, per_page=3, page=3)
    assert page.total == 7 == queries.count_tasks(session, d.office, TaskFilter(), h)
    assert len(page.rows) == 1 and page.pages == 3


def test_timeline_is_the_audit_log(session, d):
    task = f.task_in(session, d, "acknowledged")
    task_chasing.remind(session, d.office, task.id, "请尽快")
    session.commit()
    assert [e.action for e in queries.timeline(session, task.id)] == ["create", "assign", "acknowledge", "remind"]
