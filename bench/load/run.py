"""Load test: gunicorn on loopback, a real database behind it, locust headless in front.

    .venv/bin/pip install -r bench/requirements.txt   # locust, once
    .venv/bin/python bench/load/run.py --db postgresql|sqlite [--users 280] [--seconds 60]
        [--workers N] [--threads N] [--worker-connections N] [--wait 1.0] [--report-wait 10]
        [--restart-pg-at SECONDS] [--copies N]

One command: it creates a scratch database (PostgreSQL ``bench_h9`` on 127.0.0.1,
dropped and created anew; or a temporary SQLite file), builds the demo district
(``seed_demo``: ~40 units, ~300 tasks in every state, frozen on 2026-11-23) plus
one account per simulated user (200 clerks, 50 reporters, 10 office, 20 leaders
at the default 280 users), starts gunicorn on 127.0.0.1 (3 workers x 4 threads on
PostgreSQL for 2 cores; 1 worker on SQLite), runs ``bench/load/locustfile.py``
headless for ``--seconds`` (reports are also capped per user), then prints one
row per request type (count, failures, rps, p50/p95/p99 in ms), the read mix
(everything but the report POSTs) and the write check: every report the server
accepted (302 back to the task) must be in the database exactly once, with its PDF.

Users think for ``--wait`` seconds between requests (0.5-1.5 s); a reporter takes
``--report-wait`` seconds (5-15 s by default) to write each report, still far quicker
than a person. ``--report-wait 1`` is the stress pace of the earlier figures: 50
reporters sending ~35 reports a second.

Passwords of the bench accounts use the cheap hash the test suite uses
(pbkdf2:sha256:1000, ``tests/conftest.py``), in this scratch database only:
scrypt would make 280 logins a benchmark of their own.

``--restart-pg-at S`` restarts PostgreSQL S seconds into the run (fault test 3):
the table then also counts the failed requests by status and whether each carried
the Chinese 503 message, and the requests after the restart show the recovery.

Target, PostgreSQL on this 2-core machine: 200 requests/s of the read mix
at p95 under 300 ms, zero errors, zero lost or doubled writes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

TODAY = date(2026, 11, 23)  # a Monday
PASSWORD = "bench-password-1"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET_RPS, TARGET_P95 = 200.0, 300.0
VENV = ROOT / ".venv" / "bin"


def scratch_database(kind: str, name: str, tmp: Path) -> str:
    import sqlalchemy as sa

    if kind == "sqlite":
        return f"sqlite:///{tmp / 'bench.db'}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def clone_tasks(s, copies: int) -> int:
    """A bigger district: every task of the demo ``copies`` more times (same states, deadlines,
    units and leaders; code ``<code>-<n>``, no parent, no history), bulk-inserted. Returns the count."""
    import sqlalchemy as sa

    from tracker.models import Task, TaskAssist, TaskLeader

    t = Task.__table__
    rows = [dict(r._mapping) for r in s.execute(sa.select(t).order_by(t.c.id))]
    assists = s.execute(sa.select(TaskAssist.__table__)).all()
    leaders = s.execute(sa.select(TaskLeader.__table__)).all()
    made = 0
    for n in range(1, copies + 1):
        batch = [
            {**{k: v for k, v in r.items() if k != "id"}, "code": f"{r['code']}-{n}"[:20], "parent_id": None}
            for r in rows
        ]
        new_ids = s.execute(sa.insert(t).returning(t.c.id, sort_by_parameter_order=True), batch).scalars().all()
        old_to_new = {r["id"]: new_id for r, new_id in zip(rows, new_ids)}
        if assists:
            s.execute(
                sa.insert(TaskAssist.__table__),
                [{"task_id": old_to_new[a.task_id], "department_id": a.department_id} for a in assists],
            )
        if leaders:
            s.execute(
                sa.insert(TaskLeader.__table__),
                [{"task_id": old_to_new[x.task_id], "leader_id": x.leader_id} for x in leaders],
            )
        made += len(batch)
    return made


def seed(url: str, counts: dict[str, int], instance: Path, copies: int = 0) -> dict:
    """The demo district plus one account per simulated user; returns what the locustfile needs."""
    from sqlmodel import Session, select

    from tracker import clock, create_app, migrate
    from tracker.config import Settings
    from tracker.db import make_engine
    from tracker.demo import seed_demo
    from tracker.models import Department, Leader, Role, Task
    from tracker.services.actors import SYSTEM
    from tracker.services.calendar import seed_holidays, seed_presets
    from tracker.services.organisation import directory as organisation
    from tracker.workflow import WORKING

    organisation.PASSWORD_METHOD = "pbkdf2:sha256:1000"  # bench accounts only, see the docstring
    engine = make_engine(url)
    migrate.upgrade(engine)
    out: dict = {"password": PASSWORD, "clerk": [], "reporter": [], "office": [], "leader": []}
    with clock.frozen(TODAY), Session(engine, expire_on_commit=False) as s:
        seed_holidays(s)
        seed_presets(s)
        seed_demo(s)
        s.commit()
        if copies:
            out["cloned_tasks"] = clone_tasks(s, copies)
            s.commit()
        deps = s.exec(select(Department).order_by(Department.id)).all()
        leaders = s.exec(select(Leader).order_by(Leader.id)).all()
        tasks = s.exec(select(Task.id, Task.lead_department_id, Task.status)).all()
        led: dict[int, list[int]] = defaultdict(list)
        working: dict[int, list[int]] = defaultdict(list)
        for tid, dep, status in tasks:
            if status not in ("draft", "pending_approval"):  # not sent out yet: departments do not see them
                led[dep].append(tid)
            if status in WORKING:
                working[dep].append(tid)
        readers = [d for d in deps if led[d.id]]
        writers = [d for d in deps if working[d.id]]
        for i in range(counts["clerk"]):
            d = readers[i % len(readers)]
            organisation.create_user(
                s, SYSTEM, f"bclerk{i:03d}", f"{d.name}联络员{i}", PASSWORD, Role.CLERK, department_id=d.id
            )
            out["clerk"].append({"u": f"bclerk{i:03d}", "tasks": led[d.id][:20]})
        for i in range(counts["reporter"]):
            d = writers[i % len(writers)]
            organisation.create_user(
                s, SYSTEM, f"brep{i:03d}", f"{d.name}报送员{i}", PASSWORD, Role.CLERK, department_id=d.id
            )
            out["reporter"].append({"u": f"brep{i:03d}", "tasks": working[d.id]})
        for i in range(counts["office"]):
            organisation.create_user(s, SYSTEM, f"boffice{i:02d}", f"督查室{i}", PASSWORD, Role.SUPERVISOR)
            out["office"].append({"u": f"boffice{i:02d}", "tasks": []})
        for i in range(counts["leader"]):
            lead = leaders[i % len(leaders)]
            organisation.create_user(s, SYSTEM, f"bleader{i:02d}", lead.name, PASSWORD, Role.LEADER, leader_id=lead.id)
            out["leader"].append({"u": f"bleader{i:02d}", "tasks": []})
        s.commit()
        out["departments"] = [d.id for d in readers]
    # The Dash callbacks' request bodies, exactly as bench_dashboard.py builds them from the live app.
    from bench_dashboard import callback_payloads

    app = create_app(
        Settings(env="testing", database_url=url, instance_path=instance, today=TODAY, secret_key="bench"),
        engine=engine,
    )
    dash = callback_payloads(app, {}, "")
    out["dash"] = {
        k: dash[k]
        for k in ("cards", "bars_department", "bars_leader", "trend_heatmap", "schedule", "grid_replace", "grid_rows")
    }
    engine.dispose()
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(
    url: str, instance: Path, port: int, workers: int, threads: int, log: Path, connections: int | None = None
) -> subprocess.Popen:
    env = dict(
        os.environ,
        TRACKER_DATABASE_URL=url,
        TRACKER_INSTANCE_PATH=str(instance),
        TRACKER_TODAY=TODAY.isoformat(),
        TRACKER_SECRET_KEY="bench-secret-key-h9",
        TRACKER_ENV="development",
    )
    proc = subprocess.Popen(
        # The shipped configuration (recycling, GC tuning); the command line overrides its layout.
        [
            str(VENV / "gunicorn"),
            "-c",
            "docs/deploy/gunicorn.conf.py",
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            *(["--worker-connections", str(connections)] if connections else []),
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    if not wait_healthy(port) or not wait_workers_ready(log, workers):
        stop(proc)
        raise SystemExit(f"gunicorn did not start, see {log}")
    return proc


def wait_workers_ready(log: Path, workers: int, seconds: float = 120) -> bool:
    """Whether every worker has built the app (its "ready" line from the shipped config's
    ``post_worker_init``). /healthz answers as soon as one has: users connecting earlier all land
    on that worker and their keep-alive connections stay there: one worker would serve 155 of the
    280 users at 66 % of a core while the two others idle at a third."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if len(re.findall(r"worker \d+ ready", log.read_text(errors="replace"))) >= workers:
            return True
        time.sleep(0.2)
    return False


def wait_healthy(port: int, tries: int = 120) -> bool:
    """Whether the server on ``port`` answers /healthz within about a minute."""
    for _ in range(tries):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            time.sleep(0.5)
    return False


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def restart_postgres() -> float:
    """Restart the cluster and wait for pg_isready; returns the seconds it was unavailable."""
    start = time.time()
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    try:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
            check=False,
            capture_output=True,
            timeout=120,
        )
    finally:
        for _ in range(120):
            if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0:
                break
            time.sleep(0.5)
    return time.time() - start


class CpuSampler(threading.Thread):
    """CPU seconds of gunicorn, PostgreSQL and locust, read from /proc once a second.

    Throughput on a shared machine moves with its neighbours; CPU per request moves much less,
    so it says whether a change made the server cheaper (the timeline's last columns)."""

    GROUPS = ("gunicorn", "postgres", "locust")

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, dict[str, float]]] = []
        self.start_ticks: dict[int, int] = {}
        self.last: dict[int, tuple[str, int]] = {}
        self.halt = threading.Event()
        self.hz = os.sysconf("SC_CLK_TCK")
        for pid, (_group, ticks) in self._read().items():
            self.start_ticks[pid] = ticks

    def _read(self) -> dict[int, tuple[str, int]]:
        seen = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            group = (
                "gunicorn"
                if b"gunicorn" in cmd
                else "locust"
                if b"locust" in cmd
                else "postgres"
                if comm.startswith("postgres")
                else None
            )
            if group:
                fields = stat[stat.rindex(")") + 2 :].split()
                seen[int(entry)] = (group, int(fields[11]) + int(fields[12]))  # utime + stime
        return seen

    def run(self) -> None:
        while not self.halt.wait(1.0):
            self.last.update(self._read())
            totals = dict.fromkeys(self.GROUPS, 0.0)
            for pid, (group, ticks) in self.last.items():
                totals[group] += (ticks - self.start_ticks.get(pid, 0)) / self.hz
            self.samples.append((time.time(), totals))

    def shares(self, group: str) -> list[float]:
        """CPU seconds of each process of a group over the run, largest first: gunicorn's
        workers should share the work; a worker that holds most users' keep-alive
        connections runs at one core while the others idle."""
        return sorted(
            ((ticks - self.start_ticks.get(pid, 0)) / self.hz for pid, (g, ticks) in self.last.items() if g == group),
            reverse=True,
        )

    def between(self, a: float, b: float) -> dict[str, float] | None:
        """CPU seconds per group from about ``a`` to about ``b`` (nearest samples)."""
        inside = [s for s in self.samples if a - 0.5 <= s[0] <= b + 0.5]
        if len(inside) < 2:
            return None
        first, last = inside[0], inside[-1]
        scale = (b - a) / max(last[0] - first[0], 1e-6)
        return {g: (last[1][g] - first[1][g]) * scale for g in self.GROUPS}


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def is_report_post(name: str) -> bool:
    return "POST report" in name


def in_read_mix(name: str) -> bool:
    """The read mix: every request but the report POSTs and the logins."""
    return not is_report_post(name) and not name.startswith("login")


def table(records: list, seconds: float) -> tuple[list[str], dict]:
    """One row per request type, then the read mix and everything; returns the lines and the read-mix figures."""
    by: dict[str, list] = defaultdict(list)
    for name, ms, ok, _status, _t in records:
        by[name].append((ms, ok))
    by["READ MIX (all but report POSTs)"] = [(ms, ok) for name, ms, ok, _s, _t in records if in_read_mix(name)]
    by["ALL"] = [(ms, ok) for _n, ms, ok, _s, _t in records]
    lines = [f"{'request':44} {'count':>7} {'fail':>5} {'rps':>7} {'p50':>6} {'p95':>6} {'p99':>6}"]
    summary = {}
    for name in sorted(by, key=lambda n: (n in ("READ MIX (all but report POSTs)", "ALL"), n)):
        rows = by[name]
        times = [ms for ms, _ in rows]
        fails = sum(1 for _, ok in rows if not ok)
        rps = len(rows) / seconds
        p50, p95, p99 = pct(times, 0.5), pct(times, 0.95), pct(times, 0.99)
        lines.append(f"{name[:44]:44} {len(rows):7d} {fails:5d} {rps:7.1f} {p50:6.0f} {p95:6.0f} {p99:6.0f}")
        if name.startswith("READ MIX"):
            summary = {"rps": rps, "p95": p95, "fails": fails}
    return lines, summary


def timeline(records: list, cpu: CpuSampler | None = None, step: int = 10) -> list[str]:
    """The read mix per ``step`` seconds, beside the report POSTs: shows the ramp-up and how much
    of the latency comes while the reporters write (each stops after ``--max-reports``). With
    ``cpu``: the CPU milliseconds gunicorn and PostgreSQL spent per request (all requests) and the
    share of the two cores each group used."""
    if not records:
        return []
    t0 = min(r[4] for r in records)
    reads: dict[int, list[float]] = defaultdict(list)
    posts: dict[int, int] = defaultdict(int)
    every: dict[int, int] = defaultdict(int)
    for name, ms, _ok, _s, t in records:
        k = int((t - t0) // step)
        every[k] += 1
        if is_report_post(name):
            posts[k] += 1
        elif in_read_mix(name):
            reads[k].append(ms)
    head = f"{'seconds':>9} {'read rps':>9} {'POST/s':>7} {'p50':>6} {'p95':>6}"
    if cpu:
        head += f" {'web ms/req':>10} {'pg ms/req':>9} {'web/pg/locust % of cores':>25}"
    lines = [head]
    cores = os.cpu_count() or 1
    for k in sorted(reads):
        line = (
            f"{k * step:4d}-{(k + 1) * step:<4d} {len(reads[k]) / step:9.1f} {posts[k] / step:7.1f} "
            f"{pct(reads[k], 0.5):6.0f} {pct(reads[k], 0.95):6.0f}"
        )
        used = cpu.between(t0 + k * step, t0 + (k + 1) * step) if cpu else None
        if used:
            share = "/".join(f"{100 * used[g] / step / cores:.0f}" for g in CpuSampler.GROUPS)
            line += f" {1000 * used['gunicorn'] / every[k]:10.2f} {1000 * used['postgres'] / every[k]:9.2f} {share:>25}"
        lines.append(line)
    return lines


def server_exceptions(log: Path) -> tuple[int, dict[str, str]] | None:
    """How many exceptions the app logged (its JSON lines with ``exc``), and each worker's first:
    a 500 in the table says that a page failed, the traceback says why."""
    count, first = 0, {}
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{") and '"exc"' in line:
            entry = json.loads(line)
            count += 1
            first.setdefault(str(entry.get("pid", "?")), f"{entry.get('msg')}\n{entry['exc']}")
    return (count, first) if count else None


def cpu_by_request(log: Path) -> list[str]:
    """The CPU each kind of request cost its gunicorn thread (``cpu_ms`` of the app's request log):
    where the server's CPU goes, by page, under the real mix."""
    kinds = [
        ("POST", re.compile(r"^/tasks/\d+/report$"), "POST report + PDF"),
        ("GET", re.compile(r"^/tasks/\d+$"), "task page"),
        ("GET", re.compile(r"^/dept/$"), "inbox"),
        ("GET", re.compile(r"^/dept/tasks$"), "my tasks"),
        ("GET", re.compile(r"^/office/tasks$"), "office list"),
        ("GET", re.compile(r"^/office/tasks/export$"), "export xlsx"),
        ("GET", re.compile(r"^/dashboard/$"), "board page"),
        ("POST", re.compile(r"^/dashboard/_dash-update-component$"), "board callback"),
        ("GET", re.compile(r"^/login$"), "login page"),
        ("POST", re.compile(r"^/login$"), "login"),
    ]
    cpu: dict[str, list[float]] = defaultdict(list)
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.startswith("{") or '"cpu_ms"' not in line:
            continue
        entry = json.loads(line)
        name = next((n for m, rx, n in kinds if m == entry["method"] and rx.match(entry["path"])), "other")
        if name == "task page" and str(entry.get("user") or "").startswith("brep"):
            name = "task page (reporter: lead's forms)"
        cpu[name].append(entry["cpu_ms"])
    total = sum(sum(v) for v in cpu.values()) or 1.0
    lines = [f"{'request':36} {'count':>7} {'cpu ms mean':>11} {'p50':>6} {'p95':>6} {'share':>6}"]
    for name, values in sorted(cpu.items(), key=lambda kv: -sum(kv[1])):
        lines.append(
            f"{name:36} {len(values):7d} {sum(values) / len(values):11.2f} {pct(values, 0.5):6.1f} "
            f"{pct(values, 0.95):6.1f} {100 * sum(values) / total:5.1f}%"
        )
    return lines


def check_writes(url: str, accepted: list[str]) -> dict:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT r.text, (SELECT count(*) FROM attachment a WHERE a.report_id = r.id) "
                "FROM progressreport r WHERE r.text LIKE 'BENCH-%'"
            )
        ).all()
    engine.dispose()
    in_db = Counter(text.split()[0] for text, _ in rows)
    files = {text.split()[0]: n for text, n in rows}
    acc = Counter(accepted)
    return {
        "accepted": len(accepted),
        "in database": sum(in_db.values()),
        "lost (accepted, not in db)": sum(1 for m in acc if in_db[m] == 0),
        "doubled (in db twice or more)": sum(1 for m in in_db if in_db[m] > 1),
        "written, answer lost": sum(1 for m in in_db if m not in acc),
        "accepted without its PDF": sum(1 for m in acc if in_db[m] and files.get(m) != 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    ap.add_argument("--users", type=int, default=280, help="simulated users, split 200:50:10:20")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--workers", type=int)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument(
        "--worker-connections",
        type=int,
        help="cap each worker's connections (keep-alive users otherwise pile up on one worker)",
    )
    ap.add_argument("--wait", type=float, default=1.0, help="mean think time between a user's requests, s")
    ap.add_argument(
        "--report-wait",
        type=float,
        default=10.0,
        help="mean time a reporter takes to write the next report, s (1: the stress pace)",
    )
    ap.add_argument("--max-reports", type=int, default=20, help="report POSTs per reporter at most")
    ap.add_argument("--database-name", default="bench_h9")
    ap.add_argument("--restart-pg-at", type=float, help="restart PostgreSQL this many seconds into the run")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder (logs, locust output)")
    ap.add_argument(
        "--copies",
        type=int,
        default=0,
        help="a bigger district: every demo task this many more times (30: ~10,000 tasks)",
    )
    args = ap.parse_args()
    if args.restart_pg_at is not None and args.db != "postgresql":
        ap.error("--restart-pg-at needs --db postgresql")
    workers = args.workers or (3 if args.db == "postgresql" else 1)

    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    instance = tmp / "instance"
    instance.mkdir()
    total = args.users
    counts = {
        "clerk": max(1, total * 200 // 280),
        "reporter": max(1, total * 50 // 280),
        "office": max(1, total * 10 // 280),
        "leader": max(1, total * 20 // 280),
    }
    t0 = time.time()
    url = scratch_database(args.db, args.database_name, tmp)
    data = seed(url, counts, instance, args.copies)
    (tmp / "users.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    print(
        f"seeded {args.db} in {time.time() - t0:.0f}s: {sum(counts.values())} accounts {counts}"
        + (f", {data['cloned_tasks']} cloned tasks" if args.copies else ""),
        flush=True,
    )

    port = free_port()
    server = start_gunicorn(url, instance, port, workers, args.threads, tmp / "gunicorn.log", args.worker_connections)
    restarted: dict = {}
    try:
        env = dict(
            os.environ,
            BENCH_USERS=str(tmp / "users.json"),
            BENCH_OUT=str(tmp / "out.json"),
            BENCH_WAIT=str(args.wait),
            BENCH_REPORT_WAIT=str(args.report_wait),
            BENCH_MAX_REPORTS=str(args.max_reports),
        )
        cmd = [
            str(VENV / "locust"),
            "-f",
            str(ROOT / "bench/load/locustfile.py"),
            "--headless",
            "-u",
            str(sum(counts.values())),
            "-r",
            str(max(10, total // 5)),
            "-t",
            f"{args.seconds}s",
            "--host",
            f"http://127.0.0.1:{port}",
            "--only-summary",
            "--stop-timeout",
            "10",
            "--loglevel",
            "ERROR",
        ]
        start = time.time()
        cpu = CpuSampler()
        cpu.start()
        if args.restart_pg_at is not None:

            def _restart():
                time.sleep(args.restart_pg_at)
                restarted["at"] = time.time()
                restarted["down_s"] = restart_postgres()

            threading.Thread(target=_restart, daemon=True).start()
        subprocess.run(
            cmd, cwd=tmp, env=env, stdout=(tmp / "locust.log").open("w"), stderr=subprocess.STDOUT, check=False
        )
        elapsed = time.time() - start
        cpu.halt.set()
    finally:
        stop(server)
        if args.restart_pg_at is not None:  # never leave PostgreSQL down
            for _ in range(120):
                if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0:
                    break
                time.sleep(0.5)

    out = json.loads((tmp / "out.json").read_text(encoding="utf-8"))
    records = out["records"]
    # Requests start after the ramp-up; rps over the measured span (first to last request).
    span = (max(r[4] for r in records) - min(r[4] for r in records)) if records else elapsed
    print(
        f"\n{args.db}: {sum(counts.values())} users, {workers} gunicorn worker(s) x {args.threads} threads, "
        f"{span:.0f}s measured, think time {args.wait}s (reporters {args.report_wait}s), "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    lines, summary = table(records, span)
    print("\n".join(lines))
    print("\nread mix over time:")
    print("\n".join(timeline(records, cpu)))
    shares = [x for x in cpu.shares("gunicorn") if x >= 0.5]  # the master uses next to nothing
    print(
        "gunicorn workers' CPU over the run: "
        + ", ".join(f"{x:.1f} s ({100 * x / (sum(shares) or 1):.0f} %)" for x in shares)
    )
    print("\nCPU of the request's gunicorn thread (the app's request log), by kind:")
    print("\n".join(cpu_by_request(tmp / "gunicorn.log")))
    if out["errors"]:
        print("\nerrors (name status exception body):")
        for key, n in sorted(out["errors"].items(), key=lambda kv: -kv[1])[:15]:
            print(f"  {n:5d}  {key}")
    failures = server_exceptions(tmp / "gunicorn.log")
    if failures:
        args.keep = True  # the whole server log, for what the first lines do not show
        print(f"\nthe server logged {failures[0]} exception(s); the first, by worker:")
        for pid, exc in failures[1].items():
            print(f"  worker {pid}:\n    " + exc.replace("\n", "\n    "))
    print("\nwrites:")
    writes = check_writes(url, out["accepted"])
    for key, value in writes.items():
        print(f"  {key:32} {value}")
    ok = writes["lost (accepted, not in db)"] == 0 and writes["doubled (in db twice or more)"] == 0
    if args.restart_pg_at is not None and restarted:
        fault_report(records, restarted)
    else:
        hit = summary.get("rps", 0) >= TARGET_RPS and summary.get("p95", 1e9) < TARGET_P95 and summary["fails"] == 0
        print(
            f"\ntarget (read mix >= {TARGET_RPS:.0f} rps, p95 < {TARGET_P95:.0f} ms, 0 errors, 0 lost/doubled): "
            f"{'MET' if hit and ok else 'NOT MET'}"
        )
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


def fault_report(records: list, restarted: dict) -> None:
    """Fault 3: what callers saw while PostgreSQL restarted, and whether the app came back by itself."""
    at, down = restarted["at"], restarted["down_s"]
    window = [r for r in records if at - 1 <= r[4] <= at + down + 5]
    after = [r for r in records if r[4] > at + down + 5]
    statuses = Counter(r[3] for r in window if not r[2])
    print(f"\nfault: PostgreSQL restarted {at - min(r[4] for r in records):.0f}s into the run, down {down:.1f}s")
    print(f"  {'scenario':44} outcome")
    print(f"  {'requests failed around the restart':44} {sum(statuses.values())} by status {dict(statuses)}")
    print(f"  {'of them 500 (a traceback would be here)':44} {statuses.get(500, 0)}")
    print(f"  {'requests after restart +5s':44} {len(after)}, failed {sum(1 for r in after if not r[2])}")
    clean = statuses.get(500, 0) == 0 and after and not any(not r[2] for r in after)
    print(f"  {'clean failure and recovery without restart':44} {'YES' if clean else 'NO'}")


if __name__ == "__main__":
    sys.exit(main())
