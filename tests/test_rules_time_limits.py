"""rules/time_limits.py: one ``due_after`` for presets, deadline phrases and motion limits."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import factories as f
from tracker.calendar import WorkCalendar
from tracker.models import Source
from tracker.rules.time_limits import DAYS, HOURS, MONTHS, UNITS, WEEKS, WORKDAYS, calendar_end, due_after
from tracker.services import calendar as cal_service
from tracker.services.intake.deadlines import parse_deadline
from tracker.services.motions import limits as motion_limits

CAL = WorkCalendar.from_package()
SEP28 = date(2026, 9, 28)  # Monday before the National Day holiday, 10-01..10-07 off, 10-10 (Sat) worked


def test_a_calendar_day_limit_ending_on_a_holiday_runs_to_the_next_working_day():
    # 7 days from 09-28 end on 10-05, inside the holiday: due on 10-08, the first working day after
    assert due_after(CAL, SEP28, 7, DAYS).value == date(2026, 10, 8)
    assert due_after(CAL, SEP28, 1, WEEKS).value == date(2026, 10, 8)
    assert due_after(CAL, date(2026, 9, 5), 1, MONTHS).value == date(2026, 10, 8)
    assert calendar_end(SEP28, 7, DAYS) == date(2026, 10, 5)  # before the move


def test_working_days_count_make_up_saturdays_and_skip_the_holiday():
    # 001 §28 counts in working days: 09-29, 09-30, then 10-08, 10-09, 10-10 (a 调休 Saturday)
    assert due_after(CAL, SEP28, 5, WORKDAYS).value == date(2026, 10, 10)


def test_hours_run_around_the_clock():
    # 002 §31 / 004 §36: information within 5 hours, a press conference within 24, holiday or not
    assert due_after(CAL, date(2026, 10, 1), 5, HOURS).value == date(2026, 10, 1)
    assert due_after(CAL, date(2026, 10, 1), 24, HOURS).value == date(2026, 10, 2)


def test_a_limit_in_a_year_without_an_entered_calendar_is_provisional():
    result = due_after(CAL, date(2026, 12, 20), 30, DAYS)
    assert result.value == date(2027, 1, 19) and result.provisional_years == (2027,)
    assert not due_after(CAL, SEP28, 7, DAYS).provisional


def test_bad_units_and_negative_amounts_are_refused():
    with pytest.raises(ValueError):
        due_after(CAL, SEP28, 3, "fortnights")
    with pytest.raises(ValueError):
        due_after(CAL, SEP28, -1, DAYS)


def test_preset_phrase_and_motion_limit_agree_on_a_holiday(session):
    """ "N calendar days" ending in the National Day holiday: one date whichever way it is set."""
    d = f.district(session)
    preset = cal_service.create_preset(session, d.office, name="七日内回复（7天）", amount=7, unit="days")
    source = session.get(Source, d.source_id)  # a preset counts from the source's date
    source.source_date = SEP28
    session.add(source)
    session.flush()
    task = f.draft(session, d, due_date=None, time_limit_preset=preset.code)
    phrase = parse_deadline("7日内", base=SEP28, calendar=cal_service.load_calendar(session))
    motion = motion_limits.limit_due(session, SEP28, [7, "days"])
    assert task.due_date == phrase.due_date == motion == date(2026, 10, 8)
    assert "顺延至2026-10-08" in phrase.note


# --- properties -------------------------------------------------------------------------------

days = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31))
amounts = st.integers(min_value=0, max_value=400)


@settings(max_examples=300, deadline=None)
@given(start=days, n=amounts, unit=st.sampled_from([WORKDAYS, DAYS, WEEKS, MONTHS]))
def test_due_after_is_monotone_in_n(start, n, unit):
    assert due_after(CAL, start, n, unit).value <= due_after(CAL, start, n + 1, unit).value


@settings(max_examples=300, deadline=None)
@given(start=days, n=st.integers(min_value=1, max_value=400), unit=st.sampled_from([WORKDAYS, DAYS, WEEKS, MONTHS]))
def test_every_counted_limit_ends_on_a_working_day_after_the_start(start, n, unit):
    due = due_after(CAL, start, n, unit).value
    assert CAL.is_workday(due) and due > start


@settings(max_examples=300, deadline=None)
@given(start=days, n=amounts)
def test_working_day_limits_are_the_calendars_add_workdays(start, n):
    assert due_after(CAL, start, n, WORKDAYS) == CAL.add_workdays(start, n)
    assert CAL.workdays_between(start, due_after(CAL, start, n, WORKDAYS).value).value == n


@settings(max_examples=200, deadline=None)
@given(start=days, n=st.integers(min_value=1, max_value=400))
def test_a_calendar_limit_moves_only_off_days_off(start, n):
    end = calendar_end(start, n, DAYS)
    due = due_after(CAL, start, n, DAYS).value
    assert due >= end and all(not CAL.is_workday(end + timedelta(days=i)) for i in range((due - end).days))


def test_units_are_named_once():
    assert set(UNITS) == {"workdays", "days", "weeks", "months", "hours"}
