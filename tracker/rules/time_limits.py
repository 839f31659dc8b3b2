"""When a time limit counted from a start date runs out: ``due_after``.

Every counted limit (a time-limit preset, a phrase such as "10个工作日内" or
"3个月内", a 建议/提案 handling limit) is resolved here, on the office's holiday
calendar (``tracker.calendar.WorkCalendar``), in one of these units:

- ``workdays``: N working days after the start, the start itself not counted, on
  the State Council calendar with its 调休 make-up days (001 §28 "14个工作日",
  000 §54 / 004 §56 "3个/7个工作日内回复"). The result is a working day by
  construction.
- ``days``, ``weeks`` and ``months``: N calendar days, 7·N days, or the same day N
  months later (the 31st of a shorter month is its last day). **When such a limit
  ends on a day off (a weekend or a 法定节假日), it runs to the next working day.**
  The seeds count their short limits in working days (001 §28, 000 §54) or in
  days of handling (004 §57 "特急件1天办结"), i.e. days on which someone is at the
  desk; none of them expects a limit to run out while the offices are closed. This
  is also the general rule of Chinese law for 期间 (民法典 第二百零三条: "期间的最后
  一日是法定休假日的，以法定休假日结束的次日为期间的最后一日"). The shift is the
  same for presets, phrases and 建议/提案 handling limits: one rule.
- ``hours``: the public-opinion limits (002 §31, 004 §36: information within 5
  hours, a press conference within 24) run around the clock and are never moved;
  a deadline being a date, it is the day the hours run out.

A named date ("6月底前", "三季度末") is not a counted limit and is not moved;
a periodic report's "每月25日前" moves *earlier* (``tracker.rules.periodic_reports``).

Years whose holiday arrangement the office has not entered yet are counted as
Monday–Friday; the result then names them in ``provisional_years`` so callers
can show it as provisional (PITFALLS, chinese-calendar beyond its years).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

from tracker.calendar import DayResult, WorkCalendar
from tracker.rules.periods import add_months

WORKDAYS: Final = "workdays"
DAYS: Final = "days"
WEEKS: Final = "weeks"
MONTHS: Final = "months"
HOURS: Final = "hours"
UNITS: Final = (WORKDAYS, DAYS, WEEKS, MONTHS, HOURS)


def _provisional_years(cal: WorkCalendar, start: date, end: date) -> tuple[int, ...]:
    lo, hi = min(start, end), max(start, end)
    return tuple(y for y in range(lo.year, hi.year + 1) if y not in cal.known_years)


def due_after(cal: WorkCalendar, start: date, amount: int, unit: str) -> DayResult:
    """The last day of a limit of ``amount`` ``unit`` counted from ``start`` (see the module
    docstring for the holiday rule). Raises ``ValueError`` for an unknown unit or a negative
    amount."""
    if unit not in UNITS:
        raise ValueError(f"unknown time-limit unit: {unit!r}")
    if amount < 0:
        raise ValueError("a time limit cannot be negative")
    if unit == WORKDAYS:
        return cal.add_workdays(start, amount)
    if unit == HOURS:
        return DayResult(start + timedelta(days=amount // 24))
    due = cal.next_workday(calendar_end(start, amount, unit))
    return DayResult(due, _provisional_years(cal, start, due))


def calendar_end(start: date, amount: int, unit: str) -> date:
    """The last day of a ``days``/``weeks``/``months`` limit before the holiday rule moves it."""
    if unit == MONTHS:
        return add_months(start, amount)
    if unit in (DAYS, WEEKS):
        return start + timedelta(days=amount * (7 if unit == WEEKS else 1))
    raise ValueError(f"not a calendar-counted unit: {unit!r}")
