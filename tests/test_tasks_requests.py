"""A department's requests and the decisions on them (services/tasks/requests.py): 延期, 改派, 变更."""

from datetime import date

import pytest

from tests import factories as f
from tracker.errors import NotPermitted, ValidationFailed
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks import requests as task_requests


@pytest.fixture
def d(session):
    return f.district(session)


def test_extension_only_before_the_deadline(session, d):
    task = f.task_in(session, d, "in_progress", due_date=date(2026, 11, 30))
    with f.on(date(2026, 12, 1)):
        with pytest.raises(ValidationFailed, match="时限届满前"):
            task_requests.request_extension(session, d.lead_clerk, task.id, date(2026, 12, 20), "来不及")


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
