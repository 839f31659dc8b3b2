"""Reminder rules, the escalation ladder, 会签 closing and periodic reports, day by day.

A district is walked through four weeks with a frozen clock, from Monday
2026-09-21 to Friday 2026-10-16, on the calendar table: Mid-Autumn Festival
(Friday 09-25) and the National Day holiday (10-01..10-07) are off, Sunday
09-20 and Saturday 10-10 are make-up workdays. Every day the rules run twice;
the test asserts the exact reminders and escalations of each day, that a
second run adds nothing, and that nothing happens on a day off.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests import factories as f
from tracker import clock
from tracker.errors import ValidationFailed
from tracker.models import AppSetting, AuditEvent, Escalation, Reminder, Role, Task, User
from tracker.rules import overdue as derived
from tracker.services.actors import SYSTEM
from tracker.services.chasing import by_hand as task_chasing
from tracker.services.chasing import reminders
from tracker.services.chasing import rules as reminder_rules
from tracker.services.organisation import directory as organisation
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks import recurring
from tracker.services.tasks import requests as task_requests

START, END = date(2026, 9, 21), date(2026, 10, 16)


def _rule(rule: str) -> str:
    """milestone:<id>:before:3 -> milestone:before:3 (ids differ between runs)."""
    parts = rule.split(":")
    return ":".join([parts[0], *parts[2:]]) if parts[0] == "milestone" else rule


# The expected reminders of each working day, as (task, rule); derived by hand from the
# rules (3 and 1 working days before, on the day, daily after; 签收 within 1 working day)
# and the calendar above. Days not listed expect nothing.
EXPECTED = {
    date(2026, 9, 21): {("C", "before_due:3")},
    date(2026, 9, 23): {("C", "before_due:1"), ("B", "not_acknowledged"), ("C", "not_acknowledged")},
    date(2026, 9, 24): {("C", "due_today"), ("B", "not_acknowledged"), ("C", "not_acknowledged"), ("D", "report_due")},
    # C (会签, due 09-24, never answered) closes as 无异议 before the reminders run.
    date(2026, 9, 28): {("B", "not_acknowledged")},
    date(2026, 9, 29): {("A", "before_due:3"), ("B", "not_acknowledged")},
    date(2026, 9, 30): {("B", "not_acknowledged"), ("D", "report_due")},
    date(2026, 10, 8): {
        ("A", "before_due:1"),
        ("B", "not_acknowledged"),
        ("D", "report_overdue"),
        ("E", "milestone:before:3"),
    },
    date(2026, 10, 9): {("A", "due_today"), ("B", "not_acknowledged"), ("D", "report_due"), ("D", "report_overdue")},
    # the make-up Saturday is a working day like any other
    date(2026, 10, 10): {
        ("A", "overdue"),
        ("B", "not_acknowledged"),
        ("D", "report_overdue"),
        ("E", "milestone:before:1"),
    },
    date(2026, 10, 12): {
        ("A", "overdue"),
        ("B", "not_acknowledged"),
        ("D", "report_overdue"),
        ("E", "milestone:today"),
    },
    date(2026, 10, 13): {("A", "overdue"), ("B", "not_acknowledged"), ("B", "before_due:3"), ("E", "before_due:3")},
    date(2026, 10, 14): {("A", "overdue"), ("B", "not_acknowledged")},
    date(2026, 10, 15): {("A", "overdue"), ("B", "not_acknowledged"), ("B", "before_due:1"), ("E", "before_due:1")},
    date(2026, 10, 16): {("A", "overdue"), ("B", "not_acknowledged"), ("B", "due_today"), ("E", "due_today")},
}

# Escalations (task, level): 1 / 3 / 5 working days overdue. D's report due 09-30 was
# missed (1 day overdue on 10-08, 3 on the make-up Saturday); A's due date 10-09 passed.
EXPECTED_ESCALATIONS = {
    date(2026, 10, 8): {("D", 1)},
    date(2026, 10, 10): {("A", 1), ("D", 2)},
    date(2026, 10, 13): {("A", 2)},
    date(2026, 10, 15): {("A", 3)},
}

OFF_DAYS = {
    date(2026, 9, 25),
    date(2026, 9, 26),
    date(2026, 9, 27),
    *(date(2026, 10, d) for d in range(1, 8)),
    date(2026, 10, 11),
}


def act(session, d, ids, day):
    """What people do after the morning run: D's lead reports on 09-24 (in time), skips
    09-30 and 10-09, and catches up on 10-12."""
    if day == date(2026, 9, 24):
        tasks.report_progress(session, d.lead_clerk, ids["D"], {"text": "本周进展：已完成调研"})
    if day == date(2026, 10, 12):
        tasks.report_progress(session, d.lead_clerk, ids["D"], {"text": "补报两周进展"})
    session.commit()


def _daily(session, day):
    recurring.ensure_report_dues(session, day + timedelta(days=14))
    recurring.check_reports(session, day)
    counts = reminders.run_rules(session, day)
    session.commit()
    return counts


@pytest.fixture
def walk(session):
    with clock.frozen(START):
        d = f.district(session)
        head = f.user(session, Role.CLERK, department_id=d.lead_id)
        session.get(User, head.id).is_head = True
        leader_user = session.exec(select(User).where(User.leader_id == d.leader_id)).first()
        t = {}
        t["A"] = f.draft(session, d, title="A 按期办结", due_date=date(2026, 10, 9))
        t["B"] = f.draft(session, d, title="B 一直未签收", due_date=date(2026, 10, 16))
        t["C"] = f.draft(session, d, title="C 会签意见", due_date=date(2026, 9, 24), time_limit_preset="countersign_3")
        t["D"] = f.draft(
            session,
            d,
            title="D 每周五报送",
            deadline_kind="recurring",
            recurrence="weekly:5",
            feedback_cycle="weekly",
            due_date=None,
        )
        t["E"] = f.draft(
            session,
            d,
            title="E 有时间节点",
            due_date=date(2026, 10, 16),
            milestones=[{"title": "完成初步设计", "due_date": date(2026, 10, 12)}],
        )
        for task in t.values():
            tasks.assign(session, d.office, task.id)
        for key in "ADE":
            tasks.acknowledge(session, d.lead_clerk, t[key].id)
        session.commit()
    return d, {k: v.id for k, v in t.items()}, head.id, leader_user.id


def test_four_weeks_day_by_day(session, walk):
    d, ids, head_id, leader_user_id = walk
    names = {v: k for k, v in ids.items()}
    got: dict[date, set] = {}
    escalated: dict[date, set] = {}
    overdue_d: dict[date, bool] = {}
    day = START
    while day <= END:
        with clock.frozen(day):
            first = _daily(session, day)
            again = _daily(session, day)  # a second run the same day adds nothing
            assert again["reminders"] == 0 and again["escalations"] == 0, day
            if day in OFF_DAYS:
                assert first == {"workday": 0, "reminders": 0, "escalations": 0, "closed_no_objection": 0}
            rows = session.exec(select(Reminder).where(Reminder.day == day)).all()
            got[day] = {(names[r.task_id], _rule(r.rule)) for r in rows}
            assert all(r.department_id == d.lead_id for r in rows)
            esc = session.exec(select(Escalation)).all()
            escalated[day] = {(names[e.task_id], e.level) for e in esc} - set().union(*escalated.values())
            h = derived.Horizon.build(session, today=day)
            overdue_d[day] = bool(session.scalar(select(derived.is_overdue(h)).where(Task.id == ids["D"])))
            act(session, d, ids, day)
        day += timedelta(days=1)

    expected = {day: EXPECTED.get(day, set()) for day in got}
    assert got == expected
    assert {k: v for k, v in escalated.items() if v} == EXPECTED_ESCALATIONS
    assert not any(got[day] for day in OFF_DAYS)

    # never twice for the same task, rule and day
    dupes = session.execute(
        select(Reminder.task_id, Reminder.rule, Reminder.day, sa.func.count())
        .group_by(Reminder.task_id, Reminder.rule, Reminder.day)
        .having(sa.func.count() > 1)
    ).all()
    assert dupes == []

    # one audit event per automatic reminder and escalation, by the system
    n_rem = session.scalar(select(sa.func.count()).select_from(Reminder))
    assert (
        session.scalar(
            select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity == "reminder", AuditEvent.actor_name == "系统")
        )
        == n_rem
    )
    escs = session.exec(select(Escalation).order_by(Escalation.id)).all()
    assert session.scalar(
        select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.entity == "escalation", AuditEvent.action == "escalate")
    ) == len(escs)
    # numbered through the counter, without gaps, keyed once per deadline and level
    assert [e.notice_no for e in escs] == [f"督办〔2026〕{i}号" for i in range(1, len(escs) + 1)]
    assert {e.auto_key for e in escs} == {
        f"report:{ids['D']}:1:2026-09-30",
        f"report:{ids['D']}:2:2026-09-30",
        f"overdue:{ids['A']}:1:2026-10-09",
        f"overdue:{ids['A']}:2:2026-10-09",
        f"overdue:{ids['A']}:3:2026-10-09",
    }

    # C closed as 无异议 on the first working day after its deadline, dated the deadline
    c = session.get(Task, ids["C"])
    assert c.status == "closed" and c.closed_on == date(2026, 9, 24)
    ev = session.exec(
        select(AuditEvent).where(AuditEvent.task_id == c.id, AuditEvent.action == "close_no_objection")
    ).one()
    assert ev.actor_id is None and ev.at.date() in (date(2026, 9, 27), date(2026, 9, 28))
    assert ev.after == {"status": "closed", "closed_on": "2026-09-24"}

    # D: reporting deadlines moved off the holidays, the missed one made D overdue until it reported
    dues = recurring.dues_of(session, ids["D"])
    assert [r.due_date for r in dues][:4] == [
        date(2026, 9, 24),
        date(2026, 9, 30),
        date(2026, 10, 9),
        date(2026, 10, 16),
    ]
    assert dues[0].met_on == date(2026, 9, 24)  # in time
    assert dues[1].met_on == dues[2].met_on == dues[3].met_on == date(2026, 10, 12)  # late, then the current period
    assert [day for day, late in overdue_d.items() if late] == [date(2026, 10, day) for day in range(1, 13)], (
        "overdue from the day after the missed date until it reported"
    )


def test_dry_run_counts_and_writes_nothing(session, walk):
    d, ids, *_ = walk
    day = date(2026, 10, 13)
    with clock.frozen(day):
        dry = reminders.run_rules(session, day, dry_run=True)
        assert session.scalar(select(sa.func.count()).select_from(Reminder)) == 0
        assert session.scalar(select(sa.func.count()).select_from(Escalation)) == 0
        real = reminders.run_rules(session, day)
    assert dry["reminders"] == real["reminders"] > 0
    # A is 3 working days overdue and was never escalated: one notice, at the rung reached (2)
    assert dry["escalations"] == real["escalations"] == 1 and real["escalation_level_2"] == 1
    assert dry["closed_no_objection"] == real["closed_no_objection"] == 1


def test_escalation_notices_reach_the_ladder(session, walk):
    """Level 1 to the clerks, 2 to the head, 3 to the responsible leader; each rung keeps
    the ones below informed (tracker.rules.ladder)."""
    d, ids, head_id, leader_user_id = walk
    for day in (date(2026, 10, 10), date(2026, 10, 13), date(2026, 10, 15)):  # A: 1, 3, 5 days overdue
        with clock.frozen(day):
            reminders.run_rules(session, day)
    escs = session.exec(select(Escalation).where(Escalation.task_id == ids["A"]).order_by(Escalation.level)).all()
    rungs = organisation.ladder_recipients(
        session, [{"id": e.id, "task_id": e.task_id, "department_id": e.department_id, "level": e.level} for e in escs]
    )
    clerk = d.lead_clerk.user_id
    assert [rungs[e.id] for e in escs] == [[clerk], [head_id, clerk], [leader_user_id, head_id, clerk]]


def test_a_late_first_sight_escalates_once_at_the_highest_rung(session, walk):
    """The scheduler was down for a week: on its first run A is 5 working days overdue.
    One notice to the responsible leader, and the lower rungs do not follow later."""
    d, ids, *_ = walk
    for day in (date(2026, 10, 16), date(2026, 10, 19)):
        with clock.frozen(day):
            reminders.run_rules(session, day)
    escs = session.exec(select(Escalation).where(Escalation.task_id == ids["A"])).all()
    assert [(e.level, e.auto_key) for e in escs] == [(3, f"overdue:{ids['A']}:3:2026-10-09")]


def test_pending_extension_blocks_no_objection(session, walk):
    d, ids, *_ = walk
    with clock.frozen(date(2026, 9, 23)):
        task_requests.request_extension(session, d.lead_clerk, ids["C"], date(2026, 9, 30), "需征求多个科室意见")
        session.commit()
    with clock.frozen(date(2026, 9, 28)):
        counts = reminders.run_rules(session, date(2026, 9, 28))
    assert counts["closed_no_objection"] == 0
    assert session.get(Task, ids["C"]).status == "assigned"


def test_system_only_closes_an_unanswered_countersign(session, walk):
    d, ids, *_ = walk
    with clock.frozen(date(2026, 9, 24)):  # not yet past the deadline
        with pytest.raises(ValidationFailed, match="尚未届满"):
            task_chasing.close_no_objection(session, SYSTEM, ids["C"])
    with clock.frozen(date(2026, 9, 28)):
        task = task_chasing.close_no_objection(session, SYSTEM, ids["C"])
    assert task.status == "closed" and task.closed_on == date(2026, 9, 24)
    assert session.scalar(select(derived.closed_late()).where(Task.id == ids["C"])) is False


def test_rules_are_data_validated_and_audited(session, walk):
    d, ids, *_ = walk
    assert reminder_rules.load_rules(session) == reminder_rules.DEFAULT_RULES
    with pytest.raises(ValidationFailed) as err:
        reminder_rules.save_rules(session, d.office, {"ladder": [3, 1, 5]})
    assert "督办层级" in err.value.fields["ladder"]
    with pytest.raises(ValidationFailed):
        reminder_rules.save_rules(session, d.office, {"countersign_presets": ["no_such_preset"]})
    assert session.get(AppSetting, "reminder_rules") is None  # nothing half-written
    reminder_rules.save_rules(session, d.office, {"before_due": [5], "ladder": [2, 4, 6], "on_due": False})
    session.commit()
    rules = reminder_rules.load_rules(session)
    assert rules["before_due"] == [5] and rules["ladder"] == [2, 4, 6] and rules["on_due"] is False
    ev = session.exec(select(AuditEvent).where(AuditEvent.action == "rules_update")).one()
    assert ev.after["ladder"] == [2, 4, 6]
    # the new rules drive the run: 5 working days before B's and E's due date 10-16 is the
    # make-up Saturday 10-10 (10-12..10-16 are the other four)
    with clock.frozen(date(2026, 10, 10)):
        reminders.run_rules(session, date(2026, 10, 10))
    rules_of_day = {r.rule for r in session.exec(select(Reminder).where(Reminder.day == date(2026, 10, 10)))}
    assert "before_due:5" in rules_of_day and "due_today" not in rules_of_day
