"""The closed loop walked end to end through the services."""

from datetime import date, timedelta

import pytest
from sqlmodel import select

from tests import factories as f
from tracker import clock
from tracker.errors import Conflict, IllegalTransition, NotFound, NotPermitted, ValidationFailed
from tracker.models import AuditEvent, Task
from tracker.services.chasing import by_hand as task_chasing
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


def test_extension_only_before_the_deadline(session, d):
    task = f.task_in(session, d, "in_progress", due_date=date(2026, 11, 30))
    with f.on(date(2026, 12, 1)):
        with pytest.raises(ValidationFailed, match="时限届满前"):
            task_requests.request_extension(session, d.lead_clerk, task.id, date(2026, 12, 20), "来不及")


def test_departments_cannot_touch_each_others_tasks(session, d):
    task = f.task_in(session, d, "assigned")
    with pytest.raises(NotFound):
        tasks.acknowledge(session, d.other_clerk, task.id)
    with pytest.raises(NotPermitted):
        tasks.acknowledge(session, d.assist_clerk, task.id)
    with pytest.raises(NotPermitted):
        task_requests.review_close(session, d.lead_clerk, task.id, approve=True)


def test_illegal_transition_message_is_chinese(session, d):
    task = f.task_in(session, d, "draft")
    with pytest.raises(IllegalTransition, match="当前状态为“草稿”，不能执行“审核办结”"):
        task_requests.review_close(session, d.office, task.id, approve=True)


def test_leader_approval_gate(session, d):
    task = f.draft(session, d, needs_leader_approval=True)
    with pytest.raises(ValidationFailed, match="领导审核"):
        tasks.assign(session, d.office, task.id)
    tasks.submit_for_approval(session, d.office, task.id)
    with pytest.raises(NotFound):
        tasks.leader_approve(session, d.other_leader, task.id)
    tasks.leader_approve(session, d.leader, task.id)
    assert task.status == "assigned" and task.original_due_date == task.due_date


def test_reassign_within_window_only(session, d):
    task = f.task_in(session, d, "assigned")
    with f.on(date(2026, 11, 26)):  # 3 working days later
        with pytest.raises(ValidationFailed, match="2 个工作日内"):
            task_requests.request_reassign(session, d.lead_clerk, task.id, "不属于我单位职责")
    req = task_requests.request_reassign(session, d.lead_clerk, task.id, "不属于我单位职责")
    task_requests.decide_reassign(session, d.office, req.id, approve=True, new_lead_department_id=d.other_id)
    assert task.lead_department_id == d.other_id and task.status == "assigned"
    tasks.acknowledge(session, d.other_clerk, task.id)


def test_change_of_lead_is_reviewed_by_someone_else(session, d):
    task = f.task_in(session, d, "in_progress")
    req = task_requests.request_change(session, d.office, task.id, "职责调整", lead_department_id=d.assist_id)
    with pytest.raises(NotPermitted):
        task_requests.decide_change(session, d.office, req.id, approve=True)
    task_requests.decide_change(session, d.office2, req.id, approve=True)
    assert task.lead_department_id == d.assist_id
    assert tasks.assisting_ids(session, task.id) == []


def test_only_drafts_are_deleted_and_deletion_is_audited(session, d):
    task = f.task_in(session, d, "assigned")
    with pytest.raises(IllegalTransition):
        tasks.delete_draft(session, d.office, task.id)
    draft = f.draft(session, d)
    draft_id = draft.id
    tasks.delete_draft(session, d.office, draft_id)
    session.commit()
    assert session.get(Task, draft_id) is None
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "delete_draft")).one()
    assert event.before["code"] == draft.code


def test_reminder_once_per_day(session, d):
    task = f.task_in(session, d, "assigned")
    task_chasing.remind(session, d.leader, task.id, "请抓紧办理")
    with pytest.raises(Conflict):
        task_chasing.remind(session, d.office, task.id)
    with f.on(date(2026, 11, 24)):
        task_chasing.remind(session, d.office, task.id)


def test_escalation_notices_are_numbered(session, d):
    task = f.task_in(session, d, "in_progress")
    a = task_chasing.escalate(session, d.office, task.id, "逾期未办结")
    b = task_chasing.escalate(session, d.office, task.id, "仍未办结", level=3)
    assert (a.notice_no, b.notice_no) == ("督办〔2026〕1号", "督办〔2026〕2号")


def test_invalid_draft_input_names_the_field(session, d):
    with pytest.raises(ValidationFailed) as err:
        tasks.create_draft(session, d.office, {"title": "  ", "due_date": "明天"})
    assert err.value.fields == {"title": "事项名称不能为空", "due_date": "完成时限不是有效日期"}


def test_suspend_resume_returns_to_previous_status(session, d):
    task = f.task_in(session, d, "acknowledged")
    tasks.suspend(session, d.office, task.id, "等待政策")
    tasks.resume(session, d.office, task.id)
    assert task.status == "acknowledged"


def test_reopen_after_failed_recheck(session, d):
    task = f.task_in(session, d, "closed")
    tasks.reopen(session, d.office, task.id, "复查发现问题反弹")
    assert task.status == "in_progress" and task.closed_on is None


def test_preset_sets_due_date_from_source_date(session, d):
    task = f.draft(session, d, due_date=None, time_limit_preset="countersign_3")
    src_date = clock.today() - timedelta(days=7)  # 2026-11-16, a Monday
    assert task.due_date == date(2026, 11, 19) and src_date == date(2026, 11, 16)


def test_reminder_only_to_the_task_departments(session, d):
    task = f.task_in(session, d, "assigned")
    task_chasing.remind(session, d.office, task.id, department_id=d.assist_id)
    with pytest.raises(ValidationFailed, match="牵头单位或协办单位"):
        task_chasing.remind(session, d.office, task.id, department_id=d.other_id)
