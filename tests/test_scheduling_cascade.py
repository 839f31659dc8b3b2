"""Key annual work cascades (004 §30): annual → quarterly → monthly → weekly, progress rolling up."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from tests import factories as f
from tracker import clock
from tracker.errors import NotPermitted, ValidationFailed
from tracker.models import AuditEvent, SourceKind, Task
from tracker.services.scheduling import cascade
from tracker.services.tasks import lifecycle as task_svc
from tracker.services.tasks import requests as task_requests

DAY = date(2026, 9, 21)


def _annual(session):
    with clock.frozen(DAY):
        d = f.district(session)
        src = f.source(
            session, kind=SourceKind.KEY_WORK, title="2026年政府工作报告重点工作", source_date=date(2026, 1, 20)
        )
        root = f.task_in(
            session, d, "in_progress", title="推进城市更新三年行动", source_id=src.id, due_date=date(2026, 12, 31)
        )
        session.commit()
    return d, root


def test_suggestions_follow_the_working_day_calendar(session):
    d, root = _annual(session)
    with clock.frozen(DAY):
        quarters = cascade.suggest_children(session, root)
        assert [(r["title"].split("——")[1], r["due_date"]) for r in quarters] == [
            ("第三季度工作要点", date(2026, 9, 30)),
            ("第四季度工作要点", date(2026, 12, 31)),
        ]
        q3, q4 = cascade.create_children(session, d.office, root.id, quarters)
        session.commit()
        months = cascade.suggest_children(session, q4)
        # 10-31 is a Saturday: October's plan is due on Friday 10-30.
        assert [r["due_date"] for r in months] == [date(2026, 10, 30), date(2026, 11, 30), date(2026, 12, 31)]
        october, *_ = cascade.create_children(session, d.office, q4.id, months)
        session.commit()
        weeks = cascade.suggest_children(session, october)
    # W40 (10-01..10-04) is wholly holiday and gets no arrangement; W41's last working day
    # is the make-up Saturday 10-10.
    assert [r["due_date"] for r in weeks] == [
        date(2026, 10, 10),
        date(2026, 10, 16),
        date(2026, 10, 23),
        date(2026, 10, 30),
    ]
    assert "每周工作安排（10月5日—10月11日）" in weeks[0]["title"]
    assert [cascade.level_of(session, t) for t in (root, q4, october)] == ["annual", "quarter", "month"]


def test_children_are_tasks_through_the_services(session):
    d, root = _annual(session)
    with clock.frozen(DAY):
        kids = cascade.create_children(
            session,
            d.office,
            root.id,
            [
                {"title": "三季度：完成老旧小区改造摸底", "due_date": date(2026, 9, 30)},
                {"title": "四季度：启动首批项目", "due_date": date(2026, 12, 31), "requirement": "完成立项"},
            ],
        )
        session.commit()
    for kid in kids:
        session.refresh(kid)
        assert (kid.parent_id, kid.source_id, kid.lead_department_id, kid.status) == (
            root.id,
            root.source_id,
            d.lead_id,
            "assigned",
        )
        assert kid.feedback_cycle == "monthly"
        assert task_svc.assisting_ids(session, kid.id) == [d.assist_id]
        assert task_svc.leader_ids(session, kid.id) == [d.leader_id]
        actions = [
            e.action
            for e in session.exec(select(AuditEvent).where(AuditEvent.task_id == kid.id).order_by(AuditEvent.id))
        ]
        assert actions == ["create", "assign"]
    assert kids[0].requirement == root.requirement and kids[1].requirement == "完成立项"


def test_rollup_is_the_mean_of_the_children(session):
    d, root = _annual(session)
    with clock.frozen(DAY):
        q3, q4 = cascade.create_children(
            session,
            d.office,
            root.id,
            [{"title": "三季度", "due_date": date(2026, 9, 30)}, {"title": "四季度", "due_date": date(2026, 12, 31)}],
        )
        for kid in (q3, q4):
            task_svc.acknowledge(session, d.lead_clerk, kid.id)
        task_svc.report_progress(session, d.lead_clerk, q3.id, {"text": "完成", "percent": 100})
        task_requests.request_close(session, d.lead_clerk, q3.id, "已完成")
        task_requests.review_close(session, d.office, q3.id, approve=True)
        task_svc.report_progress(session, d.lead_clerk, q4.id, {"text": "推进中", "percent": 40})
        session.commit()
    r = cascade.rollup(session, root.id)
    assert (r.total, r.closed, r.percent) == (2, 1, 70.0)
    # Split Q4 into months with no reports yet: Q4's figure becomes their mean (0).
    with clock.frozen(DAY):
        cascade.create_children(session, d.office, q4.id, cascade.suggest_children(session, q4))
        session.commit()
    r = cascade.rollup(session, root.id)
    assert (r.total, r.closed, r.percent) == (2, 1, 50.0)
    assert [fig for _, fig in r.children] == [100.0, 0.0]
    assert cascade.rollup(session, q3.id).percent is None


def test_refusals(session):
    d, root = _annual(session)
    with clock.frozen(DAY):
        plain = f.task_in(session, d, "in_progress", title="普通事项", due_date=date(2026, 12, 31))
        with pytest.raises(ValidationFailed, match="年度重点工作"):
            cascade.create_children(session, d.office, plain.id, [{"title": "x", "due_date": date(2026, 10, 9)}])
        with pytest.raises(ValidationFailed) as err:
            cascade.create_children(
                session,
                d.office,
                root.id,
                [
                    {"title": "", "due_date": date(2026, 10, 9)},
                    {"title": "跨年", "due_date": date(2027, 1, 15)},
                    {"title": "过去", "due_date": date(2026, 9, 1)},
                ],
            )
        assert "第 1 行：请填写名称" in err.value.message
        assert (
            "不能晚于上级事项（2026-12-31）" in err.value.message and "第 3 行：完成时限早于今天" in err.value.message
        )
        with pytest.raises(NotPermitted):
            cascade.create_children(session, d.lead_clerk, root.id, [{"title": "x", "due_date": date(2026, 10, 9)}])
        # Down to the weekly level, which is not split further.
        node = root
        for _ in range(3):
            node = cascade.create_children(
                session, d.office, node.id, [{"title": "下一级", "due_date": date(2026, 10, 9)}]
            )[0]
        assert cascade.level_of(session, node) == "week"
        assert cascade.suggest_children(session, node) == []
        with pytest.raises(ValidationFailed, match="最末一级"):
            cascade.create_children(session, d.office, node.id, [{"title": "x", "due_date": date(2026, 10, 9)}])
    session.rollback()
    assert session.exec(select(Task).where(Task.parent_id == root.id)).all() == []
