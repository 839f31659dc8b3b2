"""Reading Chinese deadline phrases (完成时限) with a fixed rule table.

General date parsers get these phrases wrong (PITFALLS, "Chinese deadline
phrases"), so every phrase is matched against explicit rules and anything
unmatched or ambiguous raises ``DeadlineError`` for a person to decide: a wrong
due date is worse than no due date. Relative and year-less phrases resolve
against ``base`` (the meeting or instruction date), never against today, and
counted spans ("10个工作日内", "3个月内") are ``rules.time_limits.due_after``.

Recurring phrases ("每月25日前报送") become the recurrence rules of
``rules/recurrence.py``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from tracker.calendar import WorkCalendar
from tracker.models import DeadlineKind, FeedbackCycle
from tracker.rules.festivals import (
    FESTIVALS,
    LABELS,
    FestivalDay,
    after_festival,
    before_festival,
    next_festival,
)
from tracker.rules.periods import (
    add_months,
    month_end,
    quarter_end,
    quarter_number,
    week_of,
)
from tracker.rules.recurrence import WEEKDAY_NAMES, describe_recurrence, next_occurrence
from tracker.rules.time_limits import (
    DAYS,
    MONTHS,
    WEEKS,
    WORKDAYS,
    calendar_end,
    due_after,
)

__all__ = [
    "DeadlineError",
    "DeadlineParse",
    "cn_number",
    "describe_recurrence",
    "format_deadline",
    "next_occurrence",
    "parse_deadline",
]

ParseKind = Literal["date", "recurring", "ongoing", "immediate"]

# A span longer than this is almost certainly a typo (or a year read as a count).
MAX_SPAN_DAYS = 3 * 366


class DeadlineError(ValueError):
    """A phrase the rules cannot read; the message is Chinese and quotes the phrase."""

    def __init__(self, message: str, raw: str = ""):
        super().__init__(message)
        self.message = message
        self.raw = raw


@dataclass(frozen=True)
class DeadlineParse:
    """What a deadline phrase means; ``raw`` keeps the phrase as written."""

    kind: ParseKind
    due_date: date | None
    recurrence: str
    feedback_cycle: str
    provisional: bool
    raw: str
    note: str = ""

    @property
    def deadline_kind(self) -> DeadlineKind:
        """The Task column value: an immediate deadline is stored as a plain date."""
        if self.kind == "immediate":
            return DeadlineKind.DATE
        return DeadlineKind(self.kind)


# --- numerals --------------------------------------------------------------------

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
NUM = r"[0-9]{1,4}|[零〇一二两三四五六七八九十]{1,3}"


def cn_number(text: str) -> int:
    """0..99 written in Arabic digits or in Chinese (十, 十五, 二十, 两, 九十九).

    Hand-written rather than cn2an: deadlines only need small counts, months and
    days, and a dependency for that is not worth pinning.
    """
    if re.fullmatch(r"[0-9]+", text or ""):
        return int(text)
    if not text or any(ch not in _CN_DIGITS and ch != "十" for ch in text):
        raise ValueError(f"not a numeral: {text!r}")
    if "十" in text:
        tens, _, ones = text.partition("十")
        if "十" in ones or len(tens) > 1 or len(ones) > 1:
            raise ValueError(f"not a numeral: {text!r}")
        t = 1 if tens == "" else _CN_DIGITS[tens]
        o = 0 if ones == "" else _CN_DIGITS[ones]
        if t == 0 or (ones and o == 0):
            raise ValueError(f"not a numeral: {text!r}")
        return t * 10 + o
    if len(text) != 1:
        raise ValueError(f"not a numeral: {text!r}")
    return _CN_DIGITS[text]


_WEEKDAYS = {
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "日": 7,
    "天": 7,
    "1": 1,
    "2": 2,
    "3": 3,
    "4": 4,
    "5": 5,
    "6": 6,
    "7": 7,
}


# --- the parse context -------------------------------------------------------------


@dataclass
class _Ctx:
    base: date
    calendar: WorkCalendar
    immediate_workdays: int
    phrase: str  # the clause being read, for messages
    festival: str | None = None  # the festival the words around a bare 节后/节前 name


@dataclass
class _Part:
    """What one clause says; clauses combine into a DeadlineParse."""

    kind: ParseKind
    due: date | None = None
    recurrence: str = ""
    feedback: str = FeedbackCycle.ONCE.value
    provisional_years: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()


def _unreadable(phrase: str) -> DeadlineError:
    return DeadlineError(f"无法识别的完成时限：“{phrase}”", phrase)


def _ambiguous(phrase: str, why: str) -> DeadlineError:
    return DeadlineError(f"完成时限含义不明确：“{phrase}”（{why}），请写明具体日期", phrase)


def _num(ctx: _Ctx, text: str) -> int:
    try:
        return cn_number(text)
    except ValueError:
        raise _unreadable(ctx.phrase) from None


def _make_date(ctx: _Ctx, year: int, month: int, day: int | None) -> date:
    """A calendar date or a clear error (13月, 2月30日); ``day=None`` is the month's end."""
    if not 1 <= month <= 12:
        raise DeadlineError(f"月份不存在：“{ctx.phrase}”", ctx.phrase)
    if day is None:
        return month_end(year, month)
    try:
        return date(year, month, day)
    except ValueError:
        raise DeadlineError(f"日期不存在：“{ctx.phrase}”", ctx.phrase) from None


def _year_of(ctx: _Ctx, m: re.Match) -> int | None:
    """The year a phrase names (2027年, 今年, 明年), or None when it names none."""
    y = m.groupdict().get("y")
    if y:
        year = int(y)
        if not 1900 <= year <= 2200:
            raise DeadlineError(f"年份不合理：“{ctx.phrase}”", ctx.phrase)
        return year
    rel = m.groupdict().get("yrel")
    if rel:
        return ctx.base.year + (1 if rel in ("明年", "次年", "翌年") else 0)
    return None


def _dated(ctx: _Ctx, year: int | None, build: Callable[[int], date]) -> _Part:
    """A fixed date; a year-less one rolls into next year when it falls before ``base``."""
    notes: list[str] = []
    if year is None:
        due = build(ctx.base.year)
        if due < ctx.base:
            due = build(ctx.base.year + 1)
            notes.append(f"未写年份，早于起算日期，已顺延至{due.year}年")
    else:
        due = build(year)
        if due < ctx.base:
            notes.append(f"该时限早于起算日期{ctx.base.isoformat()}")
    return _Part("date", due, notes=tuple(notes))


# --- rules -------------------------------------------------------------------------
# Each rule is (pattern, handler); patterns are matched in order with fullmatch
# against a normalised clause (NFKC, no spaces or brackets, no trailing verb).

_BEFORE = r"(?P<b>之前|以前|前|为止|止)?"
_WITHIN = r"(?:之内|以内|内)?"
_YEAR = r"(?:(?P<y>\d{4})年度?|(?P<yrel>今年|本年度?|明年|次年|翌年))"
_OPT_YEAR = _YEAR + "?"

Rule = tuple[re.Pattern, Callable[[re.Match, _Ctx], _Part]]
_RULES: list[Rule] = []


def _rule(pattern: str):
    def register(fn):
        _RULES.append((re.compile(pattern), fn))
        return fn

    return register


@_rule(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})" + _BEFORE)
def _numeric_date(m, ctx):
    return _dated(ctx, _year_of(ctx, m), lambda y: _make_date(ctx, y, int(m["m"]), int(m["d"])))


@_rule(_OPT_YEAR + rf"(?P<m>{NUM})月(?P<d>{NUM})[日号]" + _BEFORE)
def _written_date(m, ctx):
    month, day = _num(ctx, m["m"]), _num(ctx, m["d"])
    return _dated(ctx, _year_of(ctx, m), lambda y: _make_date(ctx, y, month, day))


@_rule(_OPT_YEAR + rf"(?P<m>{NUM})月份?(?P<mark>底|末|月底|月末|内|以内|之内)?" + _BEFORE)
def _month(m, ctx):
    month = _num(ctx, m["m"])
    if m["b"] and not m["mark"]:
        raise _ambiguous(ctx.phrase, f"是{month}月1日前还是{month}月底前")
    if m["mark"] in ("内", "以内", "之内") and m["b"]:
        raise _unreadable(ctx.phrase)
    return _dated(ctx, _year_of(ctx, m), lambda y: _make_date(ctx, y, month, None))


@_rule(_OPT_YEAR + rf"(?P<m>{NUM})月(?P<x>上旬|中旬|下旬)(?:末)?" + _BEFORE)
def _ten_days(m, ctx):
    month = _num(ctx, m["m"])
    day = {"上旬": 10, "中旬": 20, "下旬": None}[m["x"]]
    part = _dated(ctx, _year_of(ctx, m), lambda y: _make_date(ctx, y, month, day))
    return _with_note(part, f"{m['x']}按该旬最后一天计")


@_rule(r"(?P<rel>本|当|下个?)月(?:份)?(?P<x>上旬|中旬|下旬)(?:末)?" + _BEFORE)
def _relative_ten_days(m, ctx):
    first = add_months(ctx.base.replace(day=1), 1 if (m["rel"] or "").startswith("下") else 0)
    day = {"上旬": 10, "中旬": 20, "下旬": None}[m["x"]]
    due = _make_date(ctx, first.year, first.month, day)
    if due < ctx.base:
        raise DeadlineError(f"时限早于起算日期{ctx.base.isoformat()}：“{ctx.phrase}”", ctx.phrase)
    return _with_note(_Part("date", due), f"{m['x']}按该旬最后一天计")


_FESTIVAL = "(?P<f>" + "|".join(sorted(FESTIVALS, key=len, reverse=True)) + ")"
_BREAK = r"(?:假期|长假|节日|放假)?"


def _festival_part(found: FestivalDay, note: str) -> _Part:
    return _Part("date", found.value, provisional_years=found.provisional_years, notes=(note,))


@_rule(_FESTIVAL + _BREAK + r"(?:之前|以前|前)")
def _before_festival(m, ctx):
    """春节前: the last working day before the break (tracker.rules.festivals)."""
    try:
        found = before_festival(ctx.calendar, ctx.base, FESTIVALS[m["f"]])
    except (ValueError, IndexError):  # beyond the lunar tables (1900–2099)
        raise _unreadable(ctx.phrase) from None
    return _festival_part(found, f"{LABELS[found.festival]}放假前最后一个工作日")


@_rule(r"(?:" + _FESTIVAL + _BREAK + r"|节)(?:之后|以后|后)(?:上班)?" + rf"(?P<n>{NUM})个?工作日" + _WITHIN)
def _after_festival(m, ctx):
    """节后3个工作日内: counted from the first working day after the break, which is day one."""
    n = _num(ctx, m["n"])
    _span_check(ctx, n, n)
    key = FESTIVALS[m["f"]] if m["f"] else ctx.festival or next_festival(ctx.calendar, ctx.base)
    found = after_festival(ctx.calendar, ctx.base, key, n)
    note = f"{LABELS[key]}假期后第{n}个工作日"
    if not m["f"]:
        note = f"“节后”按{LABELS[key]}计，" + note
    return _festival_part(found, note)


@_rule(r"节(?:前|日前|假前)")
def _before_next_festival(m, ctx):
    key = ctx.festival or next_festival(ctx.calendar, ctx.base)
    found = before_festival(ctx.calendar, ctx.base, key)
    return _festival_part(found, f"“节前”按{LABELS[key]}计，放假前最后一个工作日")


@_rule(_OPT_YEAR + r"(?P<h>上半年|下半年)(?:末|底|内|以内|之内)?" + _BEFORE)
def _half(m, ctx):
    month = 6 if m["h"] == "上半年" else 12
    return _dated(ctx, _year_of(ctx, m), lambda y: month_end(y, month))


@_rule(_OPT_YEAR + r"第?(?P<q>[一二三四1-4])季度?(?:末|底|内|以内|之内)?" + _BEFORE)
def _quarter(m, ctx):
    q = _num(ctx, m["q"])
    return _dated(ctx, _year_of(ctx, m), lambda y: quarter_end(y, q))


@_rule(_YEAR + r"(?P<mark>年?底|年?末|年?内|以内|之内)?" + _BEFORE)
def _named_year(m, ctx):
    if m["b"] and not m["mark"]:
        raise _ambiguous(ctx.phrase, "是该年1月1日前还是年底前")
    return _dated(ctx, _year_of(ctx, m), lambda y: date(y, 12, 31))


@_rule(r"(?:年底|年末|年内|年度内|全年)" + _BEFORE)
def _year_end(m, ctx):
    return _Part("date", date(ctx.base.year, 12, 31))


@_rule(r"(?P<rel>本|当|下个?)?月(?:底|末|内)" + _BEFORE)
def _relative_month_end(m, ctx):
    shift = 1 if (m["rel"] or "").startswith("下") else 0
    first = add_months(ctx.base.replace(day=1), shift)
    return _Part("date", month_end(first.year, first.month))


@_rule(rf"(?P<rel>本|下个?)月(?P<d>{NUM})[日号]" + _BEFORE)
def _relative_month_day(m, ctx):
    first = add_months(ctx.base.replace(day=1), 1 if m["rel"].startswith("下") else 0)
    due = _make_date(ctx, first.year, first.month, _num(ctx, m["d"]))
    if due < ctx.base:
        raise DeadlineError(f"时限早于起算日期{ctx.base.isoformat()}：“{ctx.phrase}”", ctx.phrase)
    return _Part("date", due)


@_rule(r"(?P<rel>本|下个?)(?:周|星期)(?P<w>[一二三四五六日天1-7])" + _BEFORE)
def _relative_weekday(m, ctx):
    monday = week_of(ctx.base).start
    if m["rel"].startswith("下"):
        monday += timedelta(days=7)
    due = monday + timedelta(days=_WEEKDAYS[m["w"]] - 1)
    if due < ctx.base:
        raise DeadlineError(f"时限早于起算日期{ctx.base.isoformat()}：“{ctx.phrase}”", ctx.phrase)
    return _Part("date", due)


@_rule(r"(?P<rel>本|下个?)(?:周|星期)内")
def _relative_week(m, ctx):
    monday = week_of(ctx.base).start
    if m["rel"].startswith("下"):
        monday += timedelta(days=7)
    return _with_note(_Part("date", monday + timedelta(days=4)), "按该周周五计")


@_rule(r"(?P<rel>本|下个?)?季度?(?:末|底|内)" + _BEFORE)
def _relative_quarter(m, ctx):
    q = quarter_number(ctx.base) + (1 if (m["rel"] or "").startswith("下") else 0)
    year = ctx.base.year + (q - 1) // 4
    return _Part("date", quarter_end(year, (q - 1) % 4 + 1))


@_rule(r"(?:当天|当日)(?:内)?")
def _same_day(m, ctx):
    return _Part("date", ctx.base)


def _counted(ctx: _Ctx, n: int, unit: str, note: str = "") -> _Part:
    """A calendar-counted limit; one ending on a day off runs to the next working day."""
    result = due_after(ctx.calendar, ctx.base, n, unit)
    nominal = calendar_end(ctx.base, n, unit)
    notes = (note,) if note else ()
    if result.value != nominal:
        notes += (f"期满日{nominal.isoformat()}为休息日，顺延至{result.value.isoformat()}",)
    return _Part("date", result.value, provisional_years=result.provisional_years, notes=notes)


def _span_check(ctx: _Ctx, n: int, days: int) -> None:
    if n <= 0 or days > MAX_SPAN_DAYS:
        raise DeadlineError(f"期限天数不合理：“{ctx.phrase}”", ctx.phrase)


@_rule(rf"(?P<n>{NUM})个?工作日" + _WITHIN)
def _workdays(m, ctx):
    n = _num(ctx, m["n"])
    _span_check(ctx, n, n)
    result = due_after(ctx.calendar, ctx.base, n, WORKDAYS)
    return _Part(
        "date",
        result.value,
        provisional_years=result.provisional_years,
        notes=(f"自{ctx.base.isoformat()}起{n}个工作日（已扣除节假日）",),
    )


@_rule(rf"(?P<n>{NUM})(?:(?:个自然日|个日历日|自然日|天)(?:之内|以内|内)?|日(?:之内|以内|内))")
def _calendar_days(m, ctx):
    n = _num(ctx, m["n"])
    _span_check(ctx, n, n)
    return _counted(ctx, n, DAYS, f"自{ctx.base.isoformat()}起{n}个自然日")


@_rule(rf"(?P<n>{NUM})(?:个)?(?:周|星期|礼拜)" + _WITHIN)
def _weeks(m, ctx):
    n = _num(ctx, m["n"])
    _span_check(ctx, n, 7 * n)
    return _counted(ctx, n, WEEKS)


@_rule(rf"(?P<n>{NUM}|半)(?P<unit>个月|年)" + _WITHIN)
def _months(m, ctx):
    if m["n"] == "半":
        if m["unit"] == "个月":
            raise _ambiguous(ctx.phrase, "按15天还是按半个自然月计")
        months = 6
    else:
        n = _num(ctx, m["n"])
        months = n * 12 if m["unit"] == "年" else n
        _span_check(ctx, n, months * 30)
    return _counted(ctx, months, MONTHS)


def _recurring(rule: str, feedback: FeedbackCycle, ctx: _Ctx, *notes: str) -> _Part:
    return _Part("recurring", next_occurrence(rule, ctx.base), recurrence=rule, feedback=feedback.value, notes=notes)


@_rule(r"每(?:个)?(?:周|星期|礼拜)(?P<w>[一二三四五六日天1-7])?" + _BEFORE)
def _weekly(m, ctx):
    if m["w"] is None:
        return _recurring("weekly:5", FeedbackCycle.WEEKLY, ctx, "未写明星期几，按每周五")
    return _recurring(f"weekly:{_WEEKDAYS[m['w']]}", FeedbackCycle.WEEKLY, ctx)


@_rule(rf"每(?:个)?月(?:份)?(?:(?P<d>{NUM})[日号]|(?P<end>月?底|月?末))?" + _BEFORE)
def _monthly(m, ctx):
    if m["d"]:
        day = _num(ctx, m["d"])
        if not 1 <= day <= 31:
            raise DeadlineError(f"日期不存在：“{ctx.phrase}”", ctx.phrase)
        notes = ("小月按月底计",) if day > 28 else ()
        return _recurring(f"monthly:{day}", FeedbackCycle.MONTHLY, ctx, *notes)
    if m["end"]:
        return _recurring("monthly:end", FeedbackCycle.MONTHLY, ctx)
    return _recurring("monthly:end", FeedbackCycle.MONTHLY, ctx, "未写明日期，按每月月底")


@_rule(r"每(?:个)?季度?(?P<end>末|底)?" + _BEFORE)
def _quarterly(m, ctx):
    notes = () if m["end"] else ("未写明日期，按每季度末",)
    return _recurring("quarterly:end", FeedbackCycle.QUARTERLY, ctx, *notes)


@_rule(r"每半年(?P<end>末|底)?" + _BEFORE)
def _halfyearly(m, ctx):
    notes = ("反馈周期没有“每半年”，暂按每季度",)
    if not m["end"]:
        notes = ("未写明日期，按6月底和12月底",) + notes
    return _recurring("halfyearly:end", FeedbackCycle.QUARTERLY, ctx, *notes)


@_rule(rf"每年(?:(?P<m>{NUM})月(?:(?P<d>{NUM})[日号]|(?P<end>底|末))?|(?P<yend>年?底|年?末))?" + _BEFORE)
def _yearly(m, ctx):
    notes = ["反馈周期没有“每年”，暂按每季度"]
    if m["m"]:
        month = _num(ctx, m["m"])
        if m["d"]:
            day = _num(ctx, m["d"])
            _make_date(ctx, 2000, month, day)  # validates, 2000 being a leap year
        elif m["end"]:
            day = _make_date(ctx, 2001, month, None).day  # February: 28, clamped in leap years
        else:
            raise _ambiguous(ctx.phrase, f"是每年{month}月1日前还是{month}月底前")
    else:
        month, day = 12, 31
        if not m["yend"]:
            notes.insert(0, "未写明日期，按每年年底")
    return _recurring(f"yearly:{month:02d}-{day:02d}", FeedbackCycle.QUARTERLY, ctx, *notes)


_ONGOING_NOTE = "长期事项，默认每月反馈进展"


@_rule(r"(?:长期|持续|常态化|常态|长效)(?:坚持|推进|开展|落实|执行|抓好|进行|有效|化)?|常抓不懈")
def _ongoing(m, ctx):
    return _Part("ongoing", None, feedback=FeedbackCycle.MONTHLY.value, notes=(_ONGOING_NOTE,))


@_rule(r"(?:即时|立即|马上|立刻|即刻|立行立改|即知即改)(?:办|改|处理|执行|整改|落实)?")
def _immediate(m, ctx):
    n = ctx.immediate_workdays
    result = due_after(ctx.calendar, ctx.base, n, WORKDAYS)
    return _Part(
        "immediate", result.value, provisional_years=result.provisional_years, notes=(f"立即办理，按{n}个工作日计",)
    )


# Phrases rejected on purpose, with a reason the user can act on.
_AMBIGUOUS: list[tuple[re.Pattern, str]] = [
    (re.compile(rf"(?:{NUM})[日号](?:之前|以前|前)"), "未写月份，也可能是“几天前”"),
    (re.compile(rf"(?:{NUM})[日号]"), "未写月份，是某日还是几天内"),
    (re.compile(rf"(?:{_OPT_YEAR})(?:{NUM})?月(?:初|中)(?:之前|以前|前)?"), "月初、月中没有确定的日期"),
    (re.compile(r"年(?:初|中)(?:之前|以前|前)?"), "年初、年中没有确定的日期"),
]


def _with_note(part: _Part, note: str) -> _Part:
    return _Part(part.kind, part.due, part.recurrence, part.feedback, part.provisional_years, part.notes + (note,))


# --- normalisation ----------------------------------------------------------------

_LEADING = re.compile(
    r"^(?:(?:完成时限|截止时间|截止日期|时限):?|截至|截止|确保|力争|争取|务必|必须|应当"
    r"|须|需|要|请|应|由|于|在|到)+"
)
_VERBS = (
    "办理完毕",
    "落实到位",
    "验收",
    "整改到位",
    "进展情况",
    "完成情况",
    "工作情况",
    "报送",
    "上报",
    "报告",
    "反馈",
    "提交",
    "完成",
    "办结",
    "办理",
    "完毕",
    "整改",
    "落实",
    "到位",
    "结束",
    "进展",
    "情况",
    "回复",
    "答复",
    "报",
    "全部",
    "全面",
    "基本",
    "按时",
    "按期",
    "如期",
)
_TIME_OF_DAY = re.compile(
    r"(?:上午|下午|中午|晚上|下班|上班)?"
    r"(?:[0-9]{1,2}(?::[0-9]{2}|时|点)(?:[0-9]{1,2}分)?|下班|上班)"
    r"(?=之前|以前|前|$)"
)
_WEEKDAY_NOTE = re.compile(r"\((?:星期|周|礼拜)([一二三四五六日天1-7])\)")
_ONCE = re.compile(r"(?:报送|上报|报告|反馈|报)?一次$")
_CLAUSE_SPLIT = re.compile(r"[,，;；、]+")
_RECURRENCE_START = re.compile(r"每(?:个)?(?:周|星期|礼拜|月|季|半年|年)")


def _normalise(text: str) -> tuple[str, int | None]:
    """NFKC, no spaces, brackets dropped (a bracketed weekday is returned for checking)."""
    s = unicodedata.normalize("NFKC", text)
    s = "".join(s.split())
    s = s.translate(str.maketrans("【】〔〕[]", "()()()"))
    weekday = None
    found = _WEEKDAY_NOTE.search(s)
    if found:
        weekday = _WEEKDAYS[found.group(1)]
        s = _WEEKDAY_NOTE.sub("", s)
    s = s.replace("(", "").replace(")", "")
    s = s.strip("。.!！;；,，、")
    return s, weekday


def _core(clause: str) -> str:
    """A clause without leading modal words, trailing verbs or a time of day."""
    s = _LEADING.sub("", clause)
    changed = True
    while changed and s:
        changed = False
        for verb in _VERBS:
            if s.endswith(verb) and len(s) > len(verb):
                s = s[: -len(verb)]
                changed = True
                break
    s = _TIME_OF_DAY.sub("", s)
    if s.startswith("每"):  # 每周报送一次 says no more than 每周
        s = _ONCE.sub("", s)
    return s


def _read_clause(clause: str, ctx: _Ctx) -> _Part:
    core = _core(clause)
    ctx = _Ctx(ctx.base, ctx.calendar, ctx.immediate_workdays, clause, ctx.festival)
    for pattern, reason in _AMBIGUOUS:
        if pattern.fullmatch(core):
            raise _ambiguous(clause, reason)
    for pattern, handler in _RULES:
        m = pattern.fullmatch(core)
        if m:
            return handler(m, ctx)
    raise _unreadable(clause)


def _combine(parts: list[_Part], raw: str) -> _Part:
    """One deadline, optionally with one reporting recurrence (长期坚持，每月25日前报送)."""
    if len(parts) == 1:
        return parts[0]
    recurring = [p for p in parts if p.kind == "recurring"]
    others = [p for p in parts if p.kind != "recurring"]
    if len(parts) != 2 or len(recurring) != 1:
        raise DeadlineError(f"包含多个时限：“{raw}”，请只填一个完成时限，其余作为时间节点", raw)
    main, rec = others[0], recurring[0]
    notes = tuple(n for n in main.notes if n != _ONGOING_NOTE)  # the recurrence sets the cycle
    return _Part(
        main.kind,
        main.due,
        rec.recurrence,
        rec.feedback,
        tuple(sorted(set(main.provisional_years + rec.provisional_years))),
        notes + (f"按{describe_recurrence(rec.recurrence)}报送进展",),
    )


def _read(text: str, ctx: _Ctx) -> _Part:
    """Clauses split on punctuation; one clause may hide a recurrence without a comma."""
    clauses = [c for c in _CLAUSE_SPLIT.split(text) if c]
    if len(clauses) > 1:
        return _combine([_read_clause(c, ctx) for c in clauses], text)
    try:
        return _read_clause(text, ctx)
    except DeadlineError as first_error:
        m = _RECURRENCE_START.search(text, 1)  # "长期坚持每月25日前报送"
        if not m:
            raise
        try:
            return _combine([_read_clause(text[: m.start()], ctx), _read_clause(text[m.start() :], ctx)], text)
        except DeadlineError:
            raise first_error from None


# --- public API ----------------------------------------------------------------------


def parse_deadline(
    text: date | datetime | str,
    *,
    base: date,
    calendar: WorkCalendar,
    immediate_workdays: int = 1,
    festival: str | None = None,
) -> DeadlineParse:
    """Read a deadline phrase against ``base`` (the meeting or instruction date).

    ``festival``: the festival the text around the phrase names (元旦、春节期间…节后3个工作日内:
    ``tracker.rules.festivals.named_before``), which a bare 节后/节前 means; without it, the
    next festival after ``base``.

    Raises ``DeadlineError`` (a ``ValueError``) with a Chinese message quoting the
    phrase when the rules cannot read it or it is ambiguous: the caller sends it
    to a person instead of guessing.
    """
    if isinstance(base, datetime):
        base = base.date()
    if isinstance(text, datetime):
        text = text.date()
    if isinstance(text, date):
        return DeadlineParse("date", text, "", FeedbackCycle.ONCE.value, False, text.isoformat())
    if not isinstance(text, str):
        raise DeadlineError(f"无法识别的完成时限：“{text}”（请先把 Excel 日期序号转换为日期）", str(text))
    if immediate_workdays < 0:
        raise ValueError("immediate_workdays must not be negative")
    raw = text
    stripped = unicodedata.normalize("NFKC", text).strip()
    if not stripped:
        raise DeadlineError("未填写完成时限", raw)
    try:  # "2026-12-15 00:00:00": a spreadsheet date that arrived as text
        as_dt = datetime.fromisoformat(stripped)
    except ValueError:
        as_dt = None
    if as_dt is not None and re.match(r"\d{4}-\d{2}-\d{2}[ T]", stripped):
        return DeadlineParse("date", as_dt.date(), "", FeedbackCycle.ONCE.value, False, raw)

    normal, weekday = _normalise(text)
    if not normal:
        raise _unreadable(raw.strip())
    part = _read(normal, _Ctx(base, calendar, immediate_workdays, normal, festival))

    if weekday is not None and part.kind == "date" and part.due.isoweekday() != weekday:
        actual = WEEKDAY_NAMES[part.due.isoweekday()]
        raise DeadlineError(f"日期与星期不符：“{raw.strip()}”（{part.due.isoformat()}是星期{actual}）", raw)
    notes = list(part.notes)
    if part.provisional_years:
        years = "、".join(str(y) for y in part.provisional_years)
        notes.append(f"{years}年节假日安排尚未录入，暂按周一至周五推算")
    return DeadlineParse(
        part.kind, part.due, part.recurrence, part.feedback, bool(part.provisional_years), raw, "；".join(notes)
    )


def format_deadline(parse: DeadlineParse) -> str:
    """The deadline for display: 2026-12-31, 每月25日前, 长期坚持（每季度末报送）."""
    extra = f"（{describe_recurrence(parse.recurrence)}报送）" if parse.recurrence else ""
    if parse.kind == "recurring":
        return describe_recurrence(parse.recurrence)
    if parse.kind == "ongoing":
        return "长期坚持" + extra
    shown = parse.due_date.isoformat() if parse.due_date else ""
    if parse.provisional:
        shown += "（暂定）"
    if parse.kind == "immediate":
        return f"立即办理（{shown}前）" + extra
    return shown + extra
