"""The audit viewer (/audit): the office and the administrator search every event by person,
department, task, action, time and words, page through it and export it; departments and
leaders are refused; the log is append-only in the model and has no route that writes."""

from __future__ import annotations

import io
from datetime import date, timedelta

import openpyxl
import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests import factories as f
from tests.webutil import login
from tracker import clock
from tracker.models import AuditEvent, User
from tracker.models.office import AppendOnly
from tracker.services import audit
from tracker.services.actors import SYSTEM, Actor
from tracker.services.auditing import search
from tracker.workflow import status_label


def _client(app, session, actor: Actor):
    client = app.test_client()
    resp = login(client, session.get(User, actor.user_id).username)
    assert resp.status_code == 302
    return client


def _ids(resp) -> list[int]:
    import re

    return [int(i) for i in re.findall(r'data-event-id="(\d+)"', resp.get_data(as_text=True))]


def _events(session, **where) -> list[int]:
    stmt = select(AuditEvent.id).order_by(AuditEvent.id.desc())
    for name, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, name) == value)
    return list(session.exec(stmt))


@pytest.fixture
def d(session):
    return f.district(session)


# --- who may read it --------------------------------------------------------------------


@pytest.mark.parametrize("who", ["lead_clerk", "other_clerk", "leader"])
@pytest.mark.parametrize("url", ["/audit/", "/audit/export.xlsx"])
def test_departments_and_leaders_are_refused(app, session, d, who, url):
    client = _client(app, session, getattr(d, who))
    resp = client.get(url)
    assert resp.status_code == 403
    assert "审计日志" not in client.get("/").get_data(as_text=True)  # not in their menu either
    assert _events(session, action="audit_export") == []


@pytest.mark.parametrize("who", ["office", "admin"])
def test_the_office_and_the_administrator_read_it_from_their_menu(app, session, d, who):
    client = _client(app, session, getattr(d, who))
    assert 'href="/audit/"' in client.get("/admin/").get_data(as_text=True)
    assert client.get("/audit/").status_code == 200


def test_anonymous_callers_are_sent_to_log_in(client, d):
    resp = client.get("/audit/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


# --- what it shows --------------------------------------------------------------------------


def test_events_read_in_chinese_with_the_task_and_the_change(app, session, d):
    task = f.task_in(session, d, "in_progress", title="推进老旧小区改造")
    audit.record(session, SYSTEM, "login_failed", entity="user", entity_id=None, note="用户名 someone")
    audit.record(session, d.office, "brand_new_action", entity="gadget", entity_id=7)
    session.commit()
    html = _client(app, session, d.office).get("/audit/").get_data(as_text=True)
    assert "登记立项" in html and "交办" in html and "签收" in html and "报送进展" in html
    assert "登录失败" in html and "用户名 someone" in html
    assert "brand_new_action" in html and "gadget #7" in html  # no label: shown as stored
    assert f'href="/tasks/{task.id}"' in html and task.code in html and "推进老旧小区改造" in html
    # the administrator reads the log but opens no task page: the code, not a link that would 404
    admin_html = _client(app, session, d.admin).get("/audit/").get_data(as_text=True)
    assert task.code in admin_html and f'href="/tasks/{task.id}"' not in admin_html
    # the assignment: 状态 from 草稿 to 已交办, as the office calls them
    assert f'{status_label("draft")}</span> → <span class="text-break">{status_label("assigned")}' in html


def test_department_ids_in_a_change_are_shown_as_names(app, session, d):
    t = f.task_in(session, d, "assigned", pending=("reassign",))
    from tracker.models import ChangeRequest
    from tracker.services.tasks import requests as task_requests

    req = session.exec(select(ChangeRequest).where(ChangeRequest.task_id == t.id)).one()
    task_requests.decide_reassign(session, d.office, req.id, approve=True, new_lead_department_id=d.other_id)
    session.commit()
    html = _client(app, session, d.office).get(f"/audit/?task={t.code}&action=approve_reassign").get_data(as_text=True)
    assert "牵头单位" in html and '区发展和改革委员会</span> → <span class="text-break">区教育局' in html


# --- searching ------------------------------------------------------------------------------


@pytest.fixture
def history(session, d):
    """Events on three days, by the office, two clerks, a leader and the system."""
    with clock.frozen(date(2026, 11, 2)):
        mine = f.task_in(session, d, "assigned", title="区发改委牵头的事项")
    with clock.frozen(date(2026, 11, 10)):
        other = f.task_in(
            session,
            d,
            "assigned",
            title="区教育局牵头的事项",
            lead_department_id=d.other_id,
            assisting_department_ids=[],
        )
        from tracker.services.tasks import lifecycle as tasks

        tasks.acknowledge(session, d.other_clerk, other.id)
    with clock.frozen(date(2026, 11, 20)):
        tasks.acknowledge(session, d.lead_clerk, mine.id)
        audit.record(session, SYSTEM, "remind", entity="task", entity_id=mine.id, task_id=mine.id, note="逾期自动催办")
    session.commit()
    return {"mine": mine, "other": other}


def test_by_person(app, session, d, history):
    client = _client(app, session, d.office)
    assert _ids(client.get(f"/audit/?actor={d.lead_clerk.user_id}")) == _events(session, actor_id=d.lead_clerk.user_id)
    system = _ids(client.get("/audit/?actor=system"))
    assert system and all(session.get(AuditEvent, i).actor_id is None for i in system)


def test_by_department_the_actors_or_the_tasks(app, session, d, history):
    got = set(_ids(_client(app, session, d.office).get(f"/audit/?department_id={d.other_id}")))
    # what the 区教育局's clerk did, and what anyone did to the task it leads; nothing of 区发改委's task
    expected = set(_events(session, task_id=history["other"].id)) | set(
        _events(session, actor_id=d.other_clerk.user_id)
    )
    assert got == expected and not got & set(_events(session, task_id=history["mine"].id))


def test_by_task_code_or_id_and_by_action(app, session, d, history):
    client = _client(app, session, d.office)
    mine = history["mine"]
    assert _ids(client.get(f"/audit/?task={mine.code}")) == _events(session, task_id=mine.id)
    assert _ids(client.get(f"/audit/?task={mine.code.lower()}")) == _events(session, task_id=mine.id)
    assert _ids(client.get(f"/audit/?task={mine.id}")) == _events(session, task_id=mine.id)
    assert _ids(client.get("/audit/?task=DB-1999-9999")) == []
    assert _ids(client.get("/audit/?action=acknowledge")) == _events(session, action="acknowledge")
    assert len(_events(session, action="acknowledge")) == 2


def test_by_time_range_in_china_days_and_by_words(app, session, d, history):
    client = _client(app, session, d.office)
    on_10th = _ids(client.get("/audit/?date_from=2026-11-10&date_to=2026-11-10"))
    assert on_10th and all(clock.local_date(session.get(AuditEvent, i).at) == date(2026, 11, 10) for i in on_10th)
    since_15th = _ids(client.get("/audit/?date_from=2026-11-15"))
    every = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).all()
    assert since_15th == [e.id for e in every if clock.local_date(e.at) >= date(2026, 11, 15)]
    assert {"acknowledge", "remind"} <= {session.get(AuditEvent, i).action for i in since_15th}
    assert not set(on_10th) & set(since_15th)
    assert _ids(client.get("/audit/?q=自动催办")) == _events(session, action="remind")


@pytest.mark.parametrize(
    "query", ["date_from=9999-12-31", "date_to=0001-01-01", "date_from=2026-13-01", "date_to=明天"]
)
def test_a_date_that_is_no_date_is_a_400_in_chinese(app, session, d, query):
    resp = _client(app, session, d.office).get(f"/audit/?{query}")
    assert resp.status_code == 400
    assert "日期" in resp.get_data(as_text=True)


def test_pages_are_keyset_pages_without_gaps_or_repeats(app, session, d):
    for i in range(120):
        audit.record(session, d.office, "remind", entity="task", entity_id=i, note=f"第{i}次")
    session.commit()
    client = _client(app, session, d.office)
    everything = _events(session, action="remind")
    seen, url, pages = [], "/audit/?action=remind", []
    while url:
        resp = client.get(url)
        ids = _ids(resp)
        pages.append(ids)
        seen += ids
        html = resp.get_data(as_text=True)
        older = search.page(session, search.AuditFilter(action="remind"), before=ids[-1]).rows
        url = f"/audit/?before={ids[-1]}&action=remind" if older and 'id="audit-older"' in html else None
    assert [len(p) for p in pages] == [50, 50, 20]
    assert seen == everything
    # back from the last page to the one before: exactly the middle page
    back = client.get(f"/audit/?after={pages[2][0]}&action=remind")
    assert _ids(back) == pages[1] and 'id="audit-newer"' in back.get_data(as_text=True)


def test_a_page_starts_at_an_id(session, d):
    for i in range(5):
        audit.record(session, d.office, "remind", entity="task", entity_id=i)
    session.commit()
    from tests.webutil import statements_on

    with statements_on(session.get_bind()) as seen:
        search.page(session, search.AuditFilter(action="remind"), before=10**6, size=2)
    main = [s for s in seen if "from auditevent" in s and "order by auditevent.id desc" in s]
    assert main and all("auditevent.id <" in s for s in main)  # the page starts at an id, not at a row count


# --- the export -------------------------------------------------------------------------------


def test_export_has_the_filtered_events_and_is_itself_audited(app, session, d, history):
    audit.record(session, d.office, "remind", entity="task", entity_id=1, note='=HYPERLINK("http://x")')
    session.commit()
    client = _client(app, session, d.office)
    resp = client.get("/audit/export.xlsx?action=remind")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    ws = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    expected = _events(session, action="remind")
    assert [r[-1] for r in rows] == expected
    assert "操作：催办" in ws["A1"].value and {r[3] for r in rows} == {"催办"}
    formula = next(c for c in ws["I"] if c.value and str(c.value).startswith("=HYPERLINK"))
    assert formula.data_type == "s"  # written as text, never run
    exported = session.exec(select(AuditEvent).where(AuditEvent.action == "audit_export")).one()
    assert exported.actor_id == d.office.user_id and exported.entity == "audit"
    assert exported.after == {"filters": {"action": "remind"}, "rows": len(expected)}
    assert exported.note == "操作：催办"
    # and it shows in the viewer as what it is
    assert "导出审计日志" in client.get("/audit/?action=audit_export").get_data(as_text=True)


# --- append-only ------------------------------------------------------------------------------


def test_an_event_cannot_be_changed_or_deleted_through_the_model(session, d):
    event = audit.record(session, d.office, "remind", entity="task", entity_id=1, note="原文")
    session.commit()
    event.note = "改过的"
    with pytest.raises(AppendOnly):
        session.flush()
    session.rollback()
    session.delete(session.get(AuditEvent, event.id))
    with pytest.raises(AppendOnly):
        session.flush()
    session.rollback()
    for stmt in (
        sa.update(AuditEvent).where(AuditEvent.id == event.id).values(note="x"),
        sa.delete(AuditEvent).where(AuditEvent.id == event.id),
    ):
        with pytest.raises(AppendOnly):
            session.execute(stmt)
        session.rollback()
    assert session.get(AuditEvent, event.id).note == "原文"


def test_no_route_of_the_viewer_writes_and_the_service_offers_no_change(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("audit.")]
    assert {r.endpoint for r in rules} == {"audit.index", "audit.export"}
    assert all(r.methods <= {"GET", "HEAD", "OPTIONS"} for r in rules)
    public = {n for n in dir(audit) if not n.startswith("_") and callable(getattr(audit, n))}
    assert not {n for n in public if any(w in n for w in ("update", "delete", "edit", "remove", "change"))}
    assert not [r for r in app.url_map.iter_rules() if "audit" in r.rule and r.methods - {"GET", "HEAD", "OPTIONS"}]


def test_a_day_old_event_is_still_there_after_the_export(app, session, d):
    with clock.frozen(clock.today() - timedelta(days=1)):
        audit.record(session, d.office, "remind", entity="task", entity_id=1)
    session.commit()
    before = _events(session)
    _client(app, session, d.office).get("/audit/export.xlsx")
    after = _events(session)  # newest first: the login and the export, then every earlier one unchanged
    assert after[2:] == before and len(after) == len(before) + 2


def test_the_export_reads_block_by_block_to_its_limit(session, d):
    for i in range(10):
        audit.record(session, d.office, "remind", entity="task", entity_id=i)
    session.commit()
    f_ = search.AuditFilter(action="remind")
    every = _events(session, action="remind")
    assert [r.event.id for r in search.export_rows(session, f_, block=3)] == every
    assert [r.event.id for r in search.export_rows(session, f_, limit=7, block=3)] == every[:7]
