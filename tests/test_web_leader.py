"""The leader's portfolio page: only their tasks, overdue first, one-click 催办, approvals."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from tests import factories as f
from tests.webutil import login, post
from tracker.models import AuditEvent, Reminder, Role, Task, User
from tracker.services.actors import SYSTEM
from tracker.services.organisation import directory as organisation
from tracker.services.tasks import lifecycle as tasks


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
    marker = f'data-section="{key}"'
    start = html.index(marker)
    end = html.find("data-section=", start + len(marker))
    return html[start : end if end != -1 else len(html)]


@pytest.fixture
def portfolio(session, d):
    t = {}
    with f.on(date(2026, 11, 2)):
        t["late"] = f.task_in(session, d, "in_progress", title="逾期的事项", due_date=date(2026, 11, 13))
    t["soon"] = f.task_in(session, d, "acknowledged", title="临期的事项", due_date=date(2026, 11, 25))
    t["fine"] = f.task_in(session, d, "assigned", title="正常的事项", due_date=date(2026, 12, 30))
    t["closed"] = f.task_in(session, d, "closed", title="办结的事项")
    t["pending"] = f.task_in(session, d, "pending_approval", title="待审核的事项")
    t["draft"] = f.task_in(session, d, "draft", title="草稿的事项")
    # the leader is named as responsible leader on a task of a department outside the portfolio
    t["named"] = f.task_in(
        session,
        d,
        "assigned",
        title="点名负责的事项",
        lead_department_id=d.assist_id,
        assisting_department_ids=[],
        due_date=date(2026, 12, 31),
    )
    t["others"] = f.task_in(
        session,
        d,
        "assigned",
        title="别人分管的事项",
        lead_department_id=d.other_id,
        assisting_department_ids=[],
        leader_ids=[],
    )
    tasks.acknowledge(session, d.other_clerk, t["others"].id)
    t["others_pending"] = f.task_in(
        session,
        d,
        "assigned",
        title="别人分管的待签收",
        lead_department_id=d.other_id,
        assisting_department_ids=[],
        leader_ids=[],
    )
    session.commit()
    return t


def test_portfolio_overdue_first_then_due_soon_then_the_rest(app, session, d, portfolio):
    resp = client_for(app, session, d.leader).get("/leader/")
    html = body(resp)
    assert resp.status_code == 200
    order = [
        html.index(f">{title}</a>")
        for title in ("待审核的事项", "逾期的事项", "临期的事项", "正常的事项", "办结的事项")
    ]
    assert order == sorted(order)
    assert ">逾期的事项</a>" in section(html, "overdue") and "逾期 6 个工作日" in section(html, "overdue")
    assert ">临期的事项</a>" in section(html, "due_soon")
    assert ">正常的事项</a>" in section(html, "on_track") and ">点名负责的事项</a>" in section(html, "on_track")
    assert ">办结的事项</a>" in section(html, "other")
    for title in ("别人分管的事项", "别人分管的待签收", "草稿的事项"):
        assert f">{title}</a>" not in html, title
    assert "待我审核（1）" in html
    assert "办理中" in section(html, "overdue")  # statuses in the leader's words


def test_the_other_leader_sees_only_theirs(app, session, d, portfolio):
    html = body(client_for(app, session, d.other_leader).get("/leader/"))
    assert ">别人分管的事项</a>" in html and ">别人分管的待签收</a>" in html
    for title in ("逾期的事项", "临期的事项", "正常的事项", "待审核的事项", "点名负责的事项", "办结的事项"):
        assert f">{title}</a>" not in html, title


def test_remind_with_one_click(app, session, d, portfolio):
    c = client_for(app, session, d.leader)
    html = body(c.get("/leader/"))
    late = portfolio["late"].id
    assert f'action="/tasks/{late}/remind"' in section(html, "overdue")
    assert f'action="/tasks/{portfolio["closed"].id}/remind"' not in html  # only open tasks
    resp = post(c, f"/tasks/{late}/remind", {"next": "/leader/#overdue"}, token_from="/leader/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/leader/#overdue")
    assert "已催办牵头单位" in body(c.get("/leader/"))
    rem = session.exec(select(Reminder)).one()
    assert (rem.task_id, rem.department_id, rem.sent_by_id) == (late, d.lead_id, d.leader.user_id)
    event = session.exec(select(AuditEvent).where(AuditEvent.task_id == late).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.actor_id) == ("remind", d.leader.user_id)
    # a leader cannot remind on a task outside the portfolio
    forged = post(c, f"/tasks/{portfolio['others'].id}/remind", {}, token_from="/leader/")
    assert forged.status_code == 404
    assert session.exec(select(Reminder).where(Reminder.task_id == portfolio["others"].id)).first() is None


def test_approve_and_reject_from_the_portfolio(app, session, d, portfolio):
    second = f.task_in(session, d, "pending_approval", title="第二件待审核")
    session.commit()
    c = client_for(app, session, d.leader)
    html = body(c.get("/leader/"))
    pending = portfolio["pending"].id
    assert f'action="/tasks/{pending}/approve"' in html and f'action="/tasks/{pending}/reject"' in html
    resp = post(c, f"/tasks/{pending}/approve", {"next": "/leader/"}, token_from="/leader/")
    assert resp.headers["Location"].endswith("/leader/")
    assert "已审核同意，事项已交办" in body(c.get("/leader/"))
    resp = post(
        c, f"/tasks/{second.id}/reject", {"next": "/leader/", "reason": "请明确时间节点"}, token_from="/leader/"
    )
    assert resp.headers["Location"].endswith("/leader/")
    session.expire_all()
    assert session.get(Task, pending).status == "assigned"
    assert session.get(Task, second.id).status == "draft"
    actions = [
        e.action
        for e in session.exec(
            select(AuditEvent).where(AuditEvent.task_id.in_([pending, second.id])).order_by(AuditEvent.id)
        )
    ]
    assert actions[-2:] == ["leader_approve", "leader_reject"]
    html = body(c.get("/leader/"))
    assert "待我审核" in html and ">第二件待审核</a>" not in html  # a draft again: back with the office


@pytest.mark.parametrize("who", ["office", "lead_clerk", "admin"])
def test_the_portfolio_page_is_for_leaders(app, session, d, who):
    assert client_for(app, session, getattr(d, who)).get("/leader/").status_code == 403


def test_leader_lands_on_the_portfolio(app, session, d):
    c = client_for(app, session, d.leader)
    resp = c.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/leader/")


def test_a_leader_with_an_empty_portfolio(app, session, d):
    lonely = organisation.create_leader(session, SYSTEM, "王芳", "副区长")
    user = f.user(session, Role.LEADER, leader_id=lonely.id)
    f.task_in(session, d, "in_progress")
    session.commit()
    c = app.test_client()
    login(c, user.username)
    html = body(c.get("/leader/"))
    assert html.count("暂无") == 4 and "推进重点项目前期工作" not in html
