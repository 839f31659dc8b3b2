"""rules/recurrence.py: the recurrence rules of recurring tasks and periodic reports."""

from __future__ import annotations

from datetime import date

import pytest

from tracker.rules.recurrence import describe_recurrence, next_occurrence

MON = date(2026, 11, 23)  # the suite's frozen today, a Monday


NEXT = [
    ("weekly:5", date(2026, 11, 27), date(2026, 12, 4)),  # a Friday: the next one
    ("weekly:1", date(2026, 11, 22), date(2026, 11, 23)),
    ("monthly:25", date(2026, 11, 25), date(2026, 12, 25)),
    ("monthly:25", date(2026, 12, 26), date(2027, 1, 25)),
    ("monthly:31", date(2027, 1, 31), date(2027, 2, 28)),
    ("monthly:30", date(2028, 2, 1), date(2028, 2, 29)),
    ("monthly:end", date(2026, 12, 31), date(2027, 1, 31)),
    ("quarterly:end", date(2026, 12, 31), date(2027, 3, 31)),
    ("quarterly:end", date(2026, 7, 1), date(2026, 9, 30)),
    ("halfyearly:end", date(2026, 6, 30), date(2026, 12, 31)),
    ("halfyearly:end", date(2026, 12, 31), date(2027, 6, 30)),
    ("yearly:12-31", date(2026, 12, 31), date(2027, 12, 31)),
    ("yearly:02-28", date(2027, 3, 1), date(2028, 2, 28)),
]


@pytest.mark.parametrize("rule,after,expected", NEXT, ids=[f"{r}>{a}" for r, a, _ in NEXT])
def test_next_occurrence(rule, after, expected):
    assert next_occurrence(rule, after) == expected


@pytest.mark.parametrize("rule", ["daily", "weekly", "monthly", "quarterly:first", "fortnightly:1"])
def test_unknown_rules_are_errors(rule):
    with pytest.raises(ValueError):
        next_occurrence(rule, MON)
    with pytest.raises((ValueError, KeyError)):
        describe_recurrence(rule)


@pytest.mark.parametrize(
    "rule,words",
    [
        ("weekly:5", "每周五前"),
        ("monthly:25", "每月25日前"),
        ("monthly:end", "每月底前"),
        ("quarterly:end", "每季度末"),
        ("yearly:06-30", "每年6月30日前"),
    ],
)
def test_describe_recurrence(rule, words):
    assert describe_recurrence(rule) == words
