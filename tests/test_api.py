"""The JSON API under /api/v1: authentication (tokens, session + CSRF), every
endpoint, the one error shape, and permissions per role."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from tests import factories as f
from tests.webutil import login
from tracker import clock
from tracker.models import (
    ApiToken,
    AuditEvent,
    ChangeRequest,
    Escalation,
    ExtensionRequest,
    Milestone,
    ProgressReport,
    Reminder,
    Source,
    Task,
    TaskAssist,
    User,
)
from tracker.services import access

API = "/api/v1"


# --- helpers ---------------------------------------------------------------------


@pytest.fixture
def d(session):
    return f.district(session)


def issue(session, actor, name="测试") -> str:
    token = access.issue_token(session, actor, session.get(User, actor.user_id), name)
    session.commit()
    return token


class Caller:
    """A test client that sends one actor's bearer token with every request."""

    def __init__(self, client, token: str):
        self.client, self.token = client, token

    def _h(self, kw):
        kw.setdefault("headers", {})["Authorization"] = f"Bearer {self.token}"
        return kw

    def get(self, url, **kw):
        return self.client.get(API + url, **self._h(kw))

    def post(self, url, json=None, **kw):
        return self.client.post(API + url, json=json, **self._h(kw))

    def patch(self, url, json=None, **kw):
        return self.client.patch(API + url, json=json, **self._h(kw))

    def delete(self, url, **kw):
        return self.client.delete(API + url, **self._h(kw))


@pytest.fixture
def as_(app, session, d):
    """as_("office") -> a Caller with a fresh token of that district user."""

    def make(who: str) -> Caller:
        return Caller(app.test_client(), issue(session, getattr(d, who)))

    return make


def assert_error(resp, status: int, code: str | None = None):
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == {"error", "message", "fields"}, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    if code:
        assert body["error"] == code, body
    # Chinese text goes out as is, not as \\u escapes.
    assert "\\u" not in resp.get_data(as_text=True)
    return body


def act(caller, task_id, action, **params):
    return caller.post(f"/tasks/{task_id}/transitions", json={"action": action, **params})


def status_of(session, task_id):
    session.expire_all()
    return session.get(Task, task_id).status


def username(session, actor):
    return session.get(User, actor.user_id).username


# --- authentication --------------------------------------------------------------


def test_anonymous_and_bad_tokens_get_401_in_the_error_shape(client, session, d):
    assert_error(client.get(f"{API}/tasks"), 401, "unauthorized")
    assert_error(client.get(f"{API}/openapi.json"), 401, "unauthorized")
    assert_error(client.get(f"{API}/tasks", headers={"Authorization": "Bearer dbt_nonsense"}), 401)
    assert_error(client.post(f"{API}/tasks", json={"title": "x"}), 401)
    assert session.exec(select(Task)).first() is None


def test_token_auth_needs_no_csrf_and_is_not_cached(as_, session, d):
    office = as_("office")
    me = office.get("/me")
    assert me.status_code == 200 and me.headers["Cache-Control"] == "no-store"
    body = me.get_json()
    assert body["auth"] == "token" and body["csrf_token"] is None and body["role"] == "supervisor"
    assert body["role_label"] == "督查室"
    created = office.post("/tasks", json={"title": "令牌创建的事项", "lead_department_id": d.lead_id})
    assert created.status_code == 201
    assert session.exec(select(Task).where(Task.title == "令牌创建的事项")).one()
    assert "Set-Cookie" not in created.headers  # a token caller gets no session


def test_revoked_token_and_inactive_user_are_refused(as_, session, d):
    office = as_("office")
    assert office.get("/me").status_code == 200
    row = session.exec(select(ApiToken)).one()
    row.revoked = True
    session.commit()
    assert_error(office.get("/me"), 401, "unauthorized")
    clerk = as_("lead_clerk")
    user = session.get(User, d.lead_clerk.user_id)
    user.active = False
    session.commit()
    assert_error(clerk.get("/tasks"), 401)


def test_forced_password_change_blocks_the_api(as_, session, d):
    clerk = as_("lead_clerk")
    session.get(User, d.lead_clerk.user_id).must_change_password = True
    session.commit()
    assert_error(clerk.get("/tasks"), 403, "password_change_required")


def test_session_writes_need_the_csrf_header(client, session, d):
    login(client, username(session, d.office))
    me = client.get(f"{API}/me").get_json()
    assert me["auth"] == "session" and me["csrf_token"]
    payload = {"title": "会话创建的事项", "lead_department_id": d.lead_id}
    missing = client.post(f"{API}/tasks", json=payload)
    assert_error(missing, 400, "csrf_failed")
    wrong = client.post(f"{API}/tasks", json=payload, headers={"X-CSRFToken": "forged"})
    assert_error(wrong, 400, "csrf_failed")
    assert session.exec(select(Task)).first() is None
    ok = client.post(f"{API}/tasks", json=payload, headers={"X-CSRFToken": me["csrf_token"]})
    assert ok.status_code == 201
    assert ok.get_json()["title"] == "会话创建的事项"
    assert client.get(f"{API}/tasks").get_json()["total"] == 1  # reads need no header


def test_session_and_csrf_cover_every_write_endpoint(client, session, d):
    """Each state-changing endpoint refuses a session call without the header and
    accepts it with the header."""
    t = f.task_in(session, d, "assigned")
    dr = f.draft(session, d, title="待删草稿")
    dr2 = f.draft(session, d, title="待改草稿")
    session.commit()
    other_token_id = None
    login(client, username(session, d.office))
    csrf = client.get(f"{API}/me").get_json()["csrf_token"]
    calls = [
        ("post", "/tasks", {"title": "新事项"}, 201),
        ("patch", f"/tasks/{dr2.id}", {"title": "改过的草稿"}, 200),
        ("delete", f"/tasks/{dr.id}", None, 204),
        ("post", f"/tasks/{t.id}/transitions", {"action": "remind", "message": "请加快"}, 200),
        ("post", "/sources", {"kind": "topic_meeting", "title": "专题会议", "source_date": "2026-11-20"}, 201),
        ("post", "/tokens", {"name": "OA 对接"}, 201),
    ]
    for method, url, payload, expected in calls:
        kw = {"json": payload} if payload is not None else {}
        refused = getattr(client, method)(API + url, **kw)
        assert_error(refused, 400, "csrf_failed")
        done = getattr(client, method)(API + url, headers={"X-CSRFToken": csrf}, **kw)
        assert done.status_code == expected, (url, done.get_data(as_text=True))
        if url == "/tokens":
            other_token_id = done.get_json()["id"]
    assert_error(client.delete(f"{API}/tokens/{other_token_id}"), 400, "csrf_failed")
    assert client.delete(f"{API}/tokens/{other_token_id}", headers={"X-CSRFToken": csrf}).status_code == 204
    session.expire_all()
    assert session.get(ApiToken, other_token_id).revoked
    # A progress report by the lead department's clerk, in its own session.
    t2 = f.task_in(session, d, "acknowledged")
    session.commit()
    clerk = client.application.test_client()
    login(clerk, username(session, d.lead_clerk))
    clerk_csrf = clerk.get(f"{API}/me").get_json()["csrf_token"]
    assert_error(clerk.post(f"{API}/tasks/{t2.id}/progress-reports", json={"text": "进展"}), 400, "csrf_failed")
    ok = clerk.post(f"{API}/tasks/{t2.id}/progress-reports", json={"text": "进展"}, headers={"X-CSRFToken": clerk_csrf})
    assert ok.status_code == 201


# --- tokens ----------------------------------------------------------------------


def test_tokens_issue_once_list_and_revoke(client, app, session, d):
    login(client, username(session, d.lead_clerk))
    csrf = client.get(f"{API}/me").get_json()["csrf_token"]
    issued = client.post(f"{API}/tokens", json={"name": "企业微信机器人"}, headers={"X-CSRFToken": csrf})
    assert issued.status_code == 201
    body = issued.get_json()
    assert body["token"].startswith("dbt_") and body["name"] == "企业微信机器人" and not body["revoked"]
    row = session.get(ApiToken, body["id"])
    assert row.user_id == d.lead_clerk.user_id and body["token"] not in row.token_hash
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "api_token_issue")).first()

    listed = client.get(f"{API}/tokens").get_json()["items"]
    assert [t["id"] for t in listed] == [body["id"]] and "token" not in listed[0]

    bot = Caller(app.test_client(), body["token"])
    assert bot.get("/me").get_json()["username"] == username(session, d.lead_clerk)
    # A token cannot mint further tokens.
    assert_error(bot.post("/tokens", json={"name": "再来一个"}), 403, "forbidden")
    # Someone else's token does not exist for you.
    theirs = issue(session, d.office)
    their_id = session.exec(select(ApiToken).where(ApiToken.user_id == d.office.user_id)).one().id
    assert_error(bot.delete(f"/tokens/{their_id}"), 404, "not_found")
    assert Caller(app.test_client(), theirs).get("/me").status_code == 200
    # A token may retire itself.
    assert bot.delete(f"/tokens/{body['id']}").status_code == 204
    assert_error(bot.get("/me"), 401)
    session.expire_all()
    assert session.get(ApiToken, body["id"]).revoked
    assert client.get(f"{API}/tokens").get_json()["items"][0]["revoked"] is True
    # Revoking again is harmless.
    assert client.delete(f"{API}/tokens/{body['id']}", headers={"X-CSRFToken": csrf}).status_code == 204


def test_token_name_is_validated(client, session, d):
    login(client, username(session, d.office))
    csrf = client.get(f"{API}/me").get_json()["csrf_token"]
    body = assert_error(client.post(f"{API}/tokens", json={"name": ""}, headers={"X-CSRFToken": csrf}), 422, "invalid")
    assert "name" in body["fields"]
    body = assert_error(client.post(f"{API}/tokens", json={}, headers={"X-CSRFToken": csrf}), 422)
    assert body["fields"]["name"] == "名称必须填写"


# --- task list -------------------------------------------------------------------


@pytest.fixture
def world(session, d):
    """A handful of tasks in different states and departments."""
    with f.on(date(2026, 11, 2)):
        late = f.task_in(session, d, "in_progress", title="老旧小区改造", due_date=date(2026, 11, 10))
        assigned = f.task_in(session, d, "assigned", title="河长制巡查", due_date=date(2026, 12, 20))
        other = f.task_in(
            session,
            d,
            "assigned",
            title="校园安全检查",
            lead_department_id=d.other_id,
            assisting_department_ids=[],
            leader_ids=[],
            due_date=date(2026, 12, 31),
        )
    draft = f.draft(session, d, title="尚未交办的草稿")
    session.commit()
    return {"late": late, "assigned": assigned, "other": other, "draft": draft}


def titles(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return sorted(item["title"] for item in resp.get_json()["items"])


@pytest.mark.parametrize(
    "who, expected",
    [
        ("office", ["尚未交办的草稿", "校园安全检查", "河长制巡查", "老旧小区改造"]),
        ("office2", ["尚未交办的草稿", "校园安全检查", "河长制巡查", "老旧小区改造"]),
        ("lead_clerk", ["河长制巡查", "老旧小区改造"]),
        ("assist_clerk", ["河长制巡查", "老旧小区改造"]),
        ("other_clerk", ["校园安全检查"]),
        ("leader", ["河长制巡查", "老旧小区改造"]),
        ("other_leader", ["校园安全检查"]),
        ("admin", []),
    ],
)
def test_list_is_limited_to_what_the_caller_may_see(as_, world, who, expected):
    resp = as_(who).get("/tasks")
    assert titles(resp) == expected
    assert resp.get_json()["total"] == len(expected)


def test_list_item_fields_and_labels_in_the_callers_words(as_, world, d):
    office_items = {i["title"]: i for i in as_("office").get("/tasks").get_json()["items"]}
    late = office_items["老旧小区改造"]
    assert late["code"].startswith("DB-2026-")
    assert late["status"] == "in_progress" and late["status_label"] == "办理中"
    assert late["light"] == "red" and late["light_label"] == "逾期" and late["overdue"] is True
    assert late["overdue_workdays"] == 9  # 11-10 → 11-23, weekdays only
    assert late["due_date"] == "2026-11-10" and late["original_due_date"] == "2026-11-10"
    assert late["lead_department"] == {"id": d.lead_id, "name": "区发展和改革委员会"}
    assert late["assisting"] == [{"id": d.assist_id, "name": "区财政局"}]
    assert late["leaders"] == [{"id": d.leader_id, "name": "吴海涛", "title": "副区长"}]
    assert late["source"]["id"] == d.source_id and late["source"]["kind"] == "executive_meeting"
    assert late["urgency"] == "normal" and late["urgency_label"] == "一般"
    assert late["last_report_at"].startswith("2026-11-02T") and late["last_report_at"].endswith("+08:00")
    assigned = office_items["河长制巡查"]
    assert assigned["status_label"] == "已交办" and assigned["overdue"] is False and assigned["light"] == "green"
    assert assigned["last_report_at"] is None
    clerk_items = {i["title"]: i for i in as_("lead_clerk").get("/tasks").get_json()["items"]}
    assert clerk_items["河长制巡查"]["status_label"] == "待签收"
    leader_items = {i["title"]: i for i in as_("leader").get("/tasks").get_json()["items"]}
    assert leader_items["河长制巡查"]["status_label"] == "已交办"


def test_list_filters_sort_and_paging(as_, world, d):
    office = as_("office")
    assert titles(office.get("/tasks?overdue=1")) == ["老旧小区改造"]
    assert titles(office.get("/tasks?light=red")) == ["老旧小区改造"]
    assert titles(office.get("/tasks?status=draft&status=in_progress")) == ["尚未交办的草稿", "老旧小区改造"]
    assert titles(office.get(f"/tasks?department_id={d.other_id}")) == ["校园安全检查"]
    assert titles(office.get(f"/tasks?lead_department_id={d.lead_id}&status=assigned")) == ["河长制巡查"]
    assert titles(office.get(f"/tasks?leader_id={d.leader_id}&status=assigned")) == ["河长制巡查"]
    assert titles(office.get("/tasks?q=河长")) == ["河长制巡查"]
    assert titles(office.get("/tasks?due_from=2026-12-01&due_to=2026-12-21")) == ["河长制巡查"]
    assert titles(office.get("/tasks?source_kind=executive_meeting&urgency=normal")) == [
        "尚未交办的草稿",
        "校园安全检查",
        "河长制巡查",
        "老旧小区改造",
    ]
    first = office.get("/tasks?sort=-due&per_page=2&page=1").get_json()
    second = office.get("/tasks?sort=-due&per_page=2&page=2").get_json()
    assert first["total"] == 4 and first["per_page"] == 2 and first["pages"] == 2 and second["page"] == 2
    assert [i["title"] for i in first["items"]] == ["校园安全检查", "尚未交办的草稿"]
    assert [i["title"] for i in second["items"]] == ["河长制巡查", "老旧小区改造"]
    # Only documented, validated parameters filter: ?text= is not one of them.
    assert office.get("/tasks?text=河长").get_json()["total"] == 4
    # The clerk's filters never widen what it may see.
    assert titles(as_("lead_clerk").get(f"/tasks?department_id={d.other_id}")) == []


@pytest.mark.parametrize(
    "query, field",
    [
        ("per_page=0", "per_page"),
        ("per_page=500", "per_page"),
        ("page=abc", "page"),
        ("sort=title", "sort"),
        ("status=bogus", "status.0"),
        ("light=blue", "light"),
        ("department_id=x", "department_id"),
        ("leader_id=99999999999", "leader_id"),
        ("due_from=2026-13-01", "due_from"),
        ("overdue=maybe", "overdue"),
    ],
)
def test_bad_list_parameters_are_422_with_the_field(as_, d, query, field):
    body = assert_error(as_("office").get(f"/tasks?{query}"), 422, "invalid")
    assert field in body["fields"], body


@pytest.mark.parametrize(
    "query, field",
    [("q=%00", "q"), ("text=%1b", "text"), ("due_from=9999-12-31", "due_from"), ("due_to=0001-01-01", "due_to")],
)
def test_unreadable_list_parameters_are_400_with_the_field(as_, d, query, field):
    body = assert_error(as_("office").get(f"/tasks?{query}"), 400, "bad_input")
    assert field in body["fields"], body


# --- task detail -----------------------------------------------------------------


def test_detail_has_milestones_pending_requests_actions_and_timeline(as_, session, d):
    t = f.task_in(
        session,
        d,
        "assigned",
        milestones=[{"title": "完成方案", "due_date": date(2026, 12, 1)}],
        pending=("extension",),
    )
    session.commit()
    body = as_("office").get(f"/tasks/{t.id}").get_json()
    assert body["id"] == t.id and body["requirement"] == "按会议要求完成项目前期手续"
    assert body["milestones"][0]["title"] == "完成方案" and body["milestones"][0]["done_on"] is None
    assert [p["kind"] for p in body["pending_requests"]] == ["extension"]
    assert body["pending_requests"][0]["reason"] == "资金未到位"
    assert body["parties"] == ["office"]
    actions = {a["action"] for a in body["actions"]}
    assert {"decide_extension", "remind", "escalate", "suspend", "cancel"} <= actions
    assert "decide_reassign" not in actions  # nothing to decide
    assert [e["action"] for e in body["timeline"]] == ["create", "assign", "request_extension"]
    assert body["timeline"][0]["actor_name"] and body["created_at"].endswith("+08:00")
    clerk = as_("lead_clerk").get(f"/tasks/{t.id}").get_json()
    assert clerk["status_label"] == "待签收" and clerk["parties"] == ["lead"]
    assert {a["action"] for a in clerk["actions"]} == {
        "acknowledge",
        "request_extension",
        "request_reassign",
        "request_change",
    }
    assert as_("assist_clerk").get(f"/tasks/{t.id}").get_json()["parties"] == ["assist"]


@pytest.mark.parametrize(
    "who, status",
    [
        ("office", 200),
        ("lead_clerk", 200),
        ("assist_clerk", 200),
        ("leader", 200),
        ("other_clerk", 404),
        ("other_leader", 404),
        ("admin", 404),
    ],
)
def test_detail_visibility_per_role(as_, session, d, who, status):
    t = f.task_in(session, d, "assigned")
    session.commit()
    caller = as_(who)
    for url in (f"/tasks/{t.id}", f"/tasks/{t.id}/actions", f"/tasks/{t.id}/progress-reports"):
        resp = caller.get(url)
        if status == 404:
            body = assert_error(resp, 404, "not_found")
            assert "推进重点项目" not in resp.get_data(as_text=True) and body["fields"] == {}
        else:
            assert resp.status_code == 200


def test_drafts_are_invisible_to_departments_and_unknown_ids_are_404(as_, session, d):
    draft = f.draft(session, d)
    session.commit()
    assert_error(as_("lead_clerk").get(f"/tasks/{draft.id}"), 404, "not_found")
    assert_error(as_("office").get("/tasks/999999"), 404, "not_found")
    assert_error(as_("office").get("/tasks/99999999999999999999"), 404)  # beyond any id: routing says 404
    assert_error(as_("office").get("/tasks/0"), 404)
    assert_error(as_("office").get("/no-such-endpoint"), 404)
    office = as_("office")
    assert_error(office.client.put(f"{API}/tasks/{draft.id}", headers={"Authorization": f"Bearer {office.token}"}), 405)


def test_actions_endpoint(as_, session, d):
    t = f.task_in(session, d, "pending_review")
    session.commit()
    office = as_("office").get(f"/tasks/{t.id}/actions").get_json()
    assert office["status"] == "pending_review" and office["status_label"] == "待审核"
    assert [a["action"] for a in office["actions"]] == [
        "approve_close",
        "return",
        "suspend",
        "cancel",
        "request_change",
        "remind",
        "escalate",
    ]
    assert office["actions"][0] == {
        "action": "approve_close",
        "label": "审核办结",
        "method": "POST",
        "path": f"/api/v1/tasks/{t.id}/transitions",
    }
    clerk = as_("lead_clerk").get(f"/tasks/{t.id}/actions").get_json()
    assert clerk["status_label"] == "已申请办结" and [a["action"] for a in clerk["actions"]] == ["request_change"]
    leader = as_("leader").get(f"/tasks/{t.id}/actions").get_json()
    assert [a["action"] for a in leader["actions"]] == ["remind"]
    draft = f.draft(session, d)
    session.commit()
    draft_actions = as_("office").get(f"/tasks/{draft.id}/actions").get_json()["actions"]
    assert draft_actions[:2] == [
        {"action": "edit_draft", "label": "编辑", "method": "PATCH", "path": f"/api/v1/tasks/{draft.id}"},
        {"action": "delete_draft", "label": "删除草稿", "method": "DELETE", "path": f"/api/v1/tasks/{draft.id}"},
    ]


# --- drafts ----------------------------------------------------------------------


def test_create_draft(as_, session, d):
    payload = {
        "title": "  推进老旧小区改造  ",
        "requirement": "年底前完成改造",
        "source_id": d.source_id,
        "item_no": "3",
        "lead_department_id": d.lead_id,
        "assisting_department_ids": [d.assist_id],
        "leader_ids": [d.leader_id],
        "urgency": "urgent",
        "due_date": "2026-12-31",
        "feedback_cycle": "monthly",
        "milestones": [{"title": "完成摸底", "due_date": "2026-12-10"}],
    }
    resp = as_("office").post("/tasks", json=payload)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["status"] == "draft" and body["title"] == "推进老旧小区改造" and body["urgency_label"] == "急件"
    assert body["feedback_cycle_label"] == "每月" and body["item_no"] == "3"
    assert body["milestones"][0]["due_date"] == "2026-12-10"
    task = session.get(Task, body["id"])
    assert task.lead_department_id == d.lead_id and task.due_date == date(2026, 12, 31)
    assert session.get(TaskAssist, (task.id, d.assist_id))
    assert session.exec(select(AuditEvent).where(AuditEvent.task_id == task.id, AuditEvent.action == "create")).one()


@pytest.mark.parametrize("who", ["lead_clerk", "leader", "admin"])
def test_only_the_office_creates_tasks(as_, session, d, who):
    assert_error(as_(who).post("/tasks", json={"title": "越权登记"}), 403, "forbidden")
    assert session.exec(select(Task)).first() is None


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": 123}, "title"),
        ({"title": "x", "lead_department_id": "abc"}, "lead_department_id"),
        ({"title": "x", "lead_department_id": 2**40}, "lead_department_id"),
        ({"title": "x", "assisting_department_ids": "1"}, "assisting_department_ids"),
        ({"title": "x", "due_date": "2026-02-30"}, "due_date"),
        ({"title": "x", "urgency": "very"}, "urgency"),
        ({"title": "x", "milestones": [{"title": "节点"}]}, "milestones.0.due_date"),
        ({"title": "x", "colour": "red"}, "colour"),
        ({"title": "x", "lead_department_id": 987654}, "lead_department_id"),  # the service: no such department
    ],
)
def test_create_draft_validation_errors_are_422_with_fields(as_, session, d, payload, field):
    body = assert_error(as_("office").post("/tasks", json=payload), 422, "invalid")
    assert field in body["fields"], body
    assert session.exec(select(Task)).first() is None


@pytest.mark.parametrize(
    "payload, field, label",
    [
        ({"title": "含\u0000字符"}, "title", "标题"),
        (
            {"title": "x", "milestones": [{"title": "节点\u0085", "due_date": "2026-12-01"}]},
            "milestones.0.title",
            "标题",
        ),
        ({"title": "x", "requirement": "第一行\n第二行\u0007"}, "requirement", "工作要求"),
        ('{"title": "\\ud800"}', "title", "标题"),  # a lone surrogate: JSON carries it, no database stores it
    ],
)
def test_control_characters_in_a_body_are_400_naming_the_field(as_, session, d, payload, field, label):
    office = as_("office")
    if isinstance(payload, str):
        headers = {"Authorization": f"Bearer {office.token}"}
        resp = office.client.post(f"{API}/tasks", data=payload, content_type="application/json", headers=headers)
    else:
        resp = office.post("/tasks", json=payload)
    body = assert_error(resp, 400, "bad_input")
    assert body["fields"] == {field: "含有不可见的控制字符"} and body["message"] == f"“{label}”含有不可见的控制字符"
    assert session.exec(select(Task)).first() is None


def test_malformed_and_non_object_bodies(as_, session, d):
    office = as_("office")
    for raw in ('{"title": ', "not json", b"\xff\xfe\x00garbage", "[" * 100000):
        assert_error(
            office.client.post(
                f"{API}/tasks",
                data=raw,
                content_type="application/json",
                headers={"Authorization": f"Bearer {office.token}"},
            ),
            400,
            "malformed_json",
        )
    body = assert_error(office.post("/tasks", json=["title"]), 422, "invalid")
    assert body["fields"] == {"_": "请求体应为 JSON 对象"}
    assert_error(
        office.client.post(
            f"{API}/tasks",
            data="title=x",
            content_type="application/x-www-form-urlencoded",
            headers={"Authorization": f"Bearer {office.token}"},
        ),
        415,
        "unsupported_media_type",
    )
    assert session.exec(select(Task)).first() is None


def test_patch_changes_only_the_given_fields(as_, session, d):
    draft = f.draft(session, d, milestones=[{"title": "节点一", "due_date": date(2026, 12, 5)}])
    session.commit()
    office = as_("office")
    resp = office.patch(f"/tasks/{draft.id}", json={"title": "改名后的事项", "urgency": "extra_urgent"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["title"] == "改名后的事项" and body["urgency"] == "extra_urgent"
    assert body["assisting"] == [{"id": d.assist_id, "name": "区财政局"}]
    assert [m["title"] for m in body["milestones"]] == ["节点一"]
    session.expire_all()
    task = session.get(Task, draft.id)
    assert task.title == "改名后的事项" and task.requirement == "按会议要求完成项目前期手续"
    assert task.due_date == clock.today() + timedelta(days=30)
    resp = office.patch(f"/tasks/{draft.id}", json={"assisting_department_ids": [], "lead_department_id": None})
    assert resp.status_code == 200 and resp.get_json()["assisting"] == [] and resp.get_json()["lead_department"] is None
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "edit_draft")).all()
    body = assert_error(office.patch(f"/tasks/{draft.id}", json={"title": None}), 422, "invalid")
    assert "title" in body["fields"]
    assert_error(office.patch(f"/tasks/{draft.id}", json={"status": "closed"}), 422, "invalid")
    session.expire_all()
    assert session.get(Task, draft.id).status == "draft"


def test_patch_and_delete_respect_status_and_role(as_, session, d):
    assigned = f.task_in(session, d, "assigned")
    draft = f.draft(session, d)
    session.commit()
    assert_error(as_("office").patch(f"/tasks/{assigned.id}", json={"title": "改"}), 409, "illegal_transition")
    assert_error(as_("office").delete(f"/tasks/{assigned.id}"), 409, "illegal_transition")
    assert_error(as_("lead_clerk").patch(f"/tasks/{assigned.id}", json={"title": "改"}), 403, "forbidden")
    assert_error(as_("lead_clerk").delete(f"/tasks/{draft.id}"), 404, "not_found")  # drafts are invisible
    assert_error(as_("office").patch("/tasks/424242", json={"title": "改"}), 404, "not_found")
    assert status_of(session, assigned.id) == "assigned"
    draft_id = draft.id
    resp = as_("office").delete(f"/tasks/{draft_id}")
    assert resp.status_code == 204 and resp.get_data() == b""
    session.expire_all()
    assert session.get(Task, draft_id) is None
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "delete_draft")).one()
    assert_error(as_("office").delete(f"/tasks/{draft_id}"), 404, "not_found")


# --- workflow --------------------------------------------------------------------


def test_the_whole_loop_through_the_api(as_, session, d):
    office, lead, assist, leader = as_("office"), as_("lead_clerk"), as_("assist_clerk"), as_("leader")
    tid = office.post(
        "/tasks",
        json={
            "title": "推进垃圾分类",
            "lead_department_id": d.lead_id,
            "assisting_department_ids": [d.assist_id],
            "leader_ids": [d.leader_id],
            "due_date": "2026-12-31",
            "needs_leader_approval": True,
            "milestones": [{"title": "出台方案", "due_date": "2026-12-01"}],
        },
    ).get_json()["id"]

    assert_error(act(office, tid, "assign"), 422, "invalid")  # needs the leader's approval first
    r = act(office, tid, "submit_for_approval")
    assert r.status_code == 200 and r.get_json()["task"]["status"] == "pending_approval"
    r = act(leader, tid, "leader_reject", reason="要求不明确")
    assert r.status_code == 200 and r.get_json()["task"] is None  # a draft again: the leader no longer sees it
    assert status_of(session, tid) == "draft"
    act(office, tid, "submit_for_approval")
    r = act(leader, tid, "leader_approve", note="同意")
    assert r.get_json()["task"]["status"] == "assigned" and r.get_json()["task"]["status_label"] == "已交办"

    r = act(lead, tid, "acknowledge")
    assert r.status_code == 200 and r.get_json()["task"]["status_label"] == "已签收"
    milestone_id = session.exec(select(Milestone).where(Milestone.task_id == tid)).one().id
    r = act(lead, tid, "report", text="方案已起草", percent=40, milestones_done=[milestone_id])
    assert r.status_code == 200 and r.get_json()["result"]["type"] == "progress_report"
    assert r.get_json()["task"]["status"] == "in_progress"
    assert r.get_json()["task"]["milestones"][0]["done_on"] == "2026-11-23"
    r = act(assist, tid, "report_part", text="资金已安排")
    assert r.status_code == 200 and r.get_json()["task"]["parties"] == ["assist"]

    r = act(lead, tid, "request_extension", new_due_date="2027-01-31", reason="需要上级审批")
    ext_id = r.get_json()["result"]["id"]
    assert r.get_json()["result"] == {
        "type": "extension_request",
        "id": ext_id,
        "status": "pending",
        "new_due_date": "2027-01-31",
        "department_id": d.lead_id,
    }
    r = act(office, tid, "decide_extension", approve=True)
    assert r.status_code == 200 and r.get_json()["task"]["due_date"] == "2027-01-31"
    assert r.get_json()["task"]["original_due_date"] == "2026-12-31"
    assert session.get(ExtensionRequest, ext_id).status == "approved"

    r = act(lead, tid, "request_close", summary="已全部完成")
    assert r.get_json()["task"]["status"] == "pending_review"
    assert_error(act(office, tid, "return"), 422, "invalid")  # a return needs its reason
    r = act(office, tid, "return", note="佐证材料不全")
    assert r.get_json()["task"]["status"] == "in_progress"
    act(lead, tid, "request_close", summary="已补齐材料")
    r = act(office, tid, "approve_close", note="同意办结")
    assert r.get_json()["task"]["status"] == "closed" and r.get_json()["task"]["closed_on"] == "2026-11-23"
    r = act(office, tid, "reopen", reason="复查发现问题")
    assert r.get_json()["task"]["status"] == "in_progress"
    r = act(office, tid, "suspend", reason="等待上级政策")
    assert r.get_json()["task"]["status"] == "suspended"
    r = act(office, tid, "resume")
    assert r.get_json()["task"]["status"] == "in_progress"
    r = act(leader, tid, "remind", message="请加快进度")
    assert r.get_json()["result"]["type"] == "reminder"
    assert_error(act(leader, tid, "remind"), 409, "conflict")  # once a day
    r = act(office, tid, "escalate", reason="进度滞后", level=3)
    assert r.get_json()["result"]["notice_no"] == "督办〔2026〕1号"
    assert session.exec(select(Escalation)).one().level == 3
    r = act(office, tid, "cancel", reason="上级统筹")
    assert r.get_json()["task"]["status"] == "cancelled"
    actions = [e["action"] for e in office.get(f"/tasks/{tid}").get_json()["timeline"]]
    assert actions[:3] == ["create", "submit_for_approval", "leader_reject"] and actions[-1] == "cancel"


def test_reassign_and_change_requests(as_, session, d):
    office, office2, lead, leader = as_("office"), as_("office2"), as_("lead_clerk"), as_("leader")
    t = f.task_in(session, d, "assigned")
    session.commit()
    r = act(lead, t.id, "request_reassign", reason="不属于我单位职责", suggested_department_id=d.other_id)
    assert r.status_code == 200 and r.get_json()["result"]["type"] == "change_request"
    assert_error(act(office, t.id, "decide_reassign", approve=True), 422, "invalid")  # new lead missing
    r = act(office, t.id, "decide_reassign", approve=True, new_lead_department_id=d.other_id)
    assert r.status_code == 200 and r.get_json()["task"]["lead_department"]["id"] == d.other_id
    assert_error(lead.get(f"/tasks/{t.id}"), 404)  # no longer its business
    assert as_("other_clerk").get(f"/tasks/{t.id}").get_json()["status_label"] == "待签收"

    t2 = f.task_in(session, d, "in_progress")
    session.commit()
    r = act(lead, t2.id, "request_change", reason="会议调整", requirement="按新要求办理")
    req_id = r.get_json()["result"]["id"]
    # The requester's own request is not offered to it, and another office user decides it.
    r = act(office2, t2.id, "decide_change", request_id=req_id, approve=False, note="不予调整")
    assert r.status_code == 200 and session.get(ChangeRequest, req_id).status == "rejected"
    r = act(office, t2.id, "request_change", reason="领导要求", title="新的事项名称")
    req2 = r.get_json()["result"]["id"]
    leader_actions = [a["action"] for a in leader.get(f"/tasks/{t2.id}/actions").get_json()["actions"]]
    assert "decide_change" in leader_actions
    assert "decide_change" not in [a["action"] for a in office.get(f"/tasks/{t2.id}/actions").get_json()["actions"]]
    assert_error(act(office, t2.id, "decide_change", approve=True), 403, "forbidden")  # not one's own request
    r = act(leader, t2.id, "decide_change", approve=True)
    assert r.get_json()["task"]["title"] == "新的事项名称"
    session.expire_all()
    assert session.get(ChangeRequest, req2).status == "approved"


def test_decisions_only_touch_requests_of_the_same_task(as_, session, d):
    a = f.task_in(session, d, "assigned", pending=("extension",))
    b = f.task_in(session, d, "assigned")
    session.commit()
    req = session.exec(select(ExtensionRequest).where(ExtensionRequest.task_id == a.id)).one()
    office = as_("office")
    assert_error(act(office, b.id, "decide_extension", request_id=req.id, approve=True), 404, "not_found")
    assert_error(act(office, b.id, "decide_extension", approve=True), 409, "conflict")
    assert_error(act(office, b.id, "decide_reassign", approve=False, note="否"), 409, "conflict")
    # The clerk may not decide: forbidden, whether or not a request is pending.
    assert_error(act(as_("lead_clerk"), a.id, "decide_extension", request_id=req.id, approve=True), 403)
    session.expire_all()
    assert session.get(ExtensionRequest, req.id).status == "pending"
    r = act(office, a.id, "decide_extension", request_id=req.id, approve=False, note="理由不充分")
    assert r.status_code == 200 and r.get_json()["result"]["status"] == "rejected"


def test_transition_errors(as_, session, d):
    t = f.task_in(session, d, "assigned")
    closed = f.task_in(session, d, "closed")
    session.commit()
    office, lead, assist = as_("office"), as_("lead_clerk"), as_("assist_clerk")
    body = assert_error(act(office, t.id, "fly_to_moon"), 422, "unknown_action")
    assert "action" in body["fields"] and "fly_to_moon" in body["fields"]["action"]
    assert_error(office.post(f"/tasks/{t.id}/transitions", json={"reason": "无操作"}), 422, "unknown_action")
    assert_error(act(office, t.id, "edit_draft"), 422, "unknown_action")  # that is PATCH
    body = assert_error(act(office, t.id, "suspend"), 422, "invalid")
    assert body["fields"] == {"reason": "理由必须填写"}
    body = assert_error(act(office, t.id, "suspend", reason="   "), 422, "invalid")
    assert "reason" in body["fields"]  # the service: an empty reason
    assert_error(act(office, t.id, "escalate", reason="慢", level=9), 422, "invalid")
    assert_error(act(lead, t.id, "request_extension", new_due_date="soon", reason="慢"), 422, "invalid")
    assert_error(act(office, t.id, "suspend", reason="x", extra=1), 422, "invalid")
    assert_error(act(office, t.id, "acknowledge"), 403, "forbidden")
    assert_error(act(assist, t.id, "acknowledge"), 403, "forbidden")
    assert_error(act(as_("other_clerk"), t.id, "acknowledge"), 404, "not_found")
    assert_error(act(office, closed.id, "suspend", reason="x"), 409, "illegal_transition")
    assert_error(act(lead, t.id, "report", text="尚未签收就报送"), 409, "illegal_transition")
    body = assert_error(act(office, t.id, "remind", department_id=d.other_id), 422, "invalid")
    assert "department_id" in body["fields"]
    assert_error(act(office, 777777, "remind"), 404, "not_found")
    assert status_of(session, t.id) == "assigned" and status_of(session, closed.id) == "closed"
    assert session.exec(select(Reminder)).first() is None
    # A reminder to an assisting department is fine.
    assert act(office, t.id, "remind", department_id=d.assist_id).status_code == 200


# --- progress reports ------------------------------------------------------------


def test_progress_reports(as_, session, d):
    t = f.task_in(session, d, "acknowledged")
    session.commit()
    lead, assist = as_("lead_clerk"), as_("assist_clerk")
    r = lead.post(
        f"/tasks/{t.id}/progress-reports",
        json={"text": "已完成选址", "percent": 50, "problems": "用地指标紧张", "needs_coordination": True},
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    body = r.get_json()
    assert body["department"] == {"id": d.lead_id, "name": "区发展和改革委员会"} and body["percent"] == 50
    assert body["author_name"] == session.get(User, d.lead_clerk.user_id).display_name
    assert status_of(session, t.id) == "in_progress"
    assert assist.post(f"/tasks/{t.id}/progress-reports", json={"text": "配合完成资金测算"}).status_code == 201
    listed = as_("leader").get(f"/tasks/{t.id}/progress-reports").get_json()["items"]
    assert [i["text"] for i in listed] == ["配合完成资金测算", "已完成选址"]  # newest first
    assert listed[0]["department"]["id"] == d.assist_id
    assert len(session.exec(select(ProgressReport)).all()) == 2
    body = assert_error(lead.post(f"/tasks/{t.id}/progress-reports", json={"text": "x", "percent": 150}), 422)
    assert "percent" in body["fields"]
    assert_error(lead.post(f"/tasks/{t.id}/progress-reports", json={}), 422, "invalid")
    assert_error(as_("office").post(f"/tasks/{t.id}/progress-reports", json={"text": "督查室不报送"}), 403)
    assert_error(as_("other_clerk").post(f"/tasks/{t.id}/progress-reports", json={"text": "x"}), 404)
    assert_error(as_("other_clerk").get(f"/tasks/{t.id}/progress-reports"), 404)
    assert len(session.exec(select(ProgressReport)).all()) == 2


def test_an_assisting_department_reads_only_its_own_part_through_the_api_too(as_, session, d, tmp_path):
    """Horizontal privilege (issue 8): an assisting department reads its own progress reports and
    their files' events, not the lead's, exactly as the task page shows it (``own_part_only``).
    The lead, the office and the leader read everything."""
    import io
    from types import SimpleNamespace

    from tracker.services.ledger import commit as ledger_commit
    from tracker.services.tasks import attachments

    t = f.task_in(session, d, "acknowledged")
    session.commit()
    lead, assist = as_("lead_clerk"), as_("assist_clerk")
    lead_report = lead.post(f"/tasks/{t.id}/progress-reports", json={"text": "牵头单位：已完成选址"}).get_json()
    own_report = assist.post(f"/tasks/{t.id}/progress-reports", json={"text": "协办单位：资金已测算"}).get_json()
    report_of = {r.id: r for r in session.exec(select(ProgressReport).where(ProgressReport.task_id == t.id))}
    lead_file = attachments.store(
        session,
        d.lead_clerk,
        t.id,
        lead_report["id"],
        SimpleNamespace(filename="牵头材料.pdf", stream=io.BytesIO(b"%PDF-1.4 ...")),
        directory=tmp_path,
    )
    own_file = attachments.store(
        session,
        d.assist_clerk,
        t.id,
        own_report["id"],
        SimpleNamespace(filename="协办材料.pdf", stream=io.BytesIO(b"%PDF-1.4 ...")),
        directory=tmp_path,
    )
    imported = ledger_commit.record_imported_progress(session, d.office, t.id, "台账导入：牵头单位三季度进展")
    session.commit()
    assert set(report_of) == {lead_report["id"], own_report["id"]} and imported is not None

    def texts(caller):
        return [i["text"] for i in caller.get(f"/tasks/{t.id}/progress-reports").get_json()["items"]]

    def about(caller):
        events = caller.get(f"/tasks/{t.id}").get_json()["timeline"]
        return {(e["entity"], e["entity_id"]) for e in events if e["entity"] in ("progress_report", "attachment")}

    everything = {
        ("progress_report", lead_report["id"]),
        ("progress_report", own_report["id"]),
        ("progress_report", imported.id),
        ("attachment", lead_file.id),
        ("attachment", own_file.id),
    }
    assert texts(assist) == ["协办单位：资金已测算"]
    assert about(assist) == {("progress_report", own_report["id"]), ("attachment", own_file.id)}
    detail = assist.get(f"/tasks/{t.id}").get_data(as_text=True)
    assert "三季度进展" not in detail and "牵头材料" not in detail  # the imported text rode in its event
    for who in ("lead_clerk", "office", "leader"):
        caller = lead if who == "lead_clerk" else as_(who)
        assert "牵头单位：已完成选址" in texts(caller) and "协办单位：资金已测算" in texts(caller)
        assert about(caller) == everything, who


# --- sources ---------------------------------------------------------------------


def test_sources_list_detail_and_visibility(as_, session, d):
    hidden = f.source(session, title="区长办公会议第5次", kind="mayor_office_meeting")
    f.task_in(session, d, "assigned")  # from the district's source
    f.task_in(
        session,
        d,
        "assigned",
        source_id=hidden.id,
        lead_department_id=d.other_id,
        assisting_department_ids=[],
        leader_ids=[],
    )
    session.commit()
    office = as_("office").get("/sources").get_json()
    assert office["total"] == 2
    assert {i["title"] for i in office["items"]} == {"区政府第12次常务会议", "区长办公会议第5次"}
    clerk = as_("lead_clerk").get("/sources").get_json()
    assert [i["title"] for i in clerk["items"]] == ["区政府第12次常务会议"] and clerk["items"][0]["task_count"] == 1
    assert_error(as_("lead_clerk").get(f"/sources/{hidden.id}"), 404, "not_found")
    detail = as_("other_clerk").get(f"/sources/{hidden.id}").get_json()
    assert detail["kind_label"] == "区长办公会议" and [t["status_label"] for t in detail["tasks"]] == ["待签收"]
    assert as_("admin").get("/sources").get_json()["total"] == 0
    assert [i["title"] for i in as_("office").get("/sources?kind=mayor_office_meeting").get_json()["items"]] == [
        "区长办公会议第5次"
    ]
    assert as_("office").get("/sources?q=常务").get_json()["total"] == 1
    assert_error(as_("office").get("/sources?kind=party"), 422, "invalid")
    assert_error(as_("office").get("/sources/31337"), 404, "not_found")


def test_create_source(as_, session, d):
    r = as_("office").post(
        "/sources",
        json={
            "kind": "leader_instruction",
            "source_date": "2026-11-20",
            "leader_id": d.leader_id,
            "body": "请发改委牵头研究",
            "reference": "批示〔2026〕8号",
        },
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    body = r.get_json()
    assert body["title"] == "吴海涛同志批示" and body["leader"]["id"] == d.leader_id and body["tasks"] == []
    src = session.get(Source, body["id"])
    assert src.body == "请发改委牵头研究" and src.created_by_id == d.office.user_id
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "source_create")).one().entity_id == src.id
    body = assert_error(
        as_("office").post("/sources", json={"kind": "leader_instruction", "source_date": "2026-11-20"}), 422, "invalid"
    )
    assert "leader_id" in body["fields"]
    assert_error(as_("office").post("/sources", json={"kind": "nope", "source_date": "2026-11-20"}), 422)
    assert_error(as_("office").post("/sources", json={"kind": "document"}), 422)
    assert_error(
        as_("lead_clerk").post("/sources", json={"kind": "document", "title": "文件", "source_date": "2026-11-20"}),
        403,
        "forbidden",
    )
    assert len(session.exec(select(Source)).all()) == 2


# --- departments, leaders, documents ----------------------------------------------


@pytest.mark.parametrize("who", ["office", "lead_clerk", "leader", "admin"])
def test_departments_and_leaders_for_everyone(as_, session, d, who):
    caller = as_(who)
    deps = {i["name"]: i for i in caller.get("/departments").get_json()["items"]}
    assert deps["区发展和改革委员会"]["aliases"] == ["区发改委"] and deps["区财政局"]["kind_label"] == "组成部门"
    leaders = {i["name"]: i for i in caller.get("/leaders").get_json()["items"]}
    assert leaders["吴海涛"]["departments"] == [{"id": d.lead_id, "name": "区发展和改革委员会"}]


def test_inactive_departments_only_on_request(as_, session, d):
    from tracker.models import Department

    session.get(Department, d.other_id).active = False
    session.commit()
    office = as_("office")
    assert "区教育局" not in {i["name"] for i in office.get("/departments").get_json()["items"]}
    assert "区教育局" in {i["name"] for i in office.get("/departments?include_inactive=true").get_json()["items"]}


def test_openapi_document_and_docs_page(as_, client, session, d):
    office = as_("office")
    doc = office.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1") and "/tasks/{task_id}/transitions" in doc["paths"]
    page = office.get("/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "swagger-ui-bundle.js" in html and "swagger-init.js" in html
    assert "<script>" not in html  # CSP: no inline scripts
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    for asset in (
        "/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui-5.35.0/swagger-ui.css",
        "/api/v1/static/swagger-init.js",
    ):
        assert client.get(asset, headers={"Authorization": f"Bearer {office.token}"}).status_code == 200, asset
    login(client, username(session, d.office))
    page = client.get(f"{API}/docs").get_data(as_text=True)
    assert 'name="csrf-token" content="' in page and 'content=""' not in page
    assert_error(client.application.test_client().get(f"{API}/docs"), 401)


def test_roles_other_than_office_cannot_write_office_steps(as_, session, d):
    """A parametrised sweep: each office-only step is 403 for every other role that sees the task."""
    t = f.task_in(session, d, "in_progress")
    session.commit()
    steps = [
        ("suspend", {"reason": "x"}),
        ("cancel", {"reason": "x"}),
        ("escalate", {"reason": "x"}),
        ("assign", {}),
        ("approve_close", {}),
        ("reopen", {"reason": "x"}),
    ]
    for who in ("lead_clerk", "assist_clerk", "leader"):
        caller = as_(who)
        for action, params in steps:
            assert_error(act(caller, t.id, action, **params), 403, "forbidden")
    assert status_of(session, t.id) == "in_progress"
    assert session.exec(select(Escalation)).first() is None
