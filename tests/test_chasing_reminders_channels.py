"""The same four weeks as tests/test_chasing_reminders.py, through the daily job and all three
channels: the in-app inbox, a real SMTP server (aiosmtpd) and a group-robot webhook
(a local HTTP server), both on 127.0.0.1. The job runs twice every day; the test
counts what each person and robot received per day: one digest per working day with
exactly that day's reminders, the 督办 notices on the ladder's days, nothing on a day
off, nothing twice.
"""

from __future__ import annotations

import email
import email.policy
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import select

from tests.test_chasing_reminders import END, EXPECTED, EXPECTED_ESCALATIONS, OFF_DAYS, START, act, walk  # noqa: F401
from tests.test_notify_queue import robot, smtp  # noqa: F401 - the servers the delivery tests start
from tracker import clock, create_app, jobs
from tracker.config import Settings
from tracker.models import JobRun, Notification, NotificationChannel, Reminder, User


@pytest.fixture
def channel_app(db, tmp_path, smtp):  # noqa: F811
    handler, port = smtp
    settings = Settings(
        env="testing",
        database_url=str(db.url),
        instance_path=tmp_path / "instance",
        secret_key="test-secret",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="duban@duban.local",
        base_url="http://127.0.0.1:8000",
    )
    app = create_app(settings, engine=db)
    yield app, handler
    clock.set_today(None)


def _mails(handler, start: int):
    out = []
    for _from, rcpts, content in handler.messages[start:]:
        msg = email.message_from_bytes(content, policy=email.policy.default)
        out += [(rcpt, str(msg["Subject"])) for rcpt in rcpts]
    return out


def test_four_weeks_through_inbox_email_and_robot(session, db, walk, channel_app, robot):  # noqa: F811
    d, ids, head_id, leader_user_id = walk
    app, handler = channel_app
    hook, hook_url = robot()
    session.add(NotificationChannel(name="区发改委工作群", flavour="wecom", url=hook_url, department_id=d.lead_id))
    addresses = {
        d.lead_clerk.user_id: "fgw@duban.local",
        head_id: "fgw-head@duban.local",
        leader_user_id: "wuhaitao@duban.local",
    }
    for uid, address in addresses.items():
        session.get(User, uid).email = address
    session.commit()
    clerk, head, leader = (addresses[u] for u in (d.lead_clerk.user_id, head_id, leader_user_id))

    day = START
    working_days = 0
    while day <= END:
        with clock.frozen(day), app.app_context():
            seen_mail, seen_hooks = len(handler.messages), len(hook.requests)
            seen_notes = {n.id for n in session.exec(select(Notification)).all()}
            first = jobs.run_job(db, "daily", day)
            mails, hooks = _mails(handler, seen_mail), hook.requests[seen_hooks:]
            second = jobs.run_job(db, "daily", day)  # the same day again: nothing new anywhere
            assert _mails(handler, seen_mail) == mails and hook.requests[seen_hooks:] == hooks, day
            session.expire_all()
            notes = [n for n in session.exec(select(Notification)).all() if n.id not in seen_notes]

            if day in OFF_DAYS:
                assert first.status == second.status == "skipped", day
                assert mails == [] and hooks == [] and notes == [], day
            else:
                working_days += 1
                assert first.status == "ok", first.error
                assert second.status == "ok" and second.counts["digests.created"] == 0
                assert second.counts["rules.reminders"] == 0 and second.counts["deliveries.sent"] == 0
                # the lead clerk: one digest in the inbox, by e-mail and on the group robot
                (digest,) = [n for n in notes if n.user_id == d.lead_clerk.user_id and n.kind == "digest"]
                subjects = Counter(subject.split("（")[0].split("：")[0] for rcpt, subject in mails if rcpt == clerk)
                levels = Counter(level for _task, level in EXPECTED_ESCALATIONS.get(day, set()))
                # a notice reaches its rung and every rung below (tracker.rules.ladder): the clerk reads all
                notices_n = sum(levels.values())
                assert subjects == Counter({"督办每日提醒": 1, **({"督办通知": notices_n} if notices_n else {})}), (
                    day,
                    mails,
                )
                assert len(hooks) == 1 and hooks[0]["json"]["msgtype"] == "markdown", day
                # the digest's 催办 section lists exactly the day's reminders of the department
                reminded = session.exec(
                    select(Reminder).where(Reminder.day == day, Reminder.department_id == d.lead_id)
                ).all()
                assert len(reminded) == len(EXPECTED.get(day, ()))
                section = {s["key"]: s for s in digest.payload["sections"]}.get("reminders")
                assert (section["total"] if section else 0) == len(reminded), day
                if reminded:
                    assert sorted(i["task_id"] for i in section["items"]) == sorted(r.task_id for r in reminded)
                # the ladder: level 2 reaches the head (and level 3 too), level 3 the responsible leader
                for rcpt, reached in ((head, levels[2] + levels[3]), (leader, levels[3])):
                    notices = [s for r, s in mails if r == rcpt and s.startswith("督办通知")]
                    assert len(notices) == reached, (day, rcpt)
                # at most one digest per person per day
                per_user = Counter(n.user_id for n in notes if n.kind == "digest")
                assert all(v == 1 for v in per_user.values())
            act(session, d, ids, day)
        day += timedelta(days=1)

    assert working_days == 15
    runs = session.exec(select(JobRun).where(JobRun.job == "daily")).all()
    assert len(runs) == 2 * (END - START).days + 2
    # every escalation notice went to the inbox as well, once per person: a level-N notice to
    # N people here (the clerk, the head, the leader: one account on each rung)
    escalation_notes = session.exec(select(Notification).where(Notification.kind == "escalation")).all()
    assert (
        len(escalation_notes)
        == len({n.key for n in escalation_notes})
        == sum(level for v in EXPECTED_ESCALATIONS.values() for _task, level in v)
    )
