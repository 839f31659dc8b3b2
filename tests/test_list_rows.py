"""The list pages' rows (services/queries.py ``list_task_rows``, ``ListRow``) answer what
``list_tasks`` answers: the same tasks, order and total, and the same derived state
(overdue, working days overdue, due soon, light), though ``ListRow`` works out part of
it in Python and the statements are built once per filter shape with the values bound
at execution (a cached statement must never answer with another request's values).
"""

from __future__ import annotations

from datetime import date

import pytest

from tests import factories as f
from tracker.models import Department, Milestone, ReportDue
from tracker.rules.overdue import Horizon
from tracker.services.tasks import queries
from tracker.services.tasks.queries import TaskFilter

TODAY = date(2026, 11, 20)


@pytest.fixture
def d(session):
    return f.district(session)


@pytest.fixture
def varied(session, d):
    """Tasks in every light: overdue by date, by a missed periodic report, due soon, a missed
    milestone, green, closed late and on time, drafts, suspended, without a due date."""
    with f.on(date(2026, 11, 2)):
        f.task_in(session, d, "in_progress", title="逾期项目", due_date=date(2026, 11, 10))
        f.task_in(session, d, "assigned", title="临期项目", due_date=date(2026, 11, 23))
        f.task_in(session, d, "acknowledged", title="正常项目", due_date=date(2026, 12, 30), urgency="urgent")
        ms = f.task_in(session, d, "in_progress", title="节点逾期", due_date=date(2026, 12, 31))
        rec = f.task_in(
            session,
            d,
            "in_progress",
            title="周期报送",
            deadline_kind="recurring",
            due_date=None,
            recurrence="monthly:25",
            deadline_text="每月25日前",
        )
        f.task_in(session, d, "closed", title="按期办结", due_date=date(2026, 12, 1))
        late = f.task_in(session, d, "in_progress", title="超期办结", due_date=date(2026, 11, 3))
        f.task_in(session, d, "draft", title="草稿事项", due_date=date(2026, 11, 5))
        f.task_in(session, d, "suspended", title="暂缓事项", due_date=date(2026, 11, 5))
        f.task_in(
            session,
            d,
            "assigned",
            title="配合事项",
            lead_department_id=d.other_id,
            assisting_department_ids=[d.lead_id],
            due_date=date(2026, 11, 9),
        )
        f.task_in(session, d, "in_progress", title="长期事项", deadline_kind="ongoing", due_date=None)
    session.add(Milestone(task_id=ms.id, title="方案", due_date=date(2026, 11, 12)))
    session.add(ReportDue(task_id=rec.id, period_start=date(2026, 10, 1), due_date=date(2026, 10, 25)))
    session.flush()
    with f.on(date(2026, 11, 10)):
        from tracker.services.tasks import requests as task_requests

        task_requests.request_close(session, d.lead_clerk, late.id, "已完成")
        task_requests.review_close(session, d.office, late.id, approve=True)
    session.commit()


def _old(session, actor, flt, h, **kw):
    page = queries.list_tasks(session, actor, flt, h, **kw)
    return page.total, [
        (
            r.Task.id,
            r.Task.title,
            r.Task.status,
            r.Task.due_date,
            r.lead_name,
            r.source_title,
            bool(r.overdue),
            int(r.overdue_workdays or 0),
            bool(r.due_soon),
            r.light,
        )
        for r in page.rows
    ]


def _new(session, actor, flt, h, **kw):
    page = queries.list_task_rows(session, actor, flt, h, **kw)
    return page.total, [
        (
            r.id,
            r.title,
            r.status,
            r.due_date,
            r.lead_name,
            r.source_title,
            r.overdue,
            r.overdue_workdays,
            r.due_soon,
            r.light,
        )
        for r in page.rows
    ]


FILTERS = [
    TaskFilter(),
    TaskFilter(overdue=True),
    TaskFilter(due_soon=True),
    TaskFilter(light="red"),
    TaskFilter(light="yellow"),
    TaskFilter(light="green"),
    TaskFilter(light="none"),
    TaskFilter(status=["assigned", "in_progress"]),
    TaskFilter(status=["closed"], closed_late="1"),
    TaskFilter(closed_late="0"),
    TaskFilter(text="项目"),
    TaskFilter(text="％"),
    TaskFilter(urgency="urgent"),
    TaskFilter(due_from=date(2026, 11, 10), due_to=date(2026, 12, 1)),
    TaskFilter(closed_from=date(2026, 11, 1), closed_to=date(2026, 11, 30)),
    TaskFilter(source_kind="executive_meeting"),
]


@pytest.mark.parametrize("who", ["office", "lead_clerk", "assist_clerk", "other_clerk", "leader", "other_leader"])
@pytest.mark.parametrize("sort", ["due", "-code", "updated"])
def test_list_rows_match_list_tasks(session, d, varied, who, sort):
    actor = getattr(d, who)
    with f.on(TODAY):
        h = Horizon.build(session, 3)
        for flt in FILTERS + [
            TaskFilter(department_id=d.assist_id),
            TaskFilter(lead_department_id=d.other_id),
            TaskFilter(leader_id=d.leader_id),
        ]:
            for page, per_page in ((1, 50), (1, 2), (2, 2), (9, 2)):
                old = _old(session, actor, flt, h, sort=sort, page=page, per_page=per_page)
                assert _new(session, actor, flt, h, sort=sort, page=page, per_page=per_page) == old, (flt, page)
    if who == "office":
        lights = {title: light for _i, title, *_r, light in _new(session, actor, TaskFilter(), h)[1]}
        assert lights["逾期项目"] == lights["周期报送"] == "red" and lights["节点逾期"] == "yellow"


def test_a_statement_built_once_answers_each_request_with_its_own_values(session, d, varied):
    """Same filter shape, other values: the cached statement binds this request's values."""
    with f.on(TODAY):
        h = Horizon.build(session, 3)
        titles = lambda actor, flt: {r.title for r in queries.list_task_rows(session, actor, flt, h).rows}  # noqa: E731
        assert titles(d.office, TaskFilter(text="逾期")) == {"逾期项目", "节点逾期"}
        assert titles(d.office, TaskFilter(text="周期")) == {"周期报送"}
        assert titles(d.office, TaskFilter(lead_department_id=d.other_id)) == {"配合事项"}
        assert "配合事项" not in titles(d.office, TaskFilter(lead_department_id=d.lead_id))
        assert titles(d.lead_clerk, TaskFilter()) != titles(d.other_clerk, TaskFilter())
        assert titles(d.other_clerk, TaskFilter()) == {"配合事项"}
        assert titles(d.office, TaskFilter(status=["suspended"])) == {"暂缓事项"}
        assert titles(d.office, TaskFilter(status=["closed"])) == {"按期办结", "超期办结"}
        # a new day is a new Horizon: the derived state moves with it
        later = Horizon.build(session, 3, today=date(2026, 12, 2))
        late = {r.title for r in queries.list_task_rows(session, d.office, TaskFilter(overdue=True), later).rows}
        assert "正常项目" not in late and "临期项目" in late


def test_names_for_reads_any_number_of_ids(session, d):
    ts = [f.task_in(session, d, "assigned", title=f"多项{i}", assisting_department_ids=[d.other_id]) for i in range(60)]
    session.commit()
    assist, leaders = queries.names_for(session, [t.id for t in ts])
    other = session.get(Department, d.other_id).name
    assert len(assist) == 60 and all(assist[t.id] == [other] for t in ts)
    assert queries.names_for(session, [ts[1].id])[0] == {ts[1].id: [other]}
