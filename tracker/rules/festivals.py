"""Deadlines written as festivals: 春节前, 清明前, 国庆节后3个工作日内.

"春节前完成" means the last working day before the holiday of that name begins, on the
office's working-day calendar (State Council arrangement with its 调休 make-up days); "节后N
个工作日内" means the N-th working day once that holiday's days off are over. The holiday is
found from the festival's own date, never from a hand table of years:

- 元旦 (1 January), 五一 / 劳动节 (1 May) and 国庆 (1 October) are fixed;
- 清明 is the solar term, computed by the chinese-calendar package;
- 春节, 端午 and 中秋 are lunar dates (正月初一, 五月初五, 八月十五), converted by the
  ``lunardate`` library, which covers 1900–2099.

Walking back from the festival day through the days off finds the start of the break, whatever
its length and wherever the weekend falls (中秋 2025 fell inside the National Day break; 春节
2026 started on a Sunday after a 调休 Saturday). A year whose arrangement is not yet known is
counted Monday–Friday (``WorkCalendar``); for 春节 the break is then taken to start on 除夕,
which the 2024 revision of 《全国年节及纪念日放假办法》 made a day off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import chinese_calendar
from lunardate import LunarDate

from tracker.calendar import WorkCalendar

__all__ = [
    "FESTIVALS",
    "FestivalDay",
    "after_festival",
    "before_festival",
    "festival_day",
    "festival_key",
    "named_before",
    "next_festival",
]

# The names a deadline may use → the festival.
FESTIVALS: Final = {
    "元旦": "new_year",
    "春节": "spring",
    "清明": "qingming",
    "清明节": "qingming",
    "五一": "labour",
    "劳动节": "labour",
    "五一劳动节": "labour",
    "端午": "dragon_boat",
    "端午节": "dragon_boat",
    "中秋": "mid_autumn",
    "中秋节": "mid_autumn",
    "国庆": "national",
    "国庆节": "national",
}
LABELS: Final = {
    "new_year": "元旦",
    "spring": "春节",
    "qingming": "清明节",
    "labour": "劳动节",
    "dragon_boat": "端午节",
    "mid_autumn": "中秋节",
    "national": "国庆节",
}
_FIXED = {"new_year": (1, 1), "labour": (5, 1), "national": (10, 1)}
_LUNAR = {"spring": (1, 1), "dragon_boat": (5, 5), "mid_autumn": (8, 15)}
# Days off by law (《全国年节及纪念日放假办法》, 2024 revision), counted from the break's anchor:
# what a year whose arrangement is not yet known is assumed to take off.
_LEGAL_DAYS = {"new_year": 1, "spring": 4, "qingming": 1, "labour": 2, "dragon_boat": 1, "mid_autumn": 1, "national": 3}


@dataclass(frozen=True)
class FestivalDay:
    """A deadline read from a festival; ``provisional_years`` as in ``DayResult``."""

    value: date
    festival: str  # the key in LABELS
    provisional_years: tuple[int, ...] = ()


def festival_key(name: str) -> str:
    """The festival a written name means (国庆节 → national); KeyError for any other word."""
    return FESTIVALS[name]


def festival_day(key: str, year: int) -> date:
    """The festival's own date in ``year`` (春节 2026 → 2026-02-17)."""
    if key in _FIXED:
        return date(year, *_FIXED[key])
    if key in _LUNAR:
        return LunarDate(year, *_LUNAR[key]).to_solar_date()
    if key == "qingming":
        terms = chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 10))
        return next(day for day, name in terms if name == "清明")
    raise KeyError(key)


def _break_anchor(cal: WorkCalendar, key: str, year: int) -> date:
    """A day inside the festival's break: the festival itself, or 除夕 for 春节 in a year whose
    arrangement is unknown (the Monday–Friday stand-in would otherwise keep 除夕 a working day)."""
    day = festival_day(key, year)
    if key == "spring" and cal.is_provisional(day):
        return day - timedelta(days=1)
    return day


def _before(cal: WorkCalendar, anchor: date) -> date:
    day = anchor - timedelta(days=1)
    while not cal.is_workday(day):
        day -= timedelta(days=1)
    return day


def _years(base: date) -> tuple[int, int]:
    return base.year, base.year + 1


def _provisional(cal: WorkCalendar, *days: date) -> tuple[int, ...]:
    return tuple(sorted({d.year for d in days if cal.is_provisional(d)}))


def before_festival(cal: WorkCalendar, base: date, key: str) -> FestivalDay:
    """The last working day before the festival's next break after ``base``."""
    for year in _years(base):
        anchor = _break_anchor(cal, key, year)
        if anchor > base:
            due = _before(cal, anchor)
            if due >= base:
                return FestivalDay(due, key, _provisional(cal, base, anchor))
    year = base.year + 2  # base falls inside or just before this year's break: the next one
    anchor = _break_anchor(cal, key, year)
    return FestivalDay(_before(cal, anchor), key, _provisional(cal, base, anchor))


def after_festival(cal: WorkCalendar, base: date, key: str, workdays: int) -> FestivalDay:
    """The ``workdays``-th working day after the festival's next break ends (节后N个工作日内);
    the first working day back counts as the first."""
    for year in _years(base) + (base.year + 2,):
        anchor = _break_anchor(cal, key, year)
        day = anchor
        if cal.is_provisional(anchor):
            day = anchor + timedelta(days=_LEGAL_DAYS[key])
        while not cal.is_workday(day):
            day += timedelta(days=1)
        if day > base:
            result = cal.add_workdays(day, max(workdays - 1, 0))
            return FestivalDay(result.value, key, _provisional(cal, base, anchor, result.value))
    raise AssertionError("unreachable: a festival comes every year")


def named_before(text: str, end: int | None = None) -> str | None:
    """The festival last named in ``text[:end]`` (元旦、春节期间做好…，节后3个工作日内 → spring):
    the one a bare 节后 or 节前 further on refers to; None when the text names none."""
    names = "|".join(sorted(map(re.escape, FESTIVALS), key=len, reverse=True))
    found = re.findall(names, text[:end])
    return FESTIVALS[found[-1]] if found else None


def next_festival(cal: WorkCalendar, base: date) -> str:
    """The festival whose break comes first after ``base`` (for a bare 节后 / 节前)."""
    best: tuple[date, str] | None = None
    for key in LABELS:
        for year in _years(base):
            anchor = _break_anchor(cal, key, year)
            if anchor > base:
                if best is None or anchor < best[0]:
                    best = (anchor, key)
                break
    assert best is not None
    return best[1]
