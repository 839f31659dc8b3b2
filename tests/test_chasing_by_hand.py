"""催办 and 督办 by hand (services/chasing/by_hand.py)."""

from datetime import date

import pytest
from sqlmodel import select

from tests import factories as f
from tracker.errors import Conflict, ValidationFailed
from tracker.models import Notification
from tracker.services.chasing import by_hand as task_chasing


@pytest.fixture
def d(session):
    return f.district(session)


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


def test_reminder_only_to_the_task_departments(session, d):
    task = f.task_in(session, d, "assigned")
    task_chasing.remind(session, d.office, task.id, department_id=d.assist_id)
    with pytest.raises(ValidationFailed, match="牵头单位或协办单位"):
        task_chasing.remind(session, d.office, task.id, department_id=d.other_id)


def test_an_escalation_by_hand_reaches_its_rung_like_an_automatic_one(session, d):
    """督办 by the office notifies the same people as the reminder run's notice of that level
    (000 §31): level 1 the lead department's clerks, level 3 also the responsible leader."""
    task = f.task_in(session, d, "in_progress")
    low = task_chasing.escalate(session, d.office, task.id, "逾期未办结", level=1)
    high = task_chasing.escalate(session, d.office, task.id, "仍未办结", level=3)
    session.flush()

    def reached(esc):
        return set(
            session.scalars(
                select(Notification.user_id).where(
                    Notification.kind == "escalation", Notification.key.like(f"escalation:{esc.id}:%")
                )
            )
        )

    assert reached(low) == {d.lead_clerk.user_id}
    assert reached(high) == {d.lead_clerk.user_id, d.leader.user_id}
