from datetime import date

import pytest

from tracker.calendar import WorkCalendar
from tracker.errors import ValidationFailed
from tracker.services import calendar as cal_service
from tracker.services.actors import SYSTEM


@pytest.fixture(scope="module")
def cal():
    return WorkCalendar.from_package()


def test_national_day_and_makeup_saturday(cal):
    # 2026-10-01..07 off (10-01/02/05/06/07 weekdays), 2026-10-10 Saturday is a workday.
    assert not cal.is_workday(date(2026, 10, 1))
    assert cal.is_workday(date(2026, 10, 10))
    assert cal.add_workdays(date(2026, 9, 30), 5).value == date(2026, 10, 13)
    assert not cal.add_workdays(date(2026, 9, 30), 5).provisional


def test_uncovered_year_is_provisional_not_a_crash(cal):
    result = cal.add_workdays(date(2026, 12, 28), 5)
    assert result.value == date(2027, 1, 4)
    assert result.provisional_years == (2027,)


def test_workdays_between_is_signed_and_excludes_start(cal):
    assert cal.workdays_between(date(2026, 11, 20), date(2026, 11, 23)).value == 1  # Fri -> Mon
    assert cal.workdays_between(date(2026, 11, 23), date(2026, 11, 20)).value == -1
    assert cal.workdays_between(date(2026, 9, 30), date(2026, 10, 13)).value == 5
    assert cal.workdays_between(date(2026, 5, 5), date(2026, 5, 5)).value == 0


def test_negative_add_goes_back_over_holidays(cal):
    assert cal.add_workdays(date(2026, 10, 8), -1).value == date(2026, 9, 30)


def test_zero_days_is_the_start(cal):
    assert cal.add_workdays(date(2026, 10, 3), 0).value == date(2026, 10, 3)


def test_office_entered_holiday_counts_and_year_confirmation(session, restore_calendar):
    office = SYSTEM
    cal_service.set_holiday(session, office, date(2027, 1, 1), is_workday=False, name="元旦")
    cal = cal_service.load_calendar(session)
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.add_workdays(date(2026, 12, 31), 1).value == date(2027, 1, 4)
    assert cal.add_workdays(date(2026, 12, 31), 1).provisional
    cal_service.confirm_year(session, office, 2027)
    assert not cal_service.load_calendar(session).add_workdays(date(2026, 12, 31), 1).provisional
    session.commit()


def test_registering_an_ordinary_day_is_refused(session):
    with pytest.raises(ValidationFailed, match="本来就是工作日"):
        cal_service.set_holiday(session, SYSTEM, date(2026, 11, 24), is_workday=True)


def test_presets_follow_the_rules(session):
    result, preset = cal_service.due_from_preset(session, "doc_urgent", date(2026, 9, 30))
    assert preset.basis == "004 §57"
    assert result.value == date(2026, 10, 10)  # 3 working days: 10-08, 10-09, Saturday 10-10
    result, _ = cal_service.due_from_preset(session, "approval_normal", date(2026, 11, 23))
    assert result.value == date(2026, 12, 11)
    with pytest.raises(ValidationFailed):
        cal_service.due_from_preset(session, "nope", date(2026, 11, 23))


def test_partial_rebuild_matches_full_rebuild(session, restore_calendar):
    from sqlmodel import select

    from tracker.models import CalendarDay

    cal_service.set_holiday(session, SYSTEM, date(2030, 1, 2), is_workday=False, name="测试")
    partial = session.exec(select(CalendarDay.day, CalendarDay.seq).order_by(CalendarDay.day)).all()
    cal_service.rebuild_calendar_days(session)
    full = session.exec(select(CalendarDay.day, CalendarDay.seq).order_by(CalendarDay.day)).all()
    assert partial == full
    session.rollback()
