"""Scheduler jobs: recorded runs, skips, failures, the APScheduler set-up, the office's
pages, and two real processes running the same day's job at once on one database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from werkzeug.security import generate_password_hash

from tests import factories as f
from tests.webutil import login, post
from tracker import clock, jobs
from tracker.models import AuditEvent, Escalation, JobRun, Notification, Reminder, Task, User
from tracker.services.chasing import reminders
from tracker.services.chasing import rules as reminder_rules
from tracker.services.tasks import lifecycle as tasks

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2026, 10, 13)  # a Tuesday after the National Day holiday


def _overdue_district(session, n_extra: int = 0):
    """A district with tasks due 09-29 (overdue on DAY), one of them never acknowledged,
    plus ``n_extra`` overdue tasks written as plain rows (to make a run take a while)."""
    with clock.frozen(date(2026, 9, 21)):
        d = f.district(session)
        a = f.draft(session, d, title="逾期事项", due_date=date(2026, 9, 29))
        b = f.draft(session, d, title="未签收事项", due_date=date(2026, 10, 20))
        for t in (a, b):
            tasks.assign(session, d.office, t.id)
        tasks.acknowledge(session, d.lead_clerk, a.id)
        session.commit()
    if n_extra:
        now = datetime(2026, 9, 21, 2, tzinfo=timezone.utc)
        session.execute(
            sa.insert(Task),
            [
                {
                    "code": f"DB-2026-X{i:05d}",
                    "title": f"批量事项{i}",
                    "lead_department_id": d.lead_id,
                    "status": "in_progress",
                    "deadline_kind": "date",
                    "due_date": date(2026, 9, 22) + timedelta(days=i % 7),
                    "original_due_date": date(2026, 9, 22),
                    "assigned_at": now,
                    "created_at": now,
                    "updated_at": now,
                    "urgency": "normal",
                    "feedback_cycle": "once",
                    "requirement": "",
                    "item_no": "",
                    "category": "",
                    "deadline_text": "",
                    "recurrence": "",
                    "time_limit_preset": "",
                    "status_before_suspend": "",
                    "needs_leader_approval": False,
                }
                for i in range(n_extra)
            ],
        )
        session.commit()
    return d, a.id, b.id


def test_run_job_records_counts_and_host(session, db):
    _overdue_district(session)
    run = jobs.run_job(db, "reminders", DAY)
    assert run.status == "ok" and run.error == "" and run.for_day == DAY
    assert run.counts["rules.overdue"] == 1 and run.counts["rules.not_acknowledged"] == 1
    # 09-29 → 10-13 is 6 working days: one notice, straight to the top rung
    assert run.counts["rules.escalations"] == run.counts["rules.escalation_level_3"] == 1
    assert run.host.endswith(f":{os.getpid()}") and run.finished_at >= run.started_at
    again = jobs.run_job(db, "reminders", DAY)
    assert again.status == "ok" and again.counts["rules.reminders"] == again.counts["rules.escalations"] == 0
    assert session.scalar(select(sa.func.count()).select_from(JobRun)) == 2


def test_daily_job_skips_a_day_off_and_records_why(session, db):
    _overdue_district(session)
    run = jobs.run_job(db, "daily", date(2026, 10, 3))
    assert run.status == "skipped" and "非工作日" in run.error
    assert session.scalar(select(sa.func.count()).select_from(Reminder)) == 0
    run = jobs.run_job(db, "daily", date(2026, 10, 10))  # the make-up Saturday is a working day
    assert run.status == "ok" and run.counts["rules.overdue"] == 1


def test_a_failing_job_is_recorded_and_leaves_nothing_half_written(session, db, monkeypatch):
    _overdue_district(session)

    def broken(session, day):
        jobs._reminders(session, day)  # writes reminders and escalations ...
        raise RuntimeError("数据库连接中断")  # ... then fails: all of it must roll back

    monkeypatch.setitem(jobs.JOBS, "reminders", jobs.JobSpec("测试", {}, broken))
    run = jobs.run_job(db, "reminders", DAY)
    assert run.status == "failed" and "RuntimeError: 数据库连接中断" in run.error
    assert session.scalar(select(sa.func.count()).select_from(Reminder)) == 0
    assert session.scalar(select(sa.func.count()).select_from(Escalation)) == 0


def test_a_job_whose_service_is_missing_is_skipped_with_a_message(db, monkeypatch):
    def needs_missing(session, day):
        return jobs._service("no_such_module", "generate")(session, day)

    monkeypatch.setitem(jobs.JOBS, "scoring", jobs.JobSpec("测试", {"trigger": "cron", "hour": 1}, needs_missing))
    run = jobs.run_job(db, "scoring", DAY)
    assert run.status == "skipped" and "no_such_module.generate 尚未提供" in run.error


@pytest.mark.parametrize("name", ["schedule", "scoring", "bulletin_week", "report_check", "deliver"])
def test_every_scheduled_job_runs_through_its_service(session, db, name):
    _overdue_district(session)
    run = jobs.run_job(db, name, date(2026, 10, 16))  # a Friday
    assert run.status == "ok", run.error
    assert run.counts


@pytest.fixture
def job_table(db):
    """The job store creates ``apscheduler_jobs`` outside the migrations; drop it afterwards,
    or tests/test_schema.py (models == database) would find a table no model describes."""
    yield
    with db.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS apscheduler_jobs"))


def test_scheduler_keeps_its_jobs_in_the_database(app, db, job_table):
    sched = jobs.build_scheduler(app, background=True)
    sched.start(paused=True)
    try:
        stored = {j.id: j for j in sched.get_jobs()}
        assert set(stored) == set(jobs.SCHEDULED)
        assert str(sched.timezone) == "Asia/Shanghai"
        daily = stored["daily"]
        assert daily.coalesce and daily.misfire_grace_time == jobs.MISFIRE_GRACE
        assert daily.func_ref == "tracker.jobs:scheduled" and daily.args == ("daily",)
        nxt = daily.trigger.get_next_fire_time(None, datetime(2026, 10, 9, 9, 0, tzinfo=clock.CHINA))
        assert (nxt.date(), nxt.hour, nxt.minute) == (date(2026, 10, 10), 8, 30)  # fires every day
    finally:
        sched.shutdown(wait=False)
    with db.connect() as conn:  # survives the process: rows in the app's database
        ids = set(conn.execute(sa.text("SELECT id FROM apscheduler_jobs")).scalars())
    assert ids == set(jobs.SCHEDULED)
    again = jobs.build_scheduler(app, background=True)  # a restart replaces, never duplicates
    again.start(paused=True)
    try:
        assert len(again.get_jobs()) == len(jobs.SCHEDULED)
    finally:
        again.shutdown(wait=False)
    # what the job store calls: today's run, in the scheduler's app context, recorded
    jobs.scheduled("report_check")
    with db.connect() as conn:
        row = conn.execute(sa.select(JobRun.job, JobRun.for_day, JobRun.status)).one()
    assert tuple(row) == ("report_check", clock.today(), "ok")


# --- the office's pages ---------------------------------------------------------------


def test_runs_page_lists_newest_first_and_marks_failures(client, session, db):
    d, *_ = _overdue_district(session)
    jobs.run_job(db, "reminders", DAY)
    session.add(
        JobRun(
            job="daily",
            for_day=DAY,
            status="failed",
            error="OperationalError: 连接被拒绝",
            started_at=clock.now() + timedelta(hours=1),
        )
    )
    session.commit()
    office = session.get(User, d.office.user_id)
    office.password_hash = generate_password_hash("pw123456")
    session.commit()
    login(client, office.username, "pw123456")
    html = client.get("/office/jobs").get_data(as_text=True)
    table = html[html.index('id="job-runs"') :]
    assert table.index("OperationalError: 连接被拒绝") < table.index("催办规则（命令行）")  # newest first
    assert 'class="table-danger" data-status="failed"' in html
    assert 'title="rules.reminders">催办 2<' in table and 'title="rules.escalations">督办 1<' in table
    assert "每天 08:30" in html and "每周一 07:30" in html


def test_rules_form_saves_and_refuses_bad_input(client, session):
    d = f.district(session)
    session.get(User, d.office.user_id).password_hash = generate_password_hash("pw123456")
    session.commit()
    login(client, session.get(User, d.office.user_id).username, "pw123456")
    assert "督办层级" in client.get("/office/reminder-rules").get_data(as_text=True)
    form = {
        "before_due": "5,2",
        "ladder": "2,4,6",
        "ack_workdays": "2",
        "report_weekday": "4",
        "countersign_presets": "countersign_7",
        "on_due": "on",
        "overdue_daily": "on",
    }
    resp = post(client, "/office/reminder-rules", form)
    assert resp.status_code == 302
    session.expire_all()
    rules = reminder_rules.load_rules(session)
    assert rules["before_due"] == [5, 2] and rules["ladder"] == [2, 4, 6] and rules["report_weekday"] == 4
    assert rules["milestones"] is False and rules["countersign_presets"] == ["countersign_7"]
    bad = post(client, "/office/reminder-rules", {**form, "ladder": "5,3,1", "ack_workdays": "两天"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "签收时限（工作日）应为整数" in text
    session.expire_all()
    assert reminder_rules.load_rules(session)["ladder"] == [2, 4, 6]  # unchanged


# --- two real processes at once ---------------------------------------------------------


def _env(db, tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(
        TRACKER_DATABASE_URL=db.url.render_as_string(hide_password=False),
        TRACKER_INSTANCE_PATH=str(tmp_path / "instance"),
        TRACKER_ENV="testing",
        TRACKER_SECRET_KEY="test-secret",
        PYTHONPATH=str(ROOT),
    )
    return env


@pytest.mark.parametrize(
    "command", [["reminders", "run"], ["scheduler", "--once", "daily"]], ids=["reminders-run", "scheduler-once-daily"]
)
def test_two_processes_at_once_write_nothing_twice(session, db, tmp_path, command):
    """Both processes start together on the same database (the test's backend, PostgreSQL
    or a SQLite file). Whichever wins, the day's reminders, escalations and digests exist once."""
    d, *_ = _overdue_district(session, n_extra=1500)
    with clock.frozen(DAY):
        expected = reminders.run_rules(session, DAY, dry_run=True)
    session.rollback()
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", *command, "--date", DAY.isoformat()]
    procs = [
        subprocess.Popen(
            flask, cwd=ROOT, env=_env(db, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, out + err
    session.expire_all()
    runs = session.exec(select(JobRun).order_by(JobRun.id)).all()
    assert len(runs) == 2 and len({r.host for r in runs}) == 2  # two processes
    if command[0] == "reminders":  # no advisory lock: both run, the unique keys decide
        assert [r.status for r in runs] == ["ok", "ok"]
    else:  # the scheduler's job: on PostgreSQL the advisory lock may turn one away
        assert {r.status for r in runs} <= {"ok", "skipped"} and "ok" in {r.status for r in runs}
    done = [r for r in runs if r.status == "ok"]
    # what the two processes say they added adds up to one run's worth
    assert sum(r.counts["rules.reminders"] for r in done) == expected["reminders"]
    assert sum(r.counts["rules.escalations"] for r in done) == expected["escalations"]
    dupes = session.execute(
        select(Reminder.task_id, Reminder.department_id, Reminder.rule, Reminder.day)
        .group_by(Reminder.task_id, Reminder.department_id, Reminder.rule, Reminder.day)
        .having(sa.func.count() > 1)
    ).all()
    assert dupes == []
    assert session.scalar(select(sa.func.count()).select_from(Reminder)) == expected["reminders"] > 1500
    escs = session.exec(select(Escalation)).all()
    assert len(escs) == expected["escalations"] == len({e.auto_key for e in escs})
    assert len({e.notice_no for e in escs}) == len(escs)
    # one audit event per reminder and per escalation, none for a row the other process wrote
    assert session.scalar(
        select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.entity.in_(["reminder", "escalation"]), AuditEvent.actor_name == "系统")
    ) == expected["reminders"] + len(escs)
    digests = session.execute(
        select(Notification.user_id, sa.func.count())
        .where(Notification.kind == "digest")
        .group_by(Notification.user_id)
    ).all()
    assert all(n == 1 for _, n in digests)
    if command[0] == "scheduler":
        assert digests, "the daily job sends digests"


# --- a run whose process died ---------------------------------------------------------------


def _office_login(client, session, d) -> None:
    session.get(User, d.office.user_id).password_hash = generate_password_hash("pw123456")
    session.commit()
    login(client, session.get(User, d.office.user_id).username, "pw123456")


def test_a_killed_scheduler_run_shows_as_interrupted(client, session, db, tmp_path):
    """A real ``flask scheduler --once daily`` SIGKILLed mid-run: its row says 运行中 until
    someone reads it; the jobs page then shows 中断 (its pid is gone on this host), and the
    next run's start marks it too, never leaving it running."""
    import signal
    import time

    d, *_ = _overdue_district(session, n_extra=1500)
    cmd = [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "--once", "daily", "--date", DAY.isoformat()]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(db, tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            with db.connect() as conn:
                if conn.execute(sa.select(JobRun.id).where(JobRun.status == "running")).first():
                    break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before the kill: make it slower"
    with db.connect() as conn:
        assert conn.execute(sa.select(JobRun.status)).scalars().all() == ["running"]
    _office_login(client, session, d)
    html = client.get("/office/jobs").get_data(as_text=True)
    table = html[html.index('id="job-runs"') :]
    assert 'data-status="interrupted"' in table and ">中断</span>" in table and "运行中断" in table
    assert 'data-status="running"' not in table
    session.expire_all()
    run = session.exec(select(JobRun)).one()
    assert run.status == "interrupted" and run.finished_at is None and run.host.endswith(f":{proc.pid}")


def test_a_run_elsewhere_is_lost_only_when_its_heartbeat_stops(session, db):
    """Rows of another machine cannot be checked by pid: only the heartbeat tells. A row of
    a live process of this machine is not marked while it beats."""
    import socket

    now = clock.now()
    rows = {
        "beating": JobRun(
            job="daily", host="web-2:4242", started_at=now - timedelta(hours=2), heartbeat_at=now - timedelta(minutes=1)
        ),
        "silent": JobRun(
            job="daily",
            host="web-2:4243",
            started_at=now - timedelta(hours=2),
            heartbeat_at=now - jobs.LOST_AFTER - timedelta(seconds=1),
        ),
        "old_no_beat": JobRun(job="deliver", host="web-2:4244", started_at=now - timedelta(minutes=10)),
        "mine": JobRun(
            job="scoring",
            host=f"{socket.gethostname()}:{os.getpid()}",
            started_at=now - timedelta(hours=1),
            heartbeat_at=now - timedelta(minutes=2),
        ),
        "finished": JobRun(
            job="scoring",
            host="web-2:1",
            status="ok",
            started_at=now - timedelta(hours=3),
            finished_at=now - timedelta(hours=3),
        ),
    }
    session.add_all(rows.values())
    session.commit()
    assert jobs.reap_lost(session) == 2
    session.commit()
    session.expire_all()
    got = {k: session.get(JobRun, r.id).status for k, r in rows.items()}
    assert got == {
        "beating": "running",
        "silent": "interrupted",
        "old_no_beat": "interrupted",
        "mine": "running",
        "finished": "ok",
    }
    # five minutes later without a beat, both have gone silent too (a live pid does not save a
    # run whose end could not be written, say the database went away at that moment)
    assert jobs.reap_lost(session, now + jobs.LOST_AFTER) == 2


def test_a_long_run_keeps_beating_and_ends_with_its_real_status(session, db, monkeypatch):
    """The heartbeat thread writes while the body runs; a reader that marked the run
    interrupted by mistake is overwritten by the run's real end."""
    import time

    monkeypatch.setattr(jobs, "HEARTBEAT", timedelta(seconds=0.05))
    seen: list = []

    def slow(s, day):
        deadline = time.time() + 10
        with Session(db) as other:
            first = other.exec(select(JobRun)).one()
            start = first.heartbeat_at
            while time.time() < deadline:
                other.expire_all()
                run = other.exec(select(JobRun)).one()
                if run.heartbeat_at > start:
                    seen.append(run.heartbeat_at - run.started_at)
                    break
                time.sleep(0.02)
            # a reader's mistake (inside the body the clock is frozen on DAY: use the run's own time)
            assert jobs.reap_lost(other, first.started_at + jobs.LOST_AFTER * 2) == 1
            other.commit()
        return {"slept": 1}

    monkeypatch.setitem(jobs.JOBS, "slow", jobs.JobSpec("慢任务", {}, slow, lock=False))
    run = jobs.run_job(db, "slow", DAY)
    assert seen and seen[0] > timedelta(0)
    assert run.status == "ok" and run.counts == {"slept": 1} and run.finished_at is not None, run.error
    session.expire_all()
    assert session.get(JobRun, run.id).status == "ok"
