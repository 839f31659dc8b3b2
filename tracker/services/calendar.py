"""The holiday table the office can edit, and the calendar built from it.

init-db copies the chinese-calendar package into ``holiday`` (origin
"package"); the office adds next year's arrangement when the State Council
publishes it and marks the year as known. ``calendarday`` is rebuilt from these
two tables whenever they change, so SQL can count working days.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, delete, select

from tracker.calendar import TABLE_END, TABLE_START, DayResult, WorkCalendar, package_exceptions
from tracker.errors import ValidationFailed
from tracker.models import CalendarDay, CalendarYear, Holiday, TimeLimitPreset, Urgency
from tracker.services import audit
from tracker.services.actors import Actor


def load_calendar(session: Session) -> WorkCalendar:
    years = set(session.exec(select(CalendarYear.year)))
    if not years:  # a database that was never seeded still gets the package's data
        return WorkCalendar.from_package()
    rows = session.exec(select(Holiday.day, Holiday.is_workday)).all()
    return WorkCalendar(dict(rows), years)


def seed_holidays(session: Session) -> int:
    """Copy the package's years into the tables; office entries are left alone."""
    exceptions, years = package_exceptions()
    existing = {h.day: h for h in session.exec(select(Holiday))}
    added = 0
    for day, (is_workday, name) in sorted(exceptions.items()):
        if day in existing:
            continue
        session.add(Holiday(day=day, is_workday=is_workday, name=name, origin="package"))
        added += 1
    known = set(session.exec(select(CalendarYear.year)))
    for year in sorted(years - known):
        session.add(CalendarYear(year=year, origin="package"))
    session.flush()
    rebuild_calendar_days(session)
    return added


def rebuild_calendar_days(session: Session) -> None:
    cal = load_calendar(session)
    session.exec(delete(CalendarDay))
    rows, seq = [], 0
    for day, workday in cal.days(TABLE_START, TABLE_END):
        seq += workday
        rows.append({"day": day, "is_workday": workday, "seq": seq})
    session.execute(sa.insert(CalendarDay), rows)
    session.flush()


def set_holiday(
    session: Session, actor: Actor, day: date, *, is_workday: bool | None, name: str = ""
) -> None:
    """Record an exception (None removes it). Only the office edits the calendar."""
    if not actor.is_office and actor.role != "admin":
        raise ValidationFailed("只有督查室或管理员可以维护节假日")
    row = session.get(Holiday, day)
    before = {"is_workday": row.is_workday, "name": row.name} if row else {}
    if is_workday is None:
        if row:
            session.delete(row)
        after = {}
    else:
        if is_workday == (day.weekday() < 5):
            kind = "工作日" if is_workday else "休息日"
            raise ValidationFailed(f"{day.isoformat()} 本来就是{kind}，无需登记", fields={"day": "无需登记"})
        if row is None:
            row = Holiday(day=day, is_workday=is_workday, name=name, origin="office")
            session.add(row)
        else:
            row.is_workday, row.name, row.origin = is_workday, name, "office"
        after = {"is_workday": is_workday, "name": name}
    session.flush()
    audit.record(session, actor, "holiday_set", entity="holiday", entity_id=None,
                 before=before, after=after, note=day.isoformat())
    rebuild_calendar_days(session)


def confirm_year(session: Session, actor: Actor, year: int) -> None:
    """The office has entered the whole year's arrangement: stop calling it provisional."""
    if session.get(CalendarYear, year) is None:
        session.add(CalendarYear(year=year, origin="office"))
        audit.record(session, actor, "calendar_year_confirmed", entity="calendar_year",
                     entity_id=year, after={"year": year})
        session.flush()


# --- time-limit presets from the work rules --------------------------------------

# 公文办理 limits are counted in working days, as the work rules' own 001 §28 does;
# the office can edit any preset.
DEFAULT_PRESETS = [
    ("doc_extra_urgent", "请示报告·特急件（1天）", 1, "workdays", Urgency.EXTRA_URGENT, "004 §57"),
    ("doc_urgent", "请示报告·急件（3天）", 3, "workdays", Urgency.URGENT, "004 §57"),
    ("doc_normal", "请示报告·一般件（5天）", 5, "workdays", Urgency.NORMAL, "004 §57"),
    ("approval_normal", "公文审批·一般事项（14个工作日）", 14, "workdays", Urgency.NORMAL, "001 §28"),
    ("approval_expedited", "公文审批·加急事项（7个工作日）", 7, "workdays", Urgency.URGENT, "001 §28"),
    ("approval_extra_urgent", "公文审批·特急事项（5个工作日）", 5, "workdays", Urgency.EXTRA_URGENT, "001 §28"),
    ("approval_critical", "公文审批·特急重要事项（3个工作日）", 3, "workdays", Urgency.EXTRA_URGENT, "001 §28"),
    ("leader_sign_critical", "领导签批·特急重要事项（1个工作日）", 1, "workdays", Urgency.EXTRA_URGENT, "001 §28"),
    ("countersign_3", "会签/征求意见回复（3个工作日）", 3, "workdays", Urgency.NORMAL, "000 §54, 002 §48"),
    ("countersign_7", "会签/征求意见回复（7个工作日）", 7, "workdays", Urgency.NORMAL, "001 §27, 003 §29, 004 §56"),
    ("meeting_doc_submit", "会议决定文件·报送发文（3个工作日）", 3, "workdays", Urgency.URGENT, "003 §22"),
    ("meeting_doc_print", "会议决定文件·印发（7个工作日）", 7, "workdays", Urgency.NORMAL, "001 §22, 003 §22"),
    ("opinion_info", "重大舆情·发布权威信息（5小时）", 5, "hours", Urgency.EXTRA_URGENT, "002 §31, 004 §36"),
    ("opinion_press", "重大舆情·举行新闻发布会（24小时）", 24, "hours", Urgency.EXTRA_URGENT, "002 §31, 004 §36"),
]


def seed_presets(session: Session) -> int:
    existing = set(session.exec(select(TimeLimitPreset.code)))
    added = 0
    for order, (code, name, amount, unit, urgency, basis) in enumerate(DEFAULT_PRESETS):
        if code in existing:
            continue
        session.add(TimeLimitPreset(code=code, name=name, amount=amount, unit=unit,
                                    urgency=urgency, basis=basis, sort_order=order))
        added += 1
    session.flush()
    return added


def due_from_preset(session: Session, code: str, start: date) -> tuple[DayResult, TimeLimitPreset]:
    """The due date a preset gives for an item that starts on ``start``."""
    preset = session.exec(select(TimeLimitPreset).where(TimeLimitPreset.code == code)).first()
    if preset is None or not preset.active:
        raise ValidationFailed(f"未找到办理时限预设：{code}", fields={"time_limit_preset": "无此预设"})
    if preset.unit == "workdays":
        return load_calendar(session).add_workdays(start, preset.amount), preset
    if preset.unit == "days":
        return DayResult(start + timedelta(days=preset.amount)), preset
    # hours: a deadline is a date, so it falls on the day the hours run out
    return DayResult(start + timedelta(days=preset.amount // 24)), preset
