from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests import factories as f
from tests.webutil import csrf_from, login, post, statements_on
from tracker import clock
from tracker.models import AuditEvent, LoginThrottle, Role, User, UserSession

WRITES = ("insert", "update", "delete")


@pytest.fixture
def office(session):
    u = f.user(session, Role.SUPERVISOR, username="office", password="office-pass-1")
    session.commit()
    return u


def test_anonymous_is_sent_to_login_and_api_gets_json(client):
    resp = client.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    api = client.get("/api/v1/tasks")
    assert api.status_code == 401 and api.get_json()["error"] == "unauthorized"
    assert client.get("/healthz").status_code == 200


def test_login_and_logout(client, office):
    resp = login(client, "office", "office-pass-1")
    assert resp.status_code == 302
    home = client.get("/")
    assert home.status_code == 200 and "工作台" in home.get_data(as_text=True)
    assert client.get("/logout").status_code == 405  # logout only by POST with a token
    out = post(client, "/logout", token_from="/")
    assert out.status_code == 302
    assert client.get("/").status_code == 302


def test_an_anonymous_request_racing_the_login_does_not_log_the_user_out(app, client, office):
    # The browser asks for /favicon.ico (or anything) with the login page's cookie while the login
    # form is on its way; that answer may arrive last. It must not carry a cookie of its own.
    page = client.get("/login")
    anonymous_cookie = client.get_cookie("session").value
    assert login(client, "office", "office-pass-1").status_code == 302
    other = app.test_client()  # the racing request, sent with the cookie from before the login
    other.set_cookie("session", anonymous_cookie)
    for path in ("/favicon.ico", "/login", "/", "/static/favicon.svg"):
        resp = other.get(path)
        assert resp.status_code in (200, 301, 302), path
        assert not [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session=")], path
    assert client.get("/").status_code == 200  # still logged in
    assert 'rel="icon"' in page.get_data(as_text=True)


def test_wrong_password_is_a_chinese_error(client, office):
    resp = login(client, "office", "wrong-pass")
    assert resp.status_code == 401 and "用户名或密码错误" in resp.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, office):
    resp = client.post("/login", data={"username": "office", "password": "office-pass-1"})
    assert resp.status_code == 400 and "刷新页面" in resp.get_data(as_text=True)


def test_brute_force_is_slowed_then_released(client, office, session):
    """Five wrong passwords are checked; the sixth try must wait (a progressive delay, not a
    lockout), and once the wait is over the password is checked again."""
    for _ in range(5):
        assert login(client, "office", "nope-nope").status_code == 401
    blocked = login(client, "office", "office-pass-1")
    assert blocked.status_code == 429 and "请稍后再试" in blocked.get_data(as_text=True)
    with clock.later(timedelta(seconds=31)):
        assert login(client, "office", "office-pass-1").status_code == 302


def test_a_login_forgets_the_accounts_failures_and_writes_only_its_session(app, db, client, office, session):
    assert login(client, "office", "nope-nope").status_code == 401
    assert login(client, "office", "office-pass-1").status_code == 302
    assert session.get(LoginThrottle, ("account", "office")) is None
    with statements_on(db) as seen:
        assert login(app.test_client(), "office", "office-pass-1").status_code == 302
    written = {s.split()[2 if s.startswith(("insert", "delete")) else 1] for s in seen if s.split()[0] in WRITES}
    # the try's counts, the new session and its audit row; nothing else (app_user is not touched)
    assert written == {"loginthrottle", "usersession", "auditevent"}, seen
    assert session.scalar(select(sa.func.count()).select_from(UserSession)) == 2
    assert [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))] == [
        "user_create",
        "login_failed",
        "login",
        "login",
    ]


def test_open_redirect_is_ignored(client, office):
    page = client.get("/login?next=https://evil.example/")
    resp = client.post(
        "/login?next=https://evil.example/",
        data={"username": "office", "password": "office-pass-1", "csrf_token": csrf_from(page.get_data(as_text=True))},
    )
    assert resp.headers["Location"] == "/"


def test_session_cookie_flags_and_security_headers(client, office):
    resp = login(client, "office", "office-pass-1")
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_forced_password_change(client, session):
    f.user(
        session,
        Role.CLERK,
        username="clerk",
        password="initial-pass-1",
        department_id=f.department(session).id,
        must_change_password=True,
    )
    session.commit()
    login(client, "clerk", "initial-pass-1")
    assert "/password" in client.get("/").headers["Location"]
    bad = post(client, "/password", {"old_password": "initial-pass-1", "new_password": "short", "confirm": "short"})
    assert bad.status_code == 422 and "至少 8 位" in bad.get_data(as_text=True)
    ok = post(
        client,
        "/password",
        {"old_password": "initial-pass-1", "new_password": "better-pass-2", "confirm": "better-pass-2"},
    )
    assert ok.status_code == 302
    assert client.get("/").status_code in (200, 302)
    assert "/password" not in client.get("/").headers.get("Location", "")
    user = session.exec(select(User).where(User.username == "clerk")).one()
    session.refresh(user)
    assert not user.must_change_password


def test_password_change_ends_other_sessions(app, office, session):
    a, b = app.test_client(), app.test_client()
    login(a, "office", "office-pass-1")
    login(b, "office", "office-pass-1")
    post(a, "/password", {"old_password": "office-pass-1", "new_password": "new-pass-22", "confirm": "new-pass-22"})
    assert a.get("/").status_code == 200
    assert b.get("/").status_code == 302


def test_bearer_token_wins_over_a_stray_session_cookie(app, office, session):
    from tracker.services import access
    from tracker.services.actors import SYSTEM

    token = access.issue_token(session, SYSTEM, office, "bot")
    session.commit()
    client = app.test_client()
    client.get("/login")  # leaves a session cookie without a login in it
    resp = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    assert client.get("/api/v1/tasks", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_a_page_reads_its_user_as_a_read_only_record_and_a_change_goes_through_the_entity(app, client, office, session):
    """tracker/http/login.py loads the page's user without the ORM (a ``UserRecord``); writing to it
    fails loudly instead of being lost, and ``current_row`` gives the session's ``User`` entity."""
    from flask import g
    from flask_login import current_user

    from tracker.http.login import UserRecord, current_row

    seen = {}

    @app.get("/_probe_user")
    def _probe():
        row = current_user.row
        seen["record"] = isinstance(row, UserRecord) and (row.username, row.role, row.active)
        with pytest.raises(AttributeError, match="read-only"):
            row.display_name = "改名"
        entity = current_row()
        seen["entity"] = isinstance(entity, User) and entity in g.db_session and entity.id == row.id
        return "ok"

    login(client, "office", "office-pass-1")
    assert client.get("/_probe_user").status_code == 200
    assert seen == {"record": ("office", Role.SUPERVISOR.value, True), "entity": True}
