"""The one clock. Nothing else calls ``date.today()`` or ``datetime.now()``.

Government deadlines are dates in China Standard Time; stored timestamps are
UTC. ``TRACKER_TODAY`` (or ``frozen()`` in tests) pins the date so that demos
and time-rule tests are repeatable.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")

_frozen: date | None = None
_ahead = timedelta(0)  # tests move the instant forward (``later``) to reach a time limit


def set_today(value: date | None) -> None:
    """Pin (or with None, release) the date the whole process sees as today."""
    global _frozen
    _frozen = value


def today() -> date:
    if _frozen is not None:
        return _frozen
    return datetime.now(CHINA).date()


def now() -> datetime:
    """Current UTC instant; on a frozen day, that day at the current local time."""
    real = datetime.now(CHINA)
    if _frozen is None:
        return real.astimezone(timezone.utc) + _ahead
    local = datetime.combine(_frozen, real.time(), tzinfo=CHINA)
    return local.astimezone(timezone.utc) + _ahead


def local_date(instant: datetime) -> date:
    """The China calendar date of a UTC instant (naive values are taken as UTC)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(CHINA).date()


def start_of_local_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=CHINA).astimezone(timezone.utc)


@contextmanager
def frozen(day: date) -> Iterator[None]:
    previous = _frozen
    set_today(day)
    try:
        yield
    finally:
        set_today(previous)


@contextmanager
def later(delta: timedelta) -> Iterator[None]:
    """``now()`` runs ``delta`` ahead inside the block (an idle or lifetime limit passes without
    waiting for it); ``today()`` is left alone, so a frozen day stays the day."""
    global _ahead
    previous = _ahead
    _ahead = previous + delta
    try:
        yield
    finally:
        _ahead = previous


def days_ago(n: int) -> date:
    return today() - timedelta(days=n)
