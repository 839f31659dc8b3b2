"""Delivering notifications: a real SMTP server (aiosmtpd) and a recording HTTP server,
both on 127.0.0.1, started by the tests; back-off on failure, "dead" at the end."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from tests import factories as f
from tracker.config import Settings
from tracker.models import Delivery, Notification, NotificationChannel, User
from tracker.services.notify import digest
from tracker.services.notify import messages as notify
from tracker.services.notify import queue as delivery_queue

MONDAY = date(2026, 11, 23)


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():
    handler = _Inbox()
    with socket.socket() as probe:  # a free port (the controller's readiness check cannot use port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


class _Robot(BaseHTTPRequestHandler):
    """Records each POST; answers from the server's script (status, JSON) in turn, then the last one."""

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        srv = self.server
        srv.requests.append(
            {
                "path": self.path,
                "content_type": self.headers.get("Content-Type"),
                "json": json.loads(body.decode("utf-8")),
            }
        )
        status, answer = srv.script[min(len(srv.requests) - 1, len(srv.script) - 1)]
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def robot():
    servers = []

    def start(*script):
        srv = ThreadingHTTPServer(("127.0.0.1", 0), _Robot)
        srv.requests, srv.script = [], list(script) or [(200, {"errcode": 0, "errmsg": "ok"})]
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv, f"http://127.0.0.1:{srv.server_address[1]}/cgi-bin/webhook/send?key=test"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def d(session):
    return f.district(session)


def _overdue_task(session, d):
    with f.on(date(2026, 11, 2)):
        task = f.task_in(session, d, "in_progress", title="老旧小区改造", due_date=date(2026, 11, 18))
    session.commit()
    return task


def test_digest_email_reaches_a_real_smtp_server_in_chinese(session, d, smtp):
    handler, port = smtp
    task = _overdue_task(session, d)
    session.get(User, d.lead_clerk.user_id).email = "fgw@duban.local"
    session.commit()
    settings = Settings(
        env="testing",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="督查督办平台 <duban@duban.local>",
        base_url="http://127.0.0.1:8000",
    )
    digest.build_digests(session, MONDAY, settings=settings)
    session.commit()
    assert delivery_queue.deliver_pending(session, settings=settings) == {"sent": 1, "failed": 0, "dead": 0}
    ((mail_from, rcpts, content),) = handler.messages
    assert mail_from == "duban@duban.local" and rcpts == ["fgw@duban.local"]
    msg = email.message_from_bytes(content, policy=email.policy.default)
    assert msg["Subject"].startswith("督办每日提醒（2026年11月23日）") and "已逾期1" in msg["Subject"]
    assert msg["From"].addresses[0].display_name == "督查督办平台" and msg["Message-ID"].endswith("@duban.local>")
    body = msg.get_content()
    assert "老旧小区改造" in body and f"http://127.0.0.1:8000/tasks/{task.id}" in body
    (row,) = session.exec(select(Delivery)).all()
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None


def test_both_robot_flavours_get_the_json_they_accept(session, d, robot):
    task = _overdue_task(session, d)
    wecom, wecom_url = robot()
    ding, ding_url = robot()
    session.add(NotificationChannel(name="发改委企业微信群", flavour="wecom", url=wecom_url, department_id=d.lead_id))
    session.add(NotificationChannel(name="督查室钉钉群", flavour="dingtalk", url=ding_url, department_id=None))
    session.commit()
    settings = Settings(env="testing", base_url="http://127.0.0.1:8000")
    digest.build_digests(session, MONDAY, settings=settings)
    session.commit()
    assert delivery_queue.deliver_pending(session, settings=settings)["sent"] == 2
    (w,) = wecom.requests
    assert w["content_type"] == "application/json; charset=utf-8" and w["path"].endswith("key=test")
    assert w["json"]["msgtype"] == "markdown" and set(w["json"]["markdown"]) == {"content"}
    content = w["json"]["markdown"]["content"]
    assert content.startswith("### 督办每日提醒") and f"(http://127.0.0.1:8000/tasks/{task.id})" in content
    (g,) = ding.requests
    assert g["json"]["msgtype"] == "markdown" and set(g["json"]["markdown"]) == {"title", "text"}
    assert "逾期事项" in g["json"]["markdown"]["text"] and "/office/tasks?overdue=1" in g["json"]["markdown"]["text"]


def test_failing_twice_backs_off_then_is_sent(session, d, robot):
    _overdue_task(session, d)
    srv, url = robot(
        (500, {}), (200, {"errcode": 93000, "errmsg": "invalid webhook url"}), (200, {"errcode": 0, "errmsg": "ok"})
    )
    session.add(NotificationChannel(name="发改委群", flavour="wecom", url=url, department_id=d.lead_id))
    session.commit()
    settings = Settings(env="testing")
    digest.build_digests(session, MONDAY, settings=settings)
    session.commit()
    t0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
    assert delivery_queue.deliver_pending(session, t0, settings=settings)["failed"] == 1
    row = session.exec(select(Delivery)).one()
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 1, t0 + timedelta(minutes=1))
    assert row.last_error == "Webhook 返回 HTTP 500"
    # not yet due 30 seconds later: nothing is sent
    assert delivery_queue.deliver_pending(session, t0 + timedelta(seconds=30), settings=settings) == {
        "sent": 0,
        "failed": 0,
        "dead": 0,
    }
    t1 = t0 + timedelta(minutes=1)
    assert delivery_queue.deliver_pending(session, t1, settings=settings)["failed"] == 1
    session.refresh(row)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 2, t1 + timedelta(minutes=5))
    assert "errcode=93000" in row.last_error
    t2 = t1 + timedelta(minutes=5)
    assert delivery_queue.deliver_pending(session, t2, settings=settings)["sent"] == 1
    session.refresh(row)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, "") and len(srv.requests) == 3


def test_always_failing_ends_dead_after_the_whole_schedule(session, d, client, robot):
    _overdue_task(session, d)
    srv, url = robot((503, {}))
    session.add(NotificationChannel(name="发改委群", flavour="dingtalk", url=url, department_id=d.lead_id))
    session.commit()
    settings = Settings(env="testing")
    digest.build_digests(session, MONDAY, settings=settings)
    session.commit()
    now = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
    gaps = []
    row = session.exec(select(Delivery)).one()
    for _ in range(delivery_queue.MAX_ATTEMPTS):
        delivery_queue.deliver_pending(session, now, settings=settings)
        session.refresh(row)
        if row.next_attempt_at:
            gaps.append(row.next_attempt_at - now)
            now = row.next_attempt_at
    assert gaps == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=6),
    ]
    assert (row.status, row.attempts, row.next_attempt_at) == ("dead", 6, None) and len(srv.requests) == 6
    assert delivery_queue.deliver_pending(session, now + timedelta(days=1), settings=settings)["dead"] == 0
    # the office sees it, with the error, and the next digest counts it
    from tests.webutil import login

    office = session.get(User, d.office.user_id)
    login(client, office.username)
    page = client.get("/notifications/deliveries").get_data(as_text=True)
    assert "已放弃" in page and "Webhook 返回 HTTP 503" in page and "重试" in page


def test_unreachable_smtp_server_fails_with_a_reason(session, d):
    session.get(User, d.lead_clerk.user_id).email = "fgw@duban.local"
    session.commit()
    note = notify.notify_user(
        session,
        d.lead_clerk.user_id,
        "system",
        "测试",
        "正文",
        settings=Settings(env="testing", smtp_host="127.0.0.1", smtp_port=1, smtp_timeout=2),
    )
    session.commit()
    counts = delivery_queue.deliver_pending(
        session, settings=Settings(env="testing", smtp_host="127.0.0.1", smtp_port=1, smtp_timeout=2)
    )
    row = session.exec(select(Delivery).where(Delivery.notification_id == note.id)).one()
    assert counts["failed"] == 1 and row.status == "failed" and "无法连接 SMTP 服务器 127.0.0.1:1" in row.last_error


def test_two_workers_never_send_the_same_delivery(db, session, d, robot):
    """Claims are row locks taken with SKIP LOCKED on PostgreSQL (one writer at a time on SQLite)."""
    srv, url = robot()
    ch = NotificationChannel(name="群", flavour="wecom", url=url, department_id=d.lead_id)
    session.add(ch)
    session.commit()
    for i in range(12):
        note = notify.notify_user(
            session, d.lead_clerk.user_id, "system", f"消息{i}", "正文", settings=Settings(env="testing")
        )
        session.add(Delivery(notification_id=note.id, channel="webhook", target=str(ch.id)))
    session.commit()
    results = []

    def work():
        with Session(db, expire_on_commit=False) as s:
            results.append(delivery_queue.deliver_pending(s, settings=Settings(env="testing")))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r["sent"] for r in results) == 12
    titles = [r["json"]["markdown"]["content"].splitlines()[0] for r in srv.requests]
    assert len(titles) == 12 and len(set(titles)) == 12
    assert {r.status for r in session.exec(select(Delivery)).all()} == {"sent"}
    assert session.exec(select(Notification)).all()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_is_used_when_configured(session, d):
    """TRACKER_SMTP_USER / _PASSWORD: the server that requires AUTH sees the login."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    logins = []

    def authenticator(server, session_, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret"
        logins.append((auth_data.login.decode(), ok))
        return AuthResult(success=ok)

    handler = _Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    try:
        session.get(User, d.lead_clerk.user_id).email = "fgw@duban.local"
        session.commit()
        good = Settings(env="testing", smtp_host="127.0.0.1", smtp_port=port, smtp_user="duban", smtp_password="s3cret")
        notify.notify_user(session, d.lead_clerk.user_id, "system", "第一条", "正文", settings=good)
        session.commit()
        # without the login the server refuses the mail: a failure with the server's reason
        anonymous = Settings(env="testing", smtp_host="127.0.0.1", smtp_port=port)
        assert delivery_queue.deliver_pending(session, settings=anonymous)["failed"] == 1
        row = session.exec(select(Delivery)).one()
        assert row.last_error.startswith("SMTP 发送失败：530") and handler.messages == []
        row.status, row.next_attempt_at = "pending", None
        session.add(row)
        session.commit()
        assert delivery_queue.deliver_pending(session, settings=good)["sent"] == 1
    finally:
        controller.stop()
    assert logins == [("duban", True)]
    ((_, rcpts, content),) = handler.messages
    assert rcpts == ["fgw@duban.local"]
    assert email.message_from_bytes(content, policy=email.policy.default)["Subject"] == "第一条"


def test_a_robot_that_never_answers_times_out_as_a_failure(session, d):
    """A hanging server must not hold the queue: the webhook timeout turns it into a retry."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
        ch = NotificationChannel(name="无响应的群", flavour="wecom", url=url, department_id=d.lead_id)
        session.add(ch)
        session.commit()
        note = notify.notify_user(
            session, d.lead_clerk.user_id, "system", "消息", "正文", settings=Settings(env="testing")
        )
        session.add(Delivery(notification_id=note.id, channel="webhook", target=str(ch.id)))
        session.commit()
        counts = delivery_queue.deliver_pending(session, settings=Settings(env="testing", webhook_timeout=1))
    finally:
        listener.close()
    row = session.exec(select(Delivery)).one()
    assert counts["failed"] == 1 and row.status == "failed" and "无法连接 Webhook" in row.last_error


def test_a_send_interrupted_by_a_crash_is_taken_up_after_its_lease(session, d, robot):
    srv, url = robot()
    ch = NotificationChannel(name="群", flavour="wecom", url=url, department_id=d.lead_id)
    session.add(ch)
    session.commit()
    note = notify.notify_user(session, d.lead_clerk.user_id, "system", "消息", "正文", settings=Settings(env="testing"))
    t0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
    # a worker claimed it at t0 and died before recording the outcome
    row = Delivery(
        notification_id=note.id,
        channel="webhook",
        target=str(ch.id),
        status="sending",
        attempts=1,
        next_attempt_at=t0 + delivery_queue.LEASE,
    )
    session.add(row)
    session.commit()
    testing = Settings(env="testing")
    assert delivery_queue.deliver_pending(session, t0 + timedelta(minutes=5), settings=testing)["sent"] == 0
    assert srv.requests == []
    assert delivery_queue.deliver_pending(session, t0 + delivery_queue.LEASE, settings=testing)["sent"] == 1
    session.refresh(row)
    assert (row.status, row.attempts, len(srv.requests)) == ("sent", 2, 1)
