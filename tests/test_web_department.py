"""The department clerk's inbox (in order of urgency) and task list."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from tests import factories as f
from tests.webutil import login, post
from tracker.models import AuditEvent, Task, User
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks import requests as task_requests


@pytest.fixture
def d(session):
    return f.district(session)


def client_for(app, session, actor):
    c = app.test_client()
    assert login(c, session.get(User, actor.user_id).username).status_code == 302
    return c


def body(resp) -> str:
    return resp.get_data(as_text=True)


def section(html: str, key: str) -> str:
    """The HTML of one inbox section (empty if the section is not shown)."""
    marker = f'data-section="{key}"'
    if marker not in html:
        return ""
    start = html.index(marker)
    end = html.find("data-section=", start + len(marker))
    return html[start : end if end != -1 else len(html)]


@pytest.fixture
def inbox_tasks(session, d):
    """One task for each inbox section of the lead department, and some that must not show."""
    t = {}
    t["new"] = f.task_in(session, d, "assigned", title="新交办待签收")
    t["returned"] = f.task_in(session, d, "pending_review", title="被退回事项")
    task_requests.review_close(session, d.office, t["returned"].id, approve=False, note="缺少佐证材料")
    with f.on(date(2026, 11, 2)):
        t["overdue"] = f.task_in(session, d, "in_progress", title="逾期事项", due_date=date(2026, 11, 10))
        t["returned_late"] = f.task_in(session, d, "pending_review", title="退回且逾期", due_date=date(2026, 11, 10))
        task_requests.review_close(session, d.office, t["returned_late"].id, approve=False, note="再补充")
        t["monthly_done"] = f.task_in(session, d, "in_progress", title="本月已反馈", feedback_cycle="monthly")
    with f.on(date(2026, 11, 16)):
        t["weekly_due"] = f.task_in(session, d, "in_progress", title="周报未报", feedback_cycle="weekly")
    with f.on(date(2026, 10, 20)):
        t["monthly_due"] = f.task_in(
            session, d, "in_progress", title="月报未报", feedback_cycle="monthly", due_date=date(2026, 12, 31)
        )
    t["weekly_done"] = f.task_in(session, d, "in_progress", title="本周已反馈", feedback_cycle="weekly")
    t["assisting"] = f.task_in(
        session,
        d,
        "assigned",
        title="我单位协办",
        lead_department_id=d.other_id,
        assisting_department_ids=[d.lead_id],
        leader_ids=[],
    )
    tasks.acknowledge(session, d.other_clerk, t["assisting"].id)
    t["others"] = f.task_in(
        session,
        d,
        "assigned",
        title="别人的事项",
        lead_department_id=d.other_id,
        assisting_department_ids=[],
        leader_ids=[],
    )
    t["closed"] = f.task_in(session, d, "closed", title="已办结事项")
    t["draft"] = f.task_in(session, d, "draft", title="草稿事项")
    t["pending_close"] = f.task_in(session, d, "pending_review", title="审核中事项")
    session.commit()
    return t


def test_inbox_in_order_of_urgency(app, session, d, inbox_tasks):
    resp = client_for(app, session, d.lead_clerk).get("/dept/")
    html = body(resp)
    assert resp.status_code == 200
    keys = ["acknowledge", "returned", "overdue", "report_due", "assisting"]
    positions = [html.index(f'data-section="{k}"') for k in keys]
    assert positions == sorted(positions)
    expected = {
        "acknowledge": ["新交办待签收"],
        "returned": ["被退回事项", "退回且逾期"],
        "overdue": ["逾期事项"],
        "report_due": ["周报未报", "月报未报"],
        "assisting": ["我单位协办"],
    }
    every = {title for titles in expected.values() for title in titles}
    for key, titles in expected.items():
        part = section(html, key)
        for title in titles:
            assert f">{title}</a>" in part, (key, title)
        for title in every - set(titles):
            assert f">{title}</a>" not in part, (key, title)  # each task once, in its most urgent place
    for title in ("别人的事项", "已办结事项", "草稿事项", "本周已反馈", "本月已反馈", "审核中事项"):
        assert f">{title}</a>" not in html, title
    assert "退回意见：缺少佐证材料" in section(html, "returned")
    assert "逾期 9 个工作日" in section(html, "overdue")  # 11-10 (Tue) to 11-23 (Mon)
    # the actions one click away
    ack = inbox_tasks["new"].id
    assert f'action="/tasks/{ack}/acknowledge"' in section(html, "acknowledge")
    assert f"/tasks/{inbox_tasks['weekly_due'].id}#report" in section(html, "report_due")
    assert "报送协办进展" in section(html, "assisting")
    assert "待签收" in section(html, "acknowledge")  # statuses in the department's words


def test_acknowledge_from_the_inbox_comes_back_to_it(app, session, d, inbox_tasks):
    c = client_for(app, session, d.lead_clerk)
    task_id = inbox_tasks["new"].id
    resp = post(c, f"/tasks/{task_id}/acknowledge", {"next": "/dept/"}, token_from="/dept/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/dept/")
    html = body(c.get("/dept/"))
    assert "已签收，请按时限办理并反馈进展" in html
    assert section(html, "acknowledge") == ""
    session.expire_all()
    assert session.get(Task, task_id).status == "acknowledged"
    event = session.exec(select(AuditEvent).where(AuditEvent.task_id == task_id).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.actor_id) == ("acknowledge", d.lead_clerk.user_id)


def test_assisting_clerk_inbox(app, session, d, inbox_tasks):
    html = body(client_for(app, session, d.assist_clerk).get("/dept/"))
    # the assisting department is asked to report on what it assists with, and never to acknowledge
    assert section(html, "acknowledge") == "" and section(html, "returned") == ""
    assert ">逾期事项</a>" in section(html, "overdue")
    assert ">新交办待签收</a>" in section(html, "assisting")
    assert ">我单位协办</a>" not in html and ">别人的事项</a>" not in html
    assert "/acknowledge" not in html


def test_an_empty_inbox_says_so(app, session, d):
    html = body(client_for(app, session, d.other_clerk).get("/dept/"))
    assert "暂无待办事项" in html


@pytest.mark.parametrize("who", ["office", "leader", "admin"])
def test_department_pages_are_for_clerks(app, session, d, who):
    c = client_for(app, session, getattr(d, who))
    assert c.get("/dept/").status_code == 403
    assert c.get("/dept/tasks").status_code == 403


def test_clerk_lands_on_the_inbox_and_sees_the_navigation(app, session, d):
    c = client_for(app, session, d.lead_clerk)
    resp = c.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/dept/")
    html = body(c.get("/dept/"))
    assert 'href="/dept/tasks"' in html and ">本单位事项<" in html


def test_department_task_list_and_filters(app, session, d, inbox_tasks):
    c = client_for(app, session, d.lead_clerk)
    html = body(c.get("/dept/tasks"))
    shown = {"新交办待签收", "被退回事项", "逾期事项", "周报未报", "我单位协办", "已办结事项", "审核中事项"}
    for title in shown:
        assert f">{title}</a>" in html, title
    for title in ("别人的事项", "草稿事项"):
        assert f">{title}</a>" not in html, title
    overdue = body(c.get("/dept/tasks?overdue=1"))
    assert ">逾期事项</a>" in overdue and ">退回且逾期</a>" in overdue and ">周报未报</a>" not in overdue
    lead_only = body(c.get(f"/dept/tasks?lead_department_id={d.lead_id}"))
    assert ">我单位协办</a>" not in lead_only and ">周报未报</a>" in lead_only
    assert ">新交办待签收</a>" in body(c.get("/dept/tasks?status=assigned"))
    assert ">逾期事项</a>" not in body(c.get("/dept/tasks?status=assigned"))
    assert ">月报未报</a>" in body(c.get("/dept/tasks?q=月报"))
    # asking for another department's tasks shows nothing of theirs
    forged = body(c.get(f"/dept/tasks?department_id={d.other_id}"))
    assert ">别人的事项</a>" not in forged and ">我单位协办</a>" in forged
    assert "共 1 项" in forged


def test_department_task_list_pages(app, session, d):
    for i in range(52):
        f.draft(session, d, title=f"批量事项{i:02d}")
    session.flush()
    for t in session.exec(select(Task)).all():
        tasks.assign(session, d.office, t.id)
    session.commit()
    c = client_for(app, session, d.lead_clerk)
    first = body(c.get("/dept/tasks?q=批量"))
    assert "共 52 项" in first and first.count("批量事项") == 50
    assert "/dept/tasks?page=2&amp;q=" in first
    second = body(c.get("/dept/tasks?q=批量&page=2"))
    assert second.count("批量事项") == 2


def test_a_missed_milestone_is_not_called_due_soon(app, session, d):
    """Due in 17 working days with a milestone missed: the light is yellow, and the
    department's pages call it 节点滞后, never 临期 (tracker.rules.overdue.light_label);
    a task inside the due-soon window keeps 临期."""
    with f.on(date(2026, 11, 2)):
        far = f.task_in(
            session,
            d,
            "in_progress",
            title="节点滞后的事项",
            due_date=date(2026, 12, 16),
            milestones=[{"title": "完成方案", "due_date": "2026-11-20"}],
        )
        near = f.task_in(session, d, "in_progress", title="即将到期的事项", due_date=date(2026, 11, 25))
    session.commit()
    c = client_for(app, session, d.lead_clerk)
    html = body(c.get("/dept/tasks"))
    row = html[html.index(f">{far.title}</a>") :]
    row = row[: row.index("</tr>")]
    assert "节点滞后" in row and "临期" not in row and "即将到期" not in row
    row = html[html.index(f">{near.title}</a>") :]
    assert "临期" in row[: row.index("</tr>")]
