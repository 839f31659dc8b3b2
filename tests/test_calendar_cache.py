"""The per-process calendar cache (services/calendar.py): fast, and never stale.

Each web worker keeps the calendar it built, keyed by a version token that every
holiday change writes in its own transaction. These tests change the calendar in
another session and in another process and check that the next read sees it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from tracker.models import AppSetting, CalendarYear
from tracker.rules.overdue import Horizon
from tracker.services import calendar as cal_service
from tracker.services.actors import SYSTEM

ROOT = Path(__file__).resolve().parents[1]
TUESDAY = date(2026, 11, 24)  # the day after the frozen "today" (Monday 2026-11-23)
NATIONAL_DAY = date(2026, 10, 1)


def _holiday_reads(engine: sa.Engine):
    """Counts the statements that read the holiday table itself (the cache's misses)."""
    seen: list[str] = []

    def listen(_conn, _cur, statement, *_a):
        if "FROM holiday" in statement and "count(" not in statement:
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listen)
    return seen, lambda: sa.event.remove(engine, "before_cursor_execute", listen)


def _versioned(engine: sa.Engine) -> None:
    """Tests empty ``appsetting`` between runs; a real database always has a token after init-db."""
    with Session(engine) as s:
        cal_service._bump_version(s)
        s.commit()


def test_second_read_comes_from_the_cache(db):
    _versioned(db)
    seen, stop = _holiday_reads(db)
    try:
        with Session(db) as s:
            first = cal_service.load_calendar(s)
        with Session(db) as s:
            second = cal_service.load_calendar(s)
            h = Horizon.build(s, 3)
    finally:
        stop()
    assert second is first
    assert len(seen) <= 1  # read once (none at all if an earlier test filled the cache)
    assert h.soon_until == date(2026, 11, 26) and h.today_seq is not None


def test_without_a_token_nothing_is_cached(db):
    with Session(db) as s:
        s.exec(sa.delete(AppSetting).where(AppSetting.key == cal_service.VERSION_KEY))
        s.commit()
    seen, stop = _holiday_reads(db)
    try:
        for _ in range(2):
            with Session(db) as s:
                assert not cal_service.load_calendar(s).is_workday(date(2026, 10, 1))
    finally:
        stop()
    assert len(seen) == 2


def test_a_change_in_another_session_is_seen_by_the_next_read(db, restore_calendar):
    _versioned(db)
    with Session(db) as s:
        assert cal_service.load_calendar(s).is_workday(TUESDAY)  # now cached
        assert Horizon.build(s, 3).soon_until == date(2026, 11, 26)
    with Session(db) as writer:  # one day off added and one removed: the row counts stay the same
        cal_service.set_holiday(writer, SYSTEM, TUESDAY, is_workday=False, name="测试放假")
        cal_service.set_holiday(writer, SYSTEM, NATIONAL_DAY, is_workday=None)
        writer.commit()
    with Session(db) as s:
        cal = cal_service.load_calendar(s)
        assert not cal.is_workday(TUESDAY) and cal.is_workday(NATIONAL_DAY)
        assert Horizon.build(s, 3).soon_until == date(2026, 11, 27)  # one working day fewer this week


def test_a_change_is_seen_inside_its_own_transaction_and_gone_after_a_rollback(db, restore_calendar):
    _versioned(db)
    with Session(db) as s:
        assert cal_service.load_calendar(s).is_workday(TUESDAY)
        cal_service.set_holiday(s, SYSTEM, TUESDAY, is_workday=False, name="测试放假")
        assert not cal_service.load_calendar(s).is_workday(TUESDAY)
        s.rollback()
    with Session(db) as s:
        assert cal_service.load_calendar(s).is_workday(TUESDAY)


def test_a_year_confirmed_elsewhere_is_no_longer_provisional(db, restore_calendar):
    _versioned(db)
    with Session(db) as s:
        assert cal_service.load_calendar(s).is_provisional(date(2027, 3, 1))
    with Session(db) as writer:
        cal_service.confirm_year(writer, SYSTEM, 2027)
        writer.commit()
    with Session(db) as s:
        assert not cal_service.load_calendar(s).is_provisional(date(2027, 3, 1))


def test_rows_written_around_the_services_still_change_the_version(db, restore_calendar):
    _versioned(db)
    with Session(db) as s:
        assert cal_service.load_calendar(s).is_provisional(date(2028, 3, 1))
    with Session(db) as writer:  # as tests and scripts do: no service, no new token
        writer.add(CalendarYear(year=2028, origin="office"))
        writer.commit()
    with Session(db) as s:
        assert not cal_service.load_calendar(s).is_provisional(date(2028, 3, 1))


WRITER = """
import sys
from datetime import date
from sqlmodel import Session
from tracker import clock
from tracker.db import make_engine
from tracker.services.actors import SYSTEM
from tracker.services.calendar import set_holiday

engine = make_engine(sys.argv[1])
with clock.frozen(date(2026, 11, 23)), Session(engine) as s:
    set_holiday(s, SYSTEM, date(2026, 11, 24), is_workday=False, name="另一进程")
    set_holiday(s, SYSTEM, date(2026, 10, 1), is_workday=None)  # row counts unchanged: only the token tells
    s.commit()
engine.dispose()
"""


def test_a_change_in_another_process_is_seen_by_this_one(db, restore_calendar):
    """What several gunicorn workers need: worker A's cache must not outlive worker B's edit."""
    _versioned(db)
    with Session(db) as s:
        assert cal_service.load_calendar(s).is_workday(TUESDAY)  # cached in this process
    url = db.url.render_as_string(hide_password=False)
    done = subprocess.run(
        [sys.executable, "-c", WRITER, url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert done.returncode == 0, done.stderr
    with Session(db) as s:
        cal = cal_service.load_calendar(s)
        assert not cal.is_workday(TUESDAY) and cal.is_workday(NATIONAL_DAY)
        assert Horizon.build(s, 3).soon_until == date(2026, 11, 27)


@pytest.mark.parametrize("bump", [True, False])
def test_two_databases_in_one_process_never_share_a_calendar(db, tmp_path, bump):
    """Keys are tokens, not database names: a fresh database with the package's calendar
    is not served this one's edited calendar, token or no token."""
    from tracker import migrate
    from tracker.db import make_engine

    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate.upgrade(other)
    with Session(other) as s:
        cal_service.seed_holidays(s)
        if not bump:
            s.exec(sa.delete(AppSetting).where(AppSetting.key == cal_service.VERSION_KEY))
        s.commit()
    _versioned(db)
    with Session(db) as s:
        s.add(CalendarYear(year=2029, origin="office"))
        s.flush()
        assert not cal_service.load_calendar(s).is_provisional(date(2029, 3, 1))
        with Session(other) as o:
            assert cal_service.load_calendar(o).is_provisional(date(2029, 3, 1))
        s.rollback()
    other.dispose()


def test_a_page_reads_the_version_with_its_user(app, session, db, restore_calendar):
    """The web request loads its user with the calendar's version (tracker/http/login.py): the inbox
    reads no version of its own, and a holiday entered in between still reaches the next page."""
    from tests import factories as f
    from tests.webutil import login
    from tracker.models import Role

    _versioned(db)
    d = f.department(session, "区发改委")
    f.user(session, Role.CLERK, username="fgw", department_id=d.id)
    session.commit()
    client = app.test_client()
    assert login(client, "fgw").status_code == 302
    assert client.get("/dept/").status_code == 200  # the calendar is cached now
    versions: list[str] = []
    reads, stop_reads = _holiday_reads(db)

    def listen(_conn, _cur, statement, *_a):
        if "appsetting" in statement and "calendaryear" in statement:  # the version, not another setting
            versions.append(statement)

    sa.event.listen(db, "before_cursor_execute", listen)
    try:
        assert client.get("/dept/").status_code == 200
        assert len(versions) == 1 and "app_user" in versions[0], versions
        assert reads == []
        with Session(db) as s:
            old_key = cal_service._version(s, date(2026, 11, 23))[0]
        with Session(db) as writer:
            cal_service.set_holiday(writer, SYSTEM, TUESDAY, is_workday=False, name="测试放假")
            writer.commit()
        # Only the old calendar is cached (the writer cached the new one in this process too):
        # a page going by an old version would take it and read nothing.
        cal_service._cache.clear()
        cal_service._cache[old_key] = cal_service.WorkCalendar.from_package()
        reads.clear()
        assert client.get("/dept/").status_code == 200
        assert len(reads) == 1  # the version read with the user was the new one
    finally:
        sa.event.remove(db, "before_cursor_execute", listen)
        stop_reads()


def test_a_prefetched_version_gives_way_to_a_change_in_the_same_transaction(db, restore_calendar):
    _versioned(db)
    monday = date(2026, 11, 23)
    with Session(db) as s:
        values = s.execute(cal_service._VERSION, {"day": monday}).one()
        assert cal_service.load_calendar(s).is_workday(TUESDAY)
        cal_service.remember_version(s, monday, values)  # read before the change below
        cal_service.set_holiday(s, SYSTEM, TUESDAY, is_workday=False, name="测试放假")
        assert not cal_service.calendar_and_seq(s, monday)[0].is_workday(TUESDAY)
        s.rollback()
