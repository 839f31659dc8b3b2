"""One overdue answer on every surface that shows it (tracker/rules/overdue.py).

The same tasks, on the same day, through the rule itself (``state_of`` and
``deadline_state``), the office's task list, the JSON API, the board's overdue grid and
a department's task list: overdue or not, working days overdue, the light and its label
agree everywhere. Each surface reads the rule; none may derive it again.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlmodel import select

from tests import factories as f
from tests.webutil import login
from tracker.models import Milestone, ReportDue, User
from tracker.rules.overdue import Horizon, deadline_state, light_label, state_of
from tracker.services import access
from tracker.services.figures import board
from tracker.services.figures.board import BoardFilter
from tracker.services.tasks import queries, recurring
from tracker.services.tasks.queries import TaskFilter

TODAY = date(2026, 11, 23)  # the suite's frozen Monday


@pytest.fixture
def d(session):
    return f.district(session)


@pytest.fixture
def mixed(session, d):
    """Six tasks, one per way the rule can answer (the lead department is d.lead_id)."""
    with f.on(date(2026, 11, 2)):
        t = {
            "late": f.task_in(session, d, "in_progress", title="逾期事项", due_date=date(2026, 11, 10)),
            "weekly": f.task_in(
                session,
                d,
                "acknowledged",
                title="周报未报事项",
                deadline_kind="recurring",
                recurrence="weekly:5",
                feedback_cycle="weekly",
                due_date=None,
            ),
            "review": f.task_in(session, d, "pending_review", title="待审核且逾期", due_date=date(2026, 11, 18)),
            "soon": f.task_in(session, d, "in_progress", title="临期事项", due_date=date(2026, 11, 25)),
            "milestone": f.task_in(
                session,
                d,
                "in_progress",
                title="节点滞后事项",
                due_date=date(2026, 12, 16),
                milestones=[{"title": "完成方案", "due_date": "2026-11-20"}],
            ),
            "fine": f.task_in(session, d, "in_progress", title="正常事项", due_date=date(2027, 1, 29)),
        }
    recurring.ensure_report_dues(session, TODAY)
    session.commit()
    return t


def _expected(session, h, task):
    reports = [
        r.due_date
        for r in session.exec(select(ReportDue).where(ReportDue.task_id == task.id, ReportDue.met_on.is_(None)))
    ]
    milestones = [
        m.due_date
        for m in session.exec(select(Milestone).where(Milestone.task_id == task.id, Milestone.done_on.is_(None)))
    ]
    twin = state_of(
        h, task.status, task.deadline_kind, task.due_date, reports_unmet=reports, milestones_undone=milestones
    )
    state = deadline_state(session, h, task.id)
    assert (state.overdue, state.deadline) == (twin.overdue, twin.deadline)
    return {
        "overdue": twin.overdue,
        "days": state.workdays,
        "light": twin.light,
        "label": light_label(twin.light, twin.due_soon),
    }


def test_every_surface_shows_the_rules_answer(app, session, d, mixed):
    h = Horizon.build(session, soon_workdays=app.config["TRACKER"].due_soon_workdays, today=TODAY)
    want = {task.id: _expected(session, h, task) for task in mixed.values()}
    # the rule's own answers, as the work rules mean them
    assert {k: want[t.id]["label"] for k, t in mixed.items()} == {
        "late": "逾期",
        "weekly": "逾期",
        "review": "逾期",
        "soon": "临期",
        "milestone": "节点滞后",
        "fine": "正常",
    }
    assert want[mixed["late"].id]["days"] == 9 and want[mixed["weekly"].id]["days"] == 11

    # the office's list
    rows = queries.list_task_rows(session, d.office, TaskFilter(), h, per_page=50).rows
    listed = {
        r.id: {
            "overdue": r.overdue,
            "days": r.overdue_workdays,
            "light": r.light,
            "label": light_label(r.light, r.due_soon),
        }
        for r in rows
    }
    assert listed == want

    # the API, as a caller with a token reads it
    token = access.issue_token(session, d.office, session.get(User, d.office.user_id), "parity")
    session.commit()
    body = app.test_client().get("/api/v1/tasks?per_page=50", headers={"Authorization": f"Bearer {token}"}).get_json()
    api = {
        i["id"]: {
            "overdue": i["overdue"],
            "days": i["overdue_workdays"],
            "light": i["light"],
            "label": i["light_label"],
        }
        for i in body["items"]
    }
    assert api == want

    # the board's overdue grid: exactly the overdue tasks, with the same days
    grid = board.overdue_rows(session, d.office, BoardFilter(), h).rows
    assert {r["id"]: r["overdue_workdays"] for r in grid} == {tid: w["days"] for tid, w in want.items() if w["overdue"]}

    # the lead department's task list: each row's badge says the rule's label
    client = app.test_client()
    assert login(client, session.get(User, d.lead_clerk.user_id).username).status_code == 302
    html = client.get("/dept/tasks?per_page=50").get_data(as_text=True)
    for task in mixed.values():
        row = html[html.index(f">{task.title}</a>") :]
        row = row[: row.index("</tr>")]
        badge = re.search(r'badge-light-(\w+)">([^<]+)<', row)
        assert badge and (badge.group(1), badge.group(2)) == (want[task.id]["light"], want[task.id]["label"]), (
            task.title
        )
        days = re.search(r"逾期 (\d+) 个工作日", row)
        assert (int(days.group(1)) if days else 0) == want[task.id]["days"], task.title
