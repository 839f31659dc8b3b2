"""The notification pages: inbox and badge, the office's delivery log, group robots, e-mail field."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests import factories as f
from tests.test_notify_queue import robot  # noqa: F401 - the recording HTTP server
from tests.webutil import login, post
from tracker.config import Settings
from tracker.models import AuditEvent, Delivery, Notification, NotificationChannel, User
from tracker.services.notify import digest
from tracker.services.notify import messages as notify

MONDAY = date(2026, 11, 23)


@pytest.fixture
def d(session):
    return f.district(session)


def _name(session, actor) -> str:
    return session.get(User, actor.user_id).username


def _digest_for_lead_clerk(session, d):
    with f.on(date(2026, 11, 2)):
        late = f.task_in(session, d, "in_progress", title="老旧小区改造", due_date=date(2026, 11, 18))
    session.commit()
    digest.build_digests(session, MONDAY, settings=Settings(env="testing", base_url="http://127.0.0.1:8000"))
    session.commit()
    return late


def test_inbox_lists_newest_first_with_links_and_marks_read(client, session, d):
    late = _digest_for_lead_clerk(session, d)
    notify.notify_user(
        session,
        d.lead_clerk.user_id,
        "escalation",
        "督办通知：督〔2026〕9号",
        "请于3个工作日内办结",
        payload={"task_id": late.id},
        settings=Settings(env="testing"),
    )
    session.commit()
    login(client, _name(session, d.lead_clerk))
    html = client.get("/notifications/").get_data(as_text=True)
    assert html.index("督办通知：督〔2026〕9号") < html.index("督办每日提醒（2026年11月23日）")
    assert f'href="http://127.0.0.1:8000/tasks/{late.id}"' in html and "老旧小区改造" in html
    assert f'href="/tasks/{late.id}">查看事项' in html
    assert 'id="nav-unread" aria-label="未读消息">2</span>' in html
    note = session.exec(
        select(Notification).where(Notification.kind == "digest", Notification.user_id == d.lead_clerk.user_id)
    ).one()
    resp = post(client, f"/notifications/{note.id}/read", token_from="/notifications/")
    assert resp.status_code == 302
    session.refresh(note)
    assert note.read_at is not None
    assert 'id="nav-unread" aria-label="未读消息">1</span>' in client.get("/notifications/").get_data(as_text=True)
    resp = post(client, "/notifications/read-all", token_from="/notifications/")
    assert resp.status_code == 302
    assert notify.unread_count(session, d.lead_clerk.user_id) == 0
    assert "nav-unread" not in client.get("/dept/").get_data(as_text=True)


def test_nobody_marks_another_users_message(client, session, d):
    _digest_for_lead_clerk(session, d)
    note = session.exec(select(Notification).where(Notification.user_id == d.lead_clerk.user_id)).first()
    login(client, _name(session, d.assist_clerk))
    resp = post(client, f"/notifications/{note.id}/read", token_from="/notifications/")
    assert resp.status_code == 404
    session.refresh(note)
    assert note.read_at is None
    # mark-all only touches one's own messages
    post(client, "/notifications/read-all", token_from="/notifications/")
    assert notify.unread_count(session, d.lead_clerk.user_id) == 1


def test_badge_costs_one_count_query(client, session, d, db):
    _digest_for_lead_clerk(session, d)
    login(client, _name(session, d.lead_clerk))
    seen = []

    def listen(conn, cursor, statement, params, context, executemany):
        if "notification" in statement.lower():
            seen.append(statement)

    sa.event.listen(db, "before_cursor_execute", listen)
    try:
        html = client.get("/dept/").get_data(as_text=True)
    finally:
        sa.event.remove(db, "before_cursor_execute", listen)
    assert 'id="nav-unread" aria-label="未读消息">1</span>' in html
    # one statement, and it is the user loader's: the user and the badge's count together
    assert len(seen) == 1 and "count(" in seen[0].lower() and "from app_user" in seen[0].lower()


def test_office_retries_a_dead_delivery(client, session, d):
    _digest_for_lead_clerk(session, d)
    note = session.exec(select(Notification)).first()
    ch = NotificationChannel(name="发改委群", flavour="wecom", url="http://127.0.0.1:9/hook", department_id=d.lead_id)
    session.add(ch)
    session.flush()
    ok = Delivery(notification_id=note.id, channel="email", target="a@duban.local", status="sent", attempts=1)
    dead = Delivery(
        notification_id=note.id,
        channel="webhook",
        target=str(ch.id),
        status="dead",
        attempts=6,
        last_error="Webhook 返回 HTTP 503",
    )
    session.add_all([ok, dead])
    session.commit()
    login(client, _name(session, d.office))
    html = client.get("/notifications/deliveries").get_data(as_text=True)
    assert html.index(f'id="d-{dead.id}"') < html.index(f'id="d-{ok.id}"')  # failures first
    assert "发改委群" in html and "Webhook 返回 HTTP 503" in html
    resp = post(client, f"/notifications/deliveries/{dead.id}/retry", token_from="/notifications/deliveries")
    assert resp.status_code == 302
    session.refresh(dead)
    assert (dead.status, dead.attempts, dead.next_attempt_at) == ("pending", 0, None)
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "retry_delivery")).one()
    assert event.entity_id == dead.id and event.before == {"status": "dead", "attempts": 6}
    # a sent one is not re-sent
    resp = post(
        client,
        f"/notifications/deliveries/{ok.id}/retry",
        token_from="/notifications/deliveries",
        follow_redirects=True,
    )
    assert "该消息已发送，无需重试" in resp.get_data(as_text=True)
    session.refresh(ok)
    assert ok.status == "sent"


def test_channels_are_added_checked_edited_and_disabled(client, session, d):
    login(client, _name(session, d.office))
    resp = post(
        client,
        "/notifications/channels/new",
        {"name": "发改委群", "flavour": "wecom", "url": "ftp://127.0.0.1/x", "department_id": str(d.lead_id)},
    )
    assert resp.status_code == 422 and "Webhook 地址应以 http:// 或 https:// 开头" in resp.get_data(as_text=True)
    assert session.scalar(select(sa.func.count()).select_from(NotificationChannel)) == 0
    resp = post(
        client,
        "/notifications/channels/new",
        {
            "name": "发改委群",
            "flavour": "dingtalk",
            "url": "http://127.0.0.1:9/robot/send?access_token=t",
            "department_id": str(d.lead_id),
        },
    )
    assert resp.status_code == 302
    ch = session.exec(select(NotificationChannel)).one()
    assert (ch.name, ch.flavour, ch.department_id, ch.active) == ("发改委群", "dingtalk", d.lead_id, True)
    resp = post(
        client,
        f"/notifications/channels/{ch.id}",
        {"name": "督查室群", "flavour": "wecom", "url": ch.url, "department_id": ""},
    )
    assert resp.status_code == 302
    session.refresh(ch)
    assert (ch.name, ch.flavour, ch.department_id) == ("督查室群", "wecom", None)
    post(client, f"/notifications/channels/{ch.id}/active", {"active": "0"}, token_from="/notifications/channels")
    session.refresh(ch)
    assert ch.active is False
    actions = session.exec(
        select(AuditEvent.action).where(AuditEvent.entity == "notificationchannel").order_by(AuditEvent.id)
    ).all()
    assert actions == ["create_channel", "update_channel", "disable_channel"]
    assert "督查室群" in client.get("/notifications/channels").get_data(as_text=True)


def test_admin_sets_a_users_email(client, session, d):
    login(client, _name(session, d.admin))
    page = client.get(f"/admin/users/{d.lead_clerk.user_id}").get_data(as_text=True)
    assert f'action="/notifications/users/{d.lead_clerk.user_id}/email"' in page
    url = f"/notifications/users/{d.lead_clerk.user_id}/email"
    resp = post(
        client, url, {"email": "不是邮箱"}, token_from=f"/admin/users/{d.lead_clerk.user_id}", follow_redirects=True
    )
    assert "电子邮箱格式不正确：不是邮箱" in resp.get_data(as_text=True)
    assert session.get(User, d.lead_clerk.user_id).email == ""
    post(client, url, {"email": " fgw@duban.local "}, token_from=f"/admin/users/{d.lead_clerk.user_id}")
    user = session.get(User, d.lead_clerk.user_id)
    session.refresh(user)
    assert user.email == "fgw@duban.local"
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "set_email")).one()
    assert event.after == {"email": "fgw@duban.local"}


def test_a_test_message_shows_whether_the_robot_works(client, session, d, robot):  # noqa: F811
    srv, url = robot(
        (200, {"errcode": 0, "errmsg": "ok"}), (200, {"errcode": 310000, "errmsg": "keywords not in content"})
    )
    ch = NotificationChannel(name="发改委钉钉群", flavour="dingtalk", url=url, department_id=d.lead_id)
    session.add(ch)
    session.commit()
    login(client, _name(session, d.admin))
    resp = post(
        client, f"/notifications/channels/{ch.id}/test", token_from="/notifications/channels", follow_redirects=True
    )
    assert "测试消息已发送" in resp.get_data(as_text=True)
    (sent,) = srv.requests
    assert sent["json"]["msgtype"] == "markdown" and "发改委钉钉群" in sent["json"]["markdown"]["text"]
    resp = post(
        client, f"/notifications/channels/{ch.id}/test", token_from="/notifications/channels", follow_redirects=True
    )
    assert "测试消息发送失败：机器人返回错误 errcode=310000：keywords not in content" in resp.get_data(as_text=True)
    assert (
        session.scalar(select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "test_channel")) == 1
    )


def test_the_error_page_of_a_failed_transaction_still_renders(app, client, session, d):
    """The badge runs a query on every page; after a database error it must not break the 500 page."""
    from tracker.db import get_session as request_session

    @app.get("/boom-for-test")
    def _boom():
        request_session().execute(sa.text("SELECT * FROM no_such_table"))

    login(client, _name(session, d.lead_clerk))
    resp = client.get("/boom-for-test")
    assert resp.status_code == 500 and "系统内部错误" in resp.get_data(as_text=True)
