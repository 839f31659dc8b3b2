"""Python CPU and SQL statements per request of the read mix, in-process.

    .venv/bin/python bench/bench_pages.py [--db postgresql|sqlite] [--requests 30] [--reuse]
        [--only clerk:inbox,office:list overdue] [--profile "clerk:task page"] [--profile-out FILE]

The load test (bench/load/run.py) needs a quiet machine; this one does not. It seeds
the demo district exactly as run.py does (``seed_demo`` frozen on 2026-11-23, one
bench account per role) in a scratch database (PostgreSQL ``bench_hc`` on 127.0.0.1,
or a SQLite file under /tmp), logs in with the Flask test client as a clerk, an
office user and a leader, and times ``--requests`` requests per page type: Python
CPU of this process (``time.process_time``; the PostgreSQL server's own CPU is not
in it, SQLite's is) p50 and min, wall-clock p50, and the SQL statements per request
(a ``before_cursor_execute`` listener). ``--profile NAME`` runs cProfile over that
page's requests and prints the top functions by cumulative time.

``--reuse`` skips seeding (the database and the account file from the last run).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "bench" / "load"))

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# BENCH_PAGES_NAME: another scratch database and folder, for two benches at once
PG_NAME = os.environ.get("BENCH_PAGES_NAME", "bench_hc")
COUNTS = {"clerk": 4, "reporter": 0, "office": 1, "leader": 1}


def scratch(kind: str) -> tuple[str, Path]:
    """The database URL and a folder for the instance and the account file (stable, for --reuse)."""
    folder = Path(tempfile.gettempdir()) / f"bench-pages-{kind}-{PG_NAME}"
    folder.mkdir(exist_ok=True)
    if kind == "sqlite":
        return f"sqlite:///{folder / 'bench.db'}", folder
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_NAME, folder


def seed_fresh(kind: str, url: str, folder: Path, copies: int = 0) -> dict:
    from run import scratch_database, seed  # bench/load/run.py: the load test's own seeding

    if kind == "sqlite":
        (folder / "bench.db").unlink(missing_ok=True)
    else:
        scratch_database("postgresql", PG_NAME, folder)
    data = seed(url, COUNTS, folder / "instance", copies)
    (folder / "users.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return data


def login(client, username: str, password: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert resp.status_code == 302, resp.status_code


def pages(data: dict) -> list[tuple[str, str, object]]:
    """(role, name, request) for every page type of the read mix, as the locustfile asks for them."""
    clerk_tasks = data["clerk"][0]["tasks"][:20]  # the logged-in clerk's own department
    dep = data["departments"][len(data["departments"]) // 2]
    dash = data["dash"]
    get = lambda path: ("GET", path)  # noqa: E731
    post = lambda key: ("POST", "/dashboard/_dash-update-component", dash[key])  # noqa: E731
    out = [
        ("clerk", "inbox /dept/", get("/dept/")),
        ("clerk", "my tasks /dept/tasks", get("/dept/tasks")),
        ("clerk", "task page /tasks/<id>", [get(f"/tasks/{t}") for t in clerk_tasks]),
        ("office", "list status", get("/office/tasks?status=in_progress")),
        ("office", "list overdue", get("/office/tasks?overdue=1")),
        ("office", "list department", get(f"/office/tasks?lead_department_id={dep}")),
        ("office", "list q=项目", get("/office/tasks?q=项目")),
        ("office", "export overdue", get("/office/tasks/export?overdue=1")),
        ("leader", "board page", get("/dashboard/")),
    ]
    out += [("leader", f"dash {key}", post(key)) for key in dash]
    return out


def run_one(client, req) -> int:
    if req[0] == "GET":
        resp = client.get(req[1])
    else:
        resp = client.post(req[1], data=json.dumps(req[2]), content_type="application/json")
    body = resp.get_data()  # an export streams: read it all
    assert resp.status_code in (200, 204), (req[1], resp.status_code, body[:300])
    return len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--copies", type=int, default=0, help="a bigger district, as run.py --copies")
    parser.add_argument("--only", default="", help="comma-separated role:name prefixes")
    parser.add_argument("--profile", default="", help="role:name prefix of the page to profile")
    parser.add_argument("--profile-lines", type=int, default=45)
    parser.add_argument("--profile-out", default="", help="also dump the cProfile stats to this file")
    args = parser.parse_args()

    import sqlalchemy as sa
    from run import PASSWORD, TODAY

    from tracker import clock, create_app
    from tracker.config import Settings
    from tracker.db import make_engine

    url, folder = scratch(args.db)
    users = folder / "users.json"
    if args.reuse and users.exists():
        data = json.loads(users.read_text(encoding="utf-8"))
    else:
        start = time.perf_counter()
        data = seed_fresh(args.db, url, folder, args.copies)
        print(f"seeded the demo district on {args.db} in {time.perf_counter() - start:.1f} s", flush=True)

    clock.set_today(TODAY)
    engine = make_engine(url)
    statements = [0]

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _count(*_a, **_kw):
        statements[0] += 1

    app = create_app(
        Settings(
            env="production",
            database_url=url,
            instance_path=folder / "instance",
            today=TODAY,
            secret_key="bench-pages-secret-key-0123456789abcdef",
        ),
        engine=engine,
    )
    app.config["SESSION_COOKIE_SECURE"] = False  # the test client speaks http
    # The JSON request log stays on (gunicorn pays for it too) but goes nowhere; the table goes to the terminal.
    real_stdout, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115 - closed at exit
    print_ = lambda *a, **kw: print(*a, **kw, file=real_stdout, flush=True)  # noqa: E731
    clients = {}
    for role in ("clerk", "office", "leader"):
        clients[role] = app.test_client()
        login(clients[role], data[role][0]["u"], PASSWORD)

    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    print_(
        f"\n{'page':34} {'cpu p50':>8} {'cpu min':>8} {'wall p50':>8} {'SQL':>5} {'KiB':>6}   "
        f"({args.db}, {args.requests} requests each; ms)"
    )
    rows = []
    for role, name, req in pages(data):
        label = f"{role}:{name}"
        if wanted and not any(label.startswith(w) for w in wanted):
            continue
        reqs = req if isinstance(req, list) else [req]
        client = clients[role]
        for r in reqs[:3]:  # warm: templates compiled, caches filled
            run_one(client, r)
        # CPU time, not wall time: on a shared machine the wall clock also counts other processes.
        profiler = cProfile.Profile(time.process_time) if args.profile and label.startswith(args.profile) else None
        cpu, wall, sql, size = [], [], [], 0
        for i in range(args.requests):
            r = reqs[i % len(reqs)]
            statements[0] = 0
            c0, w0 = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            size = run_one(client, r)
            if profiler:
                profiler.disable()
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
            sql.append(statements[0])
        cpu.sort(), wall.sort(), sql.sort()
        row = (label, cpu[len(cpu) // 2], cpu[0], wall[len(wall) // 2], sql[len(sql) // 2], size / 1024)
        rows.append(row)
        print_(f"{row[0]:34} {row[1]:8.1f} {row[2]:8.1f} {row[3]:8.1f} {row[4]:5d} {row[5]:6.0f}")
        if profiler:
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
            stats.print_stats(args.profile_lines)
            print_(out.getvalue())
            if args.profile_out:
                stats.dump_stats(args.profile_out)
    mix = [r for r in rows if r[0].startswith("clerk")]
    if mix:
        # The locustfile's clerk weights: inbox 2, my tasks 1, task page 3.
        weights = {"clerk:inbox /dept/": 2, "clerk:my tasks /dept/tasks": 1, "clerk:task page /tasks/<id>": 3}
        total = sum(weights.get(r[0], 0) for r in mix)
        if total:
            avg = sum(r[1] * weights.get(r[0], 0) for r in mix) / total
            print_(
                f"\nclerk mix (2:1:3) CPU p50 per request: {avg:.1f} ms -> ~{2000 / avg:.0f} requests/s on 2 cores "
                f"if nothing else ran (load average {' '.join(f'{x:.1f}' for x in os.getloadavg())})"
            )
    engine.dispose()


if __name__ == "__main__":
    main()
