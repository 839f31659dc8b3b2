"""The deadline rule table: phrase → meaning, against a base date, never today."""

from dataclasses import FrozenInstanceError
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.calendar import WorkCalendar
from tracker.models import DeadlineKind
from tracker.services import calendar as cal_service
from tracker.services.actors import SYSTEM
from tracker.services.intake.deadlines import (
    DeadlineError,
    DeadlineParse,
    cn_number,
    format_deadline,
    parse_deadline,
)

MON = date(2026, 11, 23)  # the suite's frozen today, a Monday
SEP28 = date(2026, 9, 28)  # Monday before National Day: 10-01..07 off, Saturday 10-10 worked
SEP30 = date(2026, 9, 30)
DEC24 = date(2026, 12, 24)  # spans from here reach 2027, whose holidays are not published
MAR10 = date(2026, 3, 10)


@pytest.fixture(scope="module")
def cal():
    return WorkCalendar.from_package()


def parse(text, base=MON, cal=None, **kw):
    return parse_deadline(text, base=base, calendar=cal or WorkCalendar.from_package(), **kw)


# --- fixed dates -----------------------------------------------------------------

DATES = [
    # written dates
    ("2026-12-15", MON, date(2026, 12, 15)),
    ("2026/12/15", MON, date(2026, 12, 15)),
    ("2026.12.5", MON, date(2026, 12, 5)),
    ("2026-12-15前", MON, date(2026, 12, 15)),
    ("2026年12月15日", MON, date(2026, 12, 15)),
    ("2026年12月15日前", MON, date(2026, 12, 15)),
    ("2026年12月15日(前)", MON, date(2026, 12, 15)),
    ("2026年12月15日（前）", MON, date(2026, 12, 15)),
    ("2026年12月15号之前", MON, date(2026, 12, 15)),
    ("２０２６年１２月１５日　前", MON, date(2026, 12, 15)),  # full-width digits and space
    (" 2026 年 12 月 15 日前 ", MON, date(2026, 12, 15)),
    ("2026年12月15日前完成", MON, date(2026, 12, 15)),
    ("确保2026年12月15日前办结", MON, date(2026, 12, 15)),
    ("于2026年12月15日17:00前报送", MON, date(2026, 12, 15)),
    ("2026年12月15日下班前", MON, date(2026, 12, 15)),
    ("2026年12月15日（星期二）前", MON, date(2026, 12, 15)),
    ("2026-12-15 00:00:00", MON, date(2026, 12, 15)),  # a spreadsheet date that arrived as text
    ("截至2026年12月15日", MON, date(2026, 12, 15)),
    ("截止时间：2026年12月15日", MON, date(2026, 12, 15)),
    ("年底前全部完成", MON, date(2026, 12, 31)),
    ("力争年底前基本完成", MON, date(2026, 12, 31)),
    ("12月15日前按时报送", MON, date(2026, 12, 15)),
    # year-less dates: the base's year, next year if already past
    ("12月15日前", MON, date(2026, 12, 15)),
    ("十二月十五日前", MON, date(2026, 12, 15)),
    ("11月23日", MON, date(2026, 11, 23)),  # the base day itself is not past
    ("11月20日前", MON, date(2027, 11, 20)),
    ("1月10日前", MON, date(2027, 1, 10)),
    ("12月底前", MON, date(2026, 12, 31)),
    ("12月底", MON, date(2026, 12, 31)),
    ("12月末", MON, date(2026, 12, 31)),
    ("12月份", MON, date(2026, 12, 31)),
    ("12月内", MON, date(2026, 12, 31)),
    ("十二月底前完成", MON, date(2026, 12, 31)),
    ("6月底前", MON, date(2027, 6, 30)),
    ("6月底前", MAR10, date(2026, 6, 30)),
    ("2月底", MON, date(2027, 2, 28)),
    ("12月上旬", MON, date(2026, 12, 10)),
    ("12月中旬前", MON, date(2026, 12, 20)),
    ("12月下旬", MON, date(2026, 12, 31)),
    # years
    ("年底前", MON, date(2026, 12, 31)),
    ("年底", MON, date(2026, 12, 31)),
    ("年内", MON, date(2026, 12, 31)),
    ("年末", MON, date(2026, 12, 31)),
    ("年内完成", MON, date(2026, 12, 31)),
    ("今年底", MON, date(2026, 12, 31)),
    ("今年内", MON, date(2026, 12, 31)),
    ("本年度内", MON, date(2026, 12, 31)),
    ("年底前", date(2026, 12, 31), date(2026, 12, 31)),
    ("明年底", MON, date(2027, 12, 31)),
    ("明年", MON, date(2027, 12, 31)),
    ("2027年底前", MON, date(2027, 12, 31)),
    ("2027年年底前", MON, date(2027, 12, 31)),
    ("2027年", MON, date(2027, 12, 31)),
    ("2027年内", MON, date(2027, 12, 31)),
    ("2027年度内", MON, date(2027, 12, 31)),
    # halves and quarters
    ("上半年", MAR10, date(2026, 6, 30)),
    ("上半年内", MAR10, date(2026, 6, 30)),
    ("上半年", MON, date(2027, 6, 30)),  # said in November: next year's first half
    ("下半年", MON, date(2026, 12, 31)),
    ("下半年", MAR10, date(2026, 12, 31)),
    ("2027年上半年", MON, date(2027, 6, 30)),
    ("明年上半年", MAR10, date(2027, 6, 30)),
    ("一季度", MAR10, date(2026, 3, 31)),
    ("一季度", MON, date(2027, 3, 31)),
    ("第一季度末", MON, date(2027, 3, 31)),
    ("二季度", MAR10, date(2026, 6, 30)),
    ("三季度末", MAR10, date(2026, 9, 30)),
    ("三季度末", MON, date(2027, 9, 30)),
    ("第四季度", MON, date(2026, 12, 31)),
    ("四季度末前", MON, date(2026, 12, 31)),
    ("2027年一季度", MON, date(2027, 3, 31)),
    ("2027年第二季度末", MON, date(2027, 6, 30)),
    ("明年一季度", MON, date(2027, 3, 31)),
    ("本季度末", MON, date(2026, 12, 31)),
    ("季度末", MAR10, date(2026, 3, 31)),
    ("下季度末", MON, date(2027, 3, 31)),
    # months with a year
    ("明年3月底", MON, date(2027, 3, 31)),
    ("明年3月底前", MON, date(2027, 3, 31)),
    ("2027年6月底前", MON, date(2027, 6, 30)),
    ("2027年2月底", MON, date(2027, 2, 28)),
    ("2028年2月底", MON, date(2028, 2, 29)),
    ("2027年3月", MON, date(2027, 3, 31)),
    ("今年12月底", MON, date(2026, 12, 31)),
    # relative to the base
    ("本月底", MON, date(2026, 11, 30)),
    ("月底前", MON, date(2026, 11, 30)),
    ("本月内", MON, date(2026, 11, 30)),
    ("下月底", MON, date(2026, 12, 31)),
    ("下个月底前", date(2026, 12, 10), date(2027, 1, 31)),
    ("本月28日前", MON, date(2026, 11, 28)),
    ("下月10日前", MON, date(2026, 12, 10)),
    ("本周五前", MON, date(2026, 11, 27)),
    ("下周三前", MON, date(2026, 12, 2)),
    ("本周内", MON, date(2026, 11, 27)),
    ("当天", MON, MON),
    ("当日办结", MON, MON),
    # calendar-day spans: the base is not counted
    ("3天内", MON, date(2026, 11, 26)),
    ("7日内", MON, date(2026, 11, 30)),
    ("七日内", MON, date(2026, 11, 30)),
    ("15天", MON, date(2026, 12, 8)),
    ("10个自然日内", MON, date(2026, 12, 3)),
    # a calendar-counted limit ending on a day off runs to the next working day (rules/time_limits.py)
    ("7日内", SEP28, date(2026, 10, 8)),  # 10-05 is in the National Day holiday (10-01..07)
    ("一周内", MON, date(2026, 11, 30)),
    ("两周内", MON, date(2026, 12, 7)),
    ("2个星期内", MON, date(2026, 12, 7)),
    # month spans: same day, clamped to the month's end (then off a day off, as above)
    ("1个月内", MON, date(2026, 12, 23)),
    ("一个月内", MON, date(2026, 12, 23)),
    ("1个月内", date(2027, 1, 31), date(2027, 3, 1)),  # 02-28 is a Sunday
    ("1个月内", date(2028, 1, 31), date(2028, 2, 29)),
    ("两个月内", MON, date(2027, 1, 25)),  # 01-23 is a Saturday
    ("3个月内完成", date(2026, 11, 30), date(2027, 3, 1)),
    ("半年内", MON, date(2027, 5, 24)),  # 05-23 is a Sunday
    ("一年内", MON, date(2027, 11, 23)),
]


PROVISIONAL_SPANS = {
    ("1个月内", date(2027, 1, 31)),
    ("1个月内", date(2028, 1, 31)),
    ("两个月内", MON),
    ("3个月内完成", date(2026, 11, 30)),
    ("半年内", MON),
    ("一年内", MON),
}


@pytest.mark.parametrize("text,base,expected", DATES, ids=[f"{t}@{b}" for t, b, _ in DATES])
def test_fixed_dates(cal, text, base, expected):
    result = parse_deadline(text, base=base, calendar=cal)
    assert (result.kind, result.due_date) == ("date", expected)
    assert result.recurrence == "" and result.feedback_cycle == "once"
    # a counted limit ending in a year without an entered calendar rests on weekends only
    assert result.provisional == ((text, base) in PROVISIONAL_SPANS)
    assert result.raw == text  # the phrase as written, untouched


@pytest.mark.parametrize("text,base", [("6月底前", MON), ("上半年", MON), ("11月20日前", MON)])
def test_year_less_roll_over_is_noted(cal, text, base):
    assert "已顺延至2027年" in parse_deadline(text, base=base, calendar=cal).note


def test_explicit_past_date_is_kept_and_noted(cal):
    # A ledger may hold decisions older than its import: keep what is written, say so.
    result = parse_deadline("2026.11.12", base=MON, calendar=cal)
    assert result.due_date == date(2026, 11, 12)
    assert "早于起算日期2026-11-23" in result.note


# --- working days on the holiday calendar ------------------------------------------

WORKDAYS = [
    # 11-24..27, 11-30, 12-01..04, 12-07
    ("10个工作日内", MON, date(2026, 12, 7), False),
    ("十个工作日内", MON, date(2026, 12, 7), False),
    ("10个工作日", MON, date(2026, 12, 7), False),
    ("10工作日内", MON, date(2026, 12, 7), False),
    ("5个工作日", MON, date(2026, 11, 30), False),
    ("五个工作日内办结", MON, date(2026, 11, 30), False),
    ("7个工作日内回复", MON, date(2026, 12, 2), False),
    ("两个工作日", MON, date(2026, 11, 25), False),
    ("二十个工作日", MON, date(2026, 12, 21), False),
    # National Day 2026: 09-29, 09-30, (10-01..07 off), 10-08, 10-09, Saturday 10-10, 10-12 ...
    ("10个工作日内", SEP28, date(2026, 10, 16), False),
    ("5个工作日", SEP28, date(2026, 10, 10), False),  # the make-up Saturday counts
    ("3个工作日内", SEP30, date(2026, 10, 10), False),
    ("1个工作日", SEP30, date(2026, 10, 8), False),
    ("15个工作日内", SEP28, date(2026, 10, 23), False),
    # Mid-autumn: Friday 09-25 off, Sunday 09-20 worked
    ("1个工作日", date(2026, 9, 18), date(2026, 9, 20), False),
    ("3个工作日内", date(2026, 9, 23), date(2026, 9, 29), False),
    # into 2027, not yet published: weekends only, flagged (2027-01-01 counted as a workday)
    ("10个工作日内", DEC24, date(2027, 1, 7), True),
    ("5个工作日", date(2026, 12, 21), date(2026, 12, 28), False),
    ("10个工作日", date(2027, 3, 1), date(2027, 3, 15), True),
]


@pytest.mark.parametrize("text,base,expected,provisional", WORKDAYS, ids=[f"{t}@{b}" for t, b, _, _ in WORKDAYS])
def test_working_day_spans(cal, text, base, expected, provisional):
    result = parse_deadline(text, base=base, calendar=cal)
    assert (result.kind, result.due_date, result.provisional) == ("date", expected, provisional)
    assert ("2027年节假日安排尚未录入" in result.note) == provisional


IMMEDIATE = [
    ("即时", MON, 1, date(2026, 11, 24), False),
    ("立即", MON, 1, date(2026, 11, 24), False),
    ("即时办理", MON, 1, date(2026, 11, 24), False),
    ("立即办理", MON, 1, date(2026, 11, 24), False),
    ("马上", MON, 1, date(2026, 11, 24), False),
    ("马上办", MON, 1, date(2026, 11, 24), False),
    ("立行立改", MON, 1, date(2026, 11, 24), False),
    ("即时", date(2026, 11, 27), 1, date(2026, 11, 30), False),  # Friday → Monday
    ("即时", SEP30, 1, date(2026, 10, 8), False),
    ("立即", SEP30, 3, date(2026, 10, 10), False),
    ("即时", MON, 0, MON, False),
    ("即时", date(2026, 12, 31), 1, date(2027, 1, 1), True),
]


@pytest.mark.parametrize(
    "text,base,n,expected,provisional", IMMEDIATE, ids=[f"{t}@{b}+{n}" for t, b, n, _, _ in IMMEDIATE]
)
def test_immediate(cal, text, base, n, expected, provisional):
    result = parse_deadline(text, base=base, calendar=cal, immediate_workdays=n)
    assert (result.kind, result.due_date, result.provisional) == ("immediate", expected, provisional)
    assert result.deadline_kind == DeadlineKind.DATE  # stored on a task as a plain date


def test_office_entered_holidays_and_confirmed_year_count(session, restore_calendar):
    """The database calendar is the one used: an office-entered 2027 holiday moves
    the date, and confirming the year clears the provisional flag."""
    cal = cal_service.load_calendar(session)
    before = parse_deadline("即时", base=date(2026, 12, 31), calendar=cal)
    assert (before.due_date, before.provisional) == (date(2027, 1, 1), True)
    cal_service.set_holiday(session, SYSTEM, date(2027, 1, 1), is_workday=False, name="元旦")
    result = parse_deadline("即时", base=date(2026, 12, 31), calendar=cal_service.load_calendar(session))
    assert (result.due_date, result.provisional) == (date(2027, 1, 4), True)
    cal_service.confirm_year(session, SYSTEM, 2027)
    result = parse_deadline("3个工作日内", base=date(2026, 12, 30), calendar=cal_service.load_calendar(session))
    assert (result.due_date, result.provisional) == (date(2027, 1, 5), False)  # 12-31, 01-04, 01-05
    session.commit()


# --- recurrences and ongoing work ---------------------------------------------------

RECURRING = [
    # text, rule, feedback cycle, first due after MON (a Monday)
    ("每周", "weekly:5", "weekly", date(2026, 11, 27)),
    ("每周五前", "weekly:5", "weekly", date(2026, 11, 27)),
    ("每周五下班前报送", "weekly:5", "weekly", date(2026, 11, 27)),
    ("每星期四", "weekly:4", "weekly", date(2026, 11, 26)),
    ("每周一", "weekly:1", "weekly", date(2026, 11, 30)),  # not the meeting day itself
    ("每周日前", "weekly:7", "weekly", date(2026, 11, 29)),
    ("每周报送一次", "weekly:5", "weekly", date(2026, 11, 27)),
    ("每月", "monthly:end", "monthly", date(2026, 11, 30)),
    ("每个月", "monthly:end", "monthly", date(2026, 11, 30)),
    ("每月底前", "monthly:end", "monthly", date(2026, 11, 30)),
    ("每月月末", "monthly:end", "monthly", date(2026, 11, 30)),
    ("每月25日前报送", "monthly:25", "monthly", date(2026, 11, 25)),
    ("每月25日前报送进展情况", "monthly:25", "monthly", date(2026, 11, 25)),
    ("每月二十五日前", "monthly:25", "monthly", date(2026, 11, 25)),
    ("每月5号前", "monthly:5", "monthly", date(2026, 12, 5)),
    ("每月31日前", "monthly:31", "monthly", date(2026, 11, 30)),
    ("每季度末", "quarterly:end", "quarterly", date(2026, 12, 31)),
    ("每季度", "quarterly:end", "quarterly", date(2026, 12, 31)),
    ("每季末", "quarterly:end", "quarterly", date(2026, 12, 31)),
    ("每半年", "halfyearly:end", "quarterly", date(2026, 12, 31)),
    ("每半年末报告", "halfyearly:end", "quarterly", date(2026, 12, 31)),
    ("每年", "yearly:12-31", "quarterly", date(2026, 12, 31)),
    ("每年12月底前", "yearly:12-31", "quarterly", date(2026, 12, 31)),
    ("每年6月30日前", "yearly:06-30", "quarterly", date(2027, 6, 30)),
]


@pytest.mark.parametrize("text,rule,cycle,first", RECURRING, ids=[r[0] for r in RECURRING])
def test_recurrences(cal, text, rule, cycle, first):
    result = parse_deadline(text, base=MON, calendar=cal)
    assert (result.kind, result.recurrence, result.feedback_cycle) == ("recurring", rule, cycle)
    assert result.due_date == first  # the first report owed after the base date
    assert result.deadline_kind == DeadlineKind.RECURRING


@pytest.mark.parametrize("text", ["每周", "每月", "每季度", "每半年", "每年"])
def test_recurrence_defaults_are_said_out_loud(cal, text):
    assert "未写明" in parse_deadline(text, base=MON, calendar=cal).note


ONGOING = ["长期坚持", "持续推进", "长期", "常态化", "常态化推进", "长期坚持落实", "持续开展", "常抓不懈"]


@pytest.mark.parametrize("text", ONGOING)
def test_ongoing(cal, text):
    result = parse_deadline(text, base=MON, calendar=cal)
    assert (result.kind, result.due_date, result.recurrence) == ("ongoing", None, "")
    assert result.feedback_cycle == "monthly" and result.deadline_kind == DeadlineKind.ONGOING


COMBINED = [
    ("长期坚持，每月25日前报送进展", "ongoing", None, "monthly:25", "monthly"),
    ("长期坚持；每季度末报送", "ongoing", None, "quarterly:end", "quarterly"),
    ("长期坚持每周五前报送", "ongoing", None, "weekly:5", "weekly"),
    ("2026年12月底前完成，每月25日前报送进展情况", "date", date(2026, 12, 31), "monthly:25", "monthly"),
    ("每周五前报送，年底前完成", "date", date(2026, 12, 31), "weekly:5", "weekly"),
]


@pytest.mark.parametrize("text,kind,due,rule,cycle", COMBINED, ids=[c[0] for c in COMBINED])
def test_deadline_with_reporting_recurrence(cal, text, kind, due, rule, cycle):
    result = parse_deadline(text, base=MON, calendar=cal)
    assert (result.kind, result.due_date, result.recurrence, result.feedback_cycle) == (kind, due, rule, cycle)
    assert "默认每月" not in result.note  # the recurrence, not the default, sets the cycle


# --- spreadsheet values --------------------------------------------------------------


def test_date_and_datetime_objects(cal):
    assert parse_deadline(date(2026, 12, 15), base=MON, calendar=cal) == DeadlineParse(
        "date", date(2026, 12, 15), "", "once", False, "2026-12-15"
    )
    result = parse_deadline(datetime(2027, 1, 5, 0, 0), base=MON, calendar=cal)
    assert (result.due_date, result.raw, result.provisional) == (date(2027, 1, 5), "2027-01-05", False)


def test_base_may_be_a_datetime(cal):
    assert parse_deadline("3天内", base=datetime(2026, 11, 23, 15, 30), calendar=cal).due_date == date(2026, 11, 26)


def test_result_is_frozen(cal):
    result = parse_deadline("年底前", base=MON, calendar=cal)
    with pytest.raises(FrozenInstanceError):
        result.due_date = date(2027, 1, 1)


# --- refusals ---------------------------------------------------------------------------

REFUSED = [
    ("尽快", "无法识别的完成时限：“尽快”"),
    ("尽快吧", "无法识别的完成时限：“尽快吧”"),
    ("待定", "无法识别的完成时限：“待定”"),
    ("另行通知", "无法识别的完成时限"),
    ("按上级要求", "无法识别的完成时限"),
    ("近期", "无法识别的完成时限"),
    ("ASAP", "无法识别的完成时限"),
    ("", "未填写完成时限"),
    ("   ", "未填写完成时限"),
    ("（）", "无法识别的完成时限"),
    ("13月底", "月份不存在：“13月底”"),
    ("2026年0月1日", "月份不存在"),
    ("2月30日", "日期不存在：“2月30日”"),
    ("2026-02-29", "日期不存在"),
    ("2026年12月32日前", "日期不存在"),
    ("每月32日前", "日期不存在"),
    ("每年2月30日", "日期不存在"),
    ("12月前", "含义不明确：“12月前”"),  # by 12-01 or by 12-31?
    ("12月份前", "含义不明确"),
    ("2027年前", "含义不明确"),
    ("明年前", "含义不明确"),
    ("每年6月前", "含义不明确"),
    ("15日前", "含义不明确"),  # no month, and also reads as "15 days ago"
    ("15日", "含义不明确"),
    ("半个月内", "含义不明确"),  # 15 days or half a calendar month?
    ("月中", "含义不明确"),
    ("12月初", "含义不明确"),
    ("年初", "含义不明确"),
    ("年中前", "含义不明确"),
    ("0个工作日", "期限天数不合理"),
    ("5000天内", "期限天数不合理"),
    ("一百个工作日", "无法识别的完成时限"),  # numerals stop at 九十九
    ("每日", "无法识别的完成时限"),  # no daily feedback cycle
    ("每两周", "无法识别的完成时限"),
    ("26年底", "无法识别的完成时限"),  # a two-digit year is not guessed
    ("二〇二六年底", "无法识别的完成时限"),
    ("12月31日前完成，明年3月底前验收", "包含多个时限"),
    ("每周五，每月25日前", "包含多个时限"),
    ("长期坚持，尽快", "无法识别的完成时限：“尽快”"),
    ("2026年12月15日（星期一）", "日期与星期不符"),  # it is a Tuesday
    ("上周五前", "无法识别的完成时限"),
]


@pytest.mark.parametrize("text,message", REFUSED, ids=[r[0] or "empty" for r in REFUSED])
def test_unreadable_phrases_are_refused_not_guessed(cal, text, message):
    with pytest.raises(DeadlineError, match=message) as info:
        parse_deadline(text, base=MON, calendar=cal)
    assert isinstance(info.value, ValueError)  # callers may catch the plain ValueError


@pytest.mark.parametrize("text", ["本周一前", "本月20日前"])
def test_relative_dates_already_past_are_refused(cal, text):
    with pytest.raises(DeadlineError, match="时限早于起算日期2026-11-24"):
        parse_deadline(text, base=date(2026, 11, 24), calendar=cal)


def test_error_message_quotes_the_phrase_exactly(cal):
    with pytest.raises(DeadlineError) as info:
        parse_deadline("尽快吧", base=MON, calendar=cal)
    assert str(info.value) == "无法识别的完成时限：“尽快吧”"


@pytest.mark.parametrize("value", [46000, 46000.5, None])
def test_excel_serials_must_be_converted_first(cal, value):
    with pytest.raises(DeadlineError, match="Excel"):
        parse_deadline(value, base=MON, calendar=cal)


# --- display and recurrence helpers -----------------------------------------------------

FORMATTED = [
    ("2026年12月底前", MON, "2026-12-31"),
    ("每月25日前报送", MON, "每月25日前"),
    ("每周五前", MON, "每周五前"),
    ("每月", MON, "每月底前"),
    ("每季度末", MON, "每季度末"),
    ("每半年", MON, "每半年末"),
    ("每年6月30日前", MON, "每年6月30日前"),
    ("长期坚持", MON, "长期坚持"),
    ("持续推进", MON, "长期坚持"),
    ("长期坚持，每季度末报送", MON, "长期坚持（每季度末报送）"),
    ("年底前完成，每月25日前报送", MON, "2026-12-31（每月25日前报送）"),
    ("即时", MON, "立即办理（2026-11-24前）"),
    ("10个工作日内", DEC24, "2027-01-07（暂定）"),
]


@pytest.mark.parametrize("text,base,shown", FORMATTED, ids=[f[0] for f in FORMATTED])
def test_format_deadline(cal, text, base, shown):
    assert format_deadline(parse_deadline(text, base=base, calendar=cal)) == shown


# --- numerals and properties -------------------------------------------------------------

NUMERALS = [
    ("一", 1),
    ("两", 2),
    ("九", 9),
    ("十", 10),
    ("十一", 11),
    ("十五", 15),
    ("二十", 20),
    ("二十五", 25),
    ("九十九", 99),
    ("〇", 0),
    ("15", 15),
    ("0", 0),
]


@pytest.mark.parametrize("text,value", NUMERALS)
def test_cn_number(text, value):
    assert cn_number(text) == value


@pytest.mark.parametrize("text", ["", "十十", "一百", "二二", "十零", "零十", "一十二三", "abc", "两十个"])
def test_cn_number_refuses(text):
    with pytest.raises(ValueError):
        cn_number(text)


def _chinese(n: int) -> str:
    digits = "零一二三四五六七八九"
    tens, ones = divmod(n, 10)
    if tens == 0:
        return digits[ones]
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


@given(st.integers(min_value=1, max_value=99))
def test_cn_number_reads_every_small_number(n):
    assert cn_number(_chinese(n)) == n


@settings(max_examples=300, deadline=None)
@given(
    base=st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 12, 31)),
    month=st.integers(1, 12),
    day=st.integers(1, 31),
)
def test_year_less_dates_never_fall_before_the_base(base, month, day):
    def exists(year):
        try:
            return date(year, month, day)
        except ValueError:
            return None

    try:
        result = parse(f"{month}月{day}日前", base=base)
    except DeadlineError:  # only days that do not exist (2月30日, 4月31日, 2月29日 in 2026)
        this_year = exists(base.year)
        assert this_year is None or (this_year < base and exists(base.year + 1) is None)
        return
    assert base <= result.due_date and (result.due_date - base).days <= 366
    assert (result.due_date.month, result.due_date.day) == (month, day)


@settings(max_examples=200, deadline=None)
@given(base=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 11, 30)), n=st.integers(1, 30))
def test_workday_spans_end_on_a_working_day_n_working_days_later(base, n):
    cal = WorkCalendar.from_package()
    result = parse_deadline(f"{n}个工作日内", base=base, calendar=cal)
    assert cal.is_workday(result.due_date)
    assert cal.workdays_between(base, result.due_date).value == n


# --- festivals, ten-day periods --------------------------------------------------------

MAR02 = date(2026, 3, 2)  # a Monday; 清明 2026 is Sunday 04-05, the break 04-04..06


@pytest.mark.parametrize(
    "text, base, due",
    [
        ("清明前", MAR02, date(2026, 4, 3)),
        ("清明节前完成", MAR02, date(2026, 4, 3)),
        ("五一前", MAR02, date(2026, 4, 30)),
        ("劳动节前", MAR02, date(2026, 4, 30)),
        ("端午前", MAR02, date(2026, 6, 18)),
        ("中秋节前", MAR02, date(2026, 9, 24)),
        ("国庆前", MAR02, date(2026, 9, 30)),
        ("国庆节假期前", MAR02, date(2026, 9, 30)),
        ("春节前", date(2026, 1, 5), date(2026, 2, 14)),  # Saturday 02-14 is a 调休 workday
        ("元旦前", date(2025, 11, 20), date(2025, 12, 31)),
        ("国庆节后3个工作日内", SEP28, date(2026, 10, 10)),
        ("节后3个工作日内", SEP28, date(2026, 10, 10)),  # the next festival: National Day
        ("本月下旬", MAR02, date(2026, 3, 31)),
        ("下月上旬", MAR02, date(2026, 4, 10)),
        ("下个月中旬前", MAR02, date(2026, 4, 20)),
        ("年内", MAR02, date(2026, 12, 31)),
        ("年底前", MAR02, date(2026, 12, 31)),
        ("明年一季度", MAR02, date(2027, 3, 31)),
        ("两周内", MAR02, date(2026, 3, 16)),
    ],
)
def test_festivals_and_ten_day_periods(text, base, due, cal):
    result = parse(text, base, cal)
    assert (result.kind, result.due_date) == ("date", due)


def test_a_festival_in_a_year_without_arrangement_is_provisional(cal):
    result = parse("春节前", MON, cal)
    assert result.due_date == date(2027, 2, 4) and result.provisional
    assert "春节放假前最后一个工作日" in result.note and "2027年节假日安排尚未录入" in result.note
