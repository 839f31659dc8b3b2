"""The task page and every workflow action through HTTP: login, CSRF, flash, database, audit."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from sqlmodel import func, select

from tests import factories as f
from tests.webutil import login, post
from tracker.models import (
    Attachment,
    AuditEvent,
    ChangeRequest,
    CloseRequest,
    Escalation,
    ExtensionRequest,
    Milestone,
    ProgressReport,
    Reminder,
    RequestStatus,
    Task,
    User,
)
from tracker.services.chasing import by_hand as task_chasing
from tracker.services.tasks import attachments
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks import requests as task_requests

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64


@pytest.fixture
def d(session):
    return f.district(session)


def client_for(app, session, actor):
    """A fresh browser session logged in as ``actor``."""
    c = app.test_client()
    username = session.get(User, actor.user_id).username
    assert login(c, username).status_code == 302
    return c


def body(resp) -> str:
    return resp.get_data(as_text=True)


def fresh(session, task_id: int) -> Task:
    session.expire_all()
    return session.get(Task, task_id)


def audit_count(session, task_id: int) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.task_id == task_id))


def last_event(session, task_id: int) -> AuditEvent:
    session.expire_all()
    return session.exec(select(AuditEvent).where(AuditEvent.task_id == task_id).order_by(AuditEvent.id.desc())).first()


def act(c, task_id: int, path: str, data: dict | None = None, **kw):
    """POST a task action with the CSRF token of the task page, like the browser does."""
    return post(c, f"/tasks/{task_id}/{path}", data, token_from=f"/tasks/{task_id}", **kw)


def flashed(c, resp) -> str:
    assert resp.status_code == 302, body(resp)
    return body(c.get(resp.headers["Location"]))


def upload_dir(app):
    from pathlib import Path

    return Path(app.instance_path) / "uploads"


def stored_files(app) -> list:
    folder = upload_dir(app)
    return sorted(folder.iterdir()) if folder.exists() else []


# --- the page ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, status_word",
    [
        ("office", "已交办"),
        ("lead_clerk", "待签收"),
        ("assist_clerk", "待签收"),
        ("leader", "已交办"),
    ],
)
def test_each_party_sees_the_status_in_its_own_words(app, session, d, who, status_word):
    task = f.task_in(session, d, "assigned")
    session.commit()
    page = client_for(app, session, getattr(d, who)).get(f"/tasks/{task.id}")
    html = body(page)
    assert page.status_code == 200
    assert f'data-status="assigned">{status_word}<' in html
    assert task.code in html and "区发展和改革委员会" in html and "区财政局" in html and "吴海涛" in html


@pytest.mark.parametrize("who", ["other_clerk", "other_leader", "admin"])
def test_a_task_outside_ones_scope_is_not_found(app, session, d, who):
    task = f.task_in(session, d, "in_progress")
    session.commit()
    c = client_for(app, session, getattr(d, who))
    resp = c.get(f"/tasks/{task.id}")
    assert resp.status_code == 404 and task.title not in body(resp)
    assert c.get("/tasks/999999").status_code == 404


def test_departments_never_see_drafts_but_the_leader_sees_what_awaits_approval(app, session, d):
    draft = f.task_in(session, d, "draft")
    pending = f.task_in(session, d, "pending_approval")
    session.commit()
    lead = client_for(app, session, d.lead_clerk)
    assert lead.get(f"/tasks/{draft.id}").status_code == 404
    assert lead.get(f"/tasks/{pending.id}").status_code == 404
    leader = client_for(app, session, d.leader)
    assert leader.get(f"/tasks/{draft.id}").status_code == 404
    office = body(client_for(app, session, d.office).get(f"/tasks/{draft.id}"))
    assert "本事项尚未交办" in office and 'data-status="draft">草稿<' in office
    if "office.edit_task" in app.view_functions:
        assert f'href="/office/tasks/{draft.id}/edit"' in office
    page = leader.get(f"/tasks/{pending.id}")
    assert page.status_code == 200 and "待我审核" in body(page) and "审核同意并交办" in body(page)


def test_header_shows_extension_and_working_days_overdue(app, session, d):
    with f.on(date(2026, 11, 2)):
        late = f.task_in(session, d, "in_progress", title="逾期事项", due_date=date(2026, 11, 16))
        extended = f.task_in(session, d, "in_progress", title="延期事项", due_date=date(2026, 11, 20))
        req = task_requests.request_extension(session, d.lead_clerk, extended.id, date(2026, 12, 31), "资金未到位")
        task_requests.decide_extension(session, d.office, req.id, approve=True)
    session.commit()
    c = client_for(app, session, d.office)
    html = body(c.get(f"/tasks/{late.id}"))
    # 16th (Mon) due, 23rd (Mon) today: five working days late, from calendarday, not weekday maths.
    assert "已逾期 5 个工作日" in html and "badge-light-red" in html
    html = body(c.get(f"/tasks/{extended.id}"))
    assert '<span id="due-date">2026-12-31</span>' in html and "原时限 2026-11-20" in html
    assert "已逾期" not in html
    assert "同意延期" in html and "2026-11-20 → 2026-12-31" in html  # the timeline, in Chinese


def test_timeline_tells_the_whole_history_in_chinese(app, session, d):
    task = f.task_in(session, d, "acknowledged")
    tasks.report_progress(session, d.assist_clerk, task.id, {"text": "协办部分：资金已拨付"})
    tasks.report_progress(
        session, d.lead_clerk, task.id, {"text": "牵头：完成招标", "percent": 60, "problems": "征地未完成"}
    )
    task_chasing.remind(session, d.office, task.id, "请加快进度")
    task_chasing.escalate(session, d.office, task.id, "进度滞后")
    task_requests.request_close(session, d.lead_clerk, task.id, "已完成全部工作")
    task_requests.review_close(session, d.office, task.id, approve=False, note="缺少验收材料")
    session.commit()
    html = body(client_for(app, session, d.office).get(f"/tasks/{task.id}"))
    timeline = html[html.index('id="timeline"') :]
    for words in (
        "登记立项",
        "交办",
        "签收",
        "报送协办进展",
        "报送进展",
        "催办",
        "督办",
        "督办〔2026〕1号",
        "申请办结",
        "审核退回",
        "缺少验收材料",
        "协办部分：资金已拨付",
        "牵头：完成招标",
        "征地未完成",
        "已签收 → 办理中",
    ):
        assert words in timeline, words
    order = [
        timeline.index(w)
        for w in (
            'data-action="create"',
            'data-action="assign"',
            'data-action="acknowledge"',
            'data-action="report"',
            'data-action="remind"',
            'data-action="return"',
        )
    ]
    assert order == sorted(order)
    latest = html[html.index('id="latest-reports"') : html.index('id="timeline"')]
    assert "牵头：完成招标" in latest and "协办部分：资金已拨付" in latest and "60%" in latest
    assert "办结申请已被退回" in html
    esc = session.exec(select(Escalation)).one()
    if "office.notice" in app.view_functions:  # the printable 督办通知单, when the office pages have it
        assert f'href="/office/escalations/{esc.id}/notice"' in timeline


def test_a_long_history_shows_its_newest_entries_and_links_to_the_rest(app, session, d):
    """A task reported on for years would render every entry on every visit (issue 8: 343 KB for 420
    reports); the page shows the newest ``TIMELINE_SHOWN`` and links to the whole history."""
    from tracker.web.tasks import TIMELINE_SHOWN

    task = f.task_in(session, d, "acknowledged")  # create, assign, acknowledge
    for i in range(TIMELINE_SHOWN + 2):
        tasks.report_progress(session, d.lead_clerk, task.id, {"text": f"第{i:03d}次进展"})
    session.commit()
    total = 3 + TIMELINE_SHOWN + 2
    client = client_for(app, session, d.lead_clerk)
    html = body(client.get(f"/tasks/{task.id}"))
    timeline = html[html.index('id="timeline"') :]
    assert timeline.count("<li data-action=") == TIMELINE_SHOWN
    assert f"第{TIMELINE_SHOWN + 1:03d}次进展" in timeline and "第000次进展" not in timeline  # the newest kept
    assert 'data-action="create"' not in timeline
    assert f"较早的 {total - TIMELINE_SHOWN} 条未显示" in timeline
    assert f'href="/tasks/{task.id}?history=all#timeline">显示全部 {total} 条</a>' in timeline
    everything = body(client.get(f"/tasks/{task.id}?history=all"))
    rest = everything[everything.index('id="timeline"') :]
    assert rest.count("<li data-action=") == total and "第000次进展" in rest and 'id="timeline-more"' not in rest


def test_a_short_history_has_no_link(app, session, d):
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    html = body(client_for(app, session, d.lead_clerk).get(f"/tasks/{task.id}"))
    assert 'id="timeline-more"' not in html and html.count("<li data-action=") == 3


def test_the_ui_offers_only_what_the_workflow_allows(app, session, d):
    task = f.task_in(session, d, "assigned")
    session.commit()
    url = f"/tasks/{task.id}"
    lead = body(client_for(app, session, d.lead_clerk).get(url))
    assert f'action="/tasks/{task.id}/acknowledge"' in lead
    assert f'action="/tasks/{task.id}/reassign"' in lead
    assert f'action="/tasks/{task.id}/review"' not in lead and f'action="/tasks/{task.id}/report"' not in lead
    assist = body(client_for(app, session, d.assist_clerk).get(url))
    assert f'action="/tasks/{task.id}/acknowledge"' not in assist
    assert f'action="/tasks/{task.id}/report"' in assist and "报送协办进展" in assist
    assert f'action="/tasks/{task.id}/close"' not in assist
    office = body(client_for(app, session, d.office).get(url))
    for path in ("remind", "escalate", "suspend", "cancel", "change"):
        assert f'action="/tasks/{task.id}/{path}"' in office, path
    assert f'action="/tasks/{task.id}/acknowledge"' not in office
    leader = body(client_for(app, session, d.leader).get(url))
    assert f'action="/tasks/{task.id}/remind"' in leader
    assert f'action="/tasks/{task.id}/escalate"' not in leader and f'action="/tasks/{task.id}/suspend"' not in leader


# --- department actions --------------------------------------------------------------


def test_acknowledge(app, session, d):
    task = f.task_in(session, d, "assigned")
    session.commit()
    c = client_for(app, session, d.lead_clerk)
    resp = act(c, task.id, "acknowledge")
    assert resp.headers["Location"].endswith(f"/tasks/{task.id}")
    assert "已签收" in flashed(c, resp)
    assert fresh(session, task.id).status == "acknowledged"
    event = last_event(session, task.id)
    assert (event.action, event.actor_id) == ("acknowledge", d.lead_clerk.user_id)


def test_assisting_clerk_cannot_acknowledge_or_ask_to_close(app, session, d):
    task = f.task_in(session, d, "assigned")
    session.commit()
    before = audit_count(session, task.id)
    c = client_for(app, session, d.assist_clerk)
    resp = act(c, task.id, "acknowledge")
    assert resp.status_code == 403 and "无权" in body(resp) and task.title in body(resp)
    tasks.acknowledge(session, d.lead_clerk, task.id)
    session.commit()
    resp = act(c, task.id, "close", {"summary": "都做完了"})
    assert resp.status_code == 403 and "无权" in body(resp)
    assert fresh(session, task.id).status == "acknowledged"
    assert audit_count(session, task.id) == before + 1  # only the lead's acknowledgement
    assert session.scalar(select(func.count()).select_from(CloseRequest)) == 0


def test_report_progress_requires_only_the_text(app, session, d):
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    c = client_for(app, session, d.lead_clerk)
    bad = act(c, task.id, "report", {"text": "  ", "percent": "50", "problems": "缺资金"})
    html = body(bad)
    assert bad.status_code == 422 and "请填写进展情况" in html
    assert "缺资金" in html  # what was typed stays in the form
    assert session.scalar(select(func.count()).select_from(ProgressReport)) == 0
    ok = act(c, task.id, "report", {"text": "已完成可研批复"})
    assert "进展已报送" in flashed(c, ok)
    rep = session.exec(select(ProgressReport)).one()
    assert (rep.text, rep.percent, rep.problems, rep.department_id) == ("已完成可研批复", None, "", d.lead_id)
    assert fresh(session, task.id).status == "in_progress"
    assert last_event(session, task.id).action == "report"


def test_bad_percent_is_a_field_error(app, session, d):
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    c = client_for(app, session, d.lead_clerk)
    resp = act(c, task.id, "report", {"text": "进展", "percent": "150"})
    assert resp.status_code == 422 and "完成进度应为 0–100" in body(resp)
    assert session.scalar(select(func.count()).select_from(ProgressReport)) == 0


def test_report_form_is_prefilled_from_the_previous_report(app, session, d):
    task = f.task_in(session, d, "in_progress", milestones=[{"title": "完成立项", "due_date": date(2026, 12, 1)}])
    tasks.report_progress(
        session,
        d.lead_clerk,
        task.id,
        {
            "text": "上周：完成选址",
            "percent": 40,
            "problems": "用地指标不足",
            "next_steps": "报批",
            "needs_coordination": True,
        },
    )
    tasks.report_progress(session, d.assist_clerk, task.id, {"text": "财政资金已落实", "percent": 100})
    session.commit()
    html = body(client_for(app, session, d.lead_clerk).get(f"/tasks/{task.id}"))
    form = html[html.index('id="report"') :]
    assert ">上周：完成选址</textarea>" in form and 'value="40"' in form and ">用地指标不足</textarea>" in form
    assert 'id="report-coord" name="needs_coordination" value="1" checked' in form
    assert "完成立项" in form  # the lead may tick milestones off
    assert "财政资金已落实" in form  # the assisting department's latest report beside the form
    assert "required" not in form[form.index('name="files"') - 200 : form.index('name="files"') + 200]


def test_assisting_department_sees_and_reports_only_its_part(app, session, d):
    task = f.task_in(session, d, "in_progress", milestones=[{"title": "完成立项", "due_date": date(2026, 12, 1)}])
    tasks.report_progress(session, d.lead_clerk, task.id, {"text": "牵头单位的内部进展", "percent": 40})
    tasks.report_progress(session, d.assist_clerk, task.id, {"text": "我方协办情况"})
    session.commit()
    c = client_for(app, session, d.assist_clerk)
    html = body(c.get(f"/tasks/{task.id}"))
    assert "牵头单位的内部进展" not in html
    assert ">我方协办情况</textarea>" in html and 'name="milestones_done"' not in html
    resp = act(c, task.id, "report", {"text": "协办：已完成资金审核", "milestones_done": ""})
    assert "进展已报送" in flashed(c, resp)
    rep = session.exec(select(ProgressReport).order_by(ProgressReport.id.desc())).first()
    assert (rep.department_id, rep.text) == (d.assist_id, "协办：已完成资金审核")
    assert last_event(session, task.id).action == "report_part"
    assert fresh(session, task.id).status == "in_progress"


def test_report_with_files_and_milestones(app, session, d):
    task = f.task_in(session, d, "acknowledged", milestones=[{"title": "完成立项", "due_date": date(2026, 12, 1)}])
    session.commit()
    ms = session.exec(select(Milestone)).one()
    c = client_for(app, session, d.lead_clerk)
    resp = act(
        c,
        task.id,
        "report",
        {
            "text": "立项完成",
            "percent": "30",
            "next_steps": "开展招标",
            "needs_coordination": "1",
            "milestones_done": str(ms.id),
            "files": [(io.BytesIO(PDF), "../../立项批复.pdf"), (io.BytesIO(PNG), "现场照片.png")],
        },
        content_type="multipart/form-data",
    )
    assert "附件 2 个" in flashed(c, resp)
    rep = session.exec(select(ProgressReport)).one()
    assert (rep.percent, rep.next_steps, rep.needs_coordination) == (30, "开展招标", True)
    session.expire_all()
    assert session.get(Milestone, ms.id).done_on == date(2026, 11, 23)
    files = session.exec(select(Attachment).order_by(Attachment.id)).all()
    assert [a.original_name for a in files] == ["立项批复.pdf", "现场照片.png"]
    assert all(a.report_id == rep.id and a.task_id == task.id for a in files)
    on_disk = stored_files(app)
    assert sorted(p.name for p in on_disk) == sorted(a.stored_name for a in files)
    assert on_disk[0].read_bytes() in (PDF, PNG)
    actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.task_id == task.id))]
    assert actions.count("attachment_upload") == 2
    html = body(c.get(f"/tasks/{task.id}"))
    assert "立项批复.pdf" in html and f"/tasks/attachments/{files[0].id}" in html


def test_a_disguised_exe_is_refused_and_nothing_is_saved(app, session, d):
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    before = audit_count(session, task.id)
    c = client_for(app, session, d.lead_clerk)
    resp = act(
        c,
        task.id,
        "report",
        {
            "text": "附上材料",
            "files": [(io.BytesIO(PDF), "真的.pdf"), (io.BytesIO(EXE), "报告.pdf")],
        },
        content_type="multipart/form-data",
    )
    html = body(resp)
    assert resp.status_code == 422
    assert "“报告.pdf”的文件内容与扩展名 .pdf 不符，已拒绝上传" in html
    assert ">附上材料</textarea>" in html  # the text is kept for another try
    assert session.scalar(select(func.count()).select_from(ProgressReport)) == 0
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert audit_count(session, task.id) == before
    assert fresh(session, task.id).status == "acknowledged"
    assert stored_files(app) == []  # the valid first file was removed too


def test_a_refused_extension_is_refused(app, session, d):
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    c = client_for(app, session, d.lead_clerk)
    resp = act(
        c,
        task.id,
        "report",
        {"text": "x", "files": [(io.BytesIO(b"hello"), "说明.txt")]},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422 and "附件只能是" in body(resp)
    assert session.scalar(select(func.count()).select_from(ProgressReport)) == 0


def test_oversized_file_is_refused_with_a_chinese_message(app, session, d, monkeypatch):
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    monkeypatch.setattr(attachments, "MAX_SIZE", 1000)
    c = client_for(app, session, d.lead_clerk)
    resp = act(
        c,
        task.id,
        "report",
        {"text": "x", "files": [(io.BytesIO(PDF + b"0" * 1000), "大文件.pdf")]},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422 and "“大文件.pdf”超过" in body(resp)
    assert session.scalar(select(func.count()).select_from(ProgressReport)) == 0
    assert stored_files(app) == []


def test_a_real_21_mb_file_is_refused(app, session, d):
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    c = client_for(app, session, d.lead_clerk)
    big = PDF + b"\0" * (20 * 1024 * 1024)
    resp = act(
        c,
        task.id,
        "report",
        {"text": "x", "files": [(io.BytesIO(big), "扫描件.pdf")]},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422 and "超过 20 MB" in body(resp)
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert stored_files(app) == []


def test_a_request_over_the_body_limit_gets_the_friendly_413(app, session, d):
    assert app.config["MAX_CONTENT_LENGTH"] >= 20 * 1024 * 1024
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    app.config["MAX_CONTENT_LENGTH"] = 4096
    c = client_for(app, session, d.lead_clerk)
    resp = act(
        c,
        task.id,
        "report",
        {"text": "x", "files": [(io.BytesIO(PDF + b"0" * 8192), "a.pdf")]},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 413 and "上传的文件过大" in body(resp)
    assert session.scalar(select(func.count()).select_from(ProgressReport)) == 0


def test_download_checks_who_may_see_the_task(app, session, d):
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    lead = client_for(app, session, d.lead_clerk)
    act(
        lead,
        task.id,
        "report",
        {"text": "附件", "files": [(io.BytesIO(PDF), "批复 (终稿).pdf")]},
        content_type="multipart/form-data",
    )
    att = session.exec(select(Attachment)).one()
    url = f"/tasks/attachments/{att.id}"
    resp = lead.get(url)
    assert resp.status_code == 200 and resp.data == PDF
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert "%E6%89%B9%E5%A4%8D" in disposition  # 批复
    assert resp.headers["Content-Type"] == "application/pdf"
    assert client_for(app, session, d.office).get(url).status_code == 200
    assert client_for(app, session, d.leader).get(url).status_code == 200
    for who in ("other_clerk", "other_leader", "assist_clerk", "admin"):
        assert client_for(app, session, getattr(d, who)).get(url).status_code == 404, who
    assert lead.get("/tasks/attachments/99999").status_code == 404
    assert app.test_client().get(url).status_code == 302  # anonymous: to the login page


def test_extension_request_and_decision(app, session, d):
    task = f.task_in(session, d, "in_progress", due_date=date(2026, 12, 4))
    session.commit()
    lead = client_for(app, session, d.lead_clerk)
    bad = act(lead, task.id, "extension", {"new_due_date": "2026-12-01", "reason": "资金未到位"})
    assert bad.status_code == 422 and "应晚于当前完成时限" in body(bad)
    bad = act(lead, task.id, "extension", {"new_due_date": "下个月", "reason": "资金未到位"})
    assert bad.status_code == 422 and "新的完成时限不是有效日期" in body(bad)
    bad = act(lead, task.id, "extension", {"new_due_date": "9999-12-31", "reason": "资金未到位"})
    assert bad.status_code == 422 and "新的完成时限应在1900年至2100年之间" in body(bad)
    assert session.scalar(select(func.count()).select_from(ExtensionRequest)) == 0
    resp = act(lead, task.id, "extension", {"new_due_date": "2026-12-18", "reason": "资金未到位"})
    assert "延期申请已提交" in flashed(lead, resp)
    req = session.exec(select(ExtensionRequest)).one()
    assert last_event(session, task.id).action == "request_extension"
    again = act(lead, task.id, "extension", {"new_due_date": "2026-12-20", "reason": "再延"})
    assert "延期申请审核中" in body(lead.get(f"/tasks/{task.id}"))
    assert again.status_code == 409 and "请勿重复提交" in body(again)

    office = client_for(app, session, d.office)
    page = body(office.get(f"/tasks/{task.id}"))
    assert f'action="/tasks/{task.id}/extension/{req.id}/decide"' in page and "资金未到位" in page
    refuse = act(office, task.id, f"extension/{req.id}/decide", {"decision": "refuse"})
    assert refuse.status_code == 422 and "请填写不同意延期的理由" in body(refuse)
    resp = act(office, task.id, f"extension/{req.id}/decide", {"decision": "approve", "note": "同意"})
    assert "已同意延期" in flashed(office, resp)
    t = fresh(session, task.id)
    assert (t.due_date, t.original_due_date) == (date(2026, 12, 18), date(2026, 12, 4))
    assert session.get(ExtensionRequest, req.id).status == RequestStatus.APPROVED
    assert last_event(session, task.id).action == "approve_extension"
    # the lead cannot decide its own request, even by forging the form
    req2 = task_requests.request_extension(session, d.lead_clerk, task.id, date(2026, 12, 25), "再延一周")
    session.commit()
    forged = act(lead, task.id, f"extension/{req2.id}/decide", {"decision": "approve"})
    assert forged.status_code == 403
    assert session.get(ExtensionRequest, req2.id).status == RequestStatus.PENDING


def test_close_request_with_evidence_and_review(app, session, d):
    task = f.task_in(session, d, "in_progress")
    session.commit()
    lead = client_for(app, session, d.lead_clerk)
    empty = act(lead, task.id, "close", {"summary": ""})
    assert empty.status_code == 422 and "请填写办结情况说明" in body(empty)
    resp = act(
        lead,
        task.id,
        "close",
        {"summary": "项目已开工", "files": [(io.BytesIO(PDF), "开工令.pdf")]},
        content_type="multipart/form-data",
    )
    assert "办结申请已提交" in flashed(lead, resp)
    assert fresh(session, task.id).status == "pending_review"
    att = session.exec(select(Attachment)).one()
    assert att.report_id is None and att.task_id == task.id
    assert "已申请办结" in body(lead.get(f"/tasks/{task.id}"))

    office = client_for(app, session, d.office)
    page = body(office.get(f"/tasks/{task.id}"))
    assert "项目已开工" in page and "开工令.pdf" in page  # the evidence sits with the request
    no_reason = act(office, task.id, "review", {"decision": "return"})
    assert no_reason.status_code == 422 and "请填写退回理由" in body(no_reason)
    assert fresh(session, task.id).status == "pending_review"
    resp = act(office, task.id, "review", {"decision": "return", "note": "缺少验收报告"})
    assert "已退回承办单位" in flashed(office, resp)
    assert fresh(session, task.id).status == "in_progress"
    assert session.exec(select(CloseRequest)).one().status == RequestStatus.REJECTED
    assert last_event(session, task.id).action == "return"
    assert "缺少验收报告" in body(lead.get(f"/tasks/{task.id}"))

    act(lead, task.id, "close", {"summary": "已补充验收报告"})
    resp = act(office, task.id, "review", {"decision": "approve"})
    assert "事项已办结" in flashed(office, resp)
    t = fresh(session, task.id)
    assert t.status == "closed" and t.closed_on == date(2026, 11, 23)
    assert last_event(session, task.id).action == "approve_close"


def test_lead_cannot_review_its_own_close_request(app, session, d):
    task = f.task_in(session, d, "pending_review")
    session.commit()
    resp = act(client_for(app, session, d.lead_clerk), task.id, "review", {"decision": "approve"})
    assert resp.status_code == 403
    assert fresh(session, task.id).status == "pending_review"


# --- office controls ---------------------------------------------------------------------


def test_suspend_resume_cancel_reopen(app, session, d):
    task = f.task_in(session, d, "in_progress")
    closed = f.task_in(session, d, "closed")
    session.commit()
    office = client_for(app, session, d.office)
    no_reason = act(office, task.id, "suspend", {"reason": ""})
    assert no_reason.status_code == 422 and "请填写暂缓理由" in body(no_reason)
    assert "事项已暂缓办理" in flashed(office, act(office, task.id, "suspend", {"reason": "等待上级政策"}))
    assert fresh(session, task.id).status == "suspended"
    assert last_event(session, task.id).note == "等待上级政策"
    assert "恢复办理" in flashed(office, act(office, task.id, "resume", {}))
    assert fresh(session, task.id).status == "in_progress"
    assert last_event(session, task.id).action == "resume"
    assert "事项已撤销" in flashed(office, act(office, task.id, "cancel", {"reason": "上级统筹"}))
    assert fresh(session, task.id).status == "cancelled"
    again = act(office, task.id, "cancel", {"reason": "再撤"})
    assert again.status_code == 409 and "不能执行" in body(again)
    assert "重新打开" in flashed(office, act(office, closed.id, "reopen", {"reason": "复查发现问题"}))
    t = fresh(session, closed.id)
    assert t.status == "in_progress" and t.closed_on is None
    assert last_event(session, closed.id).action == "reopen"


def test_a_clerk_cannot_use_office_controls(app, session, d):
    task = f.task_in(session, d, "in_progress")
    session.commit()
    lead = client_for(app, session, d.lead_clerk)
    for path in ("suspend", "cancel", "escalate", "remind"):
        resp = act(lead, task.id, path, {"reason": "想撤"})
        assert resp.status_code == 403, path
    assert fresh(session, task.id).status == "in_progress"


def test_reassign_request_and_decision(app, session, d):
    task = f.task_in(session, d, "assigned")
    session.commit()
    lead = client_for(app, session, d.lead_clerk)
    resp = act(lead, task.id, "reassign", {"reason": "不属于我单位职责", "suggested_department_id": str(d.other_id)})
    assert "改派申请已提交" in flashed(lead, resp)
    req = session.exec(select(ChangeRequest)).one()
    assert req.payload == {"suggested_department_id": d.other_id}
    office = client_for(app, session, d.office)
    page = body(office.get(f"/tasks/{task.id}"))
    assert f'action="/tasks/{task.id}/reassign/{req.id}/decide"' in page and "区教育局" in page
    # The decision's drop-down offers every department, the lead's suggestion chosen (tracker/web/widgets.py).
    assert f'<option value="{d.other_id}" selected>区教育局</option>' in page
    assert f'<option value="{d.assist_id}">区财政局</option>' in page
    missing = act(office, task.id, f"reassign/{req.id}/decide", {"decision": "approve"})
    assert missing.status_code == 422 and "请指定新的牵头单位" in body(missing)
    resp = act(
        office, task.id, f"reassign/{req.id}/decide", {"decision": "approve", "new_lead_department_id": str(d.other_id)}
    )
    assert "已同意改派" in flashed(office, resp)
    t = fresh(session, task.id)
    assert (t.lead_department_id, t.status) == (d.other_id, "assigned")
    assert last_event(session, task.id).action == "approve_reassign"
    # the former lead no longer sees it; the new one is asked to acknowledge it
    assert lead.get(f"/tasks/{task.id}").status_code == 404
    other = client_for(app, session, d.other_clerk)
    assert f'action="/tasks/{task.id}/acknowledge"' in body(other.get(f"/tasks/{task.id}"))


def test_change_request_and_decision_need_two_people(app, session, d):
    task = f.task_in(session, d, "in_progress")
    session.commit()
    office = client_for(app, session, d.office)
    nothing = act(office, task.id, "change", {"reason": "会议调整"})
    assert nothing.status_code == 422 and "没有需要变更的内容" in body(nothing)
    resp = act(office, task.id, "change", {"reason": "会议调整", "requirement": "按新要求办理"})
    assert "变更申请已提交" in flashed(office, resp)
    req = session.exec(select(ChangeRequest)).one()
    page = body(office.get(f"/tasks/{task.id}"))
    assert f"/change/{req.id}/decide" not in page  # not offered to the one who asked
    own = act(office, task.id, f"change/{req.id}/decide", {"decision": "approve"})
    assert own.status_code == 403 and "申请人以外" in body(own)
    other = client_for(app, session, d.office2)
    assert "按新要求办理" in body(other.get(f"/tasks/{task.id}"))
    resp = act(other, task.id, f"change/{req.id}/decide", {"decision": "approve"})
    assert "已同意变更" in flashed(other, resp)
    assert fresh(session, task.id).requirement == "按新要求办理"
    assert last_event(session, task.id).action == "approve_change"


def test_lead_may_ask_for_a_change_and_the_leader_may_refuse_it(app, session, d):
    task = f.task_in(session, d, "in_progress")
    session.commit()
    lead = client_for(app, session, d.lead_clerk)
    act(lead, task.id, "change", {"reason": "标准调整", "title": "新的事项名称"})
    req = session.exec(select(ChangeRequest)).one()
    leader = client_for(app, session, d.leader)
    resp = act(leader, task.id, f"change/{req.id}/decide", {"decision": "refuse", "note": "维持原要求"})
    assert "已不同意变更" in flashed(leader, resp)
    session.expire_all()
    assert session.get(ChangeRequest, req.id).status == RequestStatus.REJECTED
    assert fresh(session, task.id).title != "新的事项名称"


def test_remind_once_a_day(app, session, d):
    task = f.task_in(session, d, "in_progress")
    session.commit()
    office = client_for(app, session, d.office)
    resp = act(office, task.id, "remind", {"message": "请本周内反馈"})
    assert "已催办" in flashed(office, resp)
    rem = session.exec(select(Reminder)).one()
    assert (rem.department_id, rem.message, rem.sent_by_id) == (d.lead_id, "请本周内反馈", d.office.user_id)
    assert last_event(session, task.id).action == "remind"
    again = act(office, task.id, "remind", {})
    assert again.status_code == 409 and "今天已对该单位催办过此事项" in body(again)
    assert session.scalar(select(func.count()).select_from(Reminder)) == 1


def test_escalate(app, session, d):
    task = f.task_in(session, d, "in_progress")
    session.commit()
    office = client_for(app, session, d.office)
    bad = act(office, task.id, "escalate", {"reason": "", "level": "2"})
    assert bad.status_code == 422 and "请填写督办事由" in body(bad)
    resp = act(office, task.id, "escalate", {"reason": "进度严重滞后", "level": "3"})
    esc = session.exec(select(Escalation)).one()
    assert (esc.level, esc.notice_no, esc.department_id) == (3, "督办〔2026〕1号", d.lead_id)
    notice = f"/office/escalations/{esc.id}/notice"
    has_notice = any(
        r.rule == "/office/escalations/<int:escalation_id>/notice"
        or re.fullmatch(r"/office/escalations/<[^>]+>/notice", r.rule)
        for r in app.url_map.iter_rules()
    )
    expected = notice if has_notice else f"/tasks/{task.id}"
    assert resp.status_code == 302 and resp.headers["Location"].endswith(expected)
    assert last_event(session, task.id).action == "escalate"


def test_leader_approves_or_rejects_a_task_awaiting_approval(app, session, d):
    one = f.task_in(session, d, "pending_approval", title="待审一")
    two = f.task_in(session, d, "pending_approval", title="待审二")
    session.commit()
    other = client_for(app, session, d.other_leader)
    assert act(other, one.id, "approve").status_code == 404  # not their portfolio: the task doesn't exist
    assert fresh(session, one.id).status == "pending_approval"
    leader = client_for(app, session, d.leader)
    resp = act(leader, one.id, "approve", {"note": "同意"})
    assert "已审核同意，事项已交办" in flashed(leader, resp)
    t = fresh(session, one.id)
    assert t.status == "assigned" and t.assigned_at is not None
    assert last_event(session, one.id).action == "leader_approve"
    no_reason = act(leader, two.id, "reject", {"reason": ""})
    assert no_reason.status_code == 422 and "请填写退回理由" in body(no_reason)
    resp = act(leader, two.id, "reject", {"reason": "时限不合理"})
    assert "已退回督查室修改" in flashed(leader, resp)
    assert fresh(session, two.id).status == "draft"
    assert last_event(session, two.id).note == "时限不合理"


def test_next_only_goes_to_our_own_pages(app, session, d):
    task = f.task_in(session, d, "assigned")
    session.commit()
    lead = client_for(app, session, d.lead_clerk)
    resp = act(lead, task.id, "acknowledge", {"next": "https://evil.example/"})
    assert resp.headers["Location"].endswith(f"/tasks/{task.id}")
    task2 = f.task_in(session, d, "assigned")
    session.commit()
    resp = act(lead, task2.id, "acknowledge", {"next": "/dept/"})
    assert resp.headers["Location"].endswith("/dept/")


def test_actions_need_the_csrf_token(app, session, d):
    task = f.task_in(session, d, "assigned")
    session.commit()
    lead = client_for(app, session, d.lead_clerk)
    resp = lead.post(f"/tasks/{task.id}/acknowledge", data={})
    assert resp.status_code == 400 and "刷新页面" in body(resp)
    assert fresh(session, task.id).status == "assigned"


# --- forged requests ---------------------------------------------------------------------

FORGED = [
    ("assigned", "acknowledge", {}),
    ("acknowledged", "report", {"text": "伪造进展"}),
    ("in_progress", "extension", {"new_due_date": "2027-01-30", "reason": "伪造"}),
    ("in_progress", "close", {"summary": "伪造办结"}),
    ("pending_review", "review", {"decision": "approve"}),
    ("in_progress", "suspend", {"reason": "伪造"}),
    ("suspended", "resume", {}),
    ("in_progress", "cancel", {"reason": "伪造"}),
    ("closed", "reopen", {"reason": "伪造"}),
    ("assigned", "reassign", {"reason": "伪造"}),
    ("in_progress", "change", {"reason": "伪造", "requirement": "伪造要求"}),
    ("in_progress", "remind", {}),
    ("in_progress", "escalate", {"reason": "伪造"}),
    ("pending_approval", "approve", {}),
    ("pending_approval", "reject", {"reason": "伪造"}),
    ("extension", "extension/{rid}/decide", {"decision": "approve"}),
    ("reassign", "reassign/{rid}/decide", {"decision": "approve", "new_lead_department_id": "{other}"}),
    ("change", "change/{rid}/decide", {"decision": "approve"}),
]


def test_forged_actions_on_someone_elses_task_are_not_found_and_change_nothing(app, session, d):
    """Every action endpoint, posted by a clerk of another department and by another
    leader (with a valid token from a page they may see): 404, and nothing changes."""
    targets = []
    for state, path, data in FORGED:
        if state in ("extension", "reassign", "change"):
            task = f.task_in(session, d, "assigned", pending=(state,))
            model = ExtensionRequest if state == "extension" else ChangeRequest
            rid = session.exec(select(model.id).where(model.task_id == task.id)).one()
        else:
            task = f.task_in(session, d, state)
            rid = 0
        targets.append((task.id, path.format(rid=rid), {k: v.format(other=d.other_id) for k, v in data.items()}))
    own = f.task_in(session, d, "assigned", lead_department_id=d.other_id, assisting_department_ids=[], leader_ids=[])
    session.commit()

    def state_of():
        session.expire_all()
        tasks_ = {
            t.id: (t.status, t.due_date, t.requirement, t.lead_department_id, t.title)
            for t in session.exec(select(Task))
        }
        counts = {
            name: session.scalar(select(func.count()).select_from(model))
            for name, model in (
                ("reports", ProgressReport),
                ("ext", ExtensionRequest),
                ("close", CloseRequest),
                ("change", ChangeRequest),
                ("remind", Reminder),
                ("esc", Escalation),
                ("att", Attachment),
            )
        }
        # logging in is audited too, and is no change to a task
        counts["audit"] = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action.not_in(("login", "logout")))
        )
        requests = [r.status for r in session.exec(select(ExtensionRequest))] + [
            r.status for r in session.exec(select(ChangeRequest))
        ]
        return tasks_, counts, requests

    before = state_of()
    for who, token_page in (("other_clerk", f"/tasks/{own.id}"), ("other_leader", "/leader/")):
        c = client_for(app, session, getattr(d, who))
        for task_id, path, form in targets:
            resp = post(c, f"/tasks/{task_id}/{path}", form, token_from=token_page)
            assert resp.status_code == 404, (who, path, body(resp))
            assert "页面或数据不存在" in body(resp) or "未找到" in body(resp)
    assert state_of() == before


# --- in a real browser -------------------------------------------------------------------


@pytest.mark.browser
def test_report_with_a_file_in_chromium(live_server, browser_context, session, tmp_path):
    """The multipart form as a browser sends it, and the script that stops a too-large file early."""
    from tests.browser import shot

    d = f.district(session)
    task = f.task_in(session, d, "in_progress")
    session.commit()
    page = browser_context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(live_server.url + "/login")
    page.fill("#username", session.get(User, d.lead_clerk.user_id).username)
    page.fill("#password", "Factory-pass-7")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/dept/")
    page.goto(f"{live_server.url}/tasks/{task.id}")
    assert page.input_value("#report-text") == "已完成初步工作"  # pre-filled from the last report
    files = page.locator("#report-files")
    big = tmp_path / "扫描件.pdf"  # a path: the local browser reads it, nothing is streamed
    big.write_bytes(PDF + b"\0" * (20 * 1024 * 1024))
    files.set_input_files(str(big))
    assert "超过 20 MB" in page.locator("#report [data-file-error]").inner_text()
    assert "超过 20 MB" in files.evaluate("el => el.validationMessage")
    files.set_input_files([{"name": "批复.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    assert files.evaluate("el => el.validationMessage") == ""
    page.fill("#report-text", "已完成可研批复")
    page.fill("#report-percent", "45")
    page.click("#report button[type=submit]")
    page.wait_for_url(f"{live_server.url}/tasks/{task.id}")
    assert "进展已报送，附件 1 个" in page.locator(".alert-success").inner_text()
    shot(page, "task-lead-phone")
    session.expire_all()
    rep = session.exec(select(ProgressReport).order_by(ProgressReport.id.desc())).first()
    assert (rep.text, rep.percent) == ("已完成可研批复", 45)
    assert session.exec(select(Attachment)).one().original_name == "批复.pdf"


def test_a_due_date_in_a_year_without_its_holidays_is_marked_provisional(app, session, d):
    """2027's holidays are not entered in the test calendar: a date counted in it may move."""
    known = f.task_in(session, d, "assigned", title="今年的事项", due_date=date(2026, 12, 31))
    later = f.task_in(session, d, "assigned", title="明年的事项", due_date=date(2027, 3, 31))
    session.commit()
    c = client_for(app, session, d.office)
    page = body(c.get(f"/tasks/{later.id}"))
    assert re.search(r'id="due-date">2027-03-31<span class="provisional[^"]*" title="2027年节假日安排尚未录入', page)
    assert 'id="due-date">2026-12-31</span>' in body(c.get(f"/tasks/{known.id}"))
    assert '2027-03-31<span class="provisional' in body(c.get("/office/tasks"))
    clerk = client_for(app, session, d.lead_clerk)
    assert '2027-03-31<span class="provisional' in body(clerk.get("/dept/"))


def test_a_returned_close_request_is_the_start_of_the_next_one(app, session, d):
    task = f.task_in(session, d, "pending_review", title="返回后再申请")  # asked to close: 已全部完成
    task_requests.review_close(session, d.office, task.id, approve=False, note="缺少验收材料")
    session.commit()
    page = body(client_for(app, session, d.lead_clerk).get(f"/tasks/{task.id}"))
    form = page[page.index('id="close"') :]
    assert re.search(r'<textarea[^>]*id="request_close-summary"[^>]*>已全部完成</textarea>', form), form[:1200]
    assert "已填入上次申请的说明" in form and "缺少验收材料" in page


def test_the_office_is_warned_before_closing_a_task_an_assisting_unit_never_reported_on(app, session, d):
    task = f.task_in(session, d, "pending_review", title="有协办单位未报送", assisting_department_ids=[d.assist_id])
    session.commit()
    office = client_for(app, session, d.office)
    warning = "从未报送过进展，请确认其承担的工作已完成后再办结"
    assert warning in body(office.get(f"/tasks/{task.id}")) and warning in body(office.get("/office/review"))
    tasks.report_progress(session, d.assist_clerk, task.id, {"text": "协办部分已完成"})
    session.commit()
    assert warning not in body(office.get(f"/tasks/{task.id}")) and warning not in body(office.get("/office/review"))
