"""The Dash board at 100,000 tasks: server time per callback, p50/p95 over 50 requests.

    .venv/bin/python bench/bench_dashboard.py [--tasks 100000] [--requests 50]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_h6] [--roles office,leader,clerk]

Without --database-url it runs on a temporary SQLite file. The tasks, their
leaders, assisting departments, progress reports, milestones, 26 weeks of score
snapshots, a weekly bulletin and this week's schedule are bulk-inserted (not
through the services). Each callback is then posted to
``/dashboard/_dash-update-component`` through Flask's test client with a
logged-in session, exactly as the browser sends it, and timed in-process
(server time: routing, login, the callback, JSON). "first load" is the page, the
layout, the dependencies and every initial callback in a row; "filter change"
is what one change of a filter sets off (URL sync, cards, charts, trend,
schedule, a new grid and its first block).

Target: every callback under 300 ms p95 at 100,000 tasks on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TODAY = date(2026, 11, 23)  # a Monday
TARGET_MS = 300.0
KINDS = [
    "executive_meeting",
    "topic_meeting",
    "mayor_office_meeting",
    "leader_instruction",
    "key_work",
    "npc_suggestion",
    "cppcc_proposal",
    "document",
    "audit_finding",
]
LEADERS = [
    ("孙志强", "区长"),
    ("吴海涛", "常务副区长"),
    ("李明", "副区长"),
    ("王芳", "副区长"),
    ("赵强", "副区长"),
    ("钱伟", "副区长"),
]
PASSWORD = "bench-password-1"


# --- the data ------------------------------------------------------------------------


def build(url: str, n: int) -> dict:
    import sqlalchemy as sa
    from sqlmodel import Session, select

    from tracker import migrate
    from tracker.db import make_engine
    from tracker.models import (
        Bulletin,
        Milestone,
        ProgressReport,
        Role,
        ScheduleItem,
        ScoreSnapshot,
        Source,
        Task,
        TaskAssist,
        TaskLeader,
        WeeklySchedule,
    )
    from tracker.services.actors import SYSTEM
    from tracker.services.calendar import seed_holidays, seed_presets
    from tracker.services.organisation import directory as organisation

    rnd = random.Random(6)
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    with Session(engine) as s:
        seed_holidays(s)
        seed_presets(s)
        deps = [organisation.create_department(s, SYSTEM, f"区测试局{i:02d}") for i in range(1, 41)]
        deps += [
            organisation.create_department(s, SYSTEM, n_)
            for n_ in ("城关街道办事处", "东城街道办事处", "河口镇人民政府")
        ]
        leaders = [
            organisation.create_leader(s, SYSTEM, name, title, department_ids=[d.id for d in deps[k::6]])
            for k, (name, title) in enumerate(LEADERS)
        ]
        organisation.create_user(s, SYSTEM, "office", "督查室", PASSWORD, Role.SUPERVISOR)
        organisation.create_user(s, SYSTEM, "leader", "吴海涛", PASSWORD, Role.LEADER, leader_id=leaders[1].id)
        organisation.create_user(s, SYSTEM, "clerk", "区测试局01联络员", PASSWORD, Role.CLERK, department_id=deps[0].id)
        for u in ("office", "leader", "clerk"):
            s.exec(
                sa.update(organisation.User).where(organisation.User.username == u).values(must_change_password=False)
            )
        s.commit()
        dep_ids = [d.id for d in deps]
        leader_ids = [ld.id for ld in leaders]
        leader_of = {d.id: leaders[k % 6].id for k, d in enumerate(deps)}

        sources = [
            {
                "kind": KINDS[k % len(KINDS)],
                "title": f"来源{k + 1}",
                "reference": "",
                "body": "",
                "source_date": date(2026, 1, 5) + timedelta(days=k % 320),
            }
            for k in range(n // 10 + 1)
        ]
        s.execute(sa.insert(Source), sources)
        source_ids = list(s.exec(select(Source.id).order_by(Source.id)))
        stamp = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
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
            "draft",
        ]
        rows = []
        for i in range(n):
            status = rnd.choice(statuses)
            due = TODAY + timedelta(days=rnd.randint(-120, 120))
            closed_on = min(TODAY, due + timedelta(days=rnd.randint(-20, 10))) if status == "closed" else None
            rows.append(
                {
                    "code": f"DB-2026-{i + 1:06d}",
                    "title": f"督办事项{i + 1}：推进重点工作落实",
                    "requirement": "按要求办理",
                    "source_id": source_ids[i // 10],
                    "item_no": str(i % 10 + 1),
                    "category": "",
                    "lead_department_id": rnd.choice(dep_ids),
                    "urgency": rnd.choice(["normal", "normal", "urgent", "extra_urgent"]),
                    "deadline_kind": "date" if i % 20 else "ongoing",
                    "due_date": due,
                    "deadline_text": "",
                    "recurrence": "",
                    "time_limit_preset": "",
                    "feedback_cycle": "once",
                    "status": status,
                    "status_before_suspend": "",
                    "needs_leader_approval": False,
                    "closed_on": closed_on,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
        for chunk in range(0, n, 5000):
            s.execute(sa.insert(Task), rows[chunk : chunk + 5000])
        ids = list(s.exec(select(Task.id, Task.lead_department_id).order_by(Task.id)))
        assists, tls, reports, milestones = [], [], [], []
        for tid, lead in ids:
            other = rnd.choice(dep_ids)
            if other != lead:
                assists.append({"task_id": tid, "department_id": other})
            tls.append({"task_id": tid, "leader_id": leader_of[lead]})
            for _ in range(rnd.choice([0, 1, 1, 2])):
                reports.append(
                    {
                        "task_id": tid,
                        "department_id": lead,
                        "text": "阶段性进展",
                        "problems": "",
                        "next_steps": "",
                        "needs_coordination": False,
                        "created_at": stamp - timedelta(days=rnd.randint(0, 60)),
                    }
                )
            if rnd.random() < 0.2:
                milestones.append(
                    {
                        "task_id": tid,
                        "title": "节点",
                        "sort_order": 0,
                        "due_date": TODAY + timedelta(days=rnd.randint(-30, 30)),
                    }
                )
        for batch, model in (
            (assists, TaskAssist),
            (tls, TaskLeader),
            (reports, ProgressReport),
            (milestones, Milestone),
        ):
            for chunk in range(0, len(batch), 5000):
                s.execute(sa.insert(model), batch[chunk : chunk + 5000])
        snaps = []
        for back in range(0, 26 * 7 + 7):
            day = TODAY - timedelta(days=back)
            for k, dep in enumerate(dep_ids):
                snaps.append(
                    {
                        "day": day,
                        "department_id": dep,
                        "open_count": 900 + k + back % 13,
                        "overdue_count": 150 + (k * 7 + back) % 40,
                        "closed_count": 5000 - back * 3,
                        "closed_on_time": 4000 - back * 2,
                        "overdue_task_days": 0,
                        "returns": 0,
                        "late_reports": 0,
                        "extensions": 0,
                        "score": 90.0,
                    }
                )
        for chunk in range(0, len(snaps), 5000):
            s.execute(sa.insert(ScoreSnapshot), snaps[chunk : chunk + 5000])
        s.add(
            Bulletin(
                kind="week",
                period="2026-W47",
                period_start=date(2026, 11, 16),
                period_end=date(2026, 11, 22),
                data={
                    "ranking": [
                        {"rank": i + 1, "department": f"区测试局{i + 1:02d}", "score": 99 - i} for i in range(40)
                    ]
                },
            )
        )
        iso = TODAY.isocalendar()
        sched = WeeklySchedule(iso_year=iso.year, iso_week=iso.week, week_start=TODAY)
        s.add(sched)
        s.flush()
        for tid, _lead in ids[:: max(1, n // 40)]:
            s.add(ScheduleItem(schedule_id=sched.id, task_id=tid, section="blocked", category="内部协调类"))
        s.commit()
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
        else:
            with engine.begin() as conn:
                conn.execute(sa.text("ANALYZE"))
    return {"departments": dep_ids, "leaders": leader_ids}


# --- the requests ----------------------------------------------------------------------


def _outputs(key: str) -> list[dict] | dict:
    if key.startswith(".."):
        return [
            {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]} for part in key.strip(".").split("...")
        ]
    ident, prop = key.rsplit(".", 1)
    return {"id": json.loads(ident) if ident.startswith("{") else ident, "property": prop}


def payload(key: str, inputs: list[tuple], state: list[tuple] = (), changed: str | None = None) -> dict:
    ins = [{"id": i, "property": p, "value": v} for i, p, v in inputs]
    first = inputs[0]
    ident = json.dumps(first[0], separators=(",", ":"), sort_keys=True) if isinstance(first[0], dict) else first[0]
    return {
        "output": key,
        "outputs": _outputs(key),
        "inputs": ins,
        "changedPropIds": [changed or f"{ident}.{first[1]}"],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
    }


def callback_payloads(app, filters: dict, search: str) -> dict[str, dict]:
    keys = list(app.extensions["dash"].callback_map)
    key = lambda prefix: next(k for k in keys if k.startswith(prefix))  # noqa: E731
    tick = [("filters", "data", filters), ("tick", "n_intervals", None)]
    grid = {"type": "overdue-grid", "v": "bench"}
    grid_key = '{"type":"overdue-grid","v":["MATCH"]}.getRowsResponse'
    return {
        "sync_filters": payload(
            key("..url.search"),
            [
                ("url", "search", search),
                ("f-due", "start_date", None),
                ("f-due", "end_date", None),
                ("f-source_kind", "value", None),
                ("f-leader", "value", None),
                ("f-department", "value", None),
                ("f-urgency", "value", None),
            ],
        ),
        "cards": payload(key("..card-open-value"), tick),
        **{f"bars_{k}": payload(f"g-{k}.figure", tick) for k in ("department", "leader", "source-kind", "meeting")},
        "trend_heatmap": payload(key("..g-trend"), tick),
        "schedule": payload("schedule.children", tick),
        "ranking": payload("ranking.children", [("tick", "n_intervals", None)]),
        "grid_replace": payload(key("..grid-wrap"), [("filters", "data", filters)]),
        "grid_rows": payload(
            grid_key,
            [(grid, "getRowsRequest", {"startRow": 0, "endRow": 50, "sortModel": [], "filterModel": {}})],
            state=[("filters", "data", filters)],
        ),
        "grid_rows_deep": payload(
            grid_key,
            [
                (
                    grid,
                    "getRowsRequest",
                    {
                        "startRow": 2000,
                        "endRow": 2050,
                        "sortModel": [{"colId": "due_date", "sort": "desc"}],
                        "filterModel": {},
                    },
                )
            ],
            state=[("filters", "data", filters)],
        ),
    }


def login(client, username: str) -> None:
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, resp.status_code


def timed(fn) -> float:
    start = time.perf_counter()
    resp = fn()
    elapsed = (time.perf_counter() - start) * 1000
    assert resp.status_code in (200, 204), (resp.status_code, resp.get_data(as_text=True)[:300])
    return elapsed


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def measure(app, role: str, requests: int, data: dict) -> list[tuple[str, float, float]]:
    client = app.test_client()
    login(client, role)
    post = lambda body: client.post(
        "/dashboard/_dash-update-component",
        data=json.dumps(body),  # noqa: E731
        content_type="application/json",
    )
    initial = callback_payloads(app, {}, "")
    changed_filters = {"urgency": "urgent"} if role != "clerk" else {"source_kind": "executive_meeting"}
    if role == "office":
        changed_filters["department_id"] = str(data["departments"][3])
    changed = callback_payloads(app, changed_filters, "?" + "&".join(f"{k}={v}" for k, v in changed_filters.items()))
    changed["sync_filters"]["changedPropIds"] = ["f-urgency.value"]
    out = []
    for name, body in initial.items():
        post(body)  # warm
        times = [timed(lambda body=body: post(body)) for _ in range(requests)]
        out.append((f"{name}", pct(times, 0.5), pct(times, 0.95)))
    for name, body in changed.items():
        times = [timed(lambda body=body: post(body)) for _ in range(requests)]
        out.append((f"{name} (filtered)", pct(times, 0.5), pct(times, 0.95)))

    def first_load():
        total = 0.0
        for path in ("/dashboard/", "/dashboard/_dash-layout", "/dashboard/_dash-dependencies"):
            total += timed(lambda path=path: client.get(path))
        for name in (
            "sync_filters",
            "cards",
            "bars_department",
            "bars_leader",
            "bars_source-kind",
            "bars_meeting",
            "trend_heatmap",
            "schedule",
            "ranking",
            "grid_replace",
            "grid_rows",
        ):
            total += timed(lambda name=name: post(initial[name]))
        return total

    def filter_change():
        return sum(
            timed(lambda name=name: post(changed[name]))
            for name in (
                "sync_filters",
                "cards",
                "bars_department",
                "bars_leader",
                "bars_source-kind",
                "bars_meeting",
                "trend_heatmap",
                "schedule",
                "grid_replace",
                "grid_rows",
            )
        )

    times = [first_load() for _ in range(max(5, requests // 5))]
    out.append(("first load (sum, serial)", pct(times, 0.5), pct(times, 0.95)))
    times = [filter_change() for _ in range(max(5, requests // 5))]
    out.append(("filter change (sum, serial)", pct(times, 0.5), pct(times, 0.95)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--roles", default="office,leader,clerk")
    parser.add_argument("--reuse", action="store_true", help="skip seeding (the database is already built)")
    args = parser.parse_args()

    from tracker import clock, create_app
    from tracker.config import Settings

    tmp = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    if args.reuse:
        import sqlalchemy as sa

        from tracker.db import make_engine

        with make_engine(url).connect() as conn:
            data = {"departments": [r[0] for r in conn.execute(sa.text("SELECT id FROM department ORDER BY id"))]}
    else:
        start = time.perf_counter()
        data = build(url, args.tasks)
        print(f"seeded {args.tasks:,} tasks on {backend} in {time.perf_counter() - start:.1f} s", flush=True)
    clock.set_today(TODAY)
    app = create_app(
        Settings(env="testing", database_url=url, instance_path=tmp / "instance", today=TODAY, secret_key="bench")
    )
    worst = 0.0
    print(
        f"\n{'role':8} {'callback':32} {'p50 ms':>8} {'p95 ms':>8}   (load average at start "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())})"
    )
    for role in args.roles.split(","):
        for name, p50, p95 in measure(app, role, args.requests, data):
            single = "sum" not in name
            if single:
                worst = max(worst, p95)
            flag = "  <-- over target" if single and p95 > TARGET_MS else ""
            print(f"{role:8} {name:32} {p50:8.1f} {p95:8.1f}{flag}", flush=True)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nworst single-callback p95: {worst:.1f} ms (target {TARGET_MS:.0f} ms, {backend}, {args.tasks:,} tasks; "
        f"load average {load} on {os.cpu_count()} CPUs)"
    )


if __name__ == "__main__":
    main()
