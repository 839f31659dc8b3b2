"""Working days on the State Council holiday calendar, with 调休 make-up days.

``WorkCalendar`` is pure: it holds the exceptions to a Monday–Friday week
(weekday holidays and weekend make-up workdays) and the set of years whose
arrangement is known. A year outside that set is counted as Monday–Friday
plus whatever the office entered, and every result touching it is marked
provisional, so a deadline in next year never crashes (PITFALLS: the
chinese-calendar package raises NotImplementedError outside its years).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, Mapping

# Dates the SQL calendar table covers; derived values outside it fall back to Python.
TABLE_START = date(2000, 1, 1)
TABLE_END = date(2045, 12, 31)


@dataclass(frozen=True)
class DayResult:
    """A computed date and whether it rests on an unconfirmed year's calendar."""

    value: date
    provisional_years: tuple[int, ...] = ()

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)


@dataclass(frozen=True)
class CountResult:
    value: int
    provisional_years: tuple[int, ...] = ()

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)


class WorkCalendar:
    def __init__(self, exceptions: Mapping[date, bool], known_years: Iterable[int]):
        self._exceptions = dict(exceptions)
        self.known_years = frozenset(known_years)

    @classmethod
    def from_package(cls) -> "WorkCalendar":
        exceptions, years = package_exceptions()
        return cls({d: w for d, (w, _name) in exceptions.items()}, years)

    def is_workday(self, day: date) -> bool:
        if day in self._exceptions:
            return self._exceptions[day]
        return day.weekday() < 5

    def is_provisional(self, day: date) -> bool:
        return day.year not in self.known_years

    def _unknown(self, a: date, b: date) -> tuple[int, ...]:
        lo, hi = min(a, b), max(a, b)
        return tuple(y for y in range(lo.year, hi.year + 1) if y not in self.known_years)

    def add_workdays(self, start: date, n: int) -> DayResult:
        """The date N working days after ``start`` (before it, for negative N).

        ``start`` itself is not counted: a task assigned on a Friday with
        "5个工作日内" is due the next Friday.
        """
        step = 1 if n >= 0 else -1
        day, left = start, abs(n)
        while left:
            day += timedelta(days=step)
            if self.is_workday(day):
                left -= 1
        return DayResult(day, self._unknown(start, day))

    def workdays_between(self, a: date, b: date) -> CountResult:
        """Working days in (a, b]; negative when b is before a."""
        if a == b:
            return CountResult(0)
        lo, hi, sign = (a, b, 1) if a < b else (b, a, -1)
        count = 0
        day = lo
        while day < hi:
            day += timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return CountResult(sign * count, self._unknown(lo, hi))

    def next_workday(self, day: date) -> date:
        """``day`` itself if it is a working day, else the next one."""
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def days(self, start: date, end: date) -> Iterable[tuple[date, bool]]:
        day = start
        while day <= end:
            yield day, self.is_workday(day)
            day += timedelta(days=1)


def package_exceptions() -> tuple[dict[date, tuple[bool, str]], set[int]]:
    """The chinese-calendar package's data as exceptions to a Monday–Friday week."""
    import chinese_calendar

    names = {
        "New Year's Day": "元旦",
        "Spring Festival": "春节",
        "Tomb-sweeping Day": "清明节",
        "Labour Day": "劳动节",
        "Dragon Boat Festival": "端午节",
        "National Day": "国庆节",
        "Mid-autumn Festival": "中秋节",
        "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
    }
    out: dict[date, tuple[bool, str]] = {}
    for day, holiday in chinese_calendar.holidays.items():
        if day.weekday() < 5:
            label = str(getattr(holiday, "value", holiday) or "")
            out[day] = (False, names.get(label.split(",")[0], label))
    for day, holiday in chinese_calendar.workdays.items():
        if day.weekday() >= 5:
            label = str(getattr(holiday, "value", holiday) or "")
            out[day] = (True, "调休上班" if not label else f"{names.get(label.split(',')[0], label)}调休上班")
    years = {d.year for d in chinese_calendar.holidays}
    return out, years
