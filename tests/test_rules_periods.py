"""rules/periods.py: weeks, months, quarters, years, month arithmetic and labels for people."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.rules.periods import (
    Period,
    add_months,
    month_label,
    month_of,
    quarter_label,
    quarter_of,
    span_label,
    week_key,
    week_label,
    week_of,
    week_of_key,
    year_of,
)

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2045, 12, 31))
BOUNDS = (week_of, month_of, quarter_of, year_of)


def test_bounds_of_a_day():
    day = date(2026, 11, 25)
    assert week_of(day) == Period(date(2026, 11, 23), date(2026, 11, 29))
    assert month_of(day) == Period(date(2026, 11, 1), date(2026, 11, 30))
    assert quarter_of(day) == Period(date(2026, 10, 1), date(2026, 12, 31))
    assert year_of(day) == Period(date(2026, 1, 1), date(2026, 12, 31))
    monday, sunday = week_of(day)
    assert (monday, sunday) == (date(2026, 11, 23), date(2026, 11, 29))


def test_labels_name_dates_not_iso_week_numbers():
    assert week_label(date(2026, 11, 25)) == "2026年11月23日—11月29日"
    assert week_label(date(2026, 12, 30)) == "2026年12月28日—2027年1月3日"
    assert span_label(date(2026, 10, 5), date(2026, 10, 11)) == "10月5日—10月11日"
    assert month_label(date(2026, 11, 25)) == "2026年11月"
    assert quarter_label(date(2026, 11, 25)) == "2026年第四季度"
    assert "W" not in week_label(date(2026, 1, 1)) and "第" not in week_label(date(2026, 1, 1))


def test_week_keys_for_urls_and_stored_periods():
    assert week_key(date(2026, 1, 1)) == "2026-W01" and week_key(date(2025, 12, 29)) == "2026-W01"
    assert week_of_key("2026-w1") == Period(date(2025, 12, 29), date(2026, 1, 4))
    assert week_of_key("2026-W60") is None and week_of_key("2026-11") is None


def test_add_months_clamps_to_the_months_last_day():
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 23), 14) == date(2028, 1, 23)


@settings(max_examples=300, deadline=None)
@given(day=days)
def test_every_day_lies_in_exactly_one_period_of_each_kind(day):
    for bounds in BOUNDS:
        period = bounds(day)
        assert day in period
        # the neighbouring periods do not hold it: periods tile the calendar
        assert day not in bounds(period.start - timedelta(days=1))
        assert day not in bounds(period.end + timedelta(days=1))
        assert bounds(period.start) == bounds(period.end) == period
    assert week_of(day).days() == 7 and week_of(day).start.weekday() == 0
    assert 28 <= month_of(day).days() <= 31 and 90 <= quarter_of(day).days() <= 92


@settings(max_examples=300, deadline=None)
@given(day=days)
def test_a_week_key_names_the_week_of_its_day(day):
    assert week_of_key(week_key(day)) == week_of(day)


@settings(max_examples=300, deadline=None)
@given(day=days, months=st.integers(min_value=-120, max_value=120))
def test_add_months_moves_whole_months(day, months):
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == min(day.day, month_of(moved).end.day)
