"""Weeks, months, quarters and years: their bounds, month arithmetic, and labels for people.

A week runs Monday to Sunday, as the office's weekly 调度 and 通报 do (004 §30, §47:
"原则每周进行重点工作定期调度"); quarters are the calendar's (季度工作要点, 004 §30).
Labels name the dates people read ("2026年11月23日—11月29日"), never an ISO week
number: nobody in an office says "第48周". The ISO key ``2026-W48`` (``week_key``)
names a week in URLs and stored rows only.
"""

from __future__ import annotations

import calendar as _pycal
import re
from dataclasses import dataclass
from datetime import date, timedelta

QUARTER_NAMES = ("一", "二", "三", "四")

# The days any office date can be. Outside them no date means anything here, and near the ends of
# ``datetime.date`` a week or a working day later overflows (9999-12-31 + 1 day is an error).
# Input is refused outside them (``tracker.services.validation``).
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2100, 12, 31)


def in_range(day: date) -> bool:
    return DATE_MIN <= day <= DATE_MAX


@dataclass(frozen=True)
class Period:
    """A span of whole days, both ends included."""

    start: date
    end: date

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end

    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __iter__(self):  # ``first, last = week_of(day)``
        return iter((self.start, self.end))


def month_end(year: int, month: int) -> date:
    return date(year, month, _pycal.monthrange(year, month)[1])


def add_months(day: date, months: int) -> date:
    """The same day N months later (earlier for negative N); a day the target month
    lacks becomes its last day (01-31 + 1 month → 02-28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, _pycal.monthrange(year, month)[1]))


def quarter_number(day: date) -> int:
    """1..4."""
    return (day.month - 1) // 3 + 1


def quarter_end(year: int, quarter: int) -> date:
    return month_end(year, quarter * 3)


def week_of(day: date) -> Period:
    """Monday to Sunday around ``day``."""
    monday = day - timedelta(days=day.weekday())
    return Period(monday, monday + timedelta(days=6))


def week_key(day: date) -> str:
    """The machine key of the week of ``day`` (``2026-W48``, ISO numbering): for URLs and
    stored periods, never shown as a label."""
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


_WEEK_KEY = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


def week_of_key(text: str) -> Period | None:
    """The week a ``week_key`` names (``2026-W48``, ``2026W48``), or None if it names none
    (or one outside DATE_MIN..DATE_MAX)."""
    m = _WEEK_KEY.match(text or "")
    if not m:
        return None
    try:
        monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        return None
    return week_of(monday) if in_range(monday) else None


def month_of(day: date) -> Period:
    return Period(day.replace(day=1), month_end(day.year, day.month))


def quarter_of(day: date) -> Period:
    q = quarter_number(day)
    return Period(date(day.year, 3 * q - 2, 1), quarter_end(day.year, q))


def year_of(day: date) -> Period:
    return Period(date(day.year, 1, 1), date(day.year, 12, 31))


def weekday_name(day: date) -> str:
    """周一 … 周日."""
    return "周" + "一二三四五六日"[day.weekday()]


def span_label(start: date, end: date) -> str:
    """Two days as the office writes them inside a year: 11月23日—11月29日."""
    head = f"{start.month}月{start.day}日"
    tail = f"{end.month}月{end.day}日" if end.year == start.year else f"{end.year}年{end.month}月{end.day}日"
    return f"{head}—{tail}"


def week_label(day: date) -> str:
    """The week of ``day`` by its dates: 2026年11月23日—11月29日 (2026年12月28日—2027年1月3日)."""
    week = week_of(day)
    return f"{week.start.year}年{span_label(week.start, week.end)}"


def week_tick(day: date) -> str:
    """The week of ``day`` on a chart's axis: 第48周 11/23–11/29 (the ISO number the schedule
    uses, with its dates so no one has to count weeks)."""
    week = week_of(day)
    return f"第{week.start.isocalendar().week}周 {week.start:%m/%d}–{week.end:%m/%d}"


def month_label(day: date) -> str:
    return f"{day.year}年{day.month}月"


def quarter_label(day: date) -> str:
    return f"{day.year}年第{QUARTER_NAMES[quarter_number(day) - 1]}季度"
