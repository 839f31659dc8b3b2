"""The admin pages: departments, leaders, users and tokens, holidays, presets.

Driven through the test client with a real login and CSRF tokens. Every change
is checked in the database and in the audit log; every rejected form must show
its Chinese message next to the field, answer 422 and leave the data as it was.
"""

from __future__ import annotations

import re
from datetime import date
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests import factories as f
from tests.webutil import login, post
from tracker.models import (
    ApiToken,
    AuditEvent,
    CalendarDay,
    CalendarYear,
    Department,
    DepartmentAlias,
    Holiday,
    Leader,
    LeaderDepartment,
    Role,
    Task,
    TimeLimitPreset,
    User,
)
from tracker.services import access
from tracker.services.actors import SYSTEM
from tracker.services.calendar import load_calendar, seed_holidays, seed_presets

PASSWORD = "Factory-pass-7"


# --- fixtures and helpers ------------------------------------------------------------


@pytest.fixture
def org(session):
    d = f.district(session)
    people = {
        "root": f.user(session, Role.ADMIN, username="root"),
        "office": f.user(session, Role.SUPERVISOR, username="office"),
        "clerk": f.user(session, Role.CLERK, username="clerk", department_id=d.lead_id),
        "boss": f.user(session, Role.LEADER, username="boss", leader_id=d.leader_id),
    }
    session.commit()
    return SimpleNamespace(d=d, **{k: u.id for k, u in people.items()})


@pytest.fixture
def restore_presets(engine):
    """Presets are reference data kept across tests: put the defaults back."""
    yield
    with Session(engine) as s:
        s.exec(sa.delete(TimeLimitPreset))
        s.commit()
        seed_presets(s)
        s.commit()


@pytest.fixture
def calendar_guard(engine):
    """For tests that must NOT change the calendar: restore it only if one did anyway
    (a full restore rebuilds ~17k calendar days, slow on PostgreSQL)."""

    def state():
        with Session(engine) as s:
            return (
                s.scalar(select(sa.func.count()).select_from(Holiday)),
                s.scalar(select(sa.func.count()).select_from(Holiday).where(Holiday.origin == "office")),
                s.scalar(select(sa.func.count()).select_from(CalendarYear)),
            )

    before = state()
    yield
    if state() != before:
        with Session(engine) as s:
            s.exec(sa.delete(Holiday))
            s.exec(sa.delete(CalendarYear))
            s.commit()
            seed_holidays(s)
            s.commit()
        pytest.fail("the calendar was changed by a test that must not change it")


def as_user(client, username: str):
    resp = login(client, username, PASSWORD)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return client


def fresh(session):
    """End the test session's transaction so it sees what the app committed."""
    session.rollback()
    return session


def events(session, action: str) -> list[AuditEvent]:
    return list(fresh(session).exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def audit_count(session) -> int:
    """Audit events of changes (logging in is audited too, and is not one)."""
    return fresh(session).scalar(
        select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action.not_in(("login", "logout")))
    )


def field_error(html: str, name: str) -> str:
    """The message shown right after the field ``name`` (its .invalid-feedback)."""
    m = re.search(
        r'name="%s"[^>]*>\s*(?:<label[^>]*>.*?</label>\s*)?(?:<button[^>]*>.*?</button>\s*)?'
        r'<div class="invalid-feedback">([^<]+)</div>' % re.escape(name),
        html,
        re.S,
    )
    if m is None:  # selects: the feedback follows </select>
        m = re.search(
            r'name="%s"[^>]*>.*?</select>\s*<div class="invalid-feedback">([^<]+)</div>' % re.escape(name), html, re.S
        )
    assert m, f"no error shown next to field {name}"
    return m.group(1)


def dept(session, name: str) -> Department | None:
    return fresh(session).exec(select(Department).where(Department.name == name)).first()


# --- access -------------------------------------------------------------------------


def _admin_urls(app, org, session) -> list[tuple[str, str]]:
    """Every /admin route with real ids filled in, and its methods."""
    alias = session.exec(select(DepartmentAlias)).first()
    token = ApiToken(user_id=org.clerk, name="bot", token_hash="x" * 64)
    session.add(token)
    session.commit()
    preset = session.exec(select(TimeLimitPreset)).first()
    values = {
        "dep_id": org.d.lead_id,
        "alias_id": alias.id,
        "leader_id": org.d.leader_id,
        "user_id": org.clerk,
        "token_id": token.id,
        "preset_id": preset.id,
        "day": "2026-10-10",
    }
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(r"<(?:\w+:)?%s>" % arg, str(values[arg]), url)
        for method in sorted(rule.methods & {"GET", "POST"}):
            out.append((method, url))
    return out


USER_PAGES = ("/admin/users",)


def test_clerks_and_leaders_get_403_everywhere_supervisors_not_on_users(app, client, org, session):
    urls = _admin_urls(app, org, session)
    assert len(urls) >= 25  # the section really is all there
    before = audit_count(session)
    for username in ("clerk", "boss", "office"):
        c = app.test_client()
        as_user(c, username)
        for method, url in urls:
            if username == "office" and not url.startswith(USER_PAGES):
                continue
            if method == "GET":
                resp = c.get(url)
            else:
                resp = post(c, url, {"name": "x", "active": "0", "password": "new-pass-123"}, token_from="/password")
            assert resp.status_code == 403, (username, method, url, resp.status_code)
            assert "无权" in resp.get_data(as_text=True)
    assert audit_count(session) == before
    assert fresh(session).get(User, org.clerk).active
    assert not fresh(session).get(ApiToken, session.exec(select(ApiToken.id)).first()).revoked


def test_every_page_renders_for_admin_and_office(app, org, session):
    gets = [url for method, url in _admin_urls(app, org, session) if method == "GET"]
    assert {
        "/admin/",
        "/admin/departments/new",
        "/admin/leaders/new",
        "/admin/users/new",
        "/admin/presets/new",
        "/admin/holidays",
    } <= set(gets)
    for username in ("root", "office"):
        c = as_user(app.test_client(), username)
        for url in gets:
            if username == "office" and url.startswith(USER_PAGES):
                continue
            resp = c.get(url)
            assert resp.status_code == 200, (username, url)
            html = resp.get_data(as_text=True)
            assert "系统管理" in html and 'class="nav nav-tabs' in html, url


def test_anonymous_is_sent_to_login(client, org):
    resp = client.get("/admin/departments")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_supervisor_sees_office_sections_but_no_user_management(client, org):
    as_user(client, "office")
    html = client.get("/admin/").get_data(as_text=True)
    assert "节假日" in html and "办理时限" in html and "单位" in html
    assert "/admin/users" not in html
    for url in ("/admin/departments", "/admin/leaders", "/admin/holidays", "/admin/presets"):
        assert client.get(url).status_code == 200, url
    # the navigation bar offers the section
    assert 'href="/admin/"' in client.get("/admin/departments").get_data(as_text=True)


def test_admin_sees_user_management(client, org):
    as_user(client, "root")
    assert "/admin/users" in client.get("/admin/").get_data(as_text=True)
    html = client.get("/admin/users").get_data(as_text=True)
    assert "root" in html and "clerk" in html and "系统管理员" in html


# --- departments ------------------------------------------------------------------


def test_department_list_shows_kind_aliases_leader_and_state(client, org, session):
    f.department(session, "区河湖中心", kind="institution").active = False
    session.commit()
    as_user(client, "office")
    html = client.get("/admin/departments").get_data(as_text=True)
    assert "区发展和改革委员会" in html and "区发改委" in html  # alias
    assert "吴海涛" in html  # leader in charge
    assert "组成部门" in html and "事业单位" in html and "已停用" in html
    filtered = client.get("/admin/departments?kind=institution").get_data(as_text=True)
    assert "区河湖中心" in filtered and "区财政局" not in filtered


def test_create_department_with_aliases(client, org, session):
    as_user(client, "office")
    resp = post(
        client,
        "/admin/departments/new",
        {
            "name": "区 住房和城乡建设局",
            "kind": "component",
            "short_name": "区住建局",
            "aliases": "住建局、区建设局",
            "sort_order": "5",
        },
    )
    assert resp.status_code == 302
    dep = dept(session, "区住房和城乡建设局")
    assert dep and dep.short_name == "区住建局" and dep.sort_order == 5
    aliases = set(session.exec(select(DepartmentAlias.alias).where(DepartmentAlias.department_id == dep.id)))
    assert aliases == {"住建局", "区建设局"}
    [event] = events(session, "department_create")[-1:]
    assert event.entity_id == dep.id and event.actor_name.startswith("用户")
    assert "已新增单位" in client.get("/admin/departments").get_data(as_text=True)


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"name": "", "kind": "component"}, "name", "不能为空"),
        ({"name": "区财政局", "kind": "component"}, "name", "已有单位使用该名称"),
        ({"name": "区发改委", "kind": "component"}, "name", "已是“区发展和改革委员会”的简称"),
        ({"name": "区新单位", "kind": "bogus"}, "kind", "请选择单位类型"),
        ({"name": "区新单位", "kind": "component", "sort_order": "abc"}, "sort_order", "须为整数"),
        ({"name": "区新单位", "kind": "component", "aliases": "区发改委"}, "aliases", "已被“区发展和改革委员会”使用"),
    ],
)
def test_create_department_errors_change_nothing(client, org, session, data, field, message):
    as_user(client, "office")
    n_deps = len(fresh(session).exec(select(Department)).all())
    before = audit_count(session)
    resp = post(client, "/admin/departments/new", data)
    assert resp.status_code == 422
    assert message in field_error(resp.get_data(as_text=True), field)
    assert len(fresh(session).exec(select(Department)).all()) == n_deps
    assert dept(session, "区新单位") is None
    assert audit_count(session) == before


def test_edit_department_keeps_old_name_as_alias(client, org, session):
    as_user(client, "office")
    url = f"/admin/departments/{org.d.assist_id}"
    page = client.get(url).get_data(as_text=True)
    assert 'value="区财政局"' in page and "启用状态" in page
    resp = post(
        client,
        url,
        {
            "name": "区财政局（区国资办）",
            "kind": "component",
            "short_name": "财政局",
            "sort_order": "2",
            "keep_old_name": "1",
        },
    )
    assert resp.status_code == 302
    dep = fresh(session).get(Department, org.d.assist_id)
    assert dep.name == "区财政局(区国资办)"  # NFKC: full-width brackets become half-width
    assert dep.short_name == "财政局" and dep.sort_order == 2
    assert (
        session.exec(select(DepartmentAlias).where(DepartmentAlias.alias == "区财政局")).one().department_id == dep.id
    )
    [event] = events(session, "department_update")
    assert event.before["name"] == "区财政局" and event.after["name"] == "区财政局(区国资办)"


def test_edit_department_name_clash_shows_error(client, org, session):
    as_user(client, "office")
    before = audit_count(session)
    resp = post(client, f"/admin/departments/{org.d.assist_id}", {"name": "区教育局", "kind": "component"})
    assert resp.status_code == 422
    assert "已有单位使用该名称" in field_error(resp.get_data(as_text=True), "name")
    assert fresh(session).get(Department, org.d.assist_id).name == "区财政局"
    assert audit_count(session) == before


def test_add_and_remove_alias(client, org, session):
    as_user(client, "office")
    url = f"/admin/departments/{org.d.assist_id}/aliases"
    resp = post(client, url, {"alias": "财政局"}, token_from=f"/admin/departments/{org.d.assist_id}")
    assert resp.status_code == 302
    row = fresh(session).exec(select(DepartmentAlias).where(DepartmentAlias.alias == "财政局")).one()
    assert row.department_id == org.d.assist_id
    alias_id = row.id
    assert events(session, "department_alias_add")[-1].after == {"alias": "财政局"}
    assert "财政局" in client.get(f"/admin/departments/{org.d.assist_id}").get_data(as_text=True)

    resp = post(client, f"{url}/{alias_id}/remove", token_from=f"/admin/departments/{org.d.assist_id}")
    assert resp.status_code == 302
    assert fresh(session).get(DepartmentAlias, alias_id) is None
    assert events(session, "department_alias_remove")[-1].before == {"alias": "财政局"}
    # an alias of another department cannot be removed through this one
    other = session.exec(select(DepartmentAlias.id).where(DepartmentAlias.alias == "区发改委")).one()
    resp = post(client, f"{url}/{other}/remove", token_from=f"/admin/departments/{org.d.assist_id}")
    assert resp.status_code == 404 and fresh(session).get(DepartmentAlias, other) is not None


@pytest.mark.parametrize(
    "alias, message",
    [
        ("区发改委", "简称“区发改委”已被“区发展和改革委员会”使用"),
        ("区教育局", "与另一单位的全称相同"),
        ("区财政局", "与本单位全称相同"),
        ("", "简称不能为空"),
    ],
)
def test_alias_clash_is_a_clear_error(client, org, session, alias, message):
    as_user(client, "office")
    before = audit_count(session)
    resp = post(
        client,
        f"/admin/departments/{org.d.assist_id}/aliases",
        {"alias": alias},
        token_from=f"/admin/departments/{org.d.assist_id}",
    )
    assert resp.status_code == 422
    assert message in field_error(resp.get_data(as_text=True), "alias")
    assert (
        not fresh(session).exec(select(DepartmentAlias).where(DepartmentAlias.department_id == org.d.assist_id)).all()
    )
    assert audit_count(session) == before


def test_deactivate_department_with_open_tasks_needs_the_warning(client, org, session):
    task = f.task_in(session, org.d, "in_progress")
    session.commit()
    as_user(client, "office")
    url = f"/admin/departments/{org.d.assist_id}"
    page = client.get(url).get_data(as_text=True)
    assert "尚有 <strong>1</strong> 项未办结事项" in page  # the assisting department's task

    resp = post(client, f"{url}/active", {"active": "0"}, token_from=url)
    assert resp.status_code == 422
    assert "请确认后再停用" in field_error(resp.get_data(as_text=True), "confirm")
    assert fresh(session).get(Department, org.d.assist_id).active

    resp = post(client, f"{url}/active", {"active": "0", "confirm": "1"}, token_from=url)
    assert resp.status_code == 302
    assert not fresh(session).get(Department, org.d.assist_id).active
    event = events(session, "department_deactivate")[-1]
    assert event.entity_id == org.d.assist_id and "1 项" in event.note
    # the task keeps its departments
    assert session.get(Task, task.id).lead_department_id == org.d.lead_id
    assert "仍由该单位继续办理" in client.get(url).get_data(as_text=True)

    resp = post(client, f"{url}/active", {"active": "1"}, token_from=url)
    assert resp.status_code == 302 and fresh(session).get(Department, org.d.assist_id).active
    assert events(session, "department_activate")


def test_deactivate_department_without_open_tasks_needs_no_confirmation(client, org, session):
    as_user(client, "office")
    url = f"/admin/departments/{org.d.other_id}"
    resp = post(client, f"{url}/active", {"active": "0"}, token_from=url)
    assert resp.status_code == 302
    assert not fresh(session).get(Department, org.d.other_id).active
    assert "已停用" in client.get("/admin/departments").get_data(as_text=True)


def test_unknown_department_is_404(client, org):
    as_user(client, "office")
    assert client.get("/admin/departments/9999").status_code == 404


# --- leaders ------------------------------------------------------------------------


def test_leader_list_and_create_with_portfolio(client, org, session):
    as_user(client, "office")
    html = client.get("/admin/leaders").get_data(as_text=True)
    assert "吴海涛" in html and "副区长" in html and "区发展和改革委员会" in html
    form_page = client.get("/admin/leaders/new").get_data(as_text=True)
    assert "现由吴海涛分管" in form_page
    resp = post(
        client,
        "/admin/leaders/new",
        {
            "name": "张伟",
            "title": "常务副区长",
            "sort_order": "1",
            "department_ids": [str(org.d.assist_id), str(org.d.other_id)],
        },
    )
    assert resp.status_code == 302
    leader = fresh(session).exec(select(Leader).where(Leader.name == "张伟")).one()
    assert leader.title == "常务副区长"
    ids = set(session.exec(select(LeaderDepartment.department_id).where(LeaderDepartment.leader_id == leader.id)))
    assert ids == {org.d.assist_id, org.d.other_id}
    assert events(session, "leader_create")[-1].entity_id == leader.id


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"name": "", "title": "副区长"}, "name", "领导姓名不能为空"),
        ({"name": "张伟", "title": "副" * 61}, "title", "不能超过 60 个字"),
        ({"name": "张伟", "sort_order": "一"}, "sort_order", "须为整数"),
    ],
)
def test_create_leader_errors(client, org, session, data, field, message):
    as_user(client, "office")
    before = audit_count(session)
    resp = post(client, "/admin/leaders/new", data)
    assert resp.status_code == 422
    assert message in field_error(resp.get_data(as_text=True), field)
    assert fresh(session).exec(select(Leader).where(Leader.name == "张伟")).first() is None
    assert audit_count(session) == before


def test_edit_leader_title_portfolio_and_deactivate(client, org, session):
    as_user(client, "office")
    url = f"/admin/leaders/{org.d.leader_id}"
    assert 'value="吴海涛"' in client.get(url).get_data(as_text=True)
    resp = post(client, url, {"name": "吴海涛", "title": "常务副区长", "sort_order": "0"})
    assert resp.status_code == 302
    assert fresh(session).get(Leader, org.d.leader_id).title == "常务副区长"
    assert events(session, "leader_update")[-1].after == {"title": "常务副区长"}

    resp = post(
        client, f"{url}/portfolio", {"department_ids": [str(org.d.assist_id), str(org.d.lead_id)]}, token_from=url
    )
    assert resp.status_code == 302
    ids = set(
        fresh(session).exec(select(LeaderDepartment.department_id).where(LeaderDepartment.leader_id == org.d.leader_id))
    )
    assert ids == {org.d.lead_id, org.d.assist_id}
    event = events(session, "leader_portfolio")[-1]
    assert event.before == {"department_ids": [org.d.lead_id]}
    assert event.after == {"department_ids": sorted([org.d.lead_id, org.d.assist_id])}

    resp = post(client, f"{url}/portfolio", {}, token_from=url)  # nothing ticked: no portfolio
    assert resp.status_code == 302
    assert not fresh(session).exec(select(LeaderDepartment).where(LeaderDepartment.leader_id == org.d.leader_id)).all()

    resp = post(client, f"{url}/active", {"active": "0"}, token_from=url)
    assert resp.status_code == 302
    assert not fresh(session).get(Leader, org.d.leader_id).active
    assert events(session, "leader_deactivate")
    assert "已停用" in client.get("/admin/leaders").get_data(as_text=True)
    resp = post(client, f"{url}/active", {"active": "1"}, token_from=url)
    assert resp.status_code == 302 and fresh(session).get(Leader, org.d.leader_id).active
    assert events(session, "leader_activate")


def test_leader_edit_errors_change_nothing(client, org, session):
    as_user(client, "office")
    url = f"/admin/leaders/{org.d.leader_id}"
    before = audit_count(session)
    resp = post(client, url, {"name": "", "title": "区长"})
    assert resp.status_code == 422 and "领导姓名不能为空" in field_error(resp.get_data(as_text=True), "name")
    resp = post(client, f"{url}/portfolio", {"department_ids": ["9999"]}, token_from=url)
    assert resp.status_code == 422 and "所选单位不存在" in resp.get_data(as_text=True)
    leader = fresh(session).get(Leader, org.d.leader_id)
    assert leader.title == "副区长"
    assert set(session.exec(select(LeaderDepartment.department_id).where(LeaderDepartment.leader_id == leader.id))) == {
        org.d.lead_id
    }
    assert audit_count(session) == before


# --- users, roles, tokens ---------------------------------------------------------


def test_user_form_defaults_to_forced_password_change(client, org):
    as_user(client, "root")
    html = client.get("/admin/users/new").get_data(as_text=True)
    assert re.search(r'name="must_change_password" value="1" checked', html)


def test_create_clerk_and_first_login_forces_password_change(app, client, org, session):
    as_user(client, "root")
    resp = post(
        client,
        "/admin/users/new",
        {
            "username": "fgw01",
            "display_name": "王芳",
            "role": "clerk",
            "department_id": str(org.d.lead_id),
            "password": "init-pass-1",
            "must_change_password": "1",
        },
    )
    assert resp.status_code == 302
    user = fresh(session).exec(select(User).where(User.username == "fgw01")).one()
    assert user.role == "clerk" and user.department_id == org.d.lead_id and user.must_change_password
    assert events(session, "user_create")[-1].entity_id == user.id
    other = app.test_client()
    login(other, "fgw01", "init-pass-1")
    assert "/password" in other.get("/").headers["Location"]


def test_create_user_without_forced_change(client, org, session):
    as_user(client, "root")
    resp = post(
        client,
        "/admin/users/new",
        {
            "username": "dcs02",
            "display_name": "",
            "role": "supervisor",
            "password": "init-pass-1",
            "department_id": str(org.d.lead_id),
        },
    )
    assert resp.status_code == 302
    user = fresh(session).exec(select(User).where(User.username == "dcs02")).one()
    assert not user.must_change_password and user.department_id is None and user.display_name == "dcs02"


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"username": "x1", "role": "clerk", "password": "init-pass-1"}, "department_id", "承办单位用户须绑定单位"),
        ({"username": "x1", "role": "leader", "password": "init-pass-1"}, "leader_id", "领导用户须绑定领导"),
        ({"username": "x1", "role": "admin", "password": "short"}, "password", "密码至少 8 位"),
        ({"username": "", "role": "admin", "password": "init-pass-1"}, "username", "登录名不能为空"),
        ({"username": "clerk", "role": "admin", "password": "init-pass-1"}, "username", "该登录名已被使用"),
        ({"username": "x1", "role": "boss", "password": "init-pass-1"}, "role", "角色无效"),
    ],
)
def test_create_user_errors(client, org, session, data, field, message):
    as_user(client, "root")
    n_users = len(fresh(session).exec(select(User)).all())
    before = audit_count(session)
    resp = post(client, "/admin/users/new", {"display_name": "某人", **data})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert message in field_error(html, field)
    assert "init-pass-1" not in html  # a password is never echoed back
    assert len(fresh(session).exec(select(User)).all()) == n_users
    assert audit_count(session) == before


def test_a_users_api_tokens_show_china_time(client, org, session):
    from datetime import datetime, timezone

    user = session.get(User, org.clerk)
    access.issue_token(session, SYSTEM, user, "报表同步")
    token = session.exec(select(ApiToken).where(ApiToken.user_id == org.clerk)).one()
    token.created_at = datetime(2026, 11, 19, 23, 30, tzinfo=timezone.utc)  # 2026-11-20 07:30 in China
    token.last_used_at = datetime(2026, 11, 22, 16, 5, tzinfo=timezone.utc)
    session.commit()
    as_user(client, "root")
    page = client.get(f"/admin/users/{org.clerk}").get_data(as_text=True)
    assert "2026-11-20 07:30" in page and "2026-11-23 00:05" in page


def test_edit_user_role_and_binding(client, org, session):
    as_user(client, "root")
    url = f"/admin/users/{org.clerk}"
    page = client.get(url).get_data(as_text=True)
    assert "API 令牌" in page and "重置密码" in page
    bad = post(client, url, {"display_name": "联络员", "role": "leader", "department_id": str(org.d.lead_id)})
    assert bad.status_code == 422 and "领导用户须绑定领导" in field_error(bad.get_data(as_text=True), "leader_id")
    assert fresh(session).get(User, org.clerk).role == "clerk"
    ok = post(
        client,
        url,
        {
            "display_name": "联络员",
            "role": "leader",
            "leader_id": str(org.d.leader_id),
            "department_id": str(org.d.lead_id),
        },
    )
    assert ok.status_code == 302
    user = fresh(session).get(User, org.clerk)
    assert (user.role, user.leader_id, user.department_id) == ("leader", org.d.leader_id, None)
    event = events(session, "role_changed")[-1]  # a change of role or binding has its own action
    assert event.before["role"] == "clerk" and event.after["role"] == "leader"


def test_admin_cannot_change_own_role_or_deactivate_self(client, org, session):
    as_user(client, "root")
    url = f"/admin/users/{org.root}"
    resp = post(client, url, {"display_name": "管理员", "role": "clerk", "department_id": str(org.d.lead_id)})
    assert resp.status_code == 422 and "不能修改自己的角色" in field_error(resp.get_data(as_text=True), "role")
    resp = post(client, f"{url}/active", {"active": "0"}, token_from=url)
    assert resp.status_code == 422 and "不能停用自己的账号" in resp.get_data(as_text=True)
    user = fresh(session).get(User, org.root)
    assert user.active and user.role == "admin"


def test_deactivate_and_reactivate_user(app, client, org, session):
    as_user(client, "root")
    url = f"/admin/users/{org.clerk}"
    victim = as_user(app.test_client(), "clerk")
    resp = post(client, f"{url}/active", {"active": "0"}, token_from=url)
    assert resp.status_code == 302
    assert not fresh(session).get(User, org.clerk).active
    assert events(session, "user_deactivate")[-1].entity_id == org.clerk
    assert victim.get("/").status_code == 302  # the open session ends
    assert login(app.test_client(), "clerk", PASSWORD).status_code == 401
    resp = post(client, f"{url}/active", {"active": "1"}, token_from=url)
    assert resp.status_code == 302 and fresh(session).get(User, org.clerk).active
    assert events(session, "user_activate")[-1].entity_id == org.clerk
    assert login(app.test_client(), "clerk", PASSWORD).status_code == 302


def test_reset_password(app, client, org, session):
    as_user(client, "root")
    url = f"/admin/users/{org.clerk}"
    bad = post(client, f"{url}/password", {"password": "short"}, token_from=url)
    assert bad.status_code == 422 and "密码至少 8 位" in field_error(bad.get_data(as_text=True), "password")
    assert not fresh(session).get(User, org.clerk).must_change_password
    resp = post(client, f"{url}/password", {"password": "reset-pass-9"}, token_from=url)
    assert resp.status_code == 302
    assert fresh(session).get(User, org.clerk).must_change_password
    assert events(session, "password_reset")[-1].entity_id == org.clerk
    assert login(app.test_client(), "clerk", PASSWORD).status_code == 401
    other = app.test_client()
    assert login(other, "clerk", "reset-pass-9").status_code == 302
    assert "/password" in other.get("/").headers["Location"]


def test_tokens_list_issue_and_revoke(client, org, session):
    user = session.get(User, org.clerk)
    access.issue_token(session, SYSTEM, user, "OA 对接")
    session.commit()
    row = session.exec(select(ApiToken).where(ApiToken.user_id == org.clerk)).one()
    as_user(client, "root")
    url = f"/admin/users/{org.clerk}"
    page = client.get(url).get_data(as_text=True)
    assert "OA 对接" in page and "从未使用" in page and "有效" in page

    resp = post(client, f"{url}/tokens/{row.id}/revoke", token_from=url)
    assert resp.status_code == 302
    assert fresh(session).get(ApiToken, row.id).revoked
    assert events(session, "api_token_revoke")[-1].entity_id == row.id
    assert "已吊销" in client.get(url).get_data(as_text=True)

    # a token is revoked only through its own user's page
    mine = ApiToken(user_id=org.root, name="mine", token_hash="y" * 64)
    session.add(mine)
    session.commit()
    resp = post(client, f"{url}/tokens/{mine.id}/revoke", token_from=url)
    assert resp.status_code == 404 and not fresh(session).get(ApiToken, mine.id).revoked

    resp = post(client, f"{url}/tokens", {"name": "钉钉机器人"}, token_from=url)
    assert resp.status_code == 200
    shown = re.search(r"<code[^>]*>(dbt_[\w-]+)</code>", resp.get_data(as_text=True)).group(1)
    assert access.user_for_token(fresh(session), shown).id == org.clerk
    assert events(session, "api_token_issue")
    assert shown not in client.get(url).get_data(as_text=True)  # shown once only


def test_user_list_filters(client, org):
    as_user(client, "root")
    html = client.get("/admin/users?role=leader").get_data(as_text=True)
    assert "boss" in html and ">clerk<" not in html
    assert "clerk" in client.get("/admin/users?q=cler").get_data(as_text=True)


# --- holidays ---------------------------------------------------------------------


def test_holiday_page_shows_year_origin_and_warning_for_2027(client, org, session):
    as_user(client, "office")
    html = client.get("/admin/holidays?year=2026").get_data(as_text=True)
    assert "2026-10-10" in html and "调休上班" in html and "内置数据" in html
    assert "2026-10-01" in html and "国庆节" in html
    assert "2027年节假日安排尚未录入，期限按周一至周五临时计算" in html  # next year, from any page
    y2027 = client.get("/admin/holidays?year=2027").get_data(as_text=True)
    assert "2027年节假日安排尚未录入，期限按周一至周五临时计算" in y2027
    assert "标记为已录入" in y2027
    assert "2027年节假日安排尚未录入" in client.get("/admin/").get_data(as_text=True)
    assert client.get("/admin/holidays?year=abc").status_code == 404


def test_add_and_remove_one_holiday(client, org, session, restore_calendar):
    as_user(client, "office")
    resp = post(
        client,
        "/admin/holidays/day",
        {"day": "2027-01-01", "kind": "holiday", "name": "元旦"},
        token_from="/admin/holidays",
    )
    assert resp.status_code == 302 and "year=2027" in resp.headers["Location"]
    row = fresh(session).get(Holiday, date(2027, 1, 1))
    assert (row.is_workday, row.name, row.origin) == (False, "元旦", "office")
    assert not session.get(CalendarDay, date(2027, 1, 1)).is_workday
    assert events(session, "holiday_set")[-1].note == "2027-01-01"
    assert "督查室录入" in client.get("/admin/holidays?year=2027").get_data(as_text=True)

    resp = post(client, "/admin/holidays/day/2027-01-01/remove", token_from="/admin/holidays")
    assert resp.status_code == 302
    assert fresh(session).get(Holiday, date(2027, 1, 1)) is None
    assert session.get(CalendarDay, date(2027, 1, 1)).is_workday
    assert len(events(session, "holiday_set")) == 2


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"day": "2027-01-02", "kind": "holiday"}, "day", "本来就是休息日"),
        ({"day": "2027-01-04", "kind": "workday"}, "day", "本来就是工作日"),
        ({"day": "2027-02-30", "kind": "holiday"}, "day", "日期无效"),
        ({"day": "2027-01-01", "kind": "maybe"}, "kind", "请选择放假或调休上班"),
        ({"day": "2027-01-01", "kind": "holiday", "name": "元" * 41}, "name", "不能超过 40 个字"),
    ],
)
def test_holiday_errors_change_nothing(client, org, session, data, field, message, calendar_guard):
    as_user(client, "office")
    before = audit_count(session)
    resp = post(client, "/admin/holidays/day", {**data, "year": "2027"}, token_from="/admin/holidays")
    assert resp.status_code == 422
    assert message in field_error(resp.get_data(as_text=True), field)
    assert not fresh(session).exec(select(Holiday).where(Holiday.day >= date(2027, 1, 1))).all()
    assert audit_count(session) == before


def test_bulk_entry_of_a_year_and_confirm(client, org, session, restore_calendar):
    as_user(client, "office")
    lines = "\n".join(
        [
            "# 2027年部分节日安排",
            "2027-01-01 休 元旦",
            "2027-02-07 班 春节调休",
            "2027-02-10至2027-02-16 休 春节",  # a range: only its weekdays are recorded
            "2027/2/20 班 春节调休",
            "",
        ]
    )
    # marking the year before anything is entered is refused
    resp = post(client, "/admin/holidays/confirm", {"year": "2027"}, token_from="/admin/holidays")
    assert resp.status_code == 422 and "尚未录入任何节假日" in resp.get_data(as_text=True)
    assert fresh(session).get(CalendarYear, 2027) is None

    resp = post(client, "/admin/holidays/bulk", {"lines": lines, "year": "2027"}, token_from="/admin/holidays")
    assert resp.status_code == 302
    rows = {h.day: h for h in fresh(session).exec(select(Holiday).where(Holiday.day >= date(2027, 1, 1)))}
    expected_off = {
        date(2027, 1, 1),
        date(2027, 2, 10),
        date(2027, 2, 11),
        date(2027, 2, 12),
        date(2027, 2, 15),
        date(2027, 2, 16),
    }
    assert {d for d, h in rows.items() if not h.is_workday} == expected_off
    assert {d for d, h in rows.items() if h.is_workday} == {date(2027, 2, 7), date(2027, 2, 20)}
    assert all(h.origin == "office" for h in rows.values()) and rows[date(2027, 2, 11)].name == "春节"
    event = events(session, "holiday_bulk_set")[-1]
    assert len(event.after) == 8 and "8 天" in event.note
    cal = load_calendar(session)
    assert cal.is_workday(date(2027, 2, 7)) and not cal.is_workday(date(2027, 2, 15))
    assert cal.is_provisional(date(2027, 3, 1))

    resp = post(client, "/admin/holidays/confirm", {"year": "2027"}, token_from="/admin/holidays")
    assert resp.status_code == 302
    assert fresh(session).get(CalendarYear, 2027).origin == "office"
    assert events(session, "calendar_year_confirmed")[-1].entity_id == 2027
    assert not load_calendar(session).is_provisional(date(2027, 3, 1))
    html = client.get("/admin/holidays?year=2027").get_data(as_text=True)
    assert "2027年节假日安排尚未录入" not in html and "已录入" in html


def test_bulk_entry_is_all_or_nothing_with_line_errors(client, org, session, calendar_guard):
    as_user(client, "office")
    lines = "\n".join(
        [
            "2027-01-01 休 元旦",
            "2027-01-02 休 元旦",  # a Saturday
            "2027-13-01 休 无效",
            "2027-02-07 放风筝",
            "2027-01-01 休 重复",
        ]
    )
    before = audit_count(session)
    resp = post(client, "/admin/holidays/bulk", {"lines": lines, "year": "2027"}, token_from="/admin/holidays")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "有 4 行有误，未录入任何一行" in html
    assert "第 2 行" in html and "本来就是休息日" in html
    assert "第 3 行" in html and "日期“2027-13-01”无效" in html
    assert "第 4 行" in html and "无法识别“放风筝”" in html
    assert "第 5 行" in html and "与第 1 行重复" in html
    assert "第 1 行" not in html.replace("与第 1 行", "")
    assert "2027-02-07 放风筝" in html  # the pasted text is kept for correction
    assert not fresh(session).exec(select(Holiday).where(Holiday.day >= date(2027, 1, 1))).all()
    assert audit_count(session) == before
    empty = post(client, "/admin/holidays/bulk", {"lines": "  \n"}, token_from="/admin/holidays")
    assert empty.status_code == 422 and "请至少填写一行" in empty.get_data(as_text=True)


def test_bulk_entry_can_confirm_the_year_at_once(client, org, session, restore_calendar):
    as_user(client, "root")  # administrators keep the calendar too
    resp = post(
        client,
        "/admin/holidays/bulk",
        {"lines": "2027-10-01~10-07 休 国庆节\n2027-09-26 班 国庆节调休", "confirm_years": "1"},
        token_from="/admin/holidays",
    )
    assert resp.status_code == 302
    assert fresh(session).get(CalendarYear, 2027) is not None
    assert len(fresh(session).exec(select(Holiday).where(Holiday.day >= date(2027, 1, 1))).all()) == 6


# --- presets ------------------------------------------------------------------------


def test_preset_list_shows_basis(client, org):
    as_user(client, "office")
    html = client.get("/admin/presets").get_data(as_text=True)
    assert "请示报告·特急件（1天）" in html and "004 §57" in html and "个工作日" in html and "小时" in html


def test_edit_preset(client, org, session, restore_presets):
    preset = session.exec(select(TimeLimitPreset).where(TimeLimitPreset.code == "doc_normal")).one()
    as_user(client, "office")
    url = f"/admin/presets/{preset.id}"
    assert "doc_normal" in client.get(url).get_data(as_text=True)
    resp = post(
        client,
        url,
        {
            "name": "请示报告·一般件（6天）",
            "amount": "6",
            "unit": "days",
            "urgency": "normal",
            "basis": "004 §57",
            "sort_order": "3",
        },
    )
    assert resp.status_code == 302
    row = fresh(session).get(TimeLimitPreset, preset.id)
    assert (row.name, row.amount, row.unit, row.active) == ("请示报告·一般件（6天）", 6, "days", False)
    event = events(session, "preset_update")[-1]
    assert event.before["amount"] == 5 and event.after["amount"] == 6 and event.after["active"] is False


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"name": "", "amount": "5", "unit": "workdays"}, "name", "名称不能为空"),
        ({"name": "X", "amount": "abc", "unit": "workdays"}, "amount", "时限须为正整数"),
        ({"name": "X", "amount": "0", "unit": "workdays"}, "amount", "时限须在 1–999 之间"),
        ({"name": "X", "amount": "5", "unit": "weeks"}, "unit", "请选择单位"),
    ],
)
def test_preset_errors_change_nothing(client, org, session, data, field, message, restore_presets):
    preset = session.exec(select(TimeLimitPreset).where(TimeLimitPreset.code == "doc_normal")).one()
    as_user(client, "office")
    before = audit_count(session)
    resp = post(client, f"/admin/presets/{preset.id}", {**data, "active": "1"})
    assert resp.status_code == 422
    assert message in field_error(resp.get_data(as_text=True), field)
    row = fresh(session).get(TimeLimitPreset, preset.id)
    assert (row.name, row.amount, row.unit) == (preset.name, 5, "workdays")
    assert audit_count(session) == before


def test_add_preset(client, org, session, restore_presets):
    as_user(client, "office")
    resp = post(
        client,
        "/admin/presets/new",
        {
            "name": "工作提示函书面回复（5个工作日）",
            "amount": "5",
            "unit": "workdays",
            "basis": "004 §30",
            "active": "1",
        },
    )
    assert resp.status_code == 302
    row = fresh(session).exec(select(TimeLimitPreset).where(TimeLimitPreset.basis == "004 §30")).one()
    assert row.code.startswith("custom_") and row.active and row.amount == 5
    assert events(session, "preset_create")[-1].entity_id == row.id
    dup = post(client, "/admin/presets/new", {"code": "doc_normal", "name": "重复", "amount": "5", "unit": "days"})
    assert dup.status_code == 422 and "该代码已被使用" in field_error(dup.get_data(as_text=True), "code")
    assert not fresh(session).exec(select(TimeLimitPreset).where(TimeLimitPreset.name == "重复")).all()
