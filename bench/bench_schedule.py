"""The weekly key-work schedule (004 §30, §47) for a big district on PostgreSQL.

    .venv/bin/python bench/bench_schedule.py [--tasks 100000] [--departments 2000]
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--database bench_h4]

(Re)creates the database, builds the schema with the real migrations, bulk-inserts
departments, leaders, tasks (every status, deadlines around the week), leaders of
tasks, milestones, progress reports (some naming problems or asking for
coordination) and recurring report deadlines, then times ``generate_week`` on a
fresh week (every item inserted), again (nothing changes: the idempotent path),
and ``as_dict`` (what the page, the CLI and the export read). Target: generation
under 60 s. Prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.seedlib import chunks, recreate_database, seed_organisation  # noqa: E402

TODAY = date(2026, 11, 23)  # a Monday
TARGET_S = 60.0
STATUSES = (
    ["in_progress"] * 45
    + ["acknowledged"] * 10
    + ["assigned"] * 10
    + ["pending_review"] * 5
    + ["closed"] * 25
    + ["suspended"] * 2
    + ["cancelled"] * 1
    + ["draft"] * 2
)
PROBLEMS = ["需争取省级专项资金支持", "与企业洽谈补偿标准未果", "需规划部门配合出具意见", "施工进度滞后", ""]


def seed(engine, n_tasks: int, n_deps: int) -> dict:
    import sqlalchemy as sa
    from sqlmodel import Session

    from tracker.models import Milestone, ProgressReport, ReportDue, Source, Task, TaskLeader
    from tracker.services.calendar import seed_holidays

    rnd = random.Random(48)
    now = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc).replace(tzinfo=None)
    started = time.perf_counter()
    with Session(engine) as s:
        seed_holidays(s)
        s.commit()
    with engine.begin() as conn:
        dep_ids, leader_ids = seed_organisation(conn, n_deps)
        src_id = conn.execute(
            sa.insert(Source).returning(Source.id),
            [
                {
                    "kind": "key_work",
                    "title": "2026年重点工作",
                    "reference": "",
                    "source_date": date(2026, 1, 20),
                    "body": "",
                    "created_at": now,
                }
            ],
        ).scalar()
        tasks = []
        for i in range(n_tasks):
            status = rnd.choice(STATUSES)
            due = TODAY + timedelta(days=rnd.randint(-60, 90))
            kind = "date" if rnd.random() < 0.9 else "ongoing"
            tasks.append(
                {
                    "code": f"BENCH-{i:06d}",
                    "title": f"重点工作{i}",
                    "requirement": "",
                    "source_id": src_id,
                    "item_no": "",
                    "category": "",
                    "parent_id": None,
                    "lead_department_id": rnd.choice(dep_ids),
                    "urgency": "normal",
                    "deadline_kind": kind,
                    "due_date": due,
                    "original_due_date": due,
                    "deadline_text": "",
                    "recurrence": "",
                    "time_limit_preset": "",
                    "feedback_cycle": rnd.choice(["weekly", "monthly", "once", "once"]),
                    "status": status,
                    "status_before_suspend": "",
                    "needs_leader_approval": False,
                    "created_by_id": None,
                    "created_at": now - timedelta(days=90),
                    "updated_at": now,
                    "assigned_at": None if status == "draft" else now - timedelta(days=rnd.randint(3, 80)),
                    "acknowledged_at": None,
                    "closed_on": TODAY - timedelta(days=3) if status == "closed" else None,
                }
            )
        for chunk in chunks(tasks):
            conn.execute(sa.insert(Task), chunk)
        task_rows = conn.execute(sa.select(Task.id, Task.lead_department_id).order_by(Task.id)).all()
        conn.execute(
            sa.insert(TaskLeader),
            [{"task_id": t, "leader_id": rnd.choice(leader_ids)} for t, _ in task_rows if rnd.random() < 0.8],
        )
        milestones, reports, dues = [], [], []
        for t, dep in task_rows:
            if rnd.random() < 0.2:
                milestones.append(
                    {
                        "task_id": t,
                        "title": "阶段节点",
                        "due_date": TODAY + timedelta(days=rnd.randint(-20, 20)),
                        "done_on": None if rnd.random() < 0.6 else TODAY - timedelta(days=1),
                        "sort_order": 0,
                    }
                )
            for _ in range(rnd.randint(0, 3)):
                problem = rnd.choice(PROBLEMS) if rnd.random() < 0.15 else ""
                reports.append(
                    {
                        "task_id": t,
                        "department_id": dep,
                        "author_id": None,
                        "text": "推进中",
                        "percent": rnd.randint(0, 100),
                        "problems": problem,
                        "next_steps": "继续推进",
                        "needs_coordination": rnd.random() < 0.03,
                        "created_at": now - timedelta(days=rnd.randint(0, 30), minutes=rnd.randint(0, 600)),
                    }
                )
            if rnd.random() < 0.1:
                for k in range(3):
                    due = TODAY - timedelta(days=7 * k + 2)
                    dues.append(
                        {
                            "task_id": t,
                            "period_start": due - timedelta(days=7),
                            "due_date": due,
                            "report_id": None,
                            "met_on": None if rnd.random() < 0.4 else due,
                        }
                    )
        for model, rows in ((Milestone, milestones), (ProgressReport, reports), (ReportDue, dues)):
            for chunk in chunks(rows):
                conn.execute(sa.insert(model), chunk)
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
    return {
        "seed_s": round(time.perf_counter() - started, 1),
        "tasks": n_tasks,
        "departments": n_deps,
        "reports": len(reports),
        "milestones": len(milestones),
        "report_dues": len(dues),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--departments", type=int, default=2000)
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="bench_h4")
    args = parser.parse_args()

    from sqlmodel import Session

    from tracker import clock, migrate
    from tracker.db import make_engine
    from tracker.services.scheduling import meeting
    from tracker.services.scheduling import weekly as schedule

    url = recreate_database(args.admin_url, args.database)
    engine = make_engine(url)
    migrate.upgrade(engine)
    figures = seed(engine, args.tasks, args.departments)
    clock.set_today(TODAY)
    for label in ("generate_first_s", "generate_again_s"):
        with Session(engine, expire_on_commit=False) as s:
            t0 = time.perf_counter()
            result = schedule.generate_week(s, TODAY)
            s.commit()
            figures[label] = round(time.perf_counter() - t0, 2)
            figures["counts"] = result.counts
    with Session(engine) as s:
        t0 = time.perf_counter()
        data = meeting.as_dict(s, schedule.get_schedule(s, schedule.Week.of(TODAY)))
        figures["as_dict_s"] = round(time.perf_counter() - t0, 2)
        figures["items"] = sum(len(v) for v in data["sections"].values())
    with Session(engine) as s:  # what the week page reads: counts and the first 300 rows per section
        sched = schedule.get_schedule(s, schedule.Week.of(TODAY))
        t0 = time.perf_counter()
        schedule.section_counts(s, sched.id)
        for section in schedule.SECTIONS:
            schedule.items(s, sched.id, section=section, limit=300)
        figures["week_page_queries_s"] = round(time.perf_counter() - t0, 2)
    figures["target_s"] = TARGET_S
    figures["ok"] = max(figures["generate_first_s"], figures["generate_again_s"]) < TARGET_S
    engine.dispose()
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
