"""Expected due dates of the minutes corpus, computed with chinese_calendar.

Every item of a ``NNN_slug.json`` carries a ``deadline_rule`` saying how its ``due_date``
was found from the document's ``date`` (the meeting or instruction date). This script
turns the rule into a date on the State Council calendar (working days, holidays, 调休)
as packaged in ``chinese_calendar`` and either checks the JSON against it or writes it:

    python tests/corpus/minutes/_compute.py          # check: print every mismatch
    python tests/corpus/minutes/_compute.py --write  # fill due_date / ongoing / past

It never reads the product's code: the corpus must not be computed by the parser it scores.

Rules (``base`` = the document's date):
    none                   no deadline written                       → null
    workdays N             N个工作日内: the N-th working day after base (base itself not counted)
    days N                 N天/日内, 一周内 (7), 两周内 (14): base + N calendar days,
                           moved to the next working day when it falls on a day off
    months N               N个月内: the same day N months later (the month's last day if it has
                           no such day), moved to the next working day when it falls on a day off
    immediate              即时/立即/马上: the first working day after base
    date YYYY-MM-DD        a written date (12月15日前, 2026年4月20日前)
    month_end              月底前/本月底: the last day of base's month
    month_end M            M月底前: month M of base's year, next year if already past
    month_end YYYY-MM      2027年3月底前 / 明年3月底前
    next_month_end         下月底前
    xun M upper|middle|lower   M月上旬/中旬/下旬 → the 10th / 20th / last day (rolled like month_end M);
                           M may be "this" (本月下旬) or "next" (下月上旬)
    this_week D / next_week D  本周五前 (D=5) / 下周五前: that weekday of base's week / the week after
    quarter_end YYYY Q     明年一季度 / 2027年第一季度末 → the quarter's last day
    half_end YYYY H        上半年 (H=1) / 下半年 (H=2)
    year_end               年内 / 年底前 / 今年底 → 12-31 of base's year
    year_end YYYY          明年底 / 2027年底前
    before <Holiday>       春节前, 清明前, 五一前, 端午前, 中秋前, 国庆前, 元旦前: the last working day
                           before the first day off of that holiday's next occurrence after base
                           (the off period may start before the named day, e.g. 中秋 2025 fell
                           inside the National Day break; a 调休 Saturday before it counts)
    after <Holiday> N      节后N个工作日内: the N-th working day after that holiday's off period
    ongoing                长期坚持/持续推进/常态化 → no date, ongoing
    recurring monthly:D | weekly:D   a report owed on a recurrence with no end and no
                           长期坚持 (每月15日前报送): the first such day after base (not rolled off
                           days off, as recurrence dates are not); ongoing stays false
Holidays are chinese_calendar's names: "New Year's Day", "Spring Festival", "Tomb-sweeping Day",
"Labour Day", "Dragon Boat Festival", "Mid-autumn Festival", "National Day".
"""

from __future__ import annotations

import calendar as _cal
import json
import sys
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar as cc

HERE = Path(__file__).resolve().parent
HOLIDAYS = (
    "New Year's Day",
    "Spring Festival",
    "Tomb-sweeping Day",
    "Labour Day",
    "Dragon Boat Festival",
    "Mid-autumn Festival",
    "National Day",
)
WEEKDAYS = {"1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}


def is_workday(d: date) -> bool:
    return cc.is_workday(d)


def next_workday(d: date) -> date:
    while not is_workday(d):
        d += timedelta(days=1)
    return d


def workdays_after(base: date, n: int) -> date:
    d, left = base, n
    while left:
        d += timedelta(days=1)
        if is_workday(d):
            left -= 1
    return d


def month_end(year: int, month: int) -> date:
    return date(year, month, _cal.monthrange(year, month)[1])


def _rolled(base: date, month: int, day: int | None) -> date:
    """Month M of base's year (day None = its last day); next year when before base."""
    for year in (base.year, base.year + 1):
        d = month_end(year, month) if day is None else date(year, month, min(day, month_end(year, month).day))
        if d >= base:
            return d
    raise AssertionError


def _month_of(base: date, word: str) -> tuple[int, int]:
    if word == "this":
        return base.year, base.month
    if word == "next":
        return (base.year + 1, 1) if base.month == 12 else (base.year, base.month + 1)
    return 0, int(word)


def _first_named_day(base: date, holiday: str) -> date:
    assert holiday in HOLIDAYS, holiday
    d = base + timedelta(days=1)
    while True:
        on, name = cc.get_holiday_detail(d)
        if on and name == holiday:
            return d
        d += timedelta(days=1)


def before_holiday(base: date, holiday: str) -> date:
    d = _first_named_day(base, holiday) - timedelta(days=1)
    while not is_workday(d):
        d -= timedelta(days=1)
    return d


def after_holiday(base: date, holiday: str, n: int) -> date:
    d = _first_named_day(base, holiday)
    while not is_workday(d):
        d += timedelta(days=1)
    return workdays_after(d, n - 1)


def due(rule: str, base: date) -> tuple[date | None, bool]:
    """(due date, ongoing) for one rule against the base date."""
    word, *args = rule.split()
    if word in ("none",):
        return None, False
    if word == "ongoing":
        return None, True
    if word == "workdays":
        return workdays_after(base, int(args[0])), False
    if word == "days":
        return next_workday(base + timedelta(days=int(args[0]))), False
    if word == "months":
        y, m = divmod(base.month - 1 + int(args[0]), 12)
        y, m = base.year + y, m + 1
        return next_workday(date(y, m, min(base.day, month_end(y, m).day))), False
    if word == "immediate":
        return workdays_after(base, 1), False
    if word == "date":
        return date.fromisoformat(args[0]), False
    if word == "month_end":
        if not args:
            return month_end(base.year, base.month), False
        if "-" in args[0]:
            y, m = map(int, args[0].split("-"))
            return month_end(y, m), False
        return _rolled(base, int(args[0]), None), False
    if word == "next_month_end":
        y, m = _month_of(base, "next")
        return month_end(y, m), False
    if word == "xun":
        y, m = _month_of(base, args[0])
        day = {"upper": 10, "middle": 20, "lower": None}[args[1]]
        if y:
            return (month_end(y, m) if day is None else date(y, m, day)), False
        return _rolled(base, m, day), False
    if word in ("this_week", "next_week"):
        monday = base - timedelta(days=base.weekday())
        if word == "next_week":
            monday += timedelta(days=7)
        return monday + timedelta(days=WEEKDAYS[args[0]]), False
    if word == "quarter_end":
        y, q = int(args[0]), int(args[1])
        return month_end(y, 3 * q), False
    if word == "half_end":
        y, h = int(args[0]), int(args[1])
        return month_end(y, 6 * h), False
    if word == "year_end":
        return date(int(args[0]) if args else base.year, 12, 31), False
    if word == "before":
        return before_holiday(base, " ".join(args)), False
    if word == "after":
        return after_holiday(base, " ".join(args[:-1]), int(args[-1])), False
    if word == "recurring":
        unit, day = args[0].split(":")
        d = base + timedelta(days=1)
        while True:
            if unit == "weekly" and d.isoweekday() == int(day):
                return d, False
            if unit == "monthly" and d.day == min(int(day), month_end(d.year, d.month).day):
                return d, False
            d += timedelta(days=1)
    raise ValueError(f"unknown rule {rule!r}")


def pairs() -> list[Path]:
    return sorted(p for p in HERE.glob("[0-9][0-9][0-9]_*.json"))


def expected_fields(doc: dict, item: dict) -> dict:
    base = date.fromisoformat(doc["date"])
    registered = date.fromisoformat(doc.get("registered") or doc["date"])
    d, ongoing = due(item["deadline_rule"], base)
    return {"due_date": d.isoformat() if d else None, "ongoing": ongoing, "past": bool(d and d < registered)}


def main(argv: list[str]) -> int:
    write = "--write" in argv
    bad = 0
    for path in pairs():
        doc = json.loads(path.read_text(encoding="utf-8"))
        changed = False
        for i, item in enumerate(doc["items"], start=1):
            want = expected_fields(doc, item)
            for key, value in want.items():
                if item.get(key) != value:
                    if write:
                        item[key] = value
                        changed = True
                    else:
                        bad += 1
                        print(
                            f"{path.name} item {i}: {key} is {item.get(key)!r}, rule "
                            f"{item['deadline_rule']!r} gives {value!r}"
                        )
        if changed:
            path.write_text(dump(doc), encoding="utf-8")
            print(f"wrote {path.name}")
    print(f"{len(pairs())} documents, {bad} mismatches")
    return 1 if bad else 0


def dump(doc: dict) -> str:
    """One item per line: reviewable diffs."""
    head = {k: v for k, v in doc.items() if k != "items"}
    lines = ["{"]
    keys = list(doc)
    for k in keys:
        last = k == keys[-1]
        if k == "items":
            lines.append('  "items": [')
            for j, item in enumerate(doc["items"]):
                comma = "," if j < len(doc["items"]) - 1 else ""
                lines.append("    " + json.dumps(item, ensure_ascii=False) + comma)
            lines.append("  ]" + ("" if last else ","))
        else:
            lines.append(f"  {json.dumps(k)}: {json.dumps(head[k], ensure_ascii=False)}" + ("" if last else ","))
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
