"""Recurrence rules: the compact strings stored in ``Task.recurrence``, and their dates.

``weekly:1``..``weekly:7`` (Monday=1), ``monthly:1``..``monthly:31`` or
``monthly:end``, ``quarterly:end``, ``halfyearly:end`` and ``yearly:MM-DD``. A day the
month lacks (``monthly:31`` in April, ``yearly:02-29``) is the month's last day.
Deadline phrases produce them (``services/deadlines.py``); periodic reports are due on
them (``rules/periodic_reports.py``).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from tracker.rules.periods import add_months, month_end, quarter_end, quarter_number

WEEKDAY_NAMES = {1: "一", 2: "二", 3: "三", 4: "四", 5: "五", 6: "六", 7: "日"}


def next_occurrence(rule: str, after: date) -> date:
    """The first due day of a recurrence strictly after ``after`` (a meeting on the
    25th does not owe its "每月25日前" report the same day)."""
    name, _, arg = rule.partition(":")
    if name == "weekly" and arg in "1234567" and len(arg) == 1:
        weekday = int(arg)
        ahead = (weekday - after.isoweekday()) % 7 or 7
        return after + timedelta(days=ahead)
    if name == "monthly" and (arg == "end" or arg.isdigit() and 1 <= int(arg) <= 31):
        for shift in (0, 1):
            first = add_months(after.replace(day=1), shift)
            last = month_end(first.year, first.month)
            due = last if arg == "end" else first.replace(day=min(int(arg), last.day))
            if due > after:
                return due
    if name == "quarterly" and arg == "end":
        q = quarter_number(after)
        due = quarter_end(after.year, q)
        return due if due > after else quarter_end(after.year + q // 4, q % 4 + 1)
    if name == "halfyearly" and arg == "end":
        for due in (date(after.year, 6, 30), date(after.year, 12, 31), date(after.year + 1, 6, 30)):
            if due > after:
                return due
    if name == "yearly" and re.fullmatch(r"\d{2}-\d{2}", arg):
        month, day = (int(x) for x in arg.split("-"))
        date(2000, month, day)  # refuses 13-01 or 02-30
        for year in (after.year, after.year + 1):
            due = date(year, month, min(day, month_end(year, month).day))
            if due > after:
                return due
    raise ValueError(f"unknown recurrence rule: {rule!r}")


def describe_recurrence(rule: str) -> str:
    """A recurrence rule in Chinese: monthly:25 → 每月25日前."""
    next_occurrence(rule, date(2000, 1, 1))  # refuses a malformed rule
    name, _, arg = rule.partition(":")
    if name == "weekly":
        return f"每周{WEEKDAY_NAMES[int(arg)]}前"
    if name == "monthly":
        return "每月底前" if arg == "end" else f"每月{int(arg)}日前"
    if name == "quarterly":
        return "每季度末"
    if name == "halfyearly":
        return "每半年末"
    month, day = (int(x) for x in arg.split("-"))
    return f"每年{month}月{day}日前"
