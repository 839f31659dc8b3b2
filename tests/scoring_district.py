"""A frozen-clock district for scoring and bulletin tests, built through the real services.

Every task is assigned on Monday 2026-09-21. Around the National Day holiday
(2026-10-01..07 off, 10-08 back, Saturday 10-10 a make-up workday):

区发展和改革委员会 (lead ``A``; 区财政局 assists on all of A's tasks):
  A1 due 10-09, closed 10-09                        on time
     reporting deadline 10-16 unmet, but owed no more once closed
  A2 due 09-30, closed 10-12                        late (across the holiday)
  A3 due 10-09 -> extension asked 09-30, approved 10-08 to 10-23 (before the
     original deadline), closed 10-20                on time; 1 extension
  A4 due 10-30, asked to close 10-14, returned 10-15, closed 10-21: on time; 1 return
  A5 due 09-30, acknowledged, never closed           overdue across the holiday
     reporting deadline 10-16 met on 10-19 (late); 10-10 met 10-09 (on time)
区教育局 (``B``):
  B1 due 10-16, closed 10-15                         on time
  B2 due 10-20, open                                 overdue from 10-21
  B3 due 11-30, returned 10-14 and 10-22             2 returns
     reporting deadline 10-25 unmet (late); 11-05 unmet (after October)
区财政局 (``C``) leads nothing: it is never ranked (牵头单位计入完成率).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from tests import factories as f
from tracker import clock
from tracker.models import ReportDue
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks import requests as task_requests


@dataclass
class Scenario:
    d: f.District
    t: dict  # name -> Task


def _task(session, d, name: str, due: date, *, other: bool = False):
    kw = {"title": f"督办事项{name}", "due_date": due}
    if other:
        kw.update(lead_department_id=d.other_id, assisting_department_ids=[], leader_ids=[d.other_leader.leader_id])
    return f.draft(session, d, **kw)


def build(session: Session) -> Scenario:
    d = f.district(session)
    A, B = d.lead_clerk, d.other_clerk
    with clock.frozen(date(2026, 9, 21)):
        t = {
            "A1": _task(session, d, "A1", date(2026, 10, 9)),
            "A2": _task(session, d, "A2", date(2026, 9, 30)),
            "A3": _task(session, d, "A3", date(2026, 10, 9)),
            "A4": _task(session, d, "A4", date(2026, 10, 30)),
            "A5": _task(session, d, "A5", date(2026, 9, 30)),
            "B1": _task(session, d, "B1", date(2026, 10, 16), other=True),
            "B2": _task(session, d, "B2", date(2026, 10, 20), other=True),
            "B3": _task(session, d, "B3", date(2026, 11, 30), other=True),
        }
        for task in t.values():
            tasks.assign(session, d.office, task.id)
    with clock.frozen(date(2026, 9, 22)):
        for name, task in t.items():
            clerk = A if name.startswith("A") else B
            tasks.acknowledge(session, clerk, task.id)
            if name != "A5":
                tasks.report_progress(session, clerk, task.id, {"text": "正在推进", "percent": 30})

    def on(day, fn, *args, **kw):
        with clock.frozen(day):
            return fn(session, *args, **kw)

    ext = on(date(2026, 9, 30), task_requests.request_extension, A, t["A3"].id, date(2026, 10, 23), "等待省级批复")
    on(date(2026, 10, 8), task_requests.decide_extension, d.office, ext.id, True)
    on(date(2026, 10, 9), task_requests.request_close, A, t["A1"].id, "已完成")
    on(date(2026, 10, 9), task_requests.review_close, d.office, t["A1"].id, True)
    on(date(2026, 10, 12), task_requests.request_close, A, t["A2"].id, "已完成")
    on(date(2026, 10, 12), task_requests.review_close, d.office, t["A2"].id, True)
    on(date(2026, 10, 13), task_requests.request_close, B, t["B3"].id, "已完成")
    on(date(2026, 10, 14), task_requests.review_close, d.office, t["B3"].id, False, "佐证材料不全")
    on(date(2026, 10, 14), task_requests.request_close, A, t["A4"].id, "已完成")
    on(date(2026, 10, 15), task_requests.review_close, d.office, t["A4"].id, False, "未附验收意见")
    on(date(2026, 10, 15), task_requests.request_close, B, t["B1"].id, "已完成")
    on(date(2026, 10, 15), task_requests.review_close, d.office, t["B1"].id, True)
    on(date(2026, 10, 20), task_requests.request_close, A, t["A3"].id, "已完成")
    on(date(2026, 10, 20), task_requests.review_close, d.office, t["A3"].id, True)
    on(date(2026, 10, 20), task_requests.request_close, A, t["A4"].id, "已补充验收意见")
    on(date(2026, 10, 21), task_requests.review_close, d.office, t["A4"].id, True)
    on(date(2026, 10, 21), task_requests.request_close, B, t["B3"].id, "已补充材料")
    on(date(2026, 10, 22), task_requests.review_close, d.office, t["B3"].id, False, "仍缺少签字页")
    session.add_all(
        [
            ReportDue(
                task_id=t["A5"].id,
                period_start=date(2026, 10, 1),
                due_date=date(2026, 10, 10),
                met_on=date(2026, 10, 9),
            ),
            ReportDue(
                task_id=t["A5"].id,
                period_start=date(2026, 10, 11),
                due_date=date(2026, 10, 16),
                met_on=date(2026, 10, 19),
            ),
            ReportDue(task_id=t["B3"].id, period_start=date(2026, 10, 1), due_date=date(2026, 10, 25)),
            ReportDue(task_id=t["B3"].id, period_start=date(2026, 10, 26), due_date=date(2026, 11, 5)),
            # A1 was closed on 10-09: a reporting deadline after that is owed no more.
            ReportDue(task_id=t["A1"].id, period_start=date(2026, 10, 10), due_date=date(2026, 10, 16)),
        ]
    )
    session.commit()
    return Scenario(d, t)
