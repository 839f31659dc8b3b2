"""The daily digest: who gets what, only on working days, once per user and day."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests import factories as f
from tracker import clock
from tracker.config import Settings
from tracker.models import Delivery, Escalation, Notification, NotificationChannel, Reminder, ReportDue, Role, User
from tracker.services.notify import digest

SETTINGS = Settings(env="testing", base_url="http://127.0.0.1:8000", smtp_host="127.0.0.1", smtp_port=2525)
MONDAY = date(2026, 11, 23)


@pytest.fixture
def d(session):
    return f.district(session)


def _digests(session, user_id=None, day=MONDAY):
    stmt = select(Notification).where(Notification.kind == "digest", Notification.day == day)
    if user_id is not None:
        stmt = stmt.where(Notification.user_id == user_id)
    return session.exec(stmt.order_by(Notification.id)).all()


def _section(note: Notification, key: str) -> dict:
    return next(s for s in note.payload["sections"] if s["key"] == key)


def _busy_district(session, d):
    """An assigned task (to acknowledge), an overdue one, one due in two working days."""
    with f.on(date(2026, 11, 2)):
        late = f.task_in(session, d, "in_progress", title="老旧小区改造", due_date=date(2026, 11, 18))
    fresh = f.task_in(session, d, "assigned", title="编制年度投资计划", due_date=date(2026, 12, 30))
    soon = f.task_in(session, d, "acknowledged", title="报送项目清单", due_date=date(2026, 11, 25))
    session.commit()
    return late, fresh, soon


def test_clerk_digest_lists_what_is_waiting_with_absolute_links(session, d):
    late, fresh, soon = _busy_district(session, d)
    counts = digest.build_digests(session, MONDAY, settings=SETTINGS)
    session.commit()
    (note,) = _digests(session, d.lead_clerk.user_id)
    assert note.key == f"digest:{d.lead_clerk.user_id}:2026-11-23"
    assert [i["task_id"] for i in _section(note, "acknowledge")["items"]] == [fresh.id]
    assert [i["task_id"] for i in _section(note, "overdue")["items"]] == [late.id]
    assert [i["task_id"] for i in _section(note, "due_soon")["items"]] == [soon.id]
    assert _section(note, "overdue")["items"][0]["url"] == f"http://127.0.0.1:8000/tasks/{late.id}"
    assert "已逾期（时限 2026-11-18）" in note.body and f"http://127.0.0.1:8000/tasks/{late.id}" in note.body
    assert "待签收1" in note.title and "已逾期1" in note.title
    # the assisting department sees the overdue and due-soon tasks it helps with, nothing to acknowledge
    (assist,) = _digests(session, d.assist_clerk.user_id)
    assert _section(assist, "acknowledge")["total"] == 0
    assert {i["task_id"] for s in assist.payload["sections"] for i in s["items"]} == {late.id, soon.id}
    # the other department has nothing: no digest at all; the administrator never gets one
    assert _digests(session, d.other_clerk.user_id) == [] and _digests(session, d.admin.user_id) == []
    assert counts["created"] == len(_digests(session)) and counts["empty"] >= 1


def test_leader_and_office_digests(session, d):
    late, fresh, soon = _busy_district(session, d)
    waiting = f.task_in(session, d, "pending_approval", title="待审批事项", needs_leader_approval=True)
    f.task_in(session, d, "pending_review")
    f.open_request(session, d, soon, "extension")
    session.commit()
    digest.build_digests(session, MONDAY, settings=SETTINGS)
    (lead,) = _digests(session, d.leader.user_id)
    assert [i["task_id"] for i in _section(lead, "approval")["items"]] == [waiting.id]
    assert [i["task_id"] for i in _section(lead, "overdue")["items"]] == [late.id]
    assert _digests(session, d.other_leader.user_id) == []  # nothing in 李明's portfolio
    (office,) = _digests(session, d.office.user_id)
    labels = [i["label"] for i in _section(office, "review")["items"]]
    assert labels == ["办结申请 1 项", "延期申请 1 项"]
    assert _section(office, "overdue")["total"] == 1
    assert _section(office, "review")["items"][0]["url"] == "http://127.0.0.1:8000/office/review"


def test_reminders_report_dues_and_escalations_reach_clerk_head_and_leader(session, d):
    late, fresh, soon = _busy_district(session, d)
    head = f.user(session, Role.CLERK, department_id=d.lead_id)
    head.is_head = True
    session.add(ReportDue(task_id=soon.id, period_start=date(2026, 11, 1), due_date=date(2026, 11, 24)))
    session.add(
        Reminder(
            task_id=late.id,
            department_id=d.lead_id,
            rule="overdue_daily",
            day=MONDAY,
            message="该事项已逾期3个工作日，请立即办理",
        )
    )
    session.add(
        Reminder(
            task_id=late.id,
            department_id=d.lead_id,
            rule="overdue_daily",
            day=MONDAY - timedelta(3),
            message="上周五的催办",
        )
    )
    # an escalation of Saturday (since the last working day) at level 3, and an old one that is not listed
    with f.on(date(2026, 11, 21)):
        session.add(
            Escalation(
                task_id=late.id,
                department_id=d.lead_id,
                level=3,
                notice_no="督〔2026〕7号",
                reason="逾期未办结",
                created_at=clock.now(),
            )
        )
    with f.on(date(2026, 11, 19)):
        session.add(
            Escalation(
                task_id=late.id,
                department_id=d.lead_id,
                level=2,
                notice_no="督〔2026〕5号",
                reason="旧的督办",
                created_at=clock.now(),
            )
        )
    session.commit()
    digest.build_digests(session, MONDAY, settings=SETTINGS)
    (clerk,) = _digests(session, d.lead_clerk.user_id)
    assert [i["note"] for i in _section(clerk, "reminders")["items"]] == ["该事项已逾期3个工作日，请立即办理"]
    assert _section(clerk, "report_due")["items"][0]["task_id"] == soon.id
    assert "2026-11-24" in _section(clerk, "report_due")["items"][0]["note"]
    esc = _section(clerk, "escalations")["items"]
    assert len(esc) == 1 and "督〔2026〕7号" in esc[0]["note"]
    (head_note,) = _digests(session, head.id)
    assert head_note.payload["audience"] == "head"
    assert [i["task_id"] for i in _section(head_note, "escalations")["items"]] == [late.id]
    assert [i["task_id"] for i in _section(head_note, "overdue")["items"]] == [late.id]
    (leader,) = _digests(session, d.leader.user_id)
    assert "督〔2026〕7号" in _section(leader, "escalations")["items"][0]["note"]


def test_twice_gives_one_digest_per_user_and_one_set_of_deliveries(session, d):
    _busy_district(session, d)
    session.get(User, d.lead_clerk.user_id).email = "fgw@duban.local"
    session.add(
        NotificationChannel(
            name="发改委工作群", flavour="wecom", url="http://127.0.0.1:9/hook", department_id=d.lead_id
        )
    )
    second_clerk = f.user(session, Role.CLERK, department_id=d.lead_id)
    session.commit()
    first = digest.build_digests(session, MONDAY, settings=SETTINGS)
    session.commit()
    again = digest.build_digests(session, MONDAY, settings=SETTINGS)
    session.commit()
    assert first["created"] > 0 and again["created"] == 0 and again["existing"] == first["created"]
    per_user = session.execute(select(Notification.user_id, sa.func.count()).group_by(Notification.user_id)).all()
    assert all(n == 1 for _, n in per_user)
    rows = session.exec(select(Delivery).order_by(Delivery.id)).all()
    # one e-mail (the clerk with an address) and the department's robot once, on its first clerk's digest
    assert sorted((r.channel, r.target) for r in rows) == [
        ("email", "fgw@duban.local"),
        ("webhook", str(session.exec(select(NotificationChannel.id)).one())),
    ]
    hook = next(r for r in rows if r.channel == "webhook")
    assert session.get(Notification, hook.notification_id).user_id == d.lead_clerk.user_id != second_clerk.id
    assert first["emails"] == 1 and first["webhooks"] == 1


def test_no_email_deliveries_without_smtp(session, d):
    _busy_district(session, d)
    session.get(User, d.lead_clerk.user_id).email = "fgw@duban.local"
    session.commit()
    counts = digest.build_digests(session, MONDAY, settings=Settings(env="testing"))
    assert counts["emails"] == 0 and session.scalar(select(sa.func.count()).select_from(Delivery)) == 0


def test_nothing_on_a_holiday_saturday_but_a_digest_on_the_make_up_saturday(session, d):
    with f.on(date(2026, 9, 21)):
        f.task_in(session, d, "in_progress", due_date=date(2026, 9, 30))
    session.commit()
    # 2026-10-03 is a Saturday inside the National Day holiday; 2026-10-10 a 调休 working Saturday
    for day in (date(2026, 10, 3), date(2026, 10, 4), date(2026, 11, 28)):
        with f.on(day):
            assert digest.build_digests(session, day, settings=SETTINGS)["skipped"] == 1
    assert session.scalar(select(sa.func.count()).select_from(Notification)) == 0
    with f.on(date(2026, 10, 10)):
        counts = digest.build_digests(session, date(2026, 10, 10), settings=SETTINGS)
    session.commit()
    assert counts["skipped"] == 0 and counts["created"] >= 2
    (note,) = _digests(session, d.lead_clerk.user_id, date(2026, 10, 10))
    assert _section(note, "overdue")["total"] == 1


def test_concurrent_runs_create_each_digest_once(db, session, d):
    """Two "scheduler processes" (two connections) build the same day at once."""
    _busy_district(session, d)
    for _ in range(6):
        f.user(session, Role.CLERK, department_id=d.lead_id)
    session.commit()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            with Session(db, expire_on_commit=False) as s:
                with clock.frozen(MONDAY):
                    barrier.wait(timeout=10)
                    results.append(digest.build_digests(s, MONDAY, settings=SETTINGS))
                    s.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    total = session.scalar(select(sa.func.count()).select_from(Notification))
    users = session.scalar(select(sa.func.count(sa.distinct(Notification.user_id))).select_from(Notification))
    assert total == users == sum(r["created"] for r in results) >= 8


def test_level_three_escalation_of_a_task_naming_no_leader_goes_to_the_leader_in_charge(session, d):
    with f.on(date(2026, 11, 2)):
        late = f.task_in(
            session, d, "in_progress", title="无责任领导的事项", due_date=date(2026, 11, 18), leader_ids=[]
        )
        named = f.task_in(
            session,
            d,
            "in_progress",
            title="李明负责的事项",
            due_date=date(2026, 11, 18),
            leader_ids=[d.other_leader.leader_id],
        )
    with f.on(MONDAY):
        session.add(
            Escalation(
                task_id=late.id,
                department_id=d.lead_id,
                level=3,
                notice_no="督〔2026〕11号",
                reason="逾期未办结",
                created_at=clock.now(),
            )
        )
        session.add(
            Escalation(
                task_id=named.id,
                department_id=d.lead_id,
                level=3,
                notice_no="督〔2026〕12号",
                reason="逾期未办结",
                created_at=clock.now(),
            )
        )
    session.commit()
    digest.build_digests(session, MONDAY, settings=SETTINGS)
    (wu,) = _digests(session, d.leader.user_id)  # 吴海涛 is in charge of the lead department
    assert [i["task_id"] for i in _section(wu, "escalations")["items"]] == [late.id]
    (li,) = _digests(session, d.other_leader.user_id)  # 李明 is named on the other task
    assert [i["task_id"] for i in _section(li, "escalations")["items"]] == [named.id]


@pytest.mark.parametrize("has_clerk", [True, False])
def test_digest_shows_each_escalation_to_exactly_the_people_its_notice_reached(session, d, has_clerk):
    """One rule for who stands on a rung (tracker.rules.ladder): the digest's escalation
    sections and the notices sent by the reminder run agree, also for a department with
    no head registered and for one whose only account is its head."""
    from tracker.services.organisation import directory as organisation

    head = f.user(session, Role.CLERK, department_id=d.other_id)
    session.get(User, head.id).is_head = True
    if not has_clerk:
        session.get(User, d.other_clerk.user_id).active = False
    with f.on(date(2026, 11, 2)):
        late = f.task_in(session, d, "in_progress", title="无负责人单位的事项", due_date=date(2026, 11, 18))
        other = f.task_in(
            session,
            d,
            "assigned",
            title="只有负责人的单位",
            due_date=date(2026, 11, 18),
            lead_department_id=d.other_id,
            leader_ids=[],
        )
    escs = []
    with f.on(MONDAY):
        for task, dep in ((late, d.lead_id), (other, d.other_id)):
            for level in (1, 2, 3):
                esc = Escalation(
                    task_id=task.id,
                    department_id=dep,
                    level=level,
                    notice_no=f"督〔2026〕{task.id}{level}号",
                    reason="逾期未办结",
                    created_at=clock.now(),
                )
                session.add(esc)
                escs.append(esc)
    session.commit()
    reached = organisation.ladder_recipients(
        session, [{"id": e.id, "level": e.level, "task_id": e.task_id, "department_id": e.department_id} for e in escs]
    )
    digest.build_digests(session, MONDAY, settings=SETTINGS)
    session.commit()
    shown: dict[int, set[int]] = {}
    for note in _digests(session):
        for item in (
            _section(note, "escalations")["items"]
            if any(s["key"] == "escalations" for s in note.payload["sections"])
            else []
        ):
            no = item["note"].split(" ")[1].split("（")[0]
            shown.setdefault(next(e.id for e in escs if e.notice_no == no), set()).add(note.user_id)
    for e in escs:
        assert shown.get(e.id, set()) == set(reached[e.id]), (e.department_id, e.level)
    # the lead department registered no head: its clerk reads every rung
    assert all(d.lead_clerk.user_id in reached[e.id] for e in escs if e.department_id == d.lead_id)
    if not has_clerk:  # the head is the other department's only account: the level-1 notice is theirs
        assert [reached[e.id] for e in escs if e.department_id == d.other_id][0] == [head.id]


def test_a_task_behind_on_several_reports_is_listed_once_with_how_many(session, d):
    late, _fresh, soon = _busy_district(session, d)
    for month in (8, 9, 10):  # three monthly reports never made, and this month's due tomorrow
        session.add(ReportDue(task_id=late.id, period_start=date(2026, month, 1), due_date=date(2026, month, 25)))
    session.add(ReportDue(task_id=late.id, period_start=date(2026, 11, 1), due_date=date(2026, 11, 24)))
    session.add(ReportDue(task_id=soon.id, period_start=date(2026, 11, 1), due_date=date(2026, 11, 24)))
    session.commit()
    digest.build_digests(session, MONDAY, settings=SETTINGS)
    (clerk,) = _digests(session, d.lead_clerk.user_id)
    dues = _section(clerk, "report_due")
    assert dues["total"] == 2 and [i["task_id"] for i in dues["items"]] == [late.id, soon.id]
    assert dues["items"][0]["note"] == "已有 3 期进展未报送（最早一期应于 2026-08-25 前报送），报送最新进展即可"
    assert dues["items"][1]["note"] == "本期进展应于 2026-11-24 前报送"
    assert clerk.body.count(late.title) == 2  # once as overdue, once as behind on its reports


def test_a_digest_that_would_say_the_same_again_is_not_sent(session, d):
    _busy_district(session, d)
    first = digest.build_digests(session, MONDAY, settings=SETTINGS)
    session.commit()
    assert first["created"] >= 1 and _digests(session, d.lead_clerk.user_id)
    tuesday = MONDAY + timedelta(days=1)
    with f.on(tuesday):  # the same three tasks with the same notes: nothing new
        counts = digest.build_digests(session, tuesday, settings=SETTINGS)
        f.task_in(session, d, "in_progress", title="今天到期的事项", due_date=tuesday)
    session.commit()
    assert not _digests(session, d.lead_clerk.user_id, tuesday) and counts["unchanged"] >= 1
    wednesday = tuesday + timedelta(days=1)
    with f.on(wednesday):  # that task is overdue now, 报送项目清单 due today: news
        digest.build_digests(session, wednesday, settings=SETTINGS)
    session.commit()
    (note,) = _digests(session, d.lead_clerk.user_id, wednesday)
    assert _section(note, "overdue")["total"] == 2
