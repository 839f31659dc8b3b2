"""每周重点工作调度 (004 §30, §47): four weeks of a district from 2026-09-21.

The calendar matters here: 2026-09-20 (Sunday) is a make-up workday, 09-25 is
the Mid-Autumn holiday, 10-01..10-07 the National Day holiday and 10-10
(Saturday) a make-up workday. Each week is generated on its first working day
(W41's is Thursday 10-08), and each section must hold exactly the expected tasks.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests import factories as f
from tracker import clock
from tracker.errors import Conflict, NotPermitted, ValidationFailed
from tracker.models import (
    AuditEvent,
    ChangeRequest,
    ReportDue,
    ScheduleItem,
    Source,
    SourceKind,
    Task,
    TaskLeader,
    WeeklySchedule,
)
from tracker.services.scheduling import meeting
from tracker.services.scheduling import weekly as svc
from tracker.services.tasks import lifecycle as task_svc

WEEK_DAYS = {"W39": date(2026, 9, 21), "W40": date(2026, 9, 28), "W41": date(2026, 10, 8), "W42": date(2026, 10, 12)}

EXPECTED = {
    "W39": {
        "overdue": {"A"},
        "due_this_week": {"B"},
        "due_next_week": {"C"},
        "milestone": set(),
        "report_missing": {"G"},
        "blocked": set(),
    },
    "W40": {
        "overdue": {"A", "B"},
        "due_this_week": {"C"},
        "due_next_week": {"D"},
        "milestone": {"F"},
        "report_missing": {"G"},
        "blocked": {"I"},
    },
    "W41": {
        "overdue": {"A", "B", "C"},
        "due_this_week": {"D"},
        "due_next_week": set(),
        "milestone": {"F"},
        "report_missing": set(),
        "blocked": {"I", "J"},
    },
    "W42": {
        "overdue": {"A", "B", "C", "D"},
        "due_this_week": set(),
        "due_next_week": set(),
        "milestone": set(),
        "report_missing": {"G", "H"},
        "blocked": {"J"},
    },
}

YEAR_END = date(2026, 12, 31)


def _build(session):
    """The district on Monday 2026-09-14 (W38); returns the district and tasks by letter."""
    with clock.frozen(date(2026, 9, 14)):
        d = f.district(session)
        t = {
            "A": f.task_in(session, d, "in_progress", title="A 已逾期", due_date=date(2026, 9, 18)),
            "B": f.task_in(session, d, "in_progress", title="B 本周四到期", due_date=date(2026, 9, 24)),
            "C": f.task_in(session, d, "acknowledged", title="C 国庆前到期", due_date=date(2026, 9, 30)),
            "D": f.task_in(session, d, "assigned", title="D 调休周六到期", due_date=date(2026, 10, 10)),
            "E": f.task_in(session, d, "closed", title="E 已办结", due_date=date(2026, 9, 24)),
            "S": f.task_in(session, d, "suspended", title="S 暂缓", due_date=date(2026, 9, 24)),
            "X": f.task_in(session, d, "draft", title="X 草稿", due_date=date(2026, 9, 22)),
            "F": f.task_in(
                session,
                d,
                "in_progress",
                title="F 有时间节点",
                due_date=YEAR_END,
                milestones=[{"title": "完成可研批复", "due_date": date(2026, 9, 30)}],
            ),
            "G": f.task_in(session, d, "in_progress", title="G 每周反馈", due_date=YEAR_END, feedback_cycle="weekly"),
            "H": f.task_in(session, d, "in_progress", title="H 每月报送", due_date=YEAR_END, feedback_cycle="monthly"),
            "I": f.task_in(session, d, "in_progress", title="I 资金缺口", due_date=YEAR_END),
            "J": f.task_in(session, d, "in_progress", title="J 需要配合", due_date=YEAR_END),
        }
        # H3's recurring deadlines: one missed, one met.
        session.add(
            ReportDue(
                task_id=t["H"].id, period_start=date(2026, 9, 1), due_date=date(2026, 9, 25), met_on=date(2026, 9, 24)
            )
        )
        session.add(ReportDue(task_id=t["H"].id, period_start=date(2026, 10, 1), due_date=date(2026, 10, 9)))
        session.commit()
    return d, t


def _report(session, actor, task, day, **kw):
    with clock.frozen(day):
        task_svc.report_progress(session, actor, task.id, {"text": "本周推进情况", **kw})
        session.commit()


def _sections(session, schedule) -> dict[str, set[int]]:
    out = {s: set() for s in svc.SECTIONS}
    for task_id, section in session.execute(
        select(ScheduleItem.task_id, ScheduleItem.section).where(ScheduleItem.schedule_id == schedule.id)
    ):
        out[section].add(task_id)
    return out


def _generate(session, week):
    day = WEEK_DAYS[week]
    with clock.frozen(day):
        schedule = svc.generate_week(session, day)
        session.commit()
    return schedule


def _ids(t, letters):
    return {t[x].id for x in letters}


def _item(session, schedule, task, section="blocked") -> ScheduleItem:
    return session.exec(
        select(ScheduleItem).where(
            ScheduleItem.schedule_id == schedule.id, ScheduleItem.task_id == task.id, ScheduleItem.section == section
        )
    ).one()


def test_four_weeks_hold_exactly_the_expected_tasks(session):
    d, t = _build(session)

    w39 = _generate(session, "W39")
    assert (w39.iso_year, w39.iso_week, w39.week_start) == (2026, 39, date(2026, 9, 21))
    assert _sections(session, w39) == {s: _ids(t, v) for s, v in EXPECTED["W39"].items()}
    # 2026-09-20 was a make-up Sunday: A (due Friday 09-18) is two working days late on Monday.
    assert _item(session, w39, t["A"], "overdue").detail == "完成时限 2026-09-18，已逾期 2 个工作日"
    assert "最近一次：2026-09-14" in _item(session, w39, t["G"], "report_missing").detail

    # I's lead names a problem; G's lead reports on the 29th.
    _report(
        session,
        d.lead_clerk,
        t["I"],
        date(2026, 9, 22),
        problems="项目资金缺口较大，需争取省级专项资金支持",
        next_steps="提请分管副区长带队向市财政局汇报",
    )
    w40 = _generate(session, "W40")
    assert _sections(session, w40) == {s: _ids(t, v) for s, v in EXPECTED["W40"].items()}
    blocked = _item(session, w40, t["I"])
    assert blocked.category == "向上争取类"
    assert blocked.lead_leader_id == d.leader_id and blocked.lead_department_id == d.lead_id
    assert blocked.proposal == "提请分管副区长带队向市财政局汇报"
    assert blocked.detail.startswith("项目资金缺口较大") and "2026-09-22 反馈" in blocked.detail
    assert "完成可研批复（2026-09-30）" in _item(session, w40, t["F"], "milestone").detail

    _report(session, d.lead_clerk, t["G"], date(2026, 9, 29), percent=40)
    # An assisting department asks for coordination, with no text: 内部协调类.
    _report(session, d.assist_clerk, t["J"], date(2026, 9, 29), needs_coordination=True)
    w41 = _generate(session, "W41")
    # G reported on 09-29: nine calendar days before 10-08 but within five working days
    # (the National Day holiday does not count), so it is not missing.
    assert _sections(session, w41) == {s: _ids(t, v) for s, v in EXPECTED["W41"].items()}
    assert _item(session, w41, t["C"], "overdue").detail == "完成时限 2026-09-30，已逾期 1 个工作日"
    assert "已过" in _item(session, w41, t["F"], "milestone").detail
    j = _item(session, w41, t["J"])
    assert (j.category, j.detail.split("（")[0]) == ("内部协调类", "承办单位申请协调")

    # F's milestone is done, I's problem solved: both leave the lists.
    with clock.frozen(date(2026, 10, 9)):
        ms = session.exec(select(Task).where(Task.id == t["F"].id)).one()
        from tracker.models import Milestone

        m = session.exec(select(Milestone).where(Milestone.task_id == ms.id)).one()
        task_svc.report_progress(session, d.lead_clerk, ms.id, {"text": "可研已批复", "milestones_done": [m.id]})
        task_svc.report_progress(session, d.lead_clerk, t["I"].id, {"text": "资金已落实", "percent": 60})
        session.commit()
    w42 = _generate(session, "W42")
    assert _sections(session, w42) == {s: _ids(t, v) for s, v in EXPECTED["W42"].items()}
    assert _item(session, w42, t["D"], "overdue").detail == "完成时限 2026-10-10，已逾期 1 个工作日"
    h = _item(session, w42, t["H"], "report_missing")
    assert h.detail == "应于 2026-10-09 前报送"
    assert w42.counts == {s: len(v) for s, v in EXPECTED["W42"].items()}

    # One schedule per week, one audit event per generation.
    assert session.scalar(select(sa.func.count()).select_from(WeeklySchedule)) == 4
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "schedule_generate")).all()
    assert len(events) == 4 and all(e.actor_name == "系统" for e in events)


@pytest.mark.parametrize(
    "text, coordination, expected",
    [
        ("需争取上级政策支持", False, "向上争取类"),
        ("市级资金未下达", False, "向上争取类"),
        ("与企业洽谈土地价格", False, "重要洽谈类"),
        ("签约仪式时间未定", False, "重要洽谈类"),
        ("需规划部门配合出具意见", False, "内部协调类"),
        ("", True, "内部协调类"),
        ("施工进度滞后，雨季影响", False, "项目推进类"),
        ("", False, "项目推进类"),
    ],
)
def test_category_rule_table(text, coordination, expected):
    assert svc.guess_category(text, coordination) == expected


def test_regenerating_keeps_the_agenda_and_edits(session):
    d, t = _build(session)
    _report(session, d.lead_clerk, t["I"], date(2026, 9, 22), problems="需争取省级资金", next_steps="向市财政局汇报")
    _report(session, d.lead_clerk, t["J"], date(2026, 9, 22), problems="与企业洽谈未果", next_steps="再次约谈")
    w40 = _generate(session, "W40")
    i_item, j_item = _item(session, w40, t["I"]), _item(session, w40, t["J"])
    with clock.frozen(WEEK_DAYS["W40"]):
        meeting.update_items(
            session,
            d.office,
            w40.id,
            {
                i_item.id: {
                    "on_agenda": True,
                    "agenda_order": 2,
                    "category": "内部协调类",
                    "proposal": "由常务副区长召集会商",
                    "lead_leader_id": d.leader_id,
                },
                j_item.id: {"on_agenda": True, "agenda_order": 1},
            },
        )
        session.commit()
    before = {it.id: meeting._item_state(it) for it in session.exec(select(ScheduleItem))}
    ids_before = {(it.task_id, it.section): it.id for it in session.exec(select(ScheduleItem))}

    # Twice more, the second time after I's problem is solved.
    _generate(session, "W40")
    _report(session, d.lead_clerk, t["I"], date(2026, 9, 28), text="资金已到位")
    again = _generate(session, "W40")
    assert again.id == w40.id
    session.expire_all()
    rows = {it.id: it for it in session.exec(select(ScheduleItem))}
    # Every item the office had touched is still there, unchanged, in the same order.
    for item_id in (i_item.id, j_item.id):
        assert meeting._item_state(rows[item_id]) == before[item_id]
    assert (rows[j_item.id].agenda_order, rows[i_item.id].agenda_order) == (1, 2)
    assert rows[i_item.id].category == "内部协调类" and rows[i_item.id].proposal == "由常务副区长召集会商"
    # Nothing duplicated; the rest of the lists unchanged.
    assert {(it.task_id, it.section): it.id for it in rows.values()} == ids_before


def test_an_unblocked_item_off_the_agenda_leaves_the_list(session):
    d, t = _build(session)
    _report(session, d.lead_clerk, t["I"], date(2026, 9, 22), problems="需争取省级资金")
    w40 = _generate(session, "W40")
    assert t["I"].id in _sections(session, w40)["blocked"]
    _report(session, d.lead_clerk, t["I"], date(2026, 9, 28), text="资金已到位")
    w40 = _generate(session, "W40")
    assert t["I"].id not in _sections(session, w40)["blocked"]


def test_concurrent_style_double_generation_converges(session, db):
    """Two sessions generating the same week: one schedule, no duplicate items."""
    from sqlmodel import Session

    d, t = _build(session)
    with clock.frozen(WEEK_DAYS["W39"]):
        with Session(db) as a:
            svc.generate_week(a, WEEK_DAYS["W39"])
            a.commit()
        with Session(db) as b:
            svc.generate_week(b, WEEK_DAYS["W39"])
            b.commit()
    assert session.scalar(select(sa.func.count()).select_from(WeeklySchedule)) == 1
    n = session.scalar(select(sa.func.count()).select_from(ScheduleItem))
    assert n == sum(len(v) for v in EXPECTED["W39"].values())


def _agenda_week41(session):
    d, t = _build(session)
    _report(session, d.lead_clerk, t["I"], date(2026, 9, 22), problems="需争取省级资金", next_steps="向市财政局汇报")
    _report(session, d.assist_clerk, t["J"], date(2026, 9, 29), needs_coordination=True, problems="规划部门意见未出具")
    w41 = _generate(session, "W41")
    i_item, j_item = _item(session, w41, t["I"]), _item(session, w41, t["J"])
    with clock.frozen(WEEK_DAYS["W41"]):
        meeting.update_items(session, d.office, w41.id, {i_item.id: {"on_agenda": True}})
        meeting.update_items(session, d.office, w41.id, {j_item.id: {"on_agenda": True}})
        session.commit()
    return d, t, w41, i_item, j_item


def test_agenda_order_and_moves(session):
    d, t, w41, i_item, j_item = _agenda_week41(session)
    session.refresh(i_item), session.refresh(j_item)
    assert (i_item.agenda_order, j_item.agenda_order) == (1, 2)  # in the order they were added
    with clock.frozen(WEEK_DAYS["W41"]):
        meeting.move_item(session, d.office, j_item.id, "up")
        session.commit()
    session.refresh(i_item), session.refresh(j_item)
    assert (j_item.agenda_order, i_item.agenda_order) == (1, 2)
    moves = session.exec(select(AuditEvent).where(AuditEvent.action == "schedule_agenda_move")).all()
    assert len(moves) == 1 and moves[0].task_id == t["J"].id
    adds = session.exec(select(AuditEvent).where(AuditEvent.action == "schedule_agenda_add")).all()
    assert {e.entity_id for e in adds} == {i_item.id, j_item.id}
    assert sorted(e.after["agenda_order"] for e in adds) == [1, 2]  # audited after renumbering
    with pytest.raises(ValidationFailed) as err:
        meeting.update_items(session, d.office, w41.id, {i_item.id: {"category": "随便什么类"}})
    assert "类别应为" in err.value.message
    with pytest.raises(NotPermitted):
        meeting.update_items(session, d.lead_clerk, w41.id, {i_item.id: {"on_agenda": False}})


def test_meeting_decisions_become_tasks_and_changes(session):
    d, t, w41, i_item, j_item = _agenda_week41(session)
    sources_before = session.scalar(select(sa.func.count()).select_from(Source))
    with clock.frozen(date(2026, 10, 9)):
        meeting.record_meeting(
            session,
            d.office,
            w41.id,
            date(2026, 10, 9),
            [
                meeting.Decision(
                    i_item.id,
                    "new_task",
                    "由区财政局会同区发改委形成资金筹措方案",
                    title="制定项目资金筹措方案",
                    due_date=date(2026, 10, 30),
                ),
                meeting.Decision(j_item.id, "change", "规划部门10月15日前出具意见"),
            ],
            chair_leader_id=d.leader_id,
            attendees="吴海涛、各相关单位主要负责人",
        )
        session.commit()
    src = session.exec(select(Source).where(Source.kind == SourceKind.SCHEDULING_MEETING)).one()
    assert session.scalar(select(sa.func.count()).select_from(Source)) == sources_before + 1
    assert (src.source_date, src.reference, src.leader_id) == (date(2026, 10, 9), "2026-W41", d.leader_id)
    assert src.title == "重点工作调度推进会议（2026年10月5日—10月11日）"
    session.refresh(i_item), session.refresh(j_item)
    new = session.get(Task, i_item.decision_task_id)
    assert (new.source_id, new.status, new.lead_department_id, new.due_date, new.item_no) == (
        src.id,
        "assigned",
        d.lead_id,
        date(2026, 10, 30),
        "1",
    )
    assert new.title == "制定项目资金筹措方案" and new.requirement.startswith("由区财政局")
    assert session.exec(select(TaskLeader.leader_id).where(TaskLeader.task_id == new.id)).all() == [d.leader_id]
    change = session.exec(select(ChangeRequest).where(ChangeRequest.task_id == t["J"].id)).one()
    assert (
        change.status == "pending"
        and "【2026-10-09 调度会议定】规划部门10月15日前出具意见" in change.payload["requirement"]
    )
    assert i_item.decision.startswith("由区财政局") and j_item.decision == "规划部门10月15日前出具意见"
    held = session.get(WeeklySchedule, w41.id)
    assert (held.status, held.meeting_date, held.source_id) == ("held", date(2026, 10, 9), src.id)
    actions = [
        e.action
        for e in session.exec(
            select(AuditEvent).where(AuditEvent.at >= clock.start_of_local_day(date(2026, 10, 9)))
        ).all()
    ]
    for expected in ("source_create", "create", "assign", "request_change", "schedule_decision", "schedule_meeting"):
        assert expected in actions, expected
    assert actions.count("schedule_decision") == 2
    # The meeting is on record: the agenda is closed.
    with pytest.raises(Conflict):
        meeting.update_items(session, d.office, w41.id, {i_item.id: {"on_agenda": False}})
    # Regenerating keeps the decisions.
    _generate(session, "W41")
    session.refresh(i_item)
    assert i_item.decision_task_id == new.id and i_item.on_agenda


def test_meeting_with_a_bad_decision_writes_nothing(session):
    d, t, w41, i_item, j_item = _agenda_week41(session)
    counts = {m.__name__: session.scalar(select(sa.func.count()).select_from(m)) for m in (Source, Task, AuditEvent)}
    with clock.frozen(date(2026, 10, 9)), pytest.raises(ValidationFailed) as err:
        meeting.record_meeting(
            session,
            d.office,
            w41.id,
            date(2026, 10, 9),
            [
                meeting.Decision(i_item.id, "new_task", "形成方案", title="制定方案", due_date=None),
                meeting.Decision(j_item.id, "remind", ""),
            ],
        )
    session.rollback()
    assert "第 1 项：请填写新事项的完成时限" in err.value.message and "第 2 项：请填写会议决定" in err.value.message
    assert {
        m.__name__: session.scalar(select(sa.func.count()).select_from(m)) for m in (Source, Task, AuditEvent)
    } == counts


def test_remind_decision_goes_through_the_reminder_service(session):
    from tracker.models import Reminder

    d, t, w41, i_item, j_item = _agenda_week41(session)
    with clock.frozen(date(2026, 10, 9)):
        meeting.record_meeting(
            session,
            d.office,
            w41.id,
            date(2026, 10, 9),
            [
                meeting.Decision(j_item.id, "remind", "请于下周一前报送规划意见"),
                meeting.Decision(i_item.id, "note", "继续跟踪"),
            ],
        )
        session.commit()
    reminder = session.exec(select(Reminder).where(Reminder.task_id == t["J"].id)).one()
    assert (reminder.rule, reminder.day, reminder.department_id) == ("schedule_meeting", date(2026, 10, 9), d.lead_id)
    assert reminder.message == "调度会议定：请于下周一前报送规划意见"


def test_parse_week():
    assert svc.parse_week("2026-W41").start == date(2026, 10, 5)
    assert svc.parse_week("2026-10-10").key == "2026-W41"
    assert svc.Week.of(date(2027, 1, 1)).key == "2026-W53"
    with pytest.raises(ValidationFailed):
        svc.parse_week("2026-W60")


def test_regenerating_later_in_the_week_refreshes_the_details_in_place(session):
    d, t = _build(session)
    first = _generate(session, "W40")
    a = _item(session, first, t["A"], "overdue")
    assert a.detail == "完成时限 2026-09-18，已逾期 6 个工作日"  # 09-20 (Sunday) counted, 09-25 not
    with clock.frozen(date(2026, 9, 30)):
        svc.generate_week(session, date(2026, 9, 30))
        session.commit()
    session.refresh(a)
    assert a.detail == "完成时限 2026-09-18，已逾期 8 个工作日"
    assert _item(session, first, t["A"], "overdue").id == a.id


def test_two_generations_at_the_same_time_leave_one_schedule(session, db):
    """Two workers on the same week at once. On PostgreSQL both succeed (the advisory
    lock queues the second, the unique keys would catch it anyway); SQLite may refuse
    the second writer with "database is locked" but never leaves a duplicate."""
    import threading

    from sqlmodel import Session

    d, t = _build(session)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run():
        with Session(db) as s:
            try:
                barrier.wait()
                svc.generate_week(s, WEEK_DAYS["W39"])
                s.commit()
                outcomes.append("ok")
            except sa.exc.OperationalError as exc:
                s.rollback()
                assert "locked" in str(exc)
                outcomes.append("locked")

    with clock.frozen(WEEK_DAYS["W39"]):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=60)
    if db.dialect.name == "postgresql":
        assert outcomes == ["ok", "ok"]
    assert "ok" in outcomes
    schedules = session.exec(select(WeeklySchedule)).all()
    assert len(schedules) == 1
    assert _sections(session, schedules[0]) == {s: _ids(t, v) for s, v in EXPECTED["W39"].items()}
