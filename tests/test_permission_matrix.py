"""Every route of the app against every kind of user: who may, who may not.

The table EXPECTED below is the written-down access policy, one line per
endpoint. The test enumerates ``app.url_map``, so a new route without a line
here fails ``test_every_route_has_an_entry``: nobody adds a page or an API
endpoint without deciding who may use it.

Outcome classes:
  "login"   anonymous: a redirect to /login (pages), 401 JSON (API)
  "denied"  403, or 404 where the object is invisible to the user
  200       exactly 200 (GET)
  "redirect" a 302 that is not to /login (a GET that sends you elsewhere)
  "ok"      a POST/PATCH/DELETE the user may make: 2xx, a 302 not to /login, or a
            400/409/422 refusal of the (empty or invalid) body; never 401/403/404/5xx

Per route, a fresh district is built once and the roles run in a fixed order,
refused ones first, so a write by an allowed role cannot change what a
forbidden one gets.
"""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from sqlmodel import select
from werkzeug.datastructures import FileStorage

from tests import factories as f
from tests.webutil import login
from tracker.models import (
    ChangeRequest,
    DepartmentAlias,
    ExtensionRequest,
    LoginThrottle,
    SavedView,
    TimeLimitPreset,
    User,
)
from tracker.services import access
from tracker.services.accounts import sessions
from tracker.services.chasing import by_hand as task_chasing
from tracker.services.tasks import attachments

ROLES = ("anonymous", "supervisor", "clerk", "other_clerk", "leader", "admin")
SKIPPED = {"static"}
SKIPPED_PREFIXES = ("/dashboard",)

L, D, OK, R = "login", "denied", "ok", "redirect"


def row(anonymous=L, supervisor=D, clerk=D, other_clerk=D, leader=D, admin=D):
    return dict(
        anonymous=anonymous, supervisor=supervisor, clerk=clerk, other_clerk=other_clerk, leader=leader, admin=admin
    )


EVERYONE_200 = row(supervisor=200, clerk=200, other_clerk=200, leader=200, admin=200)
OFFICE_200 = row(supervisor=200)
OFFICE_OK = row(supervisor=OK)
OFFICE_ADMIN_200 = row(supervisor=200, admin=200)
OFFICE_ADMIN_OK = row(supervisor=OK, admin=OK)
ADMIN_200 = row(admin=200)
ADMIN_OK = row(admin=OK)
TASK_SEEN = row(supervisor=200, clerk=200, leader=200)  # the lead task: office, lead dept, its leader

EXPECTED: dict[str, dict[str, object]] = {
    # --- public and personal -----------------------------------------------------------
    "auth.login": row(anonymous=200, supervisor=R, clerk=R, other_clerk=R, leader=R, admin=R),
    # Logging out ends at the login page: for the test a "login" outcome.
    "auth.logout": row(anonymous=L, supervisor=L, clerk=L, other_clerk=L, leader=L, admin=L),
    "auth.change_password": row(anonymous=L, supervisor=200, clerk=200, other_clerk=200, leader=200, admin=200),
    "home.healthz": row(anonymous=200, supervisor=200, clerk=200, other_clerk=200, leader=200, admin=200),
    # to the static icon, for everyone: a login redirect here could log a user out (tests/test_auth.py)
    "home.favicon": row(anonymous=R, supervisor=R, clerk=R, other_clerk=R, leader=R, admin=R),
    "home.index": row(supervisor=200, clerk=R, other_clerk=R, leader=R, admin=R),  # to each one's own page
    # --- office ------------------------------------------------------------------------
    "office.index": row(supervisor=R),
    "office.sources": OFFICE_200,
    "office.create_source": OFFICE_OK,
    "office.source": OFFICE_200,
    "office.decompose_source": OFFICE_200,
    "office.tasks": OFFICE_200,
    "office.export_tasks": OFFICE_200,
    "office.bulk": OFFICE_OK,
    "office.new_task": OFFICE_200,
    "office.edit_task": OFFICE_200,
    "office.delete_task": OFFICE_OK,
    "office.escalate": OFFICE_200,
    "office.notice": OFFICE_200,
    "office.save_view": OFFICE_OK,
    "office.delete_view": OFFICE_OK,
    "office.review_queue": OFFICE_200,
    "office.review_close": OFFICE_OK,
    "office.review_extension": OFFICE_OK,
    "office.review_change": OFFICE_OK,
    "office.review_reassign": OFFICE_OK,
    # --- the web importer (H1): the office, and the administrator for department lists;
    # a job is its uploader's only (the seeded one is the office's: the administrator gets 404) ---
    "imports.index": OFFICE_ADMIN_200,
    "imports.upload": OFFICE_ADMIN_OK,
    "imports.job": OFFICE_200,
    "imports.progress": OFFICE_200,
    "imports.plan": OFFICE_OK,
    "imports.confirm": OFFICE_OK,
    # --- department and leader ------------------------------------------------------------
    "department.inbox": row(clerk=200, other_clerk=200),
    "department.tasks": row(clerk=200, other_clerk=200),
    "leader.portfolio": row(leader=200),
    # --- bulletins (通报) and scoring weights (H5): a bulletin is published to every unit;
    # the office generates; the weights are kept by the office and administrators -----------
    "bulletins.index": row(supervisor=200, clerk=200, other_clerk=200, leader=200),
    "bulletins.show": row(supervisor=200, clerk=200, other_clerk=200, leader=200),
    "bulletins.export": row(supervisor=200, clerk=200, other_clerk=200, leader=200),
    "bulletins.generate": OFFICE_OK,
    "bulletins.weights": OFFICE_ADMIN_200,
    # --- scheduler (H3): job runs and the reminder rules, for the office and the administrator ---
    "jobs.runs": OFFICE_ADMIN_200,
    "jobs.rules": OFFICE_ADMIN_200,
    # --- 人大建议/政协提案 (H7): the office and the units of the item (lead, co-handling) -------
    "motions.index": row(supervisor=200, clerk=200, other_clerk=200),
    "motions.show": row(supervisor=200, clerk=200),
    "motions.import_list": OFFICE_OK,
    "motions.unit_action": row(clerk=OK),
    "motions.office_action": OFFICE_OK,
    "motions.assign_selected": OFFICE_OK,
    "motions.figures": OFFICE_200,
    "motions.limits": OFFICE_OK,
    "motions.export": OFFICE_200,
    # --- the task page and its actions -----------------------------------------------------
    "tasks.show": TASK_SEEN,
    "tasks.download": TASK_SEEN,
    "tasks.acknowledge": row(clerk=OK),
    "tasks.report": row(clerk=OK),
    "tasks.request_extension": row(clerk=OK),
    "tasks.request_close": row(clerk=OK),
    "tasks.request_reassign": row(clerk=OK),
    "tasks.request_change": row(supervisor=OK, clerk=OK),  # either side may ask; the other decides
    "tasks.decide_extension": row(supervisor=OK),
    "tasks.decide_reassign": row(supervisor=OK),
    "tasks.decide_change": row(supervisor=OK, leader=OK),
    "tasks.review": row(supervisor=OK),
    "tasks.suspend": row(supervisor=OK),
    "tasks.resume": row(supervisor=OK),
    "tasks.cancel": row(supervisor=OK),
    "tasks.reopen": row(supervisor=OK),
    "tasks.remind": row(supervisor=OK, leader=OK),
    "tasks.escalate": row(supervisor=OK),
    "tasks.leader_approve": row(leader=OK),
    "tasks.leader_reject": row(leader=OK),
    # --- weekly schedule, agenda, cascade (H4): office; a leader reads what concerns them ----
    "schedule.week": row(supervisor=200, leader=200),
    "schedule.weeks": row(supervisor=200, leader=200),
    "schedule.generate": OFFICE_OK,
    "schedule.save_agenda": OFFICE_OK,
    "schedule.move": OFFICE_OK,
    "schedule.record_meeting": OFFICE_OK,
    "schedule.export": row(supervisor=R),  # no schedule generated yet: back to the week page
    "schedule.print_view": row(supervisor=R, leader=R),
    "schedule.cascade_form": OFFICE_200,
    "schedule.cascade_create": OFFICE_OK,
    # --- administration ----------------------------------------------------------------
    "admin.index": OFFICE_ADMIN_200,
    "admin.departments": OFFICE_ADMIN_200,
    "admin.department_new": OFFICE_ADMIN_200,
    "admin.department_edit": OFFICE_ADMIN_200,
    "admin.department_active": OFFICE_ADMIN_OK,
    "admin.department_alias_add": OFFICE_ADMIN_OK,
    "admin.department_alias_remove": OFFICE_ADMIN_OK,
    "admin.leaders": OFFICE_ADMIN_200,
    "admin.leader_new": OFFICE_ADMIN_200,
    "admin.leader_edit": OFFICE_ADMIN_200,
    "admin.leader_active": OFFICE_ADMIN_OK,
    "admin.leader_portfolio": OFFICE_ADMIN_OK,
    "admin.presets": OFFICE_ADMIN_200,
    "admin.preset_new": OFFICE_ADMIN_200,
    "admin.preset_edit": OFFICE_ADMIN_200,
    "admin.holidays": OFFICE_ADMIN_200,
    "admin.holiday_bulk": OFFICE_ADMIN_OK,
    "admin.holiday_confirm_year": OFFICE_ADMIN_OK,
    "admin.holiday_set": OFFICE_ADMIN_OK,
    "admin.holiday_remove": OFFICE_ADMIN_OK,
    "admin.users": ADMIN_200,
    "admin.user_new": ADMIN_200,
    "admin.user_edit": ADMIN_200,
    "admin.user_active": ADMIN_OK,
    "admin.user_password": ADMIN_OK,
    "admin.user_token_issue": ADMIN_OK,
    "admin.user_token_revoke": ADMIN_OK,
    # --- login sessions and throttling (tracker/web/account.py) ------------------------------
    "account.my_sessions": EVERYONE_200,
    # the seeded session is the other clerk's: nobody else may end it, not even an administrator here
    "account.revoke_mine": row(other_clerk=OK),
    "account.sign_out_others": row(supervisor=OK, clerk=OK, other_clerk=OK, leader=OK, admin=OK),
    # signing out everywhere ends at the login page, like logging out
    "account.sign_out_everywhere": row(anonymous=L, supervisor=L, clerk=L, other_clerk=L, leader=L, admin=L),
    "account.admin_revoke": ADMIN_OK,
    "account.admin_revoke_all": ADMIN_OK,
    "account.throttled": OFFICE_ADMIN_200,
    "account.unlock": OFFICE_ADMIN_OK,
    # --- the audit viewer: the office and the administrator, nobody else ----------------------
    "audit.index": OFFICE_ADMIN_200,
    "audit.export": OFFICE_ADMIN_200,
    # --- the JSON API (bearer tokens) -----------------------------------------------------
    "api.swagger_ui": EVERYONE_200,
    "api.openapi_json": EVERYONE_200,
    "api.static": EVERYONE_200,
    "api.me": EVERYONE_200,
    "api.list_departments": EVERYONE_200,
    "api.list_leaders": EVERYONE_200,
    "api.list_sources": EVERYONE_200,
    "api.get_source": row(supervisor=200, clerk=200, leader=200),  # a source is seen through its tasks
    "api.create_source": row(supervisor=OK),
    "api.list_tasks": EVERYONE_200,
    "api.get_task": TASK_SEEN,
    "api.create_task": row(supervisor=OK),
    "api.update_task": row(supervisor=OK),
    "api.delete_task": row(supervisor=OK),
    "api.task_actions": TASK_SEEN,
    "api.list_reports": TASK_SEEN,
    "api.create_report": row(clerk=OK),
    "api.transition": row(supervisor=OK, leader=OK),  # the action sent is 催办 (remind)
    "api.list_tokens": EVERYONE_200,
    "api.issue_token": row(supervisor=OK, clerk=OK, other_clerk=OK, leader=OK, admin=OK),
    "api.revoke_token": row(supervisor=OK),
    # --- notifications (H2): everyone's inbox, the office's delivery log, group robots -----------
    "notifications.inbox": EVERYONE_200,
    "notifications.mark_read": row(clerk=OK),  # the lead clerk's own message; anyone else: 404
    "notifications.mark_all_read": row(supervisor=OK, clerk=OK, other_clerk=OK, leader=OK, admin=OK),
    "notifications.deliveries": OFFICE_200,
    "notifications.retry": OFFICE_OK,
    "notifications.channels": OFFICE_ADMIN_200,
    "notifications.channel_new": OFFICE_ADMIN_200,
    "notifications.channel_edit": OFFICE_ADMIN_200,
    "notifications.channel_active": OFFICE_ADMIN_OK,
    "notifications.channel_test": OFFICE_ADMIN_OK,  # posts to 127.0.0.1:9 (refused): a flashed error, 302
    "notifications.user_email": ADMIN_OK,
}

# Which seeded row fills a URL parameter, per endpoint where the default (the lead
# department's task in progress) is not the row the route is about.
TASK_FOR = {
    "office.edit_task": "draft",
    "office.delete_task": "draft",
    "api.update_task": "draft",
    "api.delete_task": "draft",
    "office.review_close": "review",
    "tasks.review": "review",
    "tasks.decide_extension": "ext",
    "tasks.decide_change": "change",
    "tasks.decide_reassign": "reassign",
    "tasks.resume": "suspended",
    "tasks.reopen": "closed",
    "tasks.leader_approve": "approval",
    "tasks.leader_reject": "approval",
    "tasks.acknowledge": "assigned",
}
REQUEST_FOR = {
    "tasks.decide_extension": "ext",
    "office.review_extension": "ext",
    "tasks.decide_change": "change",
    "office.review_change": "change",
    "tasks.decide_reassign": "reassign",
    "office.review_reassign": "reassign",
}
# Deletions two roles may make: each allowed role gets a freshly seeded district.
RESEED = {"admin.department_alias_remove", "admin.holiday_remove", "account.unlock"}
# Sessions through the API: issuing a token needs a login session (and its CSRF header).
SESSION_API = {"api.issue_token"}
JSON_BODY = {
    "api.issue_token": {"name": "矩阵测试"},
    "api.create_report": {"text": "已完成前期手续"},
    "api.create_source": {"kind": "executive_meeting", "source_date": "2026-11-20", "title": "区政府第16次常务会议"},
    "api.create_task": {"title": "新登记的事项"},
    "api.transition": {"action": "remind"},
}
# Valid forms, so that a refused role is refused for who it is, not for an empty form.
REFUSE = {"decision": "refuse", "note": "理由不充分"}
FORM = {
    "tasks.decide_extension": REFUSE,
    "tasks.decide_change": REFUSE,
    "tasks.decide_reassign": REFUSE,
    "tasks.review": {"decision": "return", "note": "材料不全"},
    "tasks.request_extension": {"new_due_date": "2027-03-01", "reason": "资金未到位"},
    "tasks.request_change": {"reason": "会议要求调整", "requirement": "按调整后的要求办理"},
    "tasks.request_reassign": {"reason": "不属于我单位职责"},
    "tasks.request_close": {"summary": "已全部完成"},
    "tasks.report": {"text": "已完成可研批复", "percent": "50"},
    "tasks.suspend": {"reason": "等待上级政策"},
    "tasks.cancel": {"reason": "事项已由上级统筹"},
    "tasks.reopen": {"reason": "复查不合格"},
    "tasks.resume": {"note": "政策已明确"},
    "tasks.remind": {"message": "请抓紧办理"},
    "tasks.escalate": {"reason": "逾期未办", "level": "2"},
    "tasks.leader_reject": {"reason": "请补充工作要求"},
    "tasks.leader_approve": {"note": "同意"},
    "office.review_close": {"decision": "reject", "note": "材料不全"},
    "office.review_extension": {"decision": "reject", "note": "理由不充分"},
    "office.review_change": {"decision": "reject", "note": "理由不充分"},
    "office.review_reassign": {"decision": "reject", "note": "理由不充分"},
    "office.save_view": {"name": "逾期事项", "query": "light=red"},
    "office.bulk": {"action": "remind", "message": "请抓紧"},
    "account.unlock": {"kind": "account", "subject": "matrix-throttled"},
}


def _routes(app) -> dict[str, object]:
    rules = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED or rule.rule.startswith(SKIPPED_PREFIXES):
            continue
        rules.setdefault(rule.endpoint, rule)
    return rules


def _all_endpoints() -> list[str]:
    """The endpoints of a real app, read once at collection time."""
    import tempfile
    from datetime import date
    from pathlib import Path

    from tracker import create_app
    from tracker.config import Settings

    tmp = Path(tempfile.mkdtemp(prefix="tracker-routes-"))
    app = create_app(
        Settings(
            env="testing",
            database_url=f"sqlite:///{tmp / 'routes.db'}",
            instance_path=tmp / "instance",
            today=date(2026, 11, 23),
            secret_key="x",
        )
    )
    return sorted(_routes(app))


ENDPOINTS = _all_endpoints()


def test_every_route_has_an_entry(app):
    """A new route must be given a line in EXPECTED (and a stale line removed)."""
    routes = set(_routes(app))
    assert sorted(routes - set(EXPECTED)) == [], "routes without an entry in EXPECTED"
    assert sorted(set(EXPECTED) - routes) == [], "entries in EXPECTED for routes that no longer exist"
    for endpoint, expected in EXPECTED.items():
        assert set(expected) == set(ROLES), endpoint


# --- the seeded district ------------------------------------------------------------------


SEEDED_TASKS = {  # key: (status, pending requests)
    "main": ("in_progress", ()),
    "draft": ("draft", ()),
    "assigned": ("assigned", ()),
    "approval": ("pending_approval", ()),
    "review": ("pending_review", ()),
    "closed": ("closed", ()),
    "suspended": ("suspended", ()),
    "ext": ("in_progress", ("extension",)),
    "change": ("in_progress", ("change",)),
    "reassign": ("in_progress", ("reassign",)),
}


def _notification_rows(session, d) -> dict:
    """H2: a message of the lead clerk's, a group robot and a failed delivery of that message."""
    from tracker.models import Delivery, Notification, NotificationChannel

    note = Notification(user_id=d.lead_clerk.user_id, kind="system", day=f.clock.today(), title="矩阵消息")
    channel = NotificationChannel(
        name="矩阵群", flavour="wecom", url="http://127.0.0.1:9/hook", department_id=d.lead_id
    )
    session.add_all([note, channel])
    session.flush()
    delivery = Delivery(
        notification_id=note.id,
        channel="webhook",
        target=str(channel.id),
        status="failed",
        attempts=1,
        last_error="Webhook 返回 HTTP 500",
    )
    session.add(delivery)
    session.commit()
    return {"notification_id": note.id, "channel_id": channel.id, "delivery_id": delivery.id}


def _seed(session, app, endpoint):
    d = f.district(session)
    # Only the tasks this route is about (building all of them for every route costs seconds).
    wanted = {TASK_FOR.get(endpoint, "main"), "main"}
    t = {
        key: (
            f.task_in(session, d, *SEEDED_TASKS[key][:1], pending=SEEDED_TASKS[key][1], title=f"督办事项（{key}）")
            if key in wanted
            else None
        )
        for key in SEEDED_TASKS
    }
    with app.app_context():
        att = attachments.store(
            session,
            d.lead_clerk,
            t["main"].id,
            None,
            FileStorage(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), filename="批复.pdf"),
        )
    esc = task_chasing.escalate(session, d.office, t["main"].id, "请抓紧办理", 2)
    view = SavedView(user_id=d.office.user_id, name="我的视图", query="status=in_progress")
    session.add(view)
    from tracker.models import ImportJob  # H1: an upload of the office's, its file long gone

    job = ImportJob(
        user_id=d.office.user_id,
        filename="台账.xlsx",
        stored_name="matrix.upload",
        options={},
        report={"stage": "scan", "sheets": []},
    )
    session.add(job)
    users = {
        "supervisor": d.office,
        "clerk": d.lead_clerk,
        "other_clerk": d.other_clerk,
        "leader": d.leader,
        "admin": d.admin,
    }
    tokens = {
        role: access.issue_token(session, actor, session.get(User, actor.user_id), "矩阵")
        for role, actor in users.items()
    }
    # A spare token of the office's for DELETE /api/v1/tokens/<id>, and one of the other clerk's for the admin page.
    access.issue_token(session, d.office, session.get(User, d.office.user_id), "备用")
    access.issue_token(session, d.other_clerk, session.get(User, d.other_clerk.user_id), "备用")
    session.flush()
    from tracker.models import ApiToken

    spare = session.exec(select(ApiToken).where(ApiToken.name == "备用", ApiToken.user_id == d.office.user_id)).one()
    clerk_token = session.exec(
        select(ApiToken).where(ApiToken.name == "备用", ApiToken.user_id == d.other_clerk.user_id)
    ).one()
    requests = {}
    if endpoint in REQUEST_FOR:
        key = REQUEST_FOR[endpoint]
        if t[key] is None:
            t[key] = f.task_in(
                session, d, SEEDED_TASKS[key][0], pending=SEEDED_TASKS[key][1], title=f"督办事项（{key}）"
            )
        model = ExtensionRequest if key == "ext" else ChangeRequest
        requests[key] = session.exec(select(model).where(model.task_id == t[key].id)).one().id
    motion_id = None
    if endpoint.startswith("motions."):  # H7: one suggestion, the lead department's, assigned
        from tracker.services.motions import handling as motions

        motion_id = motions.register(
            session,
            d.office,
            [
                motions.MotionInput(
                    kind="suggestion",
                    number=1,
                    session_name="区十七届人大三次会议",
                    title="关于增设停车泊位的建议",
                    proposer="王建国",
                    lead_department_id=d.lead_id,
                    assisting_department_ids=[d.assist_id],
                )
            ],
        )[0].id
    # the other clerk's login in another browser, and an account past its free tries
    login_token = sessions.start(session, session.get(User, d.other_clerk.user_id), ip="10.0.0.2", user_agent="矩阵")
    session.add(LoginThrottle(kind="account", subject="matrix-throttled", failures=5, last_at=f.clock.now()))
    alias = session.exec(select(DepartmentAlias).where(DepartmentAlias.department_id == d.lead_id)).first()
    preset = session.exec(select(TimeLimitPreset).order_by(TimeLimitPreset.id)).first()
    session.commit()
    usernames = {role: session.get(User, actor.user_id).username for role, actor in users.items()}
    return {
        "usernames": usernames,
        "d": d,
        "tasks": t,
        "users": users,
        "tokens": tokens,
        "requests": requests,
        "ids": {
            "attachment_id": att.id,
            "escalation_id": esc.id,
            "view_id": view.id,
            "source_id": d.source_id,
            "dep_id": d.lead_id,
            "leader_id": d.leader_id,
            "alias_id": alias.id,
            "preset_id": preset.id,
            "user_id": d.other_clerk.user_id,
            "session_id": sessions.token_hash(login_token),
            "day": "2026-10-01",
            "filename": "docs.css",
            "job_id": job.id,
            "motion_id": motion_id,
            **_notification_rows(session, d),
        },
        "token_ids": {"api": spare.id, "admin": clerk_token.id},
    }


def _reseed(session, app, endpoint):
    from tests.conftest import _empty
    from tracker.models import CalendarYear, Holiday
    from tracker.services.calendar import seed_holidays

    session.rollback()
    _empty(session.get_bind())
    session.exec(sa.delete(Holiday))
    session.exec(sa.delete(CalendarYear))
    session.commit()
    seed_holidays(session)
    session.commit()
    return _seed(session, app, endpoint)


def _bulletin_id(app) -> int:
    """H5: last week's bulletin, generated on first use (later calls return the same one)."""
    from sqlmodel import Session

    from tracker import db
    from tracker.services.figures.bulletins import generate_bulletin

    with app.app_context(), Session(db.engine()) as s:
        bulletin = generate_bulletin(s, "week")
        s.commit()
        return bulletin.id


def _url(app, endpoint: str, seed: dict) -> str:
    rule = _routes(app)[endpoint]
    values = {}
    for arg in rule.arguments:
        if arg == "task_id":
            values[arg] = seed["tasks"][TASK_FOR.get(endpoint, "main")].id
        elif arg in ("request_id", "req_id"):
            values[arg] = seed["requests"][REQUEST_FOR[endpoint]]
        elif arg == "token_id":
            values[arg] = seed["token_ids"]["api" if endpoint.startswith("api.") else "admin"]
        elif arg == "bulletin_id":
            values[arg] = _bulletin_id(app)
        else:
            values[arg] = seed["ids"][arg]
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


def _method(app, endpoint: str) -> str:
    methods = _routes(app)[endpoint].methods - {"HEAD", "OPTIONS"}
    return "GET" if "GET" in methods else sorted(methods)[0]


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def _client(app, endpoint: str, role: str, seed: dict):
    """A test client logged in as ``role`` through the login page,
    and the CSRF token of its session."""
    client = app.test_client()
    if endpoint.startswith("api.") and endpoint not in SESSION_API and role != "anonymous":
        return client, ""  # a bearer token, no session
    if role != "anonymous":
        resp = login(client, seed["usernames"][role])
        assert resp.status_code == 302, f"{role} could not log in"
    page = client.get("/login" if role == "anonymous" else "/password")
    match = CSRF_RE.search(page.get_data(as_text=True))
    return client, (match.group(1) if match else "")


def _call(app, endpoint: str, role: str, seed: dict):
    url = _url(app, endpoint, seed)
    method = _method(app, endpoint)
    client, token = _client(app, endpoint, role, seed)
    if endpoint.startswith("api."):
        headers = {"Accept": "application/json"}
        if role != "anonymous":
            if endpoint in SESSION_API:
                headers["X-CSRFToken"] = token
            else:
                headers["Authorization"] = f"Bearer {seed['tokens'][role]}"
        if method == "GET":
            return client.get(url, headers=headers)
        return client.open(url, method=method, json=JSON_BODY.get(endpoint, {}), headers=headers)
    if method == "GET":
        return client.get(url)
    return client.post(url, data={**FORM.get(endpoint, {}), "csrf_token": token})


def _outcome(resp, endpoint: str, method: str) -> str | int:
    status = resp.status_code
    location = resp.headers.get("Location", "")
    if status >= 500:
        return f"5xx:{status}"
    if endpoint.startswith("api.") and status == 401:
        return L
    if status in (301, 302, 303) and "/login" in location.split("?")[0]:
        return L
    if status in (403, 404):
        return D
    if method == "GET":
        if status == 200:
            return 200
        if status in (301, 302, 303):
            return R
        return status
    if 200 <= status < 400 or status in (400, 409, 422):
        return OK
    return status


def _order(expected: dict) -> list[str]:
    """Refused roles first: an allowed write cannot change what a refused one sees."""
    return sorted(ROLES, key=lambda role: (expected[role] not in (L, D), ROLES.index(role)))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_route(endpoint, app, session, request):
    if endpoint not in EXPECTED:
        pytest.fail(f"{endpoint}: no entry in EXPECTED; decide who may use it")
    if endpoint.startswith("admin.holiday"):
        request.getfixturevalue("restore_calendar")  # the holiday table is kept between tests
    seed = _seed(session, app, endpoint)
    expected = EXPECTED[endpoint]
    method = _method(app, endpoint)
    got = {}
    allowed_before = False
    for role in _order(expected):
        if endpoint in RESEED and expected[role] not in (L, D):
            if allowed_before:
                seed = _reseed(session, app, endpoint)
            allowed_before = True
        resp = _call(app, endpoint, role, seed)
        got[role] = _outcome(resp, endpoint, method)
        if got[role] == 200 and expected[role] == 200 and method == "GET" and not endpoint.startswith("api."):
            assert resp.mimetype in (
                "text/html",
                "text/css",
                "application/json",
                "application/javascript",
                "text/javascript",
                "application/pdf",
            ) or resp.mimetype.startswith("application/vnd"), endpoint
    wrong = {role: (expected[role], got[role]) for role in ROLES if got[role] != expected[role]}
    assert not wrong, f"{method} {endpoint}: (expected, got) per role: {wrong}"
