"""A repeated submission answers as the first did and stores nothing new (tracker/http/idempotency.py):
the forms' one-time token, the API's Idempotency-Key, two repeats at the same moment.

The reported case: a progress report POSTed twice at once was stored twice."""

from __future__ import annotations

import re
import threading

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests import factories as f
from tests.webutil import csrf_from, login
from tracker.models import ApiToken, AuditEvent, ProgressReport, Submission, Task, User
from tracker.services import access

TOKEN_RE = re.compile(r'name="submission_token" value="([^"]+)"')


@pytest.fixture
def d(session):
    return f.district(session)


def _form(html: str, action: str) -> dict:
    """The CSRF and submission tokens of the form posting to ``action`` on the page."""
    start = html.index(f'action="{action}"')
    form = html[start : html.index("</form>", start)]
    token = TOKEN_RE.search(form)
    assert token, f"the form to {action} has no submission token"
    return {"csrf_token": csrf_from(html), "submission_token": token.group(1)}


def _clerk(app, session, d):
    client = app.test_client()
    assert login(client, session.get(User, d.lead_clerk.user_id).username).status_code == 302
    return client


def _reports(session, task_id: int) -> int:
    return session.exec(
        select(sa.func.count()).select_from(ProgressReport).where(ProgressReport.task_id == task_id)
    ).one()


def _report_form(client, task_id: int) -> dict:
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    return {**_form(page, f"/tasks/{task_id}/report"), "text": "已完成可研批复", "percent": "40"}


def test_a_form_sent_twice_stores_one_report_and_answers_the_same(app, session, d):
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    client = _clerk(app, session, d)
    form = _report_form(client, task.id)
    first = client.post(f"/tasks/{task.id}/report", data=form)
    again = client.post(f"/tasks/{task.id}/report", data=form)
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"] == f"/tasks/{task.id}"
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert _reports(session, task.id) == 1
    events = session.exec(select(AuditEvent.action).where(AuditEvent.task_id == task.id, AuditEvent.action == "report"))
    assert len(list(events)) == 1  # the repeat audited nothing
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert page.count("进展已报送") == 1  # the message once, not once per click


def test_each_drawing_of_a_form_has_its_own_token(app, session, d):
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    client = _clerk(app, session, d)
    assert _report_form(client, task.id)["submission_token"] != _report_form(client, task.id)["submission_token"]


def test_a_refused_form_leaves_no_token_behind(app, session, d):
    """The view rolls back a refused submission, and the token with it: corrected, the same
    form goes through once."""
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    client = _clerk(app, session, d)
    form = _report_form(client, task.id)
    refused = client.post(f"/tasks/{task.id}/report", data={**form, "percent": "300"})
    assert refused.status_code == 422
    assert session.exec(select(sa.func.count()).select_from(Submission)).one() == 0
    assert client.post(f"/tasks/{task.id}/report", data=form).status_code == 302
    assert client.post(f"/tasks/{task.id}/report", data=form).headers["Idempotent-Replayed"] == "true"
    assert _reports(session, task.id) == 1


def test_a_token_reused_with_other_content_is_refused(app, session, d):
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    client = _clerk(app, session, d)
    form = _report_form(client, task.id)
    assert client.post(f"/tasks/{task.id}/report", data=form).status_code == 302
    other = client.post(f"/tasks/{task.id}/report", data={**form, "text": "另一份进展"})
    assert other.status_code == 422 and "内容与上次不同" in other.get_data(as_text=True)
    assert _reports(session, task.id) == 1
    bad = client.post(f"/tasks/{task.id}/report", data={**form, "submission_token": "短"})
    assert bad.status_code == 400 and _reports(session, task.id) == 1


def test_a_form_without_a_token_is_handled_as_before(app, session, d):
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    client = _clerk(app, session, d)
    form = {k: v for k, v in _report_form(client, task.id).items() if k != "submission_token"}
    for _ in range(2):
        assert client.post(f"/tasks/{task.id}/report", data=form).status_code == 302
    assert _reports(session, task.id) == 2


def test_two_identical_posts_at_the_same_moment_store_one_report(app, session, d):
    """Eight clients (the same login) send the same form at once: one report, eight times the same
    answer. Each request waits for the first to commit (PostgreSQL: the key's unique index;
    SQLite: the write lock), then replays its answer."""
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    client = _clerk(app, session, d)
    form = _report_form(client, task.id)
    cookie = client.get_cookie("session").value
    ready = threading.Barrier(8)
    answers: list = [None] * 8

    def send(i: int) -> None:
        c = app.test_client()
        c.set_cookie("session", cookie)
        ready.wait(timeout=60)
        resp = c.post(f"/tasks/{task.id}/report", data=form)
        answers[i] = (resp.status_code, resp.headers.get("Location"))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert answers == [(302, f"/tasks/{task.id}")] * 8
    assert _reports(session, task.id) == 1


# --- the API's Idempotency-Key ---------------------------------------------------------------------


def _bearer(session, actor) -> dict:
    token = access.issue_token(session, actor, session.get(User, actor.user_id), "测试")
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def _draft(d, title="推进重点项目前期工作") -> dict:
    return {"title": title, "lead_department_id": d.lead_id, "leader_ids": [d.leader_id], "due_date": "2026-12-31"}


def test_an_api_post_with_the_same_key_creates_one_task_and_answers_the_same_json(client, session, d):
    auth = _bearer(session, d.office)
    headers = {**auth, "Idempotency-Key": "create-task-0001"}
    first = client.post("/api/v1/tasks", json=_draft(d), headers=headers)
    again = client.post("/api/v1/tasks", json=dict(reversed(list(_draft(d).items()))), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert session.exec(select(sa.func.count()).select_from(Task)).one() == 1

    other = client.post("/api/v1/tasks", json=_draft(d, "另一件事"), headers=headers)
    assert other.status_code == 422 and other.get_json()["error"] == "submission_reused"
    bad = client.post("/api/v1/tasks", json=_draft(d), headers={**auth, "Idempotency-Key": "键"})
    assert bad.status_code == 400 and bad.get_json()["error"] == "bad_idempotency_key"
    fresh = client.post("/api/v1/tasks", json=_draft(d), headers={**auth, "Idempotency-Key": "create-task-0002"})
    assert fresh.status_code == 201 and fresh.get_json()["id"] != first.get_json()["id"]
    assert session.exec(select(sa.func.count()).select_from(Task)).one() == 2


def test_the_same_key_from_another_user_is_another_request(client, session, d):
    one, two = _bearer(session, d.office), _bearer(session, d.office2)
    for auth in (one, two):
        resp = client.post("/api/v1/tasks", json=_draft(d), headers={**auth, "Idempotency-Key": "same-key-0001"})
        assert resp.status_code == 201 and "Idempotent-Replayed" not in resp.headers
    assert session.exec(select(sa.func.count()).select_from(Task)).one() == 2


def test_a_progress_report_through_the_api_is_stored_once(client, session, d):
    task = f.task_in(session, d, "acknowledged")
    headers = {**_bearer(session, d.lead_clerk), "Idempotency-Key": "report-2026-11-23"}
    url = f"/api/v1/tasks/{task.id}/progress-reports"
    answers = [client.post(url, json={"text": "已完成可研批复", "percent": 40}, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert answers[1].get_json() == answers[2].get_json() == answers[0].get_json()
    assert _reports(session, task.id) == 1


def test_an_api_token_is_shown_once_even_to_a_repeat(app, session, d):
    """The answer holding the token's secret is not stored; a repeat is told the token was issued."""
    client = app.test_client()
    assert login(client, session.get(User, d.office.user_id).username).status_code == 302
    csrf = csrf_from(client.get("/").get_data(as_text=True))
    headers = {"X-CSRFToken": csrf, "Idempotency-Key": "issue-token-0001"}
    first = client.post("/api/v1/tokens", json={"name": "OA 对接"}, headers=headers)
    again = client.post("/api/v1/tokens", json={"name": "OA 对接"}, headers=headers)
    assert first.status_code == 201 and first.get_json()["token"]
    assert again.status_code == 409 and again.get_json()["error"] == "shown_once"
    assert session.exec(select(sa.func.count()).select_from(ApiToken).where(ApiToken.name == "OA 对接")).one() == 1
    stored = session.exec(select(Submission)).one()
    assert first.get_json()["token"] not in stored.body


# --- the forms that create something carry a token ---------------------------------------------------


@pytest.mark.parametrize(
    "who, page, action",
    [
        ("office", "/office/tasks/new", None),  # the form posts to its own page
        ("office", "/office/sources", "/office/sources"),
        ("lead_clerk", "/tasks/{task}", "/tasks/{task}/report"),
        ("lead_clerk", "/tasks/{task}", "/tasks/{task}/extension"),
        ("lead_clerk", "/tasks/{task}", "/tasks/{task}/change"),
        ("office", "/tasks/{task}", "/tasks/{task}/remind"),
        ("office", "/imports/", "/imports/"),
    ],
)
def test_create_forms_carry_a_submission_token(app, session, d, who, page, action):
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    client = app.test_client()
    assert login(client, session.get(User, getattr(d, who).user_id).username).status_code == 302
    html = client.get(page.format(task=task.id)).get_data(as_text=True)
    if action is None:
        assert TOKEN_RE.search(html[html.index('id="task-form"') :])
    else:
        _form(html, action.format(task=task.id))


def test_the_api_document_offers_the_key_on_every_post(client, session, d):
    doc = client.get("/api/v1/openapi.json", headers=_bearer(session, d.office)).get_json()
    posts = [(path, ops["post"]) for path, ops in doc["paths"].items() if "post" in ops]
    assert posts
    for path, op in posts:
        names = [(p["in"], p["name"]) for p in op.get("parameters", [])]
        assert ("header", "Idempotency-Key") in names, path
        assert "409" in op["responses"], path
