"""The task page's combined reads (services/taskpage.py) give what one query per kind gives."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlmodel import select

from tests import factories as f
from tests.webutil import login, statements_on
from tracker import clock
from tracker.models import (
    Attachment,
    Department,
    ExtensionRequest,
    Leader,
    Milestone,
    ProgressReport,
    TaskAssist,
    TaskLeader,
    User,
)
from tracker.services.chasing import by_hand as task_chasing
from tracker.services.tasks import attachments
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks import page as taskpage
from tracker.services.tasks import requests as task_requests

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def d(session):
    return f.district(session)


class Upload:
    def __init__(self, name: str, data: bytes):
        self.filename, self.stream = name, io.BytesIO(data)


def test_reports_and_files_match_one_query_each(session, d, tmp_path):
    task = f.task_in(session, d, "in_progress")
    first = tasks.report_progress(
        session, d.assist_clerk, task.id, {"text": "协办：已拨付", "needs_coordination": True}
    )
    rep = tasks.report_progress(
        session,
        d.lead_clerk,
        task.id,
        {"text": "牵头：完成招标", "percent": 60, "problems": "征地", "next_steps": "验收"},
    )
    rep.created_at = first.created_at  # the same instant: the newer id comes first
    attachments.store(session, d.lead_clerk, task.id, rep.id, Upload("方案.pdf", PDF), directory=tmp_path)
    close = task_requests.request_close(session, d.lead_clerk, task.id, "已全部完成")
    attachments.store(
        session, d.lead_clerk, task.id, None, Upload("验收.pdf", PDF * 2), directory=tmp_path, close_request_id=close.id
    )
    session.commit()

    reports, files = taskpage.reports_and_files(session, task.id)
    expected = session.exec(
        select(ProgressReport)
        .where(ProgressReport.task_id == task.id)
        .order_by(ProgressReport.created_at.desc(), ProgressReport.id.desc())
    ).all()
    fields = taskpage.PageReport._fields
    assert [tuple(getattr(r, k) for k in fields) for r in expected] == [tuple(r) for r in reports]
    assert len(reports) == 3 and reports[0].percent == 60 and reports[1].needs_coordination is True
    expected = session.exec(select(Attachment).where(Attachment.task_id == task.id).order_by(Attachment.id)).all()
    assert [tuple(getattr(a, k) for k in taskpage.PageFile._fields) for a in expected] == [tuple(a) for a in files]
    assert [a.report_id for a in files] == [rep.id, None]
    assert taskpage.reports_and_files(session, 10**6) == ([], [])


def test_people_milestones_and_departments_match_one_query_each(session, d):
    task = f.task_in(session, d, "assigned")
    second = f.department(session, "第二协办单位", sort_order=-1)  # sorts before the district's
    session.add(TaskAssist(task_id=task.id, department_id=second.id))
    for title, due, order in (("乙", 20, 1), ("甲", 10, 1), ("丙", 5, 0)):
        session.add(
            Milestone(task_id=task.id, title=title, due_date=clock.today() + timedelta(days=due), sort_order=order)
        )
    session.commit()

    assisting, leaders, milestones, active = taskpage.people_and_milestones(session, task.id)
    assert assisting == [
        tuple(r)
        for r in session.execute(
            select(Department.id, Department.name)
            .join(TaskAssist, TaskAssist.department_id == Department.id)
            .where(TaskAssist.task_id == task.id)
            .order_by(Department.sort_order, Department.id)
        )
    ]
    assert assisting[0] == (second.id, "第二协办单位") and len(assisting) == 2
    assert (
        leaders
        == list(
            session.scalars(
                select(Leader.name)
                .join(TaskLeader, TaskLeader.leader_id == Leader.id)
                .where(TaskLeader.task_id == task.id)
                .order_by(Leader.sort_order, Leader.id)
            )
        )
        and leaders
    )
    assert [m.title for m in milestones] == ["丙", "甲", "乙"]  # sort order, then due date
    assert all(m.due_date and m.done_on is None for m in milestones)
    assert active == []
    *_, active = taskpage.people_and_milestones(session, task.id, departments=True)
    assert active == [
        tuple(r)
        for r in session.execute(
            select(Department.id, Department.name)
            .where(Department.active.is_(True))
            .order_by(Department.sort_order, Department.id)
        )
    ]


def test_the_history_shows_each_requests_details_without_a_lookup_per_kind(app, session, d):
    task = f.task_in(session, d, "assigned", pending=("extension", "reassign"))
    ext = session.exec(select(ExtensionRequest).where(ExtensionRequest.task_id == task.id)).one()
    task_chasing.remind(session, d.office, task.id, "请加快进度")
    esc = task_chasing.escalate(session, d.office, task.id, "进度滞后", level=3)
    session.commit()
    names = dict(session.execute(select(Department.id, Department.name)).all())
    client = app.test_client()
    assert login(client, session.get(User, d.office.user_id).username).status_code == 302
    client.get(f"/tasks/{task.id}")
    with statements_on(app.extensions["tracker_engine"]) as seen:
        html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    timeline = html[html.index('id="timeline"') :]
    for words in (
        f"申请时限：{ext.old_due_date} → {ext.new_due_date}",
        f"建议承办单位：{names[d.other_id]}",
        f"催办单位：{names[d.lead_id]}",
        f"督办通知单：{esc.notice_no}",
        "督办层级：督办至责任领导",
    ):
        assert words in timeline, words
    for table in (
        "reminder",
        "escalation",
        "changerequest",
        "extensionrequest",
        "progressreport",
        "attachment",
        "milestone",
        "taskassist",
        "department",
    ):
        assert not any(s.startswith(f"select {table}.") for s in seen), table
    page = [s for s in seen if not s.startswith(("select app_user.", "select calendar", "select holiday."))]
    assert len(page) == 4, "\n".join(s[:150] for s in page)  # the task with its requests, people, reports, history
