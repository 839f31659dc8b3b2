"""The closed loop walked end to end through the services."""

from datetime import date

import pytest
from sqlmodel import select

from tests import factories as f
from tracker import clock
from tracker.models import AuditEvent
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks import requests as task_requests


@pytest.fixture
def d(session):
    return f.district(session)


def test_full_loop_with_extension_and_return(session, d):
    task = f.draft(session, d, due_date=date(2026, 12, 4))
    assert task.code == "DB-2026-0001"
    tasks.assign(session, d.office, task.id)
    tasks.acknowledge(session, d.lead_clerk, task.id)
    tasks.report_progress(session, d.assist_clerk, task.id, {"text": "协办部分已完成"})
    assert task.status == "acknowledged"  # an assisting report does not move the task
    tasks.report_progress(session, d.lead_clerk, task.id, {"text": "完成一半", "percent": 50})
    assert task.status == "in_progress"
    req = task_requests.request_extension(session, d.lead_clerk, task.id, date(2026, 12, 18), "资金未到位")
    task_requests.decide_extension(session, d.office, req.id, approve=True)
    assert (task.due_date, task.original_due_date) == (date(2026, 12, 18), date(2026, 12, 4))
    task_requests.request_close(session, d.lead_clerk, task.id, "已完成")
    task_requests.review_close(session, d.office, task.id, approve=False, note="缺少佐证材料")
    assert task.status == "in_progress"
    tasks.report_progress(session, d.lead_clerk, task.id, {"text": "补充材料", "percent": 100})
    task_requests.request_close(session, d.lead_clerk, task.id, "已完成并附佐证")
    task_requests.review_close(session, d.office, task.id, approve=True)
    session.commit()
    assert task.status == "closed" and task.closed_on == clock.today()
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.task_id == task.id).order_by(AuditEvent.id)).all()
    assert actions == [
        "create",
        "assign",
        "acknowledge",
        "report_part",
        "report",
        "request_extension",
        "approve_extension",
        "request_close",
        "return",
        "report",
        "request_close",
        "approve_close",
    ]
