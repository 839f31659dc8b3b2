"""Messages to users: keyed messages are written once, and each queues an e-mail only for an
active user with an address."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from tests import factories as f
from tracker.config import Settings
from tracker.models import Delivery, Notification, User
from tracker.services.notify import messages as notify

SETTINGS = Settings(env="testing", base_url="http://127.0.0.1:8000", smtp_host="127.0.0.1", smtp_port=2525)
MONDAY = date(2026, 11, 23)


@pytest.fixture
def d(session):
    return f.district(session)


def test_notify_user_is_idempotent_by_key_and_queues_an_email(session, d):
    session.get(User, d.leader.user_id).email = "wuhaitao@duban.local"
    session.commit()
    note = notify.notify_user(
        session,
        d.leader.user_id,
        "escalation",
        "督办通知：老旧小区改造",
        "请督促办理",
        key="escalation:1",
        settings=SETTINGS,
    )
    assert note is not None and note.kind == "escalation" and note.day == MONDAY
    assert (
        notify.notify_user(
            session, d.leader.user_id, "escalation", "督办通知", "again", key="escalation:1", settings=SETTINGS
        )
        is None
    )
    session.commit()
    assert [(r.channel, r.target) for r in session.exec(select(Delivery)).all()] == [("email", "wuhaitao@duban.local")]
    assert notify.unread_count(session, d.leader.user_id) == 1


def test_notify_many_is_idempotent_by_key_and_mails_only_active_users_with_an_address(session, d):
    leader = session.get(User, d.leader.user_id)
    leader.email = "wuhaitao@duban.local"
    gone = session.get(User, d.lead_clerk.user_id)
    gone.email, gone.active = "gone@duban.local", False
    session.commit()
    people = [d.leader.user_id, d.lead_clerk.user_id, d.office.user_id]
    batch = [
        {
            "user_id": u,
            "kind": "escalation",
            "title": f"督办通知{i}",
            "body": "请督促办理",
            "key": f"escalation:9:{u}",
            "payload": {"level": 2},
        }
        for i, u in enumerate(people)
    ]
    assert notify.notify_many(session, batch, settings=SETTINGS) == 3
    assert notify.notify_many(session, batch + [{**batch[0], "key": "escalation:10:x"}], settings=SETTINGS) == 1
    session.commit()
    notes = session.exec(select(Notification).order_by(Notification.id)).all()
    assert [(n.user_id, n.key, n.day, n.payload) for n in notes[:3]] == [
        (u, f"escalation:9:{u}", MONDAY, {"level": 2}) for u in people
    ]
    # one e-mail for each new message to an active user with an address: the leader's two
    assert sorted((r.notification_id, r.target) for r in session.exec(select(Delivery))) == [
        (notes[0].id, "wuhaitao@duban.local"),
        (notes[3].id, "wuhaitao@duban.local"),
    ]
    with pytest.raises(notify.ValidationFailed):
        notify.notify_many(session, [{**batch[0], "key": ""}], settings=SETTINGS)
