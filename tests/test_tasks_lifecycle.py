"""The task service's core and steps (services/tasks/lifecycle.py): who may touch a task, the
workflow's messages, the leader's approval, drafts, suspending and reopening."""

from datetime import date, timedelta

import pytest
from sqlmodel import select

from tests import factories as f
from tracker import clock
from tracker.errors import IllegalTransition, NotFound, NotPermitted, ValidationFailed
from tracker.models import AuditEvent, Task
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks import requests as task_requests


@pytest.fixture
def d(session):
    return f.district(session)


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
