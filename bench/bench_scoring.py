"""Scoring and bulletins on a large district: time per call.

    .venv/bin/python bench/bench_scoring.py [--tasks 50000] [--departments 80] [--database-url URL]

Builds a fresh database (SQLite file by default) through the real migrations,
writes tasks, close requests, extension requests and reporting deadlines as
plain rows (the services are covered by the tests; this measures the queries),
then times: the figures of a month (four GROUP BY queries), the monthly
bulletin (figures, overdue lists, status counts) and its Excel file, one
nightly snapshot (upsert of every department), the 26-week trend.

Target: a monthly bulletin and a nightly snapshot for 50,000 tasks in under 10 s each
(the data is a stress case: about 40 % of open tasks overdue).
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TODAY = date(2026, 11, 23)


def build(session, n_tasks: int, n_deps: int) -> None:
    import sqlalchemy as sa

    from tracker.models import CloseRequest, Department, ExtensionRequest, Leader, ReportDue, Task, TaskLeader

    rnd = random.Random(5)
    session.execute(sa.insert(Department), [{"name": f"区测试单位{i:03d}", "sort_order": i} for i in range(n_deps)])
    session.execute(sa.insert(Leader), [{"name": f"领导{i}", "title": "副区长"} for i in range(8)])
    dep_ids = list(session.scalars(sa.select(Department.id)))
    leader_ids = list(session.scalars(sa.select(Leader.id)))
    statuses = [
        "assigned",
        "acknowledged",
        "in_progress",
        "in_progress",
        "pending_review",
        "closed",
        "closed",
        "closed",
        "suspended",
        "cancelled",
    ]
    rows = []
    for i in range(n_tasks):
        assigned = date(2026, 1, 5) + timedelta(days=rnd.randint(0, 300))
        due = assigned + timedelta(days=rnd.randint(5, 90))
        status = rnd.choice(statuses)
        closed_on = (
            min(TODAY - timedelta(days=1), due + timedelta(days=rnd.randint(-20, 15))) if status == "closed" else None
        )
        if closed_on is not None and closed_on < assigned:
            closed_on = assigned
        at = datetime(assigned.year, assigned.month, assigned.day, 2, tzinfo=timezone.utc)
        rows.append(
            {
                "code": f"DB-B-{i:06d}",
                "title": f"督办事项{i}",
                "lead_department_id": rnd.choice(dep_ids),
                "status": status,
                "due_date": due,
                "original_due_date": due,
                "closed_on": closed_on,
                "assigned_at": at,
                "created_at": at,
                "updated_at": at,
                "deadline_kind": "date",
            }
        )
    for chunk in range(0, len(rows), 5000):
        session.execute(sa.insert(Task), rows[chunk : chunk + 5000])
    tasks = session.execute(sa.select(Task.id, Task.lead_department_id, Task.due_date)).all()
    session.execute(sa.insert(TaskLeader), [{"task_id": t.id, "leader_id": rnd.choice(leader_ids)} for t in tasks])
    decided = lambda: datetime(2026, rnd.randint(1, 11), rnd.randint(1, 28), 3, tzinfo=timezone.utc)  # noqa: E731
    session.execute(
        sa.insert(CloseRequest),
        [
            {
                "task_id": t.id,
                "department_id": t.lead_department_id,
                "summary": "已完成",
                "status": "rejected",
                "decided_at": decided(),
            }
            for t in rnd.sample(tasks, len(tasks) // 5)
        ],
    )
    session.execute(
        sa.insert(ExtensionRequest),
        [
            {
                "task_id": t.id,
                "department_id": t.lead_department_id,
                "reason": "资金未到位",
                "status": "approved",
                "old_due_date": t.due_date,
                "new_due_date": t.due_date + timedelta(days=14),
                "decided_at": decided(),
            }
            for t in rnd.sample(tasks, len(tasks) // 10)
        ],
    )
    session.execute(
        sa.insert(ReportDue),
        [
            {
                "task_id": t.id,
                "period_start": t.due_date - timedelta(days=30),
                "due_date": t.due_date - timedelta(days=7),
                "met_on": None if rnd.random() < 0.3 else t.due_date - timedelta(days=rnd.randint(0, 10)),
            }
            for t in rnd.sample(tasks, len(tasks) // 4)
        ],
    )
    session.commit()


def timed(label: str, fn):
    t0 = time.perf_counter()
    result = fn()
    print(f"{label:<42} {time.perf_counter() - t0:7.3f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=50000)
    parser.add_argument("--departments", type=int, default=80)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    import sqlalchemy as sa
    from sqlmodel import Session

    from importers.bulletin_export import write_bulletin
    from tracker import clock, migrate
    from tracker.db import make_engine
    from tracker.services.calendar import seed_holidays
    from tracker.services.figures import bulletins, scoring

    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-scoring-')) / 'b.db'}"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    clock.set_today(TODAY)
    with Session(engine, expire_on_commit=False) as s:
        seed_holidays(s)
        s.commit()
        print(f"{engine.dialect.name}: {args.tasks} tasks, {args.departments} departments")
        timed("build", lambda: build(s, args.tasks, args.departments))
        figs = timed(
            "period_figures (October)", lambda: scoring.period_figures(s, date(2026, 10, 1), date(2026, 10, 31))
        )
        print(
            f"  departments {len(figs)}, closed {sum(f.closed for f in figs.values())}, "
            f"overdue {sum(f.overdue for f in figs.values())}"
        )
        b = timed("generate_bulletin month 2026-10", lambda: bulletins.generate_bulletin(s, "month", "2026-10"))
        timed("generate_bulletin again (frozen)", lambda: bulletins.generate_bulletin(s, "month", "2026-10"))
        timed("generate_bulletin week 2026-W47", lambda: bulletins.generate_bulletin(s, "week", "2026-W47"))
        overdue_rows = sum(d["count"] for d in b.data["overdue_by_department"])
        print(f"  overdue rows in the bulletin: {overdue_rows}")
        out = io.BytesIO()
        timed("write_bulletin (Excel)", lambda: write_bulletin(out, b.data))
        print(f"  xlsx size {len(out.getvalue()) // 1024} KiB")
        timed("take_snapshot", lambda: scoring.take_snapshot(s, TODAY))
        timed("take_snapshot again (upsert)", lambda: scoring.take_snapshot(s, TODAY))
        s.commit()
        timed("weekly_trend 26 weeks", lambda: scoring.weekly_trend(s, 26, today=TODAY))


if __name__ == "__main__":
    main()
