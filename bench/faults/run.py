"""Fault tests on PostgreSQL or SQLite: kill things mid-way, then check the database is whole.

    .venv/bin/python bench/faults/run.py [--db postgresql|sqlite]
        [--scenario import|transition|scheduler|webimport|pgrestart|all]

Prints one table, scenario -> outcome:

* import      SIGKILL ``flask ledger import`` (3,000-row ledger, bench_ledger.py's workbook) at
              several points of an uninterrupted run's duration: each time the database must
              hold all of the tasks (and their audit rows) or none.
* transition  gunicorn (3 workers) takes many concurrent 签收/进展反馈 POSTs while its workers are
              SIGKILLed one after another: afterwards every task's status equals the last status
              of its audit trail, every status step is audited with no gap, and every progress
              report has exactly one audit row (and the reverse).
* webimport   gunicorn (2 workers) serves the app; the office uploads the same ledger through
              /imports/, runs the dry run and confirms; the worker whose thread runs the commit
              (the busiest one) is SIGKILLed at several points of the commit. The database holds
              all of the tasks and their audit rows or none; the job shows 导入中 until it is
              stale (``imports.STALE_AFTER``, shortened for the bench by ``stale_wsgi.py``), then
              未完成 and may be started again; a second dry run and two confirms at once import
              it exactly once.
* scheduler   ``flask scheduler --once daily`` on a copy of the demo district, SIGKILLed at
              several points and run again: every table equals an uninterrupted run's (reminders,
              escalations, notifications, deliveries, audit rows): none lost, none doubled; the
              killed run's JobRun row shows "interrupted" (中断) once the next run has started.
* pgrestart   bench/load/run.py with ``--restart-pg-at``: PostgreSQL restarts under load; failed
              requests must be 503 with the Chinese message, never 500, and the app recovers
              without a restart. PostgreSQL is restarted once, and always brought back.
              PostgreSQL only.

Scratch databases ``bench_h9f*`` are dropped and created anew (SQLite: files in a temporary
folder). On PostgreSQL a kill "N s into the write transaction" waits until pg_stat_activity shows
the process holding a transaction id; SQLite has no such view (and writes its WAL only at
COMMIT), so there the kills fall at fractions of an uninterrupted run's duration.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "bench" / "load"))

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/"
VENV = ROOT / ".venv" / "bin"
DAY = "2026-11-23"
# The demo district is seeded on DAY and its seed already ran that day's rules: the scheduler's
# fault run is the next working day's, with new reminders, escalations and digests to write.
SCHED_DAY = "2026-11-24"
RESULTS: list[tuple[str, str, bool]] = []
MODE = {"db": "postgresql", "tmp": Path(tempfile.gettempdir())}


def sqlite() -> bool:
    return MODE["db"] == "sqlite"


def _sqlite_file(name: str) -> Path:
    return MODE["tmp"] / f"{name}.db"


def admin(sql: str) -> None:
    import sqlalchemy as sa

    eng = sa.create_engine(PG + "postgres", isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        for stmt in sql.split(";"):
            if stmt.strip():
                conn.execute(sa.text(stmt))
    eng.dispose()


def url_of(name: str) -> str:
    return f"sqlite:///{_sqlite_file(name)}" if sqlite() else PG + name


def recreate(name: str, template: str | None = None) -> str:
    if sqlite():
        import sqlite3

        path = _sqlite_file(name)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        if template:  # the online backup API: a consistent copy, WAL included
            src, dst = sqlite3.connect(_sqlite_file(template)), sqlite3.connect(path)
            src.backup(dst)
            src.close()
            dst.close()
        return url_of(name)
    admin(
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE); CREATE DATABASE "{name}"'
        + (f' TEMPLATE "{template}"' if template else "")
    )
    return PG + name


def scalar(url: str, sql: str):
    import sqlalchemy as sa

    eng = sa.create_engine(url)
    with eng.connect() as conn:
        value = conn.execute(sa.text(sql)).scalar()
    eng.dispose()
    return value


def env_for(url: str, tmp: Path, day: str = DAY) -> dict:
    return dict(
        os.environ,
        TRACKER_DATABASE_URL=url,
        TRACKER_INSTANCE_PATH=str(tmp / "instance"),
        TRACKER_TODAY=day,
        TRACKER_SECRET_KEY="bench-secret-key-h9",
    )


def run_killed(cmd: list[str], env: dict, after: float | None) -> tuple[float, int]:
    """Run ``cmd``; SIGKILL its process group ``after`` seconds in (None: let it finish)."""
    start = time.time()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    if after is None:
        proc.wait()
    else:
        try:
            proc.wait(after)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return time.time() - start, proc.returncode


def record(scenario: str, outcome: str, ok: bool) -> None:
    RESULTS.append((scenario, outcome, ok))
    print(f"  {'OK ' if ok else 'BAD'} {scenario}: {outcome}", flush=True)


# --- 1. a large import, killed ---------------------------------------------------------------


def scenario_import(tmp: Path) -> None:
    from bench_ledger import setup_database

    book = _ledger(tmp)
    url = recreate("bench_h9f_import")
    env = env_for(url, tmp)
    cmd = [str(VENV / "flask"), "--app", "wsgi", "ledger", "import", str(book), "--base-date", "2026-11-20"]
    setup_database(url)
    setup_audit = scalar(url, "SELECT count(*) FROM auditevent")  # the departments and leaders
    full_s, rc = run_killed(cmd, env, None)
    full = scalar(url, "SELECT count(*) FROM task")
    full_audit = scalar(url, "SELECT count(*) FROM auditevent")
    record(
        "import: uninterrupted",
        f"{full} tasks, {full_audit - setup_audit} audit rows in {full_s:.1f}s (exit {rc})",
        rc == 0 and full > 0,
    )
    if sqlite():  # the kills fall at fractions of a run's time: take a warm one (the first reads from disk)
        url = recreate("bench_h9f_import")
        setup_database(url)
        full_s, _rc = run_killed(cmd, env, None)
    points = (
        [(0.3, None), (0.5, None), (0.7, None), (0.85, None), (0.95, None)]
        if sqlite()
        else [(None, None), (None, 0.1), (None, 0.4), (None, 0.8), (None, 1.2)]
    )
    for frac, extra in points:
        url = recreate("bench_h9f_import")
        setup_database(url)
        base_audit = scalar(url, "SELECT count(*) FROM auditevent")
        full_new = full_audit - base_audit
        took, rc, when = _kill_import(cmd, env, url, extra, at=frac * full_s if frac else None, startup=1.2)
        when += f" ({frac:.0%} of an uninterrupted run)" if frac else ""
        n = scalar(url, "SELECT count(*) FROM task")
        audit = scalar(url, "SELECT count(*) FROM auditevent") - base_audit
        killed = rc == -signal.SIGKILL
        whole = (n == 0 and audit == 0) or (n == full and audit == full_new)
        record(
            f"import: SIGKILL {when}",
            f"{'killed' if killed else 'finished first'} at {took:.1f}s; {n} tasks, {audit} audit rows -> "
            f"{'none' if n == 0 else 'all' if n == full else 'PARTIAL'}",
            whole,
        )


def _ledger(tmp: Path) -> Path:
    from bench_ledger import build_ledger

    book = tmp / "ledger.xlsx"
    if not book.exists():
        build_ledger(book, 3000)
    return book


def _kill_import(
    cmd: list[str], env: dict, url: str, extra: float | None, at: float | None = None, startup: float = 3.0
) -> tuple[float, int, str]:
    """SIGKILL the process 3 s in (extra None: the import is still reading, the scheduler starting),
    or ``extra`` seconds after PostgreSQL first shows it writing (a transaction id), i.e. inside a write;
    or (``at``, SQLite) ``at`` seconds after it started."""
    import sqlalchemy as sa

    if at is not None:
        took, rc = run_killed(cmd, env, at)
        return took, rc, f"at {at:.1f}s"
    if sqlite():
        return _kill_scheduler_sqlite(cmd, env, url, extra, startup)
    name = url.rsplit("/", 1)[1]
    watch = sa.create_engine(PG + "postgres", isolation_level="AUTOCOMMIT")  # pg_stat_activity is per-transaction
    start = time.time()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    when = "half-way through the dry run" if extra is None else f"{extra:.1f}s into the write transaction"
    try:
        if extra is None:
            time.sleep(startup)
        else:
            with watch.connect() as conn:
                while proc.poll() is None:
                    busy = conn.execute(
                        sa.text(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND backend_xid IS NOT NULL"
                            " AND pid <> pg_backend_pid()"
                        ),
                        {"d": name},
                    ).scalar()
                    if busy:
                        break
                    time.sleep(0.02)
            time.sleep(extra)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        watch.dispose()
    return time.time() - start, proc.returncode, when


def _kill_scheduler_sqlite(
    cmd: list[str], env: dict, url: str, extra: float | None, startup: float
) -> tuple[float, int, str]:
    """SQLite has no pg_stat_activity: SIGKILL ``extra`` seconds after the run's JobRun row
    appears (the body starts right after it), or ``startup`` s in (extra None: still starting up)."""
    import sqlalchemy as sa

    watch = sa.create_engine(url)
    start = time.time()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    when = "at start-up" if extra is None else f"{extra:.1f}s into the run"
    try:
        if extra is None:
            time.sleep(startup)
        else:
            while proc.poll() is None:
                with watch.connect() as conn:
                    if conn.execute(sa.text("SELECT count(*) FROM jobrun")).scalar():
                        break
                time.sleep(0.02)
            time.sleep(extra)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        watch.dispose()
    return time.time() - start, proc.returncode, when


# --- 2. state transitions under concurrent requests, workers killed ----------------------------------


def scenario_transition(tmp: Path) -> None:
    import requests
    from run import free_port, seed, start_gunicorn, stop  # bench/load/run.py

    url = recreate("bench_h9f_transition")
    data = seed(url, {"clerk": 1, "reporter": 40, "office": 1, "leader": 1}, tmp / "instance")
    # Every clerk of a department with assigned or working tasks takes part: 签收 and 进展反馈.
    assigned = {r[0]: r[1] for r in _rows(url, "SELECT id, lead_department_id FROM task WHERE status='assigned'")}
    users = _rows(url, "SELECT username, department_id FROM app_user WHERE username LIKE 'brep%'")
    port = free_port()
    server = start_gunicorn(url, tmp / "instance", port, 3, 2, tmp / "gunicorn-transition.log")
    base = f"http://127.0.0.1:{port}"
    outcomes: Counter = Counter()
    stop_at = time.time() + 25
    csrf = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

    def clerk(username: str, dep: int) -> None:
        s = requests.Session()
        for _attempt in range(10):  # a killed worker drops the connection: count it, try again
            try:
                tok = csrf.search(s.get(f"{base}/login", timeout=30).text).group(1)
                r = s.post(
                    f"{base}/login",
                    allow_redirects=False,
                    timeout=30,
                    data={"username": username, "password": data["password"], "csrf_token": tok},
                )
                if r.status_code == 302:
                    break
            except Exception:  # noqa: BLE001
                outcomes["login dropped"] += 1
                time.sleep(0.5)
        else:
            return
        mine = [t for t, d in assigned.items() if d == dep]
        working = next((u["tasks"] for u in data["reporter"] if u["u"] == username), [])
        i = 0
        while time.time() < stop_at:
            i += 1
            try:
                if mine:
                    tid = mine.pop()
                    page = s.get(f"{base}/tasks/{tid}", timeout=30).text
                    r = s.post(
                        f"{base}/tasks/{tid}/acknowledge",
                        data={"csrf_token": csrf.search(page).group(1)},
                        allow_redirects=False,
                        timeout=30,
                    )
                else:
                    tid = working[i % len(working)]
                    page = s.get(f"{base}/tasks/{tid}", timeout=30).text
                    r = s.post(
                        f"{base}/tasks/{tid}/report",
                        allow_redirects=False,
                        timeout=30,
                        data={"csrf_token": csrf.search(page).group(1), "text": f"故障测试进展 {username} {i}"},
                    )
                outcomes[f"HTTP {r.status_code}"] += 1
            except Exception:  # noqa: BLE001
                outcomes["connection dropped"] += 1

    threads = [threading.Thread(target=clerk, args=u) for u in users]
    for t in threads:
        t.start()
    killed = 0
    try:
        for _ in range(6):  # a worker every 3 s; the master forks a new one each time
            time.sleep(3)
            kids = _children(server.pid)
            if kids:
                os.kill(kids[0], signal.SIGKILL)
                killed += 1
        for t in threads:
            t.join()
    finally:
        stop(server)
    record(
        "transition: load",
        f"{sum(outcomes.values())} requests, {killed} workers SIGKILLed: {dict(outcomes)}",
        killed > 0,
    )
    record("transition: audit trail", _audit_consistency(url), _audit_consistency(url).startswith("consistent"))


def _rows(url: str, sql: str) -> list:
    import sqlalchemy as sa

    eng = sa.create_engine(url)
    with eng.connect() as conn:
        rows = conn.execute(sa.text(sql)).all()
    eng.dispose()
    return rows


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _audit_consistency(url: str) -> str:
    """Each task: its audit rows' status steps chain without a gap and end at the task's status;
    each progress report: exactly one audit row, and no audit row without its report."""
    tasks = dict(_rows(url, "SELECT id, status FROM task"))
    events = _rows(url, "SELECT task_id, before, after FROM auditevent WHERE task_id IS NOT NULL ORDER BY id")
    last: dict[int, str] = {}
    gaps = 0
    for task_id, before, after in events:
        before, after = _json(before), _json(after)
        new = (after or {}).get("status")
        if new is None:
            continue
        old = (before or {}).get("status")
        if task_id in last and old is not None and old != last[task_id]:
            gaps += 1
        last[task_id] = new
    mismatched = sum(1 for t, st in tasks.items() if t in last and last[t] != st)
    unaudited = sum(1 for t in tasks if t not in last)
    reports = {r[0] for r in _rows(url, "SELECT id FROM progressreport")}
    audited = Counter(r[0] for r in _rows(url, "SELECT entity_id FROM auditevent WHERE entity='progress_report'"))
    report_bad = sum(1 for r in reports if audited[r] != 1) + sum(1 for r in audited if r not in reports)
    verdict = "consistent" if not (gaps or mismatched or report_bad) else "INCONSISTENT"
    return (
        f"{verdict}: {len(tasks)} tasks, {mismatched} status != last audited, {gaps} gaps in the trail, "
        f"{unaudited} without status audit; {len(reports)} reports, {report_bad} without exactly one audit row"
    )


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


# --- 3. the scheduler, killed mid-run ------------------------------------------------------------------------


def scenario_scheduler(tmp: Path) -> None:
    from run import seed

    template = "bench_h9f_sched_template"
    url = recreate(template)
    seed(url, {"clerk": 40, "reporter": 1, "office": 2, "leader": 6}, tmp / "instance")
    cmd = [str(VENV / "flask"), "--app", "wsgi", "scheduler", "--once", "daily", "--date", SCHED_DAY]
    ref = recreate("bench_h9f_sched_ref", template)
    took, rc = run_killed(cmd, env_for(ref, tmp, SCHED_DAY), None)
    want = _table_counts(ref)
    before = _table_counts(url_of(template))
    made = {k: v - before.get(k, 0) for k, v in want.items()}
    record(
        "scheduler: uninterrupted daily run",
        f"{took:.1f}s (exit {rc}); new rows: " + ", ".join(f"{k} {v}" for k, v in made.items() if v),
        rc == 0,
    )
    points = (
        [(None, None), (None, 0.0), (None, 0.2), (None, 0.4), (None, 0.7)]
        if sqlite()
        else [(None, None), (None, 0.0), (None, 0.2), (None, 0.4), (None, 0.7)]
    )
    for frac, extra in points:
        copy = recreate("bench_h9f_sched_copy", template)
        _t, rc1, when = _kill_import(
            cmd, env_for(copy, tmp, SCHED_DAY), copy, extra, at=frac * took if frac else None, startup=0.8
        )
        when += f" ({frac:.0%} of an uninterrupted run)" if frac else ""
        mid = _table_counts(copy)
        left = [r[0] for r in _rows(copy, "SELECT status FROM jobrun ORDER BY id")]
        _t, rc2 = run_killed(cmd, env_for(copy, tmp, SCHED_DAY), None)
        got = _table_counts(copy)
        runs = [r[0] for r in _rows(copy, "SELECT status FROM jobrun ORDER BY id")]
        diff = {k: got.get(k, 0) - want.get(k, 0) for k in set(want) | set(got) if got.get(k, 0) != want.get(k, 0)}
        partial = sum(mid.get(k, 0) - before.get(k, 0) for k in ("reminder", "notification"))
        # The killed run's row (if it got that far) said "running"; the rerun's start marks it interrupted.
        marked = runs[:-1] == ["interrupted" if st == "running" else st for st in left] and runs[-1:] == ["ok"]
        record(
            f"scheduler: SIGKILL {when.replace('dry run', 'start-up')}, run again",
            f"{'killed' if rc1 == -signal.SIGKILL else 'finished first'} ({partial} reminder/notification rows "
            f"after the kill), rerun exit {rc2}: "
            + ("same rows as uninterrupted" if not diff else f"DIFF {diff}")
            + f"; job runs {left} -> {runs}",
            not diff and rc2 == 0 and marked,
        )
    if not sqlite():
        admin(
            'DROP DATABASE IF EXISTS "bench_h9f_sched_copy" WITH (FORCE); '
            'DROP DATABASE IF EXISTS "bench_h9f_sched_ref" WITH (FORCE)'
        )


def _table_counts(url: str) -> dict[str, int]:
    """Row counts of every table but the run log itself (a killed run leaves its JobRun row)."""
    import sqlalchemy as sa

    eng = sa.create_engine(url)
    with eng.connect() as conn:
        names = [n for n in sa.inspect(conn).get_table_names() if n not in ("jobrun", "apscheduler_jobs")]
        out = {n: conn.execute(sa.text(f'SELECT count(*) FROM "{n}"')).scalar() for n in names}
    eng.dispose()
    return out


# --- 4. the web importer's commit, its worker killed ---------------------------------------------------------

STALE_S = 15.0  # the bench's imports.STALE_AFTER (5 minutes in production)


def _office(url: str) -> None:
    """The office account that uploads (the cheap test hash, see bench/load/run.py)."""
    from run import PASSWORD  # bench/load/run.py
    from sqlmodel import Session

    from tracker.db import make_engine
    from tracker.models import Role
    from tracker.services.actors import SYSTEM
    from tracker.services.organisation import directory as organisation

    organisation.PASSWORD_METHOD = "pbkdf2:sha256:1000"
    engine = make_engine(url)
    with Session(engine) as s:
        organisation.create_user(s, SYSTEM, "boffice", "督查室", PASSWORD, Role.SUPERVISOR)
        s.commit()
    engine.dispose()


def _start_app(url: str, tmp: Path, port: int) -> subprocess.Popen:
    """gunicorn, 2 workers x 2 threads, serving stale_wsgi:app (wsgi:app with a short STALE_AFTER)."""
    from run import TODAY, stop, wait_healthy  # bench/load/run.py

    env = dict(
        os.environ,
        TRACKER_DATABASE_URL=url,
        TRACKER_INSTANCE_PATH=str(tmp / "instance"),
        TRACKER_TODAY=TODAY.isoformat(),
        TRACKER_SECRET_KEY="bench-secret-key-h9",
        TRACKER_ENV="development",
        TRACKER_LOG_FORMAT="off",
        BENCH_IMPORT_STALE_SECONDS=str(STALE_S),
    )
    log = tmp / "gunicorn-webimport.log"
    proc = subprocess.Popen(
        [
            str(VENV / "gunicorn"),
            "-w",
            "2",
            "--threads",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "--pythonpath",
            f"{ROOT},{ROOT / 'bench' / 'faults'}",
            "stale_wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    if not wait_healthy(port):
        stop(proc)
        raise RuntimeError(f"gunicorn did not start, see {log}")
    return proc


class _Office:
    """The office's browser, reduced to the importer's requests."""

    csrf = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

    def __init__(self, base: str):
        import requests
        from run import PASSWORD

        self.base, self.s = base, requests.Session()
        tok = self.token("/login")
        r = self.s.post(
            f"{base}/login",
            data={"username": "boffice", "password": PASSWORD, "csrf_token": tok},
            allow_redirects=False,
            timeout=30,
        )
        assert r.status_code == 302, f"login: HTTP {r.status_code}"

    def token(self, path: str) -> str:
        return self.csrf.search(self.s.get(self.base + path, timeout=60).text).group(1)

    def upload(self, book: Path) -> int:
        with book.open("rb") as fh:
            r = self.s.post(
                f"{self.base}/imports/",
                allow_redirects=False,
                timeout=120,
                data={"kind": "ledger", "csrf_token": self.token("/imports/")},
                files={
                    "file": ("督办台账.xlsx", fh, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
                },
            )
        assert r.status_code == 302, f"upload: HTTP {r.status_code}"
        return int(r.headers["Location"].rstrip("/").rsplit("/", 1)[1])

    def progress(self, job: int) -> dict:
        for attempt in range(5):  # a keep-alive connection to the killed worker is dropped: ask again
            try:
                return self.s.get(f"{self.base}/imports/{job}/progress", timeout=60).json()
            except Exception:  # noqa: BLE001
                if attempt == 4:
                    raise
                time.sleep(0.5)
        raise AssertionError("unreachable")

    def wait(self, job: int, statuses: tuple[str, ...], limit: float = 120) -> dict:
        end = time.time() + limit
        while True:
            p = self.progress(job)
            if p["status"] in statuses or time.time() > end:
                return p
            time.sleep(0.5)

    def plan(self, job: int) -> dict:
        r = self.s.post(
            f"{self.base}/imports/{job}/plan",
            allow_redirects=False,
            timeout=60,
            data={"csrf_token": self.token(f"/imports/{job}"), "base_date": "2026-11-20"},
        )
        assert r.status_code == 302, f"plan: HTTP {r.status_code}"
        return self.wait(job, ("planned", "failed"))

    def confirm(self, job: int, token: str | None = None) -> int:
        return self.s.post(
            f"{self.base}/imports/{job}/confirm",
            allow_redirects=False,
            timeout=60,
            data={"csrf_token": token or self.token(f"/imports/{job}")},
        ).status_code


def _cpu(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError):
        return 0


def _busiest(first: dict[int, int]) -> tuple[int, int]:
    """The worker running the commit's thread: the one that used the most CPU since ``first``
    (its CPU ticks at the confirm; the others only answer the progress polls)."""
    used = {p: _cpu(p) - t for p, t in first.items()}
    pid = max(used, key=used.get)
    return pid, used[pid]


def _counts(url: str) -> tuple[int, int]:
    return scalar(url, "SELECT count(*) FROM task"), scalar(url, "SELECT count(*) FROM auditevent")


def _fresh_district(tmp: Path) -> str:
    from bench_ledger import setup_database

    url = recreate("bench_h9f_webimport")
    setup_database(url)
    _office(url)
    return url


def scenario_webimport(tmp: Path) -> None:
    from run import free_port, stop

    book = _ledger(tmp)
    # uninterrupted, for the figures to compare with
    url = _fresh_district(tmp)
    base_tasks, base_audit = _counts(url)
    port = free_port()
    server = _start_app(url, tmp, port)
    try:
        office = _Office(f"http://127.0.0.1:{port}")
        job = office.upload(book)
        t0 = time.time()
        planned = office.plan(job)
        plan_s = time.time() - t0
        t0 = time.time()
        office.confirm(job)
        replan_s = None
        while (p := office.progress(job))["status"] == "committing":
            if replan_s is None and p["total"] and p["done"] >= p["total"]:
                replan_s = time.time() - t0
            time.sleep(0.05)
        done = p
        commit_s = time.time() - t0
    finally:
        stop(server)
    full, full_audit = (n - b for n, b in zip(_counts(url), (base_tasks, base_audit)))
    record(
        "webimport: uninterrupted",
        f"dry run {plan_s:.1f}s ({planned['status']}), commit {commit_s:.1f}s "
        f"(re-plan {replan_s or 0:.1f}s, then the writes; {done['status']}): {full} tasks, {full_audit} audit rows",
        done["status"] == "done" and full > 0,
    )
    # Kill points by the job's own progress: the commit's re-plan 30% / 90% done, then 0.1 s and
    # 0.4 s after the re-plan reported its last row (the transaction is writing).
    for point in (("plan", 0.3), ("plan", 0.9), ("write", 0.1), ("write", 0.4)):
        url = _fresh_district(tmp)
        port = free_port()
        server = _start_app(url, tmp, port)
        try:
            record(
                *_kill_commit(
                    url, server.pid, f"http://127.0.0.1:{port}", book, point, full, full_audit, base_tasks, base_audit
                )
            )
        except Exception as exc:  # noqa: BLE001 - one broken point still prints the table
            record(f"webimport: SIGKILL {point}", f"{type(exc).__name__}: {exc}"[:300], False)
        finally:
            stop(server)
    if not sqlite():
        admin('DROP DATABASE IF EXISTS "bench_h9f_webimport" WITH (FORCE)')


def _kill_commit(url, master, base, book, point, full, full_audit, base_tasks, base_audit):
    office = _Office(base)
    job = office.upload(book)
    assert office.plan(job)["status"] == "planned"
    first = {p: _cpu(p) for p in _children(master)}
    office.confirm(job)
    t0 = time.time()
    stage, amount = point
    while (p := office.progress(job))["status"] == "committing":
        if p["total"] and p["done"] >= (amount if stage == "plan" else 1.0) * p["total"]:
            break
        time.sleep(0.02)
    if stage == "write":
        time.sleep(amount)
    victim, ticks = _busiest(first)
    os.kill(victim, signal.SIGKILL)
    at = time.time() - t0
    when = f"re-plan {p['done']}/{p['total']} rows" if stage == "plan" else f"{amount:.1f}s after the re-plan"
    n, audit = (v - b for v, b in zip(_counts(url), (base_tasks, base_audit)))
    whole = (n, audit) in ((0, 0), (full, full_audit))
    # the master forks a new worker; the job must not stay 导入中 (committing) for ever
    right_after = office.progress(job)
    t1 = time.time()
    later = office.wait(job, ("failed", "done"), limit=STALE_S + 60)
    given_up = time.time() - t1
    # start again: a new dry run, then two confirms at once (two tabs); exactly one import
    if later["status"] == "failed":
        replanned = office.plan(job)["status"]
        tokens = [office.token(f"/imports/{job}") for _ in range(2)]
        codes: list = []
        threads = [threading.Thread(target=lambda t=t: codes.append(office.confirm(job, t))) for t in tokens]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        end = office.wait(job, ("done", "failed"))["status"]
    else:
        replanned, codes = "-", [office.confirm(job)]
        end = office.progress(job)["status"]
    n2, audit2 = (v - b for v, b in zip(_counts(url), (base_tasks, base_audit)))
    once = (n2, audit2) == (full, full_audit) and end == "done"
    jobs_done = scalar(url, "SELECT count(*) FROM importjob WHERE status = 'done'")
    outcome = (
        f"killed the busiest worker ({ticks} CPU ticks) {at:.1f}s into the commit: {n} tasks, {audit} "
        f"audit rows -> {'none' if n == 0 else 'all' if n == full else 'PARTIAL'}; job then "
        f"{right_after['label']}, {later['label']} after {given_up:.0f}s; dry run again: {replanned}, "
        f"two confirms {sorted(codes)} -> {end}: {n2} tasks, {audit2} audit rows, {jobs_done} job done"
    )
    ok = whole and once and jobs_done == 1 and (right_after["status"] == "committing" or n == full)
    return f"webimport: SIGKILL at {when}", outcome, ok


# --- 5. PostgreSQL restarted under load ---------------------------------------------------------------------


def scenario_pgrestart(_tmp: Path) -> None:
    if sqlite():
        record("pgrestart: PostgreSQL only", "not run on SQLite (no database server to restart)", True)
        return
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench/load/run.py"),
            "--db",
            "postgresql",
            "--users",
            "84",
            "--seconds",
            "45",
            "--restart-pg-at",
            "20",
            "--database-name",
            "bench_h9f_load",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    print(proc.stdout[-4000:])
    clean = "clean failure and recovery without restart   YES" in proc.stdout
    tail = [line.strip() for line in proc.stdout.splitlines() if line.startswith("  requests") or "of them 500" in line]
    record("pgrestart: under load", "; ".join(tail) or proc.stderr[-300:], clean)


SCENARIOS = {
    "import": scenario_import,
    "transition": scenario_transition,
    "scheduler": scenario_scheduler,
    "webimport": scenario_webimport,
    "pgrestart": scenario_pgrestart,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    (tmp / "instance").mkdir()
    MODE.update(db=args.db, tmp=tmp)
    started = time.time()
    print(f"database: {args.db}", flush=True)
    for name in SCENARIOS if args.scenario == "all" else [args.scenario]:
        print(f"\n== {name}", flush=True)
        try:
            SCENARIOS[name](tmp)
        except Exception as exc:  # noqa: BLE001 - one broken scenario still prints the table
            record(f"{name}: crashed", f"{type(exc).__name__}: {exc}"[:300], False)
    print(f"\n{args.db}: {time.time() - started:.0f}s\n{'scenario':44} {'ok':3} outcome")
    for scenario, outcome, ok in RESULTS:
        print(f"{scenario[:44]:44} {'yes' if ok else 'NO':3} {outcome}")
    return 0 if all(ok for _s, _o, ok in RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
