"""The scheduler's jobs: one function each, one unit of work each, every run recorded.

``run_job(name, day)`` is the single entry point, used by the scheduler process
(``flask --app wsgi scheduler``), by ``--once`` and by the CLI twins. It writes
a ``JobRun`` row (start, end, status, counts, error, host:pid) in its own short
transactions, so the office sees a run that is still going or that crashed, and
runs the job's body in one session that commits once. On PostgreSQL the body
first takes ``pg_try_advisory_xact_lock`` for the job: a second scheduler that
fires at the same moment records "skipped" instead of running. That lock is only
the second guard; the first is that every job is idempotent in the database
(unique keys on reminders, escalations, digests, report deadlines, schedules,
snapshots and bulletins), so even two runs that both get through add nothing twice.

A job whose service does not exist (yet) is recorded as skipped with a message.

A run whose process died (SIGKILL, OOM, a power cut) never writes its end. While
it runs, a thread beats ``heartbeat_at`` every ``HEARTBEAT``; ``reap_lost`` marks
a "running" row "interrupted" when its heartbeat is older than ``LOST_AFTER`` (any
reader can tell: several web servers on other machines see the same row) or at
once when the row names this machine and its pid no longer exists (the usual
set-up: the scheduler and the web workers on one host). The jobs page and every
new run call it. A run marked by mistake (a heartbeat held up for minutes) still
writes its real end over the mark when it finishes.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock, db
from tracker.models import JobRun
from tracker.services import submissions
from tracker.services.calendar import load_calendar
from tracker.services.chasing import reminders
from tracker.services.tasks import recurring

log = logging.getLogger(__name__)

HEARTBEAT = timedelta(seconds=30)  # how often a running run says it is alive
LOST_AFTER = timedelta(minutes=5)  # ten missed heartbeats: the process is gone


class SkipJob(Exception):
    """The job has nothing to do (a non-working day, a missing service, a lock held elsewhere)."""


@dataclass(frozen=True)
class JobSpec:
    label: str  # Chinese, for the office's page
    trigger: dict  # APScheduler trigger: {"trigger": "cron", ...} in Asia/Shanghai time
    body: Callable[[Session, date], dict]
    lock: bool = True  # take the PostgreSQL advisory lock


def _service(module: str, name: str):
    """The named service function, or SkipJob saying which one is missing."""
    import importlib

    try:
        return getattr(importlib.import_module(f"tracker.services.{module}"), name)
    except (ImportError, AttributeError):
        raise SkipJob(f"服务 {module}.{name} 尚未提供，本次跳过") from None


def _flat(prefix: str, counts) -> dict:
    if not isinstance(counts, dict):
        return {prefix: counts}
    return {f"{prefix}.{k}": v for k, v in counts.items() if isinstance(v, (int, float, str))}


def _workday(session: Session, day: date) -> None:
    if not load_calendar(session).is_workday(day):
        raise SkipJob(f"{day.isoformat()} 为非工作日，不催办、不发送每日提醒")


# How far ahead reporting deadlines are written: three weeks covers a monthly one's reminder.
REPORT_DUES_AHEAD = timedelta(days=21)


def _reminders(session: Session, day: date) -> dict:
    """The rules alone (the CLI's ``reminders run``): report deadlines, then the rules."""

    counts = {"report_dues": recurring.ensure_report_dues(session, day + REPORT_DUES_AHEAD)}
    counts.update(_flat("reports", recurring.check_reports(session, day)))
    counts.update(_flat("rules", reminders.run_rules(session, day)))
    counts.update(_flat("motions", _service("motions.reminders", "run_step_reminders")(session, day)))
    return counts


def _daily(session: Session, day: date) -> dict:
    """08:30 on working days: report deadlines, reminders and escalations, the digests,
    then the deliveries (which commit one by one, so they come after the rest is saved)."""
    _workday(session, day)
    counts = _reminders(session, day)
    build_digests = _service("notify.digest", "build_digests")
    counts.update(_flat("digests", build_digests(session, day)))
    session.commit()
    counts.update(_flat("deliveries", _service("notify.queue", "deliver_pending")(session)))
    return counts


def _deliver(session: Session, day: date) -> dict:
    return _flat("deliveries", _service("notify.queue", "deliver_pending")(session))


def _schedule(session: Session, day: date) -> dict:
    schedule = _service("scheduling.weekly", "generate_week")(session, day)
    return {"schedule_id": schedule.id, **_flat("items", schedule.counts or {})}


def _report_check(session: Session, day: date) -> dict:
    """Friday 16:00: mark the week's reports, remind those still missing today's."""

    _workday(session, day)
    counts = _flat("reports", recurring.check_reports(session, day))
    counts.update(_flat("reminders", reminders.report_reminders(session, day)))
    return counts


def _scoring(session: Session, day: date) -> dict:
    """01:00: the snapshot of the day that has just ended."""
    return {"snapshots": _service("figures.scoring", "take_snapshot")(session, day - timedelta(days=1))}


def _bulletin(kind: str):
    def body(session: Session, day: date) -> dict:
        bulletin = _service("figures.bulletins", "generate_bulletin")(session, kind)
        return {"bulletin_id": bulletin.id, "period": bulletin.period}

    return body


def _submissions(session: Session, day: date) -> dict:
    """03:10: forget the forms' and API calls' one-time keys older than ``submissions.KEEP``."""
    return {"pruned": submissions.prune(session)}


JOBS: dict[str, JobSpec] = {
    # The cron fires every day: whether a day is a working day is the calendar's call
    # (调休 Saturdays), made inside the job, not the trigger's.
    "daily": JobSpec("每日催办、督办与提醒", {"trigger": "cron", "hour": 8, "minute": 30}, _daily),
    "deliver": JobSpec("发送待发消息（重试）", {"trigger": "interval", "minutes": 5}, _deliver, lock=False),
    "schedule": JobSpec("生成每周调度", {"trigger": "cron", "day_of_week": "mon", "hour": 7, "minute": 30}, _schedule),
    "report_check": JobSpec("周五进展报送检查", {"trigger": "cron", "day_of_week": "fri", "hour": 16}, _report_check),
    "scoring": JobSpec("考核数据快照", {"trigger": "cron", "hour": 1, "minute": 0}, _scoring),
    "bulletin_week": JobSpec("生成周通报", {"trigger": "cron", "day_of_week": "mon", "hour": 8}, _bulletin("week")),
    "bulletin_month": JobSpec("生成月通报", {"trigger": "cron", "day": 1, "hour": 8}, _bulletin("month")),
    "submissions": JobSpec("清理过期的提交令牌", {"trigger": "cron", "hour": 3, "minute": 10}, _submissions),
    # Not scheduled: the CLI twin ``flask --app wsgi reminders run``. No advisory lock, so
    # that two of them at once rely on the database's unique keys alone (and the tests show
    # that those suffice).
    "reminders": JobSpec("催办规则（命令行）", {}, _reminders, lock=False),
}
SCHEDULED = [name for name, spec in JOBS.items() if spec.trigger]
JOB_LABELS = {name: spec.label for name, spec in JOBS.items()}


def _host() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def _lock_key(name: str) -> int:
    return zlib.crc32(f"tracker-job:{name}".encode())


def _try_lock(session: Session, name: str) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite has one writer at a time; the unique keys do the rest
    return bool(session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(_lock_key(name)))))


def _as_of(day: date):
    """Freeze the clock on ``day`` only for a run of another day (a catch-up or ``--date``):
    the freeze is process-wide, and scheduled runs in parallel threads must not stack them."""
    from contextlib import nullcontext

    return nullcontext() if day == clock.today() else clock.frozen(day)


def _pid_gone(host: str) -> bool:
    """True only when ``host`` (host:pid) names this machine and no such process exists."""
    name, _, pid = host.rpartition(":")
    if name != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


INTERRUPTED = "运行中断：执行该任务的进程已退出（被终止或重启），未记录结束。未提交的部分已回滚；各任务可重复执行，下一次运行会补齐。"


def reap_lost(session: Session, now=None) -> int:
    """Mark "running" rows whose process is gone as "interrupted" (see the module's
    docstring). Returns how many; the caller commits."""
    now = now or clock.now()
    lost = []
    for run in session.exec(select(JobRun).where(JobRun.status == "running")):
        seen = run.heartbeat_at or run.started_at
        if now - seen > LOST_AFTER or _pid_gone(run.host):
            lost.append(run.id)
    if not lost:
        return 0
    # Conditional: a run that ended meanwhile, or another reader's mark, is left as it is.
    return session.execute(
        sa.update(JobRun)
        .where(JobRun.id.in_(lost), JobRun.status == "running")
        .values(status="interrupted", error=INTERRUPTED)
    ).rowcount


def _heartbeat(engine: sa.Engine, run_id: int, started, stop: threading.Event) -> None:
    """Beat until ``stop``. The time is the run's start plus real elapsed time, so a
    catch-up run under a frozen clock (``_as_of``) still beats on the readers' clock."""
    t0 = time.monotonic()
    while not stop.wait(HEARTBEAT.total_seconds()):
        try:
            with engine.begin() as conn:
                conn.execute(
                    sa.update(JobRun)
                    .where(JobRun.id == run_id, JobRun.status == "running")
                    .values(heartbeat_at=started + timedelta(seconds=time.monotonic() - t0))
                )
        except Exception:  # noqa: BLE001 - a missed beat (SQLite busy) is no reason to stop the job
            log.warning("job run %s: heartbeat not written", run_id, exc_info=True)


def run_job(engine: sa.Engine, name: str, day: date | None = None) -> JobRun:
    """Run one job for ``day`` (default: today) and return its finished JobRun row."""
    spec = JOBS[name]
    day = day or clock.today()
    with Session(engine, expire_on_commit=False) as s:
        reap_lost(s)
        run = JobRun(job=name, for_day=day, host=_host(), started_at=clock.now())
        run.heartbeat_at = run.started_at
        s.add(run)
        s.commit()
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat, args=(engine, run.id, run.started_at, stop), name=f"job-heartbeat-{run.id}", daemon=True
    )
    beat.start()
    try:
        status, counts, error = _run_body(engine, spec, name, day)
    finally:
        stop.set()
        beat.join()
    with Session(engine, expire_on_commit=False) as s:
        run = s.get(JobRun, run.id)
        run.status, run.counts, run.error, run.finished_at = status, counts, error, clock.now()
        s.add(run)
        s.commit()
    return run


def _run_body(engine: sa.Engine, spec: JobSpec, name: str, day: date) -> tuple[str, dict, str]:
    status, counts, error = "ok", {}, ""
    with Session(engine, expire_on_commit=False) as session:
        try:
            with _as_of(day):
                if spec.lock and not _try_lock(session, name):
                    raise SkipJob("另一调度进程正在执行该任务，本次跳过")
                counts = spec.body(session, day) or {}
            session.commit()
        except SkipJob as exc:
            session.rollback()
            status, error = "skipped", str(exc)
        except Exception as exc:  # noqa: BLE001 - recorded for the office, then re-raised by callers that care
            session.rollback()
            status = "failed"
            error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"[:8000]
    return status, counts, error


def recent_runs(session: Session, *, job: str | None = None, limit: int = 100) -> list[JobRun]:
    stmt = select(JobRun)
    if job:
        stmt = stmt.where(JobRun.job == job)
    return list(session.exec(stmt.order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)))


def last_runs(session: Session) -> dict[str, JobRun]:
    """The newest run of each job, for the page's summary."""
    newest = select(JobRun.job, sa.func.max(JobRun.id).label("id")).group_by(JobRun.job).subquery()
    rows = session.exec(select(JobRun).join(newest, newest.c.id == JobRun.id)).all()
    return {r.job: r for r in rows}


# --- the scheduler process ---------------------------------------------------------------

_APP = None  # the Flask app of the scheduler process; jobs run in its context


def scheduled(name: str) -> None:
    """What the job store calls (by reference, "tracker.jobs:scheduled"): today's run of ``name``."""

    with _APP.app_context():
        run_job(db.engine(), name, clock.today())


MISFIRE_GRACE = 12 * 3600  # a job late by up to 12 hours (a restart, a long outage) still runs, once


def build_scheduler(app, *, background: bool = False):
    """APScheduler 3 with its jobs in the app's database (SQLAlchemyJobStore), Asia/Shanghai.

    ``coalesce`` runs a job missed several times only once; the generous grace time
    keeps a weekly job from being skipped after a restart (PITFALLS, apscheduler#296).
    Jobs are replaced on start, so a changed trigger here takes effect on restart.
    """
    global _APP
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    _APP = app
    engine = app.extensions["tracker_engine"]
    cls = BackgroundScheduler if background else BlockingScheduler
    scheduler = cls(
        timezone=str(clock.CHINA),
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")},
        job_defaults={"coalesce": True, "misfire_grace_time": MISFIRE_GRACE, "max_instances": 1},
    )
    for name in SCHEDULED:
        spec = JOBS[name]
        scheduler.add_job(
            "tracker.jobs:scheduled", args=[name], id=name, name=spec.label, replace_existing=True, **spec.trigger
        )
    return scheduler
