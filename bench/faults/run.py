"""Fault tests on PostgreSQL: kill things mid-way, then check the database is whole.

    .venv/bin/python bench/faults/run.py [--scenario import|transition|scheduler|pgrestart|all]

Prints one table, scenario -> outcome:

* import      SIGKILL ``flask ledger import`` (3,000-row ledger, bench_ledger.py's workbook) at
              several points of an uninterrupted run's duration: each time the database must
              hold all of the tasks (and their audit rows) or none.
* transition  gunicorn (3 workers) takes many concurrent 签收/进展反馈 POSTs while its workers are
              SIGKILLed one after another: afterwards every task's status equals the last status
              of its audit trail, every status step is audited with no gap, and every progress
              report has exactly one audit row (and the reverse).
* scheduler   ``flask scheduler --once daily`` on a copy of the demo district, SIGKILLed at
              several points and run again: every table equals an uninterrupted run's (reminders,
              escalations, notifications, deliveries, audit rows): none lost, none doubled.
* pgrestart   bench/load/run.py with ``--restart-pg-at``: PostgreSQL restarts under load; failed
              requests must be 503 with the Chinese message, never 500, and the app recovers
              without a restart. PostgreSQL is restarted once, and always brought back.

Scratch databases ``bench_h9f*`` are dropped and created anew.
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
RESULTS: list[tuple[str, str, bool]] = []


def admin(sql: str) -> None:
    import sqlalchemy as sa

    eng = sa.create_engine(PG + "postgres", isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        for stmt in sql.split(";"):
            if stmt.strip():
                conn.execute(sa.text(stmt))
    eng.dispose()


def recreate(name: str, template: str | None = None) -> str:
    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE); CREATE DATABASE "{name}"'
          + (f' TEMPLATE "{template}"' if template else ""))
    return PG + name


def scalar(url: str, sql: str):
    import sqlalchemy as sa

    eng = sa.create_engine(url)
    with eng.connect() as conn:
        value = conn.execute(sa.text(sql)).scalar()
    eng.dispose()
    return value


def env_for(url: str, tmp: Path) -> dict:
    return dict(os.environ, TRACKER_DATABASE_URL=url, TRACKER_INSTANCE_PATH=str(tmp / "instance"),
                TRACKER_TODAY=DAY, TRACKER_SECRET_KEY="bench-secret-key-h9")


def run_killed(cmd: list[str], env: dict, after: float | None) -> tuple[float, int]:
    """Run ``cmd``; SIGKILL its process group ``after`` seconds in (None: let it finish)."""
    start = time.time()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
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
    from bench_ledger import build_ledger, setup_database

    book = tmp / "ledger.xlsx"
    build_ledger(book, 3000)
    url = recreate("bench_h9f_import")
    env = env_for(url, tmp)
    cmd = [str(VENV / "flask"), "--app", "wsgi", "ledger", "import", str(book), "--base-date", "2026-11-20"]
    setup_database(url)
    setup_audit = scalar(url, "SELECT count(*) FROM auditevent")  # the departments and leaders
    full_s, rc = run_killed(cmd, env, None)
    full = scalar(url, "SELECT count(*) FROM task")
    full_audit = scalar(url, "SELECT count(*) FROM auditevent")
    record("import: uninterrupted", f"{full} tasks, {full_audit - setup_audit} audit rows in {full_s:.1f}s (exit {rc})",
           rc == 0 and full > 0)
    for extra in (None, 0.1, 1.0, 2.5, 4.0):
        setup_database(url)
        base_audit = scalar(url, "SELECT count(*) FROM auditevent")
        full_new = full_audit - base_audit
        took, rc, when = _kill_import(cmd, env, url, extra)
        n = scalar(url, "SELECT count(*) FROM task")
        audit = scalar(url, "SELECT count(*) FROM auditevent") - base_audit
        killed = rc == -signal.SIGKILL
        whole = (n == 0 and audit == 0) or (n == full and audit == full_new)
        record(f"import: SIGKILL {when}",
               f"{'killed' if killed else 'finished first'} at {took:.1f}s; {n} tasks, {audit} audit rows -> "
               f"{'none' if n == 0 else 'all' if n == full else 'PARTIAL'}", whole)


def _kill_import(cmd: list[str], env: dict, url: str, extra: float | None) -> tuple[float, int, str]:
    """SIGKILL the process 3 s in (extra None: the import is still reading, the scheduler starting),
    or ``extra`` seconds after PostgreSQL first shows it writing (a transaction id), i.e. inside a write."""
    import sqlalchemy as sa

    name = url.rsplit("/", 1)[1]
    watch = sa.create_engine(PG + "postgres", isolation_level="AUTOCOMMIT")  # pg_stat_activity is per-transaction
    start = time.time()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    when = "half-way through the dry run" if extra is None else f"{extra:.1f}s into the write transaction"
    try:
        if extra is None:
            time.sleep(3)
        else:
            with watch.connect() as conn:
                while proc.poll() is None:
                    busy = conn.execute(sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND backend_xid IS NOT NULL"
                        " AND pid <> pg_backend_pid()"), {"d": name}).scalar()
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
                r = s.post(f"{base}/login", allow_redirects=False, timeout=30,
                           data={"username": username, "password": data["password"], "csrf_token": tok})
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
                    r = s.post(f"{base}/tasks/{tid}/acknowledge", data={"csrf_token": csrf.search(page).group(1)},
                               allow_redirects=False, timeout=30)
                else:
                    tid = working[i % len(working)]
                    page = s.get(f"{base}/tasks/{tid}", timeout=30).text
                    r = s.post(f"{base}/tasks/{tid}/report", allow_redirects=False, timeout=30,
                               data={"csrf_token": csrf.search(page).group(1), "text": f"故障测试进展 {username} {i}"})
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
    record("transition: load", f"{sum(outcomes.values())} requests, {killed} workers SIGKILLed: {dict(outcomes)}",
           killed > 0)
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
    return (f"{verdict}: {len(tasks)} tasks, {mismatched} status != last audited, {gaps} gaps in the trail, "
            f"{unaudited} without status audit; {len(reports)} reports, {report_bad} without exactly one audit row")


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


# --- 3. the scheduler, killed mid-run ------------------------------------------------------------------------


def scenario_scheduler(tmp: Path) -> None:
    from run import seed

    template = "bench_h9f_sched_template"
    url = recreate(template)
    seed(url, {"clerk": 40, "reporter": 1, "office": 2, "leader": 6}, tmp / "instance")
    cmd = [str(VENV / "flask"), "--app", "wsgi", "scheduler", "--once", "daily", "--date", DAY]
    ref = recreate("bench_h9f_sched_ref", template)
    took, rc = run_killed(cmd, env_for(ref, tmp), None)
    want = _table_counts(ref)
    made = {k: v - _table_counts(PG + template).get(k, 0) for k, v in want.items()}
    record("scheduler: uninterrupted daily run",
           f"{took:.1f}s (exit {rc}); new rows: " + ", ".join(f"{k} {v}" for k, v in made.items() if v), rc == 0)
    for extra in (None, 0.0, 0.5, 1.5, 3.0):
        copy = recreate("bench_h9f_sched_copy", template)
        _t, rc1, when = _kill_import(cmd, env_for(copy, tmp), copy, extra)
        mid = _table_counts(copy)
        _t, rc2 = run_killed(cmd, env_for(copy, tmp), None)
        got = _table_counts(copy)
        diff = {k: got.get(k, 0) - want.get(k, 0) for k in set(want) | set(got) if got.get(k, 0) != want.get(k, 0)}
        partial = sum(mid.get(k, 0) - _table_counts(PG + template).get(k, 0) for k in ("reminder", "notification"))
        record(f"scheduler: SIGKILL {when.replace('dry run', 'start-up')}, run again",
               f"{'killed' if rc1 == -signal.SIGKILL else 'finished first'} ({partial} reminder/notification rows "
               f"after the kill), rerun exit {rc2}: " + ("same rows as uninterrupted" if not diff else f"DIFF {diff}"),
               not diff and rc2 == 0)
    admin('DROP DATABASE IF EXISTS "bench_h9f_sched_copy" WITH (FORCE); '
          'DROP DATABASE IF EXISTS "bench_h9f_sched_ref" WITH (FORCE)')


def _table_counts(url: str) -> dict[str, int]:
    """Row counts of every table but the run log itself (a killed run leaves its JobRun row)."""
    import sqlalchemy as sa

    eng = sa.create_engine(url)
    with eng.connect() as conn:
        names = [n for n in sa.inspect(conn).get_table_names() if n not in ("jobrun", "apscheduler_jobs")]
        out = {n: conn.execute(sa.text(f'SELECT count(*) FROM "{n}"')).scalar() for n in names}
    eng.dispose()
    return out


# --- 4. PostgreSQL restarted under load ---------------------------------------------------------------------


def scenario_pgrestart(_tmp: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bench/load/run.py"), "--db", "postgresql", "--users", "84",
                           "--seconds", "45", "--restart-pg-at", "20", "--database-name", "bench_h9f_load"],
                          cwd=ROOT, capture_output=True, text=True)
    print(proc.stdout[-4000:])
    clean = "clean failure and recovery without restart   YES" in proc.stdout
    tail = [line.strip() for line in proc.stdout.splitlines() if line.startswith("  requests") or "of them 500" in line]
    record("pgrestart: under load", "; ".join(tail) or proc.stderr[-300:], clean)


SCENARIOS = {"import": scenario_import, "transition": scenario_transition, "scheduler": scenario_scheduler,
             "pgrestart": scenario_pgrestart}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    (tmp / "instance").mkdir()
    for name in (SCENARIOS if args.scenario == "all" else [args.scenario]):
        print(f"\n== {name}", flush=True)
        try:
            SCENARIOS[name](tmp)
        except Exception as exc:  # noqa: BLE001 - one broken scenario still prints the table
            record(f"{name}: crashed", f"{type(exc).__name__}: {exc}"[:300], False)
    print(f"\n{'scenario':44} {'ok':3} outcome")
    for scenario, outcome, ok in RESULTS:
        print(f"{scenario[:44]:44} {'yes' if ok else 'NO':3} {outcome}")
    return 0 if all(ok for _s, _o, ok in RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
