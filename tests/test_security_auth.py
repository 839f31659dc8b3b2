"""Security of the session: CSRF on every state-changing route (enumerated from app.url_map),
session fixation, cookie flags, throttling, password policy and demo passwords.

Already covered elsewhere and not repeated: login throttling released after 15 minutes, open
redirects, forced change of an initial password, other sessions ended by a password change
(tests/test_auth.py); Dash's callback route refusing cross-site posts (tests/test_dashboard_access.py).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_wtf.csrf import generate_csrf
from sqlmodel import select
from werkzeug.routing import IntegerConverter

from tests import factories as f
from tests.webutil import csrf_from, login, post
from tracker import create_app
from tracker.config import Settings
from tracker.models import AuditEvent, LoginThrottle, Role, User
from tracker.services.accounts import passwords
from tracker.services.actors import SYSTEM
from tracker.services.organisation import directory as organisation

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
DASH_DISPATCH = "/dashboard/_dash-update-component"


def _fill(rule) -> str:
    values = {}
    for arg, conv in rule._converters.items():
        values[arg] = 1 if isinstance(conv, IntegerConverter) else "2026-10-01" if arg == "day" else "x"
    return rule.build(values)[1]


def _write_rules(app):
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & WRITE_METHODS):
            if rule.rule != DASH_DISPATCH:  # JSON-only and same-origin only: tested in test_dashboard_access
                yield rule, method


@pytest.fixture
def office(app, session):
    f.district(session)
    u = f.user(session, Role.SUPERVISOR, username="office")
    session.commit()
    return u


def test_every_write_route_without_a_token_is_refused(app, client, session, office):
    login(client, "office")
    rules = list(_write_rules(app))
    assert len(rules) > 60  # the enumeration found the app's forms and API writes
    audit_before = session.scalar(select(sa.func.count()).select_from(AuditEvent))
    wrong = {}
    for rule, method in rules:
        url = _fill(rule)
        if rule.rule.startswith("/api/"):
            resp = client.open(url, method=method, json={"title": "x"}, headers={"Accept": "application/json"})
        else:
            resp = client.open(url, method=method, data={"title": "x", "decision": "approve"})
        if resp.status_code != 400 or b"csrf" not in resp.data.lower() and "刷新页面".encode() not in resp.data:
            wrong[f"{method} {rule.rule}"] = resp.status_code
    assert wrong == {}
    session.expire_all()
    assert session.scalar(select(sa.func.count()).select_from(AuditEvent)) == audit_before


def test_a_wrong_token_is_refused_too(client, office):
    login(client, "office")
    resp = client.post("/office/sources", data={"csrf_token": "forged", "title": "伪造"})
    assert resp.status_code == 400


def test_a_session_keeps_one_signed_token_and_another_session_gets_its_own(app, client, office, monkeypatch):
    """tracker/http/security.py signs a session's token once per process: the pages of one session
    carry the same token, signed once, it is accepted, and another session's token is neither the
    same nor accepted in the first one's place."""
    from tracker.http import security

    signed = []
    monkeypatch.setattr(security, "generate_csrf", lambda: signed.append(1) or generate_csrf())
    login(client, "office")
    first = csrf_from(client.get("/office/sources").get_data(as_text=True))
    assert csrf_from(client.get("/office/sources").get_data(as_text=True)) == first
    assert len(signed) == 2  # the login page's session, then the logged-in one: not once per page
    other = app.test_client()
    login(other, "office")
    theirs = csrf_from(other.get("/office/sources").get_data(as_text=True))
    assert theirs != first
    assert client.post("/office/sources", data={"csrf_token": theirs, "title": "串用"}).status_code == 400
    resp = client.post("/office/sources", data={"csrf_token": first, "title": "本会话"})
    assert resp.status_code == 422 and "页面已过期" not in resp.get_data(
        as_text=True
    )  # past CSRF, to the form's checks


def test_session_id_changes_at_login(app, client, office):
    """Session fixation: whatever session a visitor had before logging in is not the logged-in one."""
    client.get("/login")
    before = client.get_cookie("session").value
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={"username": "office", "password": "Factory-pass-7", "csrf_token": csrf_from(page.get_data(as_text=True))},
    )
    assert resp.status_code == 302
    after = client.get_cookie("session").value
    assert after != before
    # A planted pre-login cookie is worth nothing afterwards: the old CSRF token no longer works.
    attacker = app.test_client()
    attacker.set_cookie("session", before)
    assert attacker.get("/office/tasks").status_code == 302  # still anonymous


def test_cookie_flags_in_production(db, tmp_path, session):
    f.user(session, Role.SUPERVISOR, username="prod")
    session.commit()
    app = create_app(
        Settings(
            env="production",
            database_url=str(db.url),
            instance_path=tmp_path / "i",
            secret_key="p" * 40,
            log_format="off",
        ),
        engine=db,
    )
    client = app.test_client()
    resp = login(client, "prod")
    cookie = resp.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_security_headers_on_every_kind_of_page(client, office):
    login(client, "office")
    for url in ("/login", "/office/tasks", "/api/v1/tasks", "/healthz", "/nothing-here"):
        resp = client.get(url)
        assert resp.headers["X-Frame-Options"] == "DENY", url
        assert resp.headers["X-Content-Type-Options"] == "nosniff", url
        assert resp.headers["Referrer-Policy"] == "same-origin", url
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp


def test_throttle_per_address_covers_many_usernames(client, session, office):
    """Spraying one password over many accounts from one address is slowed after 30 checked
    failures (a delay, not a lockout: tracker/services/accounts/throttle.py)."""
    for i in range(30):
        assert login(client, f"nobody{i}", "Spray-2026").status_code == 401
    refused = login(client, "nobody99", "Spray-2026")
    assert refused.status_code == 429 and "请稍后再试" in refused.get_data(as_text=True)
    assert session.get(LoginThrottle, ("address", "127.0.0.1")).failures == 30
    # the try refused by the address is given back to the account it named
    assert session.get(LoginThrottle, ("account", "nobody99")).failures == 0


# --- password policy ------------------------------------------------------------------


@pytest.mark.parametrize(
    "password, problem",
    [
        ("short1", "至少 8 位"),
        ("onlyletters", "字母和数字"),
        ("12345678", "字母和数字"),
        ("Demo@2026", "演示密码"),
        ("password1", "常见密码"),
        ("Password123", "常见密码"),
        ("duchashi2026", "督查室"),
        ("qingshan2026", "本区名称"),
        ("good-pass-1", None),
    ],
)
def test_policy_for_reset_and_change(session, password, problem):
    passwords.set_district_words(["青山区", "qingshan"])  # TRACKER_DISTRICT_WORDS
    try:
        dep = f.department(session)
        user = f.user(session, Role.CLERK, department_id=dep.id, password="first-pass-1")
        session.commit()
        if problem is None:
            organisation.reset_password(session, SYSTEM, user.id, password)
            assert organisation.authenticate(session, user.username, password).must_change_password
            return
        with pytest.raises(organisation.ValidationFailed, match=problem):
            organisation.reset_password(session, SYSTEM, user.id, password)
        with pytest.raises(organisation.ValidationFailed, match=problem):
            organisation.change_password(session, SYSTEM, user, "first-pass-1", password, password)
        if problem != "演示密码":  # seed-demo creates its users with the demo password
            with pytest.raises(organisation.ValidationFailed, match=problem):
                organisation.create_user(session, SYSTEM, "newbie", "新用户", password, Role.ADMIN)
    finally:
        passwords.set_district_words(())


def test_a_password_built_on_the_users_own_name_is_refused(session):
    dep = f.department(session)
    user = f.user(session, Role.CLERK, username="zhangwei", department_id=dep.id, password="first-pass-1")
    with pytest.raises(organisation.ValidationFailed, match="登录名、姓名"):
        organisation.change_password(session, SYSTEM, user, "first-pass-1", "Zhangwei@2026", "Zhangwei@2026")
    assert passwords.problem("Zhangwei@2026") is None  # the same password is fine for somebody else


def test_password1_is_refused_on_the_page_with_a_chinese_reason(client, session, office):
    login(client, "office")
    resp = post(
        client, "/password", {"old_password": "Factory-pass-7", "new_password": "password1", "confirm": "password1"}
    )
    assert resp.status_code == 422
    assert "新密码太容易被猜到（是常见密码或常见密码的变形）" in resp.get_data(as_text=True)


def test_the_demo_and_test_passwords_pass_the_policy():
    from tests.factories import PASSWORD
    from tracker.demo import DEMO_PASSWORD

    for username, name in (("duchashi", "督查室"), ("admin", "系统管理员"), ("fgw", "区发改委联络员")):
        assert passwords.problem(DEMO_PASSWORD, user_inputs=(username, name), allow_demo=True) is None
    assert passwords.problem(PASSWORD, user_inputs=("user1", "用户1")) is None


def _demo_app(db, tmp_path, demo: bool):
    return create_app(
        Settings(
            env="testing",
            database_url=str(db.url),
            instance_path=tmp_path / "i",
            secret_key="x",
            demo=demo,
            log_format="off",
        ),
        engine=db,
    )


def test_outside_demo_mode_the_demo_password_must_be_changed(db, tmp_path, session):
    f.user(session, Role.SUPERVISOR, username="duchashi", password="Demo@2026")
    session.commit()
    client = _demo_app(db, tmp_path, demo=False).test_client()
    assert login(client, "duchashi", "Demo@2026").headers["Location"] == "/password"
    assert client.get("/office/tasks").headers["Location"] == "/password"
    user = session.exec(select(User).where(User.username == "duchashi")).one()
    session.refresh(user)
    assert user.must_change_password
    assert (
        session.exec(select(AuditEvent).where(AuditEvent.action == "demo_password_flagged")).one().entity_id == user.id
    )
    again = post(
        client, "/password", {"old_password": "Demo@2026", "new_password": "Demo@2026", "confirm": "Demo@2026"}
    )
    assert again.status_code == 422
    ok = post(
        client, "/password", {"old_password": "Demo@2026", "new_password": "Real-pass-77", "confirm": "Real-pass-77"}
    )
    assert ok.status_code == 302 and client.get("/office/tasks").status_code == 200


def test_in_demo_mode_the_demo_password_is_fine(db, tmp_path, session):
    f.user(session, Role.SUPERVISOR, username="duchashi", password="Demo@2026")
    session.commit()
    client = _demo_app(db, tmp_path, demo=True).test_client()
    assert login(client, "duchashi", "Demo@2026").headers["Location"] == "/"
    assert client.get("/office/tasks").status_code == 200


def test_templates_carry_no_inline_script():
    """The CSP forbids inline scripts; a template with one would break in the browser, so none may exist."""
    import re
    from pathlib import Path

    inline_tag = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    templates = [p for root in ("tracker/templates", "dashboard/templates") for p in Path(root).rglob("*.html")]
    assert len(templates) > 30
    offenders = [
        str(p)
        for p in templates
        if inline_tag.search(p.read_text("utf-8"))
        or handler.search(p.read_text("utf-8"))
        or "javascript:" in p.read_text("utf-8")
    ]
    assert offenders == []
