"""The daily digest and the delivery queue for a big district on PostgreSQL.

    .venv/bin/python bench/bench_notify.py [--tasks 50000] [--departments 300]
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--database bench_h2]
        [--deliveries 300]

(Re)creates the database, builds the schema with the real migrations, bulk-inserts
departments (two clerks and a head each), leaders, office users and tasks in every
status (deadlines around today), plus a robot per department pointing at a local
HTTP server on 127.0.0.1, then times:

* ``build_digests`` on a fresh day (every digest and delivery inserted), with the
  number of SQL statements it ran;
* the same day again (the idempotent path: nothing new);
* ``deliver_pending`` for the first N webhook deliveries, two workers at once
  (PostgreSQL SKIP LOCKED: the robot must receive each exactly once).

Target: the digest run under 60 s. Prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.seedlib import recreate_database, seed_organisation  # noqa: E402

TODAY = date(2026, 11, 23)  # a Monday
TARGET_S = 60.0
STATUSES = (
    ["in_progress"] * 45
    + ["acknowledged"] * 10
    + ["assigned"] * 10
    + ["pending_review"] * 5
    + ["closed"] * 25
    + ["suspended"] * 2
    + ["pending_approval"] * 1
    + ["draft"] * 2
)


class _Robot(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.bodies.append(body)
        data = b'{"errcode":0,"errmsg":"ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def seed(engine, n_tasks: int, n_deps: int, robot_url: str) -> dict:
    import sqlalchemy as sa
    from sqlmodel import Session

    from tracker.models import NotificationChannel, Source, Task, TaskLeader, User
    from tracker.services.calendar import seed_holidays

    rnd = random.Random(52)
    now = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc).replace(tzinfo=None)
    started = time.perf_counter()
    with Session(engine) as s:
        seed_holidays(s)
        s.commit()
    with engine.begin() as conn:
        dep_ids, leader_ids = seed_organisation(conn, n_deps, short_names=False)
        users = []
        for d in dep_ids:
            for k, head in ((1, False), (2, False), (3, True)):
                users.append(
                    {
                        "username": f"u{d}_{k}",
                        "display_name": f"联络员{d}-{k}",
                        "password_hash": "!",
                        "role": "clerk",
                        "department_id": d,
                        "leader_id": None,
                        "active": True,
                        "must_change_password": False,
                        "email": f"u{d}_{k}@duban.local",
                        "is_head": head,
                        "created_at": now,
                    }
                )
        for lid in leader_ids:
            users.append(
                {
                    "username": f"l{lid}",
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
            )
        for k in range(10):
            users.append(
                {
                    "username": f"office{k}",
                    "display_name": f"督查室{k}",
                    "password_hash": "!",
                    "role": "supervisor",
                    "department_id": None,
                    "leader_id": None,
                    "active": True,
                    "must_change_password": False,
                    "email": "",
                    "is_head": False,
                    "created_at": now,
                }
            )
        conn.execute(sa.insert(User), users)
        conn.execute(
            sa.insert(NotificationChannel),
            [
                {
                    "name": f"单位群{d}",
                    "kind": "webhook",
                    "flavour": "wecom" if d % 2 else "dingtalk",
                    "url": robot_url,
                    "department_id": d,
                    "active": True,
                    "created_at": now,
                }
                for d in dep_ids
            ],
        )
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
                    "deadline_kind": "date",
                    "due_date": due,
                    "original_due_date": due,
                    "deadline_text": "",
                    "recurrence": "",
                    "time_limit_preset": "",
                    "feedback_cycle": "once",
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
        for i in range(0, len(tasks), 5000):
            conn.execute(sa.insert(Task), tasks[i : i + 5000])
        task_ids = [r[0] for r in conn.execute(sa.select(Task.id))]
        conn.execute(
            sa.insert(TaskLeader),
            [{"task_id": t, "leader_id": rnd.choice(leader_ids)} for t in task_ids if rnd.random() < 0.8],
        )
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
    return {
        "seed_s": round(time.perf_counter() - started, 1),
        "tasks": n_tasks,
        "departments": n_deps,
        "users": len(users),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=50000)
    parser.add_argument("--departments", type=int, default=300)
    parser.add_argument("--deliveries", type=int, default=300)
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="bench_h2")
    args = parser.parse_args()

    import sqlalchemy as sa
    from sqlmodel import Session, select

    from tracker import clock, migrate
    from tracker.config import Settings
    from tracker.db import make_engine
    from tracker.models import Delivery
    from tracker.services.notify import digest
    from tracker.services.notify import queue as delivery_queue

    robot = ThreadingHTTPServer(("127.0.0.1", 0), _Robot)
    robot.bodies, robot.lock = [], threading.Lock()
    threading.Thread(target=robot.serve_forever, daemon=True).start()
    robot_url = f"http://127.0.0.1:{robot.server_address[1]}/send"

    engine = make_engine(recreate_database(args.admin_url, args.database))
    migrate.upgrade(engine)
    out = seed(engine, args.tasks, args.departments, robot_url)
    settings = Settings(env="testing", smtp_host="127.0.0.1", smtp_port=1)  # e-mail rows queued, not sent here
    clock.set_today(TODAY)

    statements = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(1))
    with Session(engine) as s:
        t0 = time.perf_counter()
        first = digest.build_digests(s, TODAY, settings=settings)
        s.commit()
        out["digest_s"] = round(time.perf_counter() - t0, 2)
    out["digest_statements"] = len(statements)
    out["digest_counts"] = first
    with Session(engine) as s:
        t0 = time.perf_counter()
        again = digest.build_digests(s, TODAY, settings=settings)
        s.commit()
        out["digest_again_s"] = round(time.perf_counter() - t0, 2)
    out["digest_again_counts"] = again

    # Two workers over the first N robot deliveries (the e-mails are parked as sent first).
    with Session(engine) as s:
        hooks = s.exec(select(Delivery.id).where(Delivery.channel == "webhook").order_by(Delivery.id)).all()
        keep = set(hooks[: args.deliveries])
        s.execute(sa.update(Delivery).where(Delivery.id.not_in(keep)).values(status="sent"))
        s.commit()
    results = []

    def work():
        with Session(engine) as s:
            results.append(delivery_queue.deliver_pending(s, settings=settings))

    t0 = time.perf_counter()
    workers = [threading.Thread(target=work) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t0
    out["deliver_s"] = round(elapsed, 2)
    out["deliver_per_s"] = round(len(keep) / elapsed, 1) if elapsed else None
    out["deliver_results"] = results
    out["robot_posts"] = len(robot.bodies)
    out["robot_duplicates"] = len(robot.bodies) - len(set(robot.bodies))
    out["target_digest_s"] = TARGET_S
    out["ok"] = (
        out["digest_s"] < TARGET_S
        and again["created"] == 0
        and out["robot_duplicates"] == 0
        and out["robot_posts"] == len(keep)
    )
    robot.shutdown()
    engine.dispose()
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
