"""Login throttling (tracker/services/accounts/throttle.py) through real HTTP: progressive delays
per account, per address and per trusted browser, each try claimed atomically in the database,
and never a correct password refused for a reason its owner did not cause.

GB/T 22239-2019 8.1.4.1 b): 限制非法登录次数 — without locking out the people behind one proxy.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select
from werkzeug.security import generate_password_hash

from tests import factories as f
from tests.webutil import csrf_from, login, post
from tracker import clock
from tracker.models import AuditEvent, LoginThrottle, Role, User
from tracker.services.accounts import throttle

OFFICE = "10.1.1.1"  # one office behind one proxy
ELSEWHERE = "203.0.113.7"


def _login(client, username: str, password: str, ip: str = OFFICE):
    """Log in from ``ip``; the client stays at that address (a session is bound to its address)."""
    client.environ_base["REMOTE_ADDR"] = ip
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def _failures_audited(session, username: str) -> int:
    session.expire_all()
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "login_failed")).all()
    return sum(1 for e in events if e.after["username"] == username)


@pytest.fixture
def people(session):
    dep = f.department(session, "区发改委")
    users = {
        "victim": f.user(session, Role.CLERK, username="victim", department_id=dep.id),
        "colleague": f.user(session, Role.CLERK, username="colleague", department_id=dep.id),
        "duchashi": f.user(session, Role.SUPERVISOR, username="duchashi"),
        "admin": f.user(session, Role.ADMIN, username="admin"),
    }
    session.commit()
    return users


def test_a_correct_password_is_accepted_while_another_account_is_hammered_from_the_same_address(app, people, session):
    attacker, colleague = app.test_client(), app.test_client()
    codes = [_login(attacker, "victim", f"guess-{i}-x").status_code for i in range(40)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    assert _failures_audited(session, "victim") == 5  # only the first five were checked
    # B, behind the same address, never logged in from this browser before: accepted
    assert _login(colleague, "colleague", f.PASSWORD).status_code == 302
    assert colleague.get("/dept/").status_code == 200
    # and B's wrong password is still only B's business
    assert _login(app.test_client(), "colleague", "typo-typo-1").status_code == 401


def test_fifteen_parallel_wrong_tries_stop_at_the_limit(app, session, db):
    """15 tries at once for one account: exactly ``FREE_TRIES`` passwords are checked, the rest
    are refused with 请稍后再试 before any check. The account's hash is a real (slow) scrypt, so
    the tries overlap while the first ones are being checked."""
    user = f.user(session, Role.SUPERVISOR, username="duchashi")
    session.get(User, user.id).password_hash = generate_password_hash("Real-slow-pass-1", method="scrypt")
    session.commit()
    clients = [app.test_client() for _ in range(15)]
    tokens = [csrf_from(c.get("/login").get_data(as_text=True)) for c in clients]
    start = threading.Barrier(15)
    codes: list[int] = [0] * 15

    def attempt(i: int) -> None:
        start.wait()
        resp = clients[i].post(
            "/login", data={"username": "duchashi", "password": f"wrong-{i}-x", "csrf_token": tokens[i]}
        )
        codes[i] = resp.status_code
        if resp.status_code == 429:
            assert "请稍后再试" in resp.get_data(as_text=True)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(15)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(codes) == [401] * throttle.FREE_TRIES["account"] + [429] * (15 - throttle.FREE_TRIES["account"])
    assert _failures_audited(session, "duchashi") == throttle.FREE_TRIES["account"]
    session.expire_all()
    assert session.get(LoginThrottle, ("account", "duchashi")).failures == throttle.FREE_TRIES["account"]
    assert session.get(LoginThrottle, ("address", "127.0.0.1")).failures == throttle.FREE_TRIES["account"]
    assert db.dialect.name in ("sqlite", "postgresql")  # run on both by the suite's two runs


def test_the_delay_grows_and_passes(app, people, session):
    client = app.test_client()
    for i in range(5):
        assert _login(client, "victim", f"nope-{i}-x").status_code == 401
    refused = _login(client, "victim", f.PASSWORD)
    assert refused.status_code == 429 and "约 30 秒后" in refused.get_data(as_text=True)
    with clock.later(timedelta(seconds=31)):
        assert _login(client, "victim", "nope-6-x").status_code == 401  # checked again
        assert "约 60 秒后" in _login(client, "victim", f.PASSWORD).get_data(as_text=True)
    with clock.later(timedelta(seconds=92)):
        assert _login(client, "victim", f.PASSWORD).status_code == 302
    session.expire_all()
    assert session.get(LoginThrottle, ("account", "victim")) is None  # a success forgets the count


def test_the_owners_own_browser_gets_in_while_the_account_is_hammered(app, people, session):
    """An attacker elsewhere hammering ``admin`` slows down new browsers, not the one the
    administrator has logged in from before (the trusted-browser cookie)."""
    own = app.test_client()
    assert _login(own, "admin", f.PASSWORD, ip=OFFICE).status_code == 302
    assert own.get_cookie("duban_device") is not None
    post(own, "/logout", token_from="/account/sessions")
    attacker = app.test_client()
    for i in range(12):
        _login(attacker, "admin", f"guess-{i}-x", ip=ELSEWHERE)
    assert _login(app.test_client(), "admin", f.PASSWORD, ip=OFFICE).status_code == 429  # a new browser waits
    assert _login(own, "admin", f.PASSWORD, ip=OFFICE).status_code == 302  # the owner's does not
    # a stolen trusted cookie is counted on its own: five guesses, then it waits too
    thief = app.test_client()
    thief.set_cookie("duban_device", own.get_cookie("duban_device").value)
    post(own, "/logout", token_from="/account/sessions")
    codes = [_login(thief, "admin", f"guess-{i}-y", ip=ELSEWHERE).status_code for i in range(7)]
    assert codes == [401] * 5 + [429] * 2
    # a forged cookie is no cookie
    forger = app.test_client()
    forger.set_cookie("duban_device", "eyJkIjoiYSIsInUiOlsiYWRtaW4iXX0.forged")
    assert _login(forger, "admin", f.PASSWORD, ip=OFFICE).status_code == 429


def test_spraying_from_one_address_slows_new_browsers_there_but_not_known_ones(app, people, session):
    known = app.test_client()
    assert _login(known, "colleague", f.PASSWORD).status_code == 302
    post(known, "/logout", token_from="/dept/")
    sprayer = app.test_client()
    for i in range(30):
        assert _login(sprayer, f"someone{i}", "Spray-2026").status_code == 401
    assert _login(sprayer, "victim", "Spray-2026").status_code == 429
    assert _login(known, "colleague", f.PASSWORD).status_code == 302  # no lockout of the office
    with clock.later(timedelta(seconds=31)):  # a delay, not a 15-minute ban
        assert _login(app.test_client(), "victim", f.PASSWORD).status_code == 302


def test_unknown_names_are_audited_without_an_actor(app, people, session):
    _login(app.test_client(), "nobody", "whatever-1")
    _login(app.test_client(), "victim", "whatever-1")
    session.expire_all()
    unknown, known = session.exec(select(AuditEvent).where(AuditEvent.action == "login_failed").order_by(AuditEvent.id))
    assert (unknown.actor_id, unknown.entity_id, unknown.after) == (None, None, {"username": "nobody", "ip": OFFICE})
    assert (known.actor_id, known.entity_id) == (people["victim"].id, people["victim"].id)
    assert known.after == {"username": "victim", "ip": OFFICE}


@pytest.mark.parametrize("role, allowed", [(Role.SUPERVISOR, True), (Role.ADMIN, True), (Role.CLERK, False)])
def test_the_office_sees_throttled_accounts_and_unlocks_them(app, people, session, role, allowed):
    staff = app.test_client()
    username = {Role.SUPERVISOR: "duchashi", Role.ADMIN: "admin", Role.CLERK: "colleague"}[role]
    assert login(staff, username).status_code == 302
    attacker = app.test_client()
    for i in range(6):
        _login(attacker, "victim", f"guess-{i}-x", ip=ELSEWHERE)
    page = staff.get("/admin/throttled")
    if not allowed:
        assert page.status_code == 403
        resp = post(staff, "/admin/throttled/unlock", {"kind": "account", "subject": "victim"}, token_from="/dept/")
        assert resp.status_code == 403
        return
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "victim" in html and "解除限制" in html
    assert _login(app.test_client(), "victim", f.PASSWORD).status_code == 429
    resp = post(
        staff, "/admin/throttled/unlock", {"kind": "account", "subject": "victim"}, token_from="/admin/throttled"
    )
    assert resp.status_code == 302
    assert "当前没有受限制的账号或地址" in staff.get("/admin/throttled").get_data(as_text=True)
    assert _login(app.test_client(), "victim", f.PASSWORD).status_code == 302
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "account_unlocked")).one()
    assert event.entity_id == people["victim"].id and event.actor_id == people[username].id
    assert event.after == {"account": "victim", "failures": 0} and event.before == {"account": None, "failures": 5}


def test_a_refused_claim_counts_nothing_and_a_quiet_hour_starts_again(session):
    for _ in range(throttle.FREE_TRIES["address"]):
        assert throttle.claim_one(session, "address", "10.9.9.9") is None
    refused = throttle.claim_one(session, "address", "10.9.9.9")
    assert refused is not None and refused.wait <= timedelta(seconds=30)
    assert session.get(LoginThrottle, ("address", "10.9.9.9"), populate_existing=True).failures == 30
    with clock.later(throttle.QUIET_RESET):
        assert throttle.claim_one(session, "address", "10.9.9.9") is None
        assert session.get(LoginThrottle, ("address", "10.9.9.9"), populate_existing=True).failures == 1
        throttle.prune(session)
    assert session.scalar(select(sa.func.count()).select_from(LoginThrottle)) == 1
