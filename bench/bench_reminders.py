"""The daily reminder run for a big district on PostgreSQL.

    .venv/bin/python bench/bench_reminders.py [--tasks 100000] [--departments 2000]
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--database bench_h3]

(Re)creates the database, builds the schema with the real migrations, and
bulk-inserts (plain INSERTs, not the services) departments with a clerk and a
head each, leaders with their users, and tasks in every status with deadlines
from two months back to three months ahead: some weekly/monthly reporting,
recurring (每月25日前 / 每周五) and ongoing tasks, milestones, 会签 items past
their reply limit, and progress reports. Then it times, on Monday 2026-11-23:

* ``ensure_report_dues`` (three weeks ahead) and ``check_reports``;
* ``run_rules`` as a dry run, the first real run of the previous working day (the
  catch-up: every long-overdue deadline gets its first 督办 notice, with the
  immediate notifications when they are installed), the day's real run, and the
  same day again (the idempotent path: adds nothing).

Target: the day's run under 60 s. Prints the figures as JSON.
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
PREVIOUS = date(2026, 11, 20)  # the working day before
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


def seed(engine, n_tasks: int, n_deps: int) -> dict:
    import sqlalchemy as sa
    from sqlmodel import Session

    from tracker.models import Milestone, ProgressReport, Source, Task, TaskLeader, User
    from tracker.services.calendar import seed_holidays, seed_presets

    rnd = random.Random(53)
    now = datetime(2026, 11, 20, 1, 0, tzinfo=timezone.utc).replace(tzinfo=None)
    started = time.perf_counter()
    with Session(engine) as s:
        seed_holidays(s)
        seed_presets(s)
        s.commit()
    with engine.begin() as conn:
        dep_ids, leader_ids = seed_organisation(conn, n_deps)
        users = []
        for d in dep_ids:
            for head in (False, True):
                users.append(
                    {
                        "username": f"u{d}{'h' if head else 'c'}",
                        "display_name": f"单位{d}{'负责人' if head else '联络员'}",
                        "password_hash": "!",
                        "role": "clerk",
                        "department_id": d,
                        "leader_id": None,
                        "active": True,
                        "must_change_password": False,
                        "email": "",
                        "is_head": head,
                        "created_at": now,
                    }
                )
        users += [
            {
                "username": f"leader{lid}",
                "display_name": f"领导{lid}",
                "password_hash": "!",
                "role": "leader",
                "department_id": None,
                "leader_id": lid,
                "active": True,
                "must_change_password": False,
                "email": "",
                "is_head": False,
                "created_at": now,
            }
            for lid in leader_ids
        ]
        conn.execute(sa.insert(User), users)
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
            r = rnd.random()
            kind, recurrence, preset = "date", "", ""
            if r < 0.04:
                kind, recurrence, due = "recurring", rnd.choice(["monthly:25", "weekly:5"]), None
            elif r < 0.08:
                kind, due = "ongoing", None
            elif r < 0.09:
                preset, due = "countersign_3", TODAY - timedelta(days=rnd.randint(1, 5))
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
                    "recurrence": recurrence,
                    "time_limit_preset": preset,
                    "feedback_cycle": "monthly"
                    if kind == "ongoing"
                    else rnd.choice(["weekly", "monthly"] + ["once"] * 6),
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
        milestones, reports = [], []
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
                reports.append(
                    {
                        "task_id": t,
                        "department_id": dep,
                        "author_id": None,
                        "text": "推进中",
                        "percent": rnd.randint(0, 100),
                        "problems": "",
                        "next_steps": "继续推进",
                        "needs_coordination": False,
                        "created_at": now - timedelta(days=rnd.randint(0, 60), minutes=rnd.randint(0, 600)),
                    }
                )
        for model, rows in ((Milestone, milestones), (ProgressReport, reports)):
            for chunk in chunks(rows):
                conn.execute(sa.insert(model), chunk)
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
    return {
        "seed_s": round(time.perf_counter() - started, 1),
        "tasks": n_tasks,
        "departments": n_deps,
        "users": len(users),
        "reports": len(reports),
        "milestones": len(milestones),
    }


def _timed(engine, fn, *, commit=True):
    from sqlmodel import Session

    with Session(engine, expire_on_commit=False) as s:
        t0 = time.perf_counter()
        result = fn(s)
        if commit:
            s.commit()
        else:
            s.rollback()
        return round(time.perf_counter() - t0, 2), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--departments", type=int, default=2000)
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="bench_h3")
    args = parser.parse_args()

    from tracker import clock, migrate
    from tracker.db import make_engine
    from tracker.services.chasing import reminders
    from tracker.services.tasks import recurring

    url = recreate_database(args.admin_url, args.database)
    engine = make_engine(url)
    migrate.upgrade(engine)
    figures = seed(engine, args.tasks, args.departments)

    def counts(result):
        return {k: v for k, v in result.items() if v}

    with clock.frozen(PREVIOUS):
        figures["ensure_report_dues_s"], n = _timed(
            engine, lambda s: recurring.ensure_report_dues(s, PREVIOUS + timedelta(days=21))
        )
        figures["report_dues_added"] = n
        figures["check_reports_s"], figures["check_reports"] = _timed(
            engine, lambda s: recurring.check_reports(s, PREVIOUS)
        )
        figures["catch_up_run_s"], res = _timed(engine, lambda s: reminders.run_rules(s, PREVIOUS))
        figures["catch_up_counts"] = counts(res)
    with clock.frozen(TODAY):
        figures["ensure_report_dues_again_s"], n = _timed(
            engine, lambda s: recurring.ensure_report_dues(s, TODAY + timedelta(days=21))
        )
        figures["report_dues_added_again"] = n
        figures["dry_run_s"], res = _timed(engine, lambda s: reminders.run_rules(s, TODAY, dry_run=True), commit=False)
        figures["dry_run_counts"] = counts(res)
        figures["daily_run_s"], res = _timed(engine, lambda s: reminders.run_rules(s, TODAY))
        figures["daily_counts"] = counts(res)
        figures["same_day_again_s"], res = _timed(engine, lambda s: reminders.run_rules(s, TODAY))
        figures["same_day_again_counts"] = counts(res)
    figures["target_s"] = TARGET_S
    figures["ok"] = figures["daily_run_s"] < TARGET_S and figures["same_day_again_s"] < TARGET_S
    engine.dispose()
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
