"""Login sessions kept in the database (tracker/services/accounts/sessions.py), through real HTTP:
a copied cookie is dead after logout, after the idle timeout and the lifetime, after "sign out
everywhere", an administrator's revoke and a password change; bearer tokens are untouched.

GB/T 22239-2019 8.1.4.1 b): 结束会话、登录连接超时自动退出.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests import factories as f
from tests.webutil import login, post, statements_on
from tracker import clock, create_app
from tracker.config import Settings, load_settings
from tracker.models import AuditEvent, Role, User, UserSession
from tracker.services import access
from tracker.services.accounts import sessions
from tracker.services.actors import SYSTEM, Actor
from tracker.services.organisation import directory as organisation

PAGES = ("/dept/", "/api/v1/me")


@pytest.fixture
def clerk(session):
    dep = f.department(session, "区发改委")
    user = f.user(session, Role.CLERK, username="fgw", department_id=dep.id)
    session.commit()
    return user


@pytest.fixture
def admin(session):
    user = f.user(session, Role.ADMIN, username="admin")
    session.commit()
    return user


def _copy(app, client):
    """Another browser holding a copy of ``client``'s session cookie, taken now."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _session_id(app, client) -> str:
    """The ``usersession`` row behind ``client``'s cookie (the cookie holds the token, the row its hash)."""
    data = app.session_interface.get_signing_serializer(app).loads(client.get_cookie("session").value)
    return sessions.token_hash(data["_user_id"].partition(":")[2])


def _alive(client, pages=PAGES) -> bool:
    page, api = (client.get(p) for p in pages)
    assert (page.status_code == 200) == (api.status_code == 200), (page.status_code, api.status_code)
    if page.status_code != 200:
        assert page.status_code == 302 and "/login" in page.headers["Location"]
        assert api.status_code == 401 and api.get_json()["error"] == "unauthorized"
    return page.status_code == 200


def _actions(session, user_id=None) -> list[str]:
    session.expire_all()
    query = select(AuditEvent.action).order_by(AuditEvent.id)
    if user_id is not None:
        query = query.where(AuditEvent.entity == "user", AuditEvent.entity_id == user_id)
    return list(session.exec(query))


def test_a_copied_cookie_is_dead_after_logout(app, client, clerk, session):
    assert login(client, "fgw").status_code == 302
    thief = _copy(app, client)
    assert _alive(thief)  # the copy works while the session lasts: it is the same session
    assert post(client, "/logout", token_from="/dept/").status_code == 302
    assert not _alive(client)
    assert not _alive(thief)
    row = session.exec(select(UserSession)).one()
    assert row.revoked_at is not None and row.revoked_reason == "logout"
    assert _actions(session, clerk.id)[-2:] == ["login", "logout"]


def test_idle_timeout_ends_the_session_and_activity_keeps_it(app, client, clerk):
    login(client, "fgw")
    with clock.later(timedelta(minutes=100)):
        assert _alive(client)  # 100 minutes idle: within the 2 hours; the request counts as activity
    with clock.later(timedelta(minutes=200)):
        assert _alive(client)  # 100 minutes since that request
    with clock.later(timedelta(minutes=200 + 120)):
        resp = client.get("/dept/", follow_redirects=True)
        assert "长时间未操作，登录已超时" in resp.get_data(as_text=True)
        assert not _alive(client)
    assert not _alive(client)  # and it does not come back


def test_the_lifetime_ends_a_busy_session(app, client, clerk):
    login(client, "fgw")
    for minutes in range(60, 12 * 60, 60):  # a request every hour: never idle
        with clock.later(timedelta(minutes=minutes)):
            assert _alive(client), minutes
    with clock.later(timedelta(hours=12)):
        resp = client.get("/dept/", follow_redirects=True)
        assert "登录已超过最长有效期" in resp.get_data(as_text=True)
    assert login(client, "fgw").status_code == 302 and _alive(client)  # a new login is a new session


def test_the_limits_are_settings(db, tmp_path, clerk):
    app = create_app(
        Settings(
            env="testing",
            database_url=str(db.url),
            instance_path=tmp_path / "i",
            secret_key="x",
            log_format="off",
            session_idle_minutes=5,
            session_lifetime_hours=1,
        ),
        engine=db,
    )
    client = app.test_client()
    login(client, "fgw")
    with clock.later(timedelta(minutes=4)):
        assert _alive(client)
    with clock.later(timedelta(minutes=10)):
        assert not _alive(client)
    env = {"TRACKER_SESSION_IDLE_MINUTES": "30", "TRACKER_SESSION_LIFETIME_HOURS": "8"}
    settings = load_settings(env)
    assert (settings.session_idle_minutes, settings.session_lifetime_hours) == (30, 8)
    assert (Settings().session_idle_minutes, Settings().session_lifetime_hours) == (120, 12)


def test_last_seen_is_written_at_most_once_a_minute(app, client, clerk, session):
    login(client, "fgw")
    engine = app.extensions["tracker_engine"]
    with statements_on(engine) as seen:
        for _ in range(3):
            assert client.get("/dept/").status_code == 200
    assert not [s for s in seen if s.startswith("update usersession")]
    with clock.later(timedelta(seconds=61)), statements_on(engine) as seen:
        for _ in range(3):
            assert client.get("/dept/").status_code == 200
    assert len([s for s in seen if s.startswith("update usersession")]) == 1
    row = session.exec(select(UserSession)).one()
    session.refresh(row)
    assert row.last_seen_at - row.created_at >= timedelta(seconds=61)


def test_sign_out_everywhere_else_and_everywhere(app, clerk, session):
    here, laptop, phone = app.test_client(), app.test_client(), app.test_client()
    for c in (here, laptop, phone):
        login(c, "fgw")
    thief = _copy(app, laptop)
    assert post(here, "/account/sessions/others", token_from="/account/sessions").status_code == 302
    assert _alive(here) and not _alive(laptop) and not _alive(phone) and not _alive(thief)
    again = app.test_client()
    login(again, "fgw")
    resp = post(here, "/account/sessions/all", token_from="/account/sessions")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert not _alive(here) and not _alive(again)
    assert _actions(session, clerk.id).count("logout_everywhere") == 2


def test_the_sessions_page_lists_mine_and_revokes_one(app, clerk, session):
    mine, other = app.test_client(), app.test_client()
    mine.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36"
    other.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) MicroMessenger/8.0"
    login(mine, "fgw")
    login(other, "fgw")
    page = mine.get("/account/sessions")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count("data-session=") == 2 and "当前设备" in html
    assert "Chrome · Windows" in html and "微信 · iPhone" in html
    assert "127.0.0.1" in html and 'id="nav-sessions"' in html  # reachable from the user menu
    theirs = _session_id(app, other)
    assert theirs != _session_id(app, mine) and f"/account/sessions/{theirs}/revoke" in html
    resp = post(mine, f"/account/sessions/{theirs}/revoke", token_from="/account/sessions")
    assert resp.status_code == 302
    assert _alive(mine) and not _alive(other)
    assert mine.get("/account/sessions").get_data(as_text=True).count("data-session=") == 1
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "session_revoked")).one()
    assert event.entity_id == clerk.id and event.after["reason"] == "revoked"


def test_nobody_revokes_another_users_session(app, clerk, session):
    other = f.user(session, Role.CLERK, username="other", department_id=clerk.department_id)
    session.commit()
    victim, attacker = app.test_client(), app.test_client()
    login(victim, "fgw")
    login(attacker, "other")
    target = _session_id(app, victim)
    resp = post(attacker, f"/account/sessions/{target}/revoke", token_from="/account/sessions")
    assert resp.status_code == 404 and _alive(victim)
    assert other.id != clerk.id


def test_an_administrator_revokes_a_users_sessions(app, clerk, admin, session):
    user_client, admin_client = app.test_client(), app.test_client()
    login(user_client, "fgw")
    thief = _copy(app, user_client)
    login(admin_client, "admin")
    page = admin_client.get(f"/admin/users/{clerk.id}").get_data(as_text=True)
    assert "登录会话" in page and "强制下线" in page
    resp = post(admin_client, f"/admin/users/{clerk.id}/sessions/revoke", token_from=f"/admin/users/{clerk.id}")
    assert resp.status_code == 302
    assert not _alive(user_client) and not _alive(thief)
    assert _alive(admin_client, ("/account/sessions", "/api/v1/me"))
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "session_revoked")).one()
    assert (event.actor_id, event.entity_id, event.after["reason"]) == (admin.id, clerk.id, "admin")
    # only an administrator may
    login(user_client, "fgw")
    refused = post(user_client, f"/admin/users/{clerk.id}/sessions/revoke", token_from="/dept/")
    assert refused.status_code == 403 and _alive(user_client)


def test_a_password_change_ends_the_other_sessions_and_is_audited(app, clerk, session):
    here, there = app.test_client(), app.test_client()
    login(here, "fgw")
    login(there, "fgw")
    thief = _copy(app, there)
    resp = post(
        here,
        "/password",
        {"old_password": f.PASSWORD, "new_password": "Violet-harbour-93", "confirm": "Violet-harbour-93"},
    )
    assert resp.status_code == 302
    assert _alive(here) and not _alive(there) and not _alive(thief)
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "password_changed")).one()
    assert event.entity_id == clerk.id and event.after == {"sessions_ended": 1}


def test_a_reset_and_a_deactivation_end_the_sessions(app, clerk, admin, session):
    user_client = app.test_client()
    login(user_client, "fgw")
    organisation.reset_password(session, SYSTEM, clerk.id, "Copper-lantern-58")
    session.commit()
    assert not _alive(user_client)
    assert login(user_client, "fgw", "Copper-lantern-58").status_code == 302  # to /password
    organisation.set_user_active(session, SYSTEM, clerk.id, False)
    session.commit()
    assert session.exec(select(UserSession).where(UserSession.revoked_reason == "deactivated")).one()


def test_bearer_tokens_keep_working_after_logout(app, client, clerk, session):
    token = access.issue_token(session, SYSTEM, session.get(User, clerk.id), "OA")
    session.commit()
    login(client, "fgw")
    post(client, "/logout", token_from="/dept/")
    bot = app.test_client()
    resp = bot.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    assert session.scalar(select(sa.func.count()).select_from(UserSession).where(UserSession.revoked_at.is_(None))) == 0


def test_a_role_change_by_the_administrator_is_audited_as_such(app, clerk, admin, session):
    admin_actor = Actor.of(admin)
    organisation.update_user(
        session, admin_actor, clerk.id, display_name="改名", role=Role.CLERK, department_id=clerk.department_id
    )
    other = f.department(session, "区财政局")
    organisation.update_user(
        session, admin_actor, clerk.id, display_name="改名", role=Role.CLERK, department_id=other.id
    )
    organisation.update_user(session, admin_actor, clerk.id, display_name="改名", role=Role.SUPERVISOR)
    session.commit()
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.entity_id == clerk.id, AuditEvent.actor_id == admin.id)
        .order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == ["user_update", "role_changed", "role_changed"]
    assert events[2].before["role"] == "clerk" and events[2].after["role"] == "supervisor"
