"""Festival deadlines (春节前, 国庆节后3个工作日内) on the State Council calendar."""

from datetime import date

import pytest

from tracker.calendar import WorkCalendar
from tracker.rules import festivals as fest

CAL = WorkCalendar.from_package()


@pytest.mark.parametrize(
    "key, year, day",
    [
        ("spring", 2026, date(2026, 2, 17)),
        ("spring", 2027, date(2027, 2, 6)),
        ("dragon_boat", 2026, date(2026, 6, 19)),
        ("mid_autumn", 2025, date(2025, 10, 6)),
        ("qingming", 2026, date(2026, 4, 5)),
        ("national", 2026, date(2026, 10, 1)),
    ],
)
def test_festival_days_come_from_the_lunar_library_and_the_solar_terms(key, year, day):
    assert fest.festival_day(key, year) == day


@pytest.mark.parametrize(
    "base, key, due",
    [
        (
            date(2026, 1, 5),
            "spring",
            date(2026, 2, 14),
        ),  # the break starts Sunday 02-15; Saturday 02-14 is a 调休 workday
        (date(2026, 3, 2), "qingming", date(2026, 4, 3)),
        (date(2026, 3, 2), "labour", date(2026, 4, 30)),
        (date(2026, 3, 2), "dragon_boat", date(2026, 6, 18)),
        (date(2025, 9, 1), "mid_autumn", date(2025, 9, 30)),  # 中秋 2025 fell inside the National Day break
        (date(2026, 9, 1), "national", date(2026, 9, 30)),
        (date(2025, 11, 20), "new_year", date(2025, 12, 31)),
        (date(2024, 1, 10), "spring", date(2024, 2, 9)),  # 除夕 2024 was a working day
    ],
)
def test_before_a_festival_is_the_last_working_day_before_its_break(base, key, due):
    found = fest.before_festival(CAL, base, key)
    assert found.value == due and not found.provisional_years


def test_the_next_occurrence_is_taken():
    assert fest.before_festival(CAL, date(2026, 5, 10), "labour").value.year == 2027


def test_a_year_without_an_arrangement_is_provisional_and_spring_starts_on_the_eve():
    found = fest.before_festival(CAL, date(2026, 11, 20), "spring")
    assert found.value == date(2027, 2, 4)  # 除夕 2027-02-05 is taken as the first day off
    assert found.provisional_years == (2027,)


@pytest.mark.parametrize(
    "base, key, n, due",
    [
        (date(2026, 9, 1), "national", 3, date(2026, 10, 10)),  # back on Thursday 10-08; 10-10 is a 调休 Saturday
        (date(2026, 9, 1), "national", 5, date(2026, 10, 13)),
        (date(2026, 9, 1), "mid_autumn", 3, date(2026, 9, 30)),
        (date(2026, 1, 5), "spring", 1, date(2026, 2, 24)),
    ],
)
def test_after_a_festival_counts_from_the_first_working_day_back(base, key, n, due):
    assert fest.after_festival(CAL, base, key, n).value == due


def test_the_next_festival_after_a_date():
    assert fest.next_festival(CAL, date(2026, 3, 2)) == "qingming"
    assert fest.next_festival(CAL, date(2026, 9, 26)) == "national"
