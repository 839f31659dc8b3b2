"""Hostile input: stored XSS through user-written fields (pages escape, Excel writes no formulas),
SQL injection through every filter and sort parameter (no 500, no extra rows, nothing dropped),
and horizontal escalation between departments on every task-bound route.

Covered elsewhere and not repeated here: disguised, oversized and badly named uploads
(tests/test_tasks_attachments.py), zip bombs and formula cells on import (tests/test_import_safety.py),
the full role × route matrix with real requests (tests/test_permission_matrix.py).
"""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests import factories as f
from tests.webutil import login
from tracker.models import Notification, Task, User
from tracker.services import access
from tracker.services.actors import SYSTEM, Actor
from tracker.services.organisation import directory as organisation
from tracker.services.tasks import lifecycle as tasks

XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
SHORT = "<script>alert(2)</script>"
RAW_MARKERS = ("<script>alert", "<img src=x onerror", "<imgsrc=x")


@pytest.fixture
def hostile(app, session):
    """A district where every user-written text carries a script."""
    d = f.district(session)
    dep_b = organisation.create_department(session, SYSTEM, "区卫健委" + XSS)
    organisation.create_leader(session, SYSTEM, "王" + SHORT, "副区长" + SHORT)  # name: 40 characters at most
    src = f.source(session, title="区政府常务会议" + XSS)
    t = f.task_in(session, d, "in_progress", title="事项" + XSS, requirement="要求" + XSS)
    t.source_id = src.id
    tasks.report_progress(
        session,
        d.lead_clerk,
        t.id,
        {"text": "进展" + XSS, "percent": 40, "problems": "问题" + XSS, "next_steps": "下一步" + XSS},
    )
    formula = f.task_in(
        session, d, "in_progress", title='=HYPERLINK("http://127.0.0.1/","点我")', requirement="@SUM(1+1)"
    )
    # the 卫健委 leads a task, so the weekly schedule and last week's bulletin name it
    f.task_in(
        session, d, "assigned", title="卫健事项" + SHORT, lead_department_id=dep_b.id, assisting_department_ids=[]
    )
    from tracker.services.figures.bulletins import generate_bulletin
    from tracker.services.scheduling.weekly import generate_week

    generate_week(session, f.clock.today())
    bulletin = generate_bulletin(session, "week")
    for actor in (d.office, d.lead_clerk):
        session.add(
            Notification(
                user_id=actor.user_id, kind="system", day=f.clock.today(), title="消息" + XSS, body="正文" + XSS
            )
        )
    usernames = {}
    for key, actor in (
        ("office", d.office),
        ("clerk", d.lead_clerk),
        ("leader", d.leader),
        ("admin", d.admin),
        ("other", d.other_clerk),
    ):
        usernames[key] = session.get(User, actor.user_id).username
    session.commit()
    return {
        "d": d,
        "task": t,
        "formula": formula,
        "source": src,
        "dep_b": dep_b,
        "users": usernames,
        "bulletin": bulletin,
    }


def _pages(h) -> dict[str, list[str]]:
    t = h["task"].id
    return {
        "office": [
            "/office/tasks",
            f"/tasks/{t}",
            f"/office/sources/{h['source'].id}",
            "/office/sources",
            "/office/review",
            "/notifications/",
            "/office/schedule/",
            f"/office/tasks/{t}/escalate",
            "/admin/departments",
            "/admin/leaders",
            "/bulletins/",
            f"/bulletins/{h['bulletin'].id}",
        ],
        "clerk": ["/dept/", "/dept/tasks", f"/tasks/{t}", "/notifications/"],
        "leader": ["/leader/", f"/tasks/{t}"],
        "admin": ["/admin/departments", "/admin/leaders", "/admin/users"],
    }


def test_every_user_written_field_is_escaped_in_pages(app, hostile):
    seen_escaped = 0
    for role, urls in _pages(hostile).items():
        client = app.test_client()
        assert login(client, hostile["users"][role]).status_code == 302
        for url in urls:
            resp = client.get(url, follow_redirects=True)
            assert resp.status_code == 200, (role, url)
            html = resp.get_data(as_text=True)
            for marker in RAW_MARKERS:
                assert marker not in html, (role, url, marker)
            seen_escaped += html.count("&lt;script&gt;alert(")
    assert seen_escaped >= 20  # the payloads were really on the pages, escaped


def test_the_api_returns_the_text_as_data(app, session, hostile):
    office = session.exec(select(User).where(User.username == hostile["users"]["office"])).one()
    token = access.issue_token(session, SYSTEM, office, "xss")
    session.commit()
    resp = app.test_client().get(f"/api/v1/tasks/{hostile['task'].id}", headers={"Authorization": f"Bearer {token}"})
    assert resp.mimetype == "application/json" and resp.get_json()["title"] == "事项" + XSS
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_excel_exports_hold_no_formula(app, hostile):
    client = app.test_client()
    login(client, hostile["users"]["office"])
    resp = client.get("/office/tasks/export")
    assert resp.status_code == 200
    books = [openpyxl.load_workbook(io.BytesIO(resp.data))]
    for url in (f"/bulletins/{hostile['bulletin'].id}/export", "/office/schedule/export"):
        other = client.get(url, follow_redirects=True)
        if other.mimetype.startswith("application/vnd"):
            books.append(openpyxl.load_workbook(io.BytesIO(other.data)))
    assert len(books) >= 2
    texts = []
    for ws in (ws for wb in books for ws in wb.worksheets):
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
    assert '=HYPERLINK("http://127.0.0.1/","点我")' in texts  # kept as text, not run
    assert any(XSS in t for t in texts)


def test_dash_components_render_text_not_html():
    """Dash/React escape text; only an explicit opt-in renders HTML. The board never opts in."""
    source = "\n".join(p.read_text("utf-8") for p in Path("dashboard").glob("*.py"))
    for opt_in in ("dangerously_allow_html", "DangerouslySetInnerHTML", "dangerouslySetInnerHTML"):
        assert opt_in not in source
    assert '"html": True' not in source and "'html': True" not in source


# --- SQL injection -----------------------------------------------------------------------

INJECTIONS = [
    "' OR '1'='1",
    "1; DROP TABLE task; --",
    "1) UNION SELECT password_hash FROM app_user --",
    "%' OR '%'='",
    "-due,(SELECT 1)",
    "9999999999999999999",
    "²",
    "\\_%",
]
PARAMS = [
    "status",
    "light",
    "overdue",
    "due_soon",
    "department_id",
    "lead_department_id",
    "leader_id",
    "source_id",
    "source_kind",
    "urgency",
    "due_from",
    "due_to",
    "closed_from",
    "closed_to",
    "closed_late",
    "q",
    "text",
    "sort",
    "page",
    "per_page",
]


def _titles(html: str, titles: list[str]) -> set[str]:
    return {t for t in titles if t in html}


def test_filters_and_sorts_resist_injection(app, session, hostile):
    all_titles = [t.title for t in session.exec(select(Task))]
    other = app.test_client()
    login(other, hostile["users"]["other"])
    office = app.test_client()
    login(office, hostile["users"]["office"])
    other_user = session.exec(select(User).where(User.username == hostile["users"]["other"])).one()
    token = access.issue_token(session, Actor.of(other_user), other_user, "inj")
    session.commit()
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    tasks_before = session.scalar(select(sa.func.count()).select_from(Task))
    deps = [row["name"] for row in api.get("/api/v1/departments", headers=bearer).get_json()["items"]]
    failures = []
    for param in PARAMS:
        for value in INJECTIONS:
            for client, url, headers in (
                (office, "/office/tasks", {}),
                (office, "/office/tasks/export", {}),
                (other, "/dept/tasks", {}),
                (api, "/api/v1/tasks", bearer),
                (api, "/api/v1/departments", bearer),
                (api, "/api/v1/leaders", bearer),
                (office, "/admin/departments", {}),
                (office, "/office/sources", {}),
            ):
                resp = client.get(url, query_string={param: value}, headers=headers)
                if resp.status_code >= 500:
                    failures.append((url, param, value, resp.status_code))
                    continue
                if url == "/dept/tasks" or url == "/api/v1/tasks":
                    # the other department sees none of the lead department's tasks, whatever it sends
                    seen = _titles(resp.get_data(as_text=True), all_titles)
                    if seen:
                        failures.append((url, param, value, seen))
                if url == "/api/v1/departments" and resp.status_code == 200:
                    got = [row["name"] for row in resp.get_json()["items"]]
                    if len(got) > len(deps):
                        failures.append((url, param, value, "extra rows"))
    assert failures == []
    session.expire_all()
    assert session.scalar(select(sa.func.count()).select_from(Task)) == tasks_before
    assert session.scalar(select(sa.func.count()).select_from(User)) >= 8


# --- horizontal escalation ------------------------------------------------------------------

BOUND_ARGS = {"task_id", "attachment_id", "request_id", "req_id", "escalation_id"}


def test_the_permission_matrix_refuses_the_other_department_every_task_bound_route(app):
    """Every route bound to a task (or its attachment, request, escalation) is in the matrix, and a clerk
    of another department is refused there: test_permission_matrix makes the real requests."""
    from tests.test_permission_matrix import EXPECTED, SKIPPED, _routes

    bound = sorted(
        endpoint
        for endpoint, rule in _routes(app).items()
        if endpoint not in SKIPPED and BOUND_ARGS & set(rule.arguments)
    )
    assert len(bound) >= 30
    allowed = {e: EXPECTED[e]["other_clerk"] for e in bound if EXPECTED[e]["other_clerk"] != "denied"}
    assert allowed == {}


def test_another_departments_clerk_gets_nothing_of_a_task(app, session, hostile):
    """The direct check, for each task-bound GET and the attachment download."""
    t = hostile["task"]
    client = app.test_client()
    login(client, hostile["users"]["other"])
    for url in (
        f"/tasks/{t.id}",
        f"/office/tasks/{t.id}/edit",
        f"/office/tasks/{t.id}/escalate",
        f"/api/v1/tasks/{t.id}",
        f"/api/v1/tasks/{t.id}/reports",
        f"/api/v1/tasks/{t.id}/history",
    ):
        resp = client.get(url, headers={"Accept": "application/json"} if "/api/" in url else {})
        assert resp.status_code in (403, 404), url
        assert "事项&lt;script" not in resp.get_data(as_text=True) and t.title not in resp.get_data(as_text=True)
