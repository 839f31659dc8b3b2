"""The holiday table the office can edit, and the calendar built from it.

init-db copies the chinese-calendar package into ``holiday`` (origin
"package"); the office adds next year's arrangement when the State Council
publishes it and marks the year as known. ``calendarday`` is rebuilt from these
two tables whenever they change, so SQL can count working days.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, delete, select

from tracker import clock
from tracker.calendar import TABLE_END, TABLE_START, DayResult, WorkCalendar, package_exceptions
from tracker.errors import NotFound, ValidationFailed
from tracker.models import AppSetting, CalendarDay, CalendarYear, Holiday, TimeLimitPreset, Urgency
from tracker.rules.periods import weekday_name
from tracker.rules.time_limits import due_after
from tracker.services import audit
from tracker.services.actors import Actor
from tracker.services.validation import to_int
from tracker.shared_sql import prime

# --- the calendar, cached per process behind a version read from the database ----
#
# Every page builds a Horizon; rather than read the whole holiday table each time,
# each web worker keeps the calendar it built, keyed by a version it reads in one
# small statement per request: a random token that every change of the holiday
# tables writes (``_bump_version``, in the same transaction as the change), plus
# the row counts of both tables as a guard against rows written around the
# services. A token is never reused, so a key names one content, whichever
# database or process wrote it; without a token nothing is cached.

VERSION_KEY = "calendar_version"
_CACHE_SIZE = 8
_cache: dict[tuple, WorkCalendar] = {}

VERSION_COLUMNS = (
    sa.select(AppSetting.value).where(AppSetting.key == VERSION_KEY).scalar_subquery(),
    sa.select(sa.func.count()).select_from(Holiday).scalar_subquery(),
    sa.select(sa.func.count()).select_from(CalendarYear).scalar_subquery(),
    sa.select(CalendarDay.seq).where(CalendarDay.day == sa.bindparam("day", type_=sa.Date)).scalar_subquery(),
)
_VERSION = prime(sa.select(*VERSION_COLUMNS))  # run by every thread (tracker/shared_sql.py)
_PREFETCHED = "tracker_calendar_version"


def remember_version(session: Session, day: date, values) -> None:
    """The ``VERSION_COLUMNS`` (parameter ``day``) as another statement of this transaction read
    them: the web request's user is loaded with them, which saves every page a statement. Every
    ``calendar_and_seq`` for ``day`` in this session takes them instead of reading its own (a page
    may ask for the calendar more than once), until the session changes the calendar itself."""
    session.info[_PREFETCHED] = (day, tuple(values))


def _version(session: Session, day: date, *, fresh: bool = False) -> tuple[tuple | None, int | None]:
    """(cache key or None, calendarday.seq of ``day``) in one statement, or none if prefetched
    (unless ``fresh``)."""
    prefetched = None if fresh else session.info.get(_PREFETCHED)
    if prefetched is not None and prefetched[0] == day:
        value, holidays, years, seq = prefetched[1]
    else:
        value, holidays, years, seq = session.execute(_VERSION, {"day": day}).one()
    token = value.get("token") if isinstance(value, dict) else None
    return ((token, holidays, years) if token else None), seq


def _read_calendar(session: Session) -> WorkCalendar:
    years = set(session.exec(select(CalendarYear.year)))
    if not years:  # a database that was never seeded still gets the package's data
        return WorkCalendar.from_package()
    rows = session.exec(select(Holiday.day, Holiday.is_workday)).all()
    return WorkCalendar(dict(rows), years)


def calendar_and_seq(session: Session, day: date) -> tuple[WorkCalendar, int | None]:
    """The working-day calendar and the running working-day count of ``day``.

    The calendar comes from this process's cache when the database's version
    matches; it is read again (and cached only if the version did not move
    meanwhile) otherwise. The session's own unflushed changes are flushed first,
    so a transaction that edits holidays sees its edits.
    """
    key, seq = _version(session, day)
    cal = _cache.get(key) if key else None
    if cal is None:
        cal = _read_calendar(session)
        if key and _version(session, day, fresh=True)[0] == key:
            if len(_cache) >= _CACHE_SIZE:
                _cache.clear()
            _cache[key] = cal
    return cal, seq


def load_calendar(session: Session) -> WorkCalendar:
    """The working-day calendar as the session sees it (cached per process, see above)."""
    return calendar_and_seq(session, clock.today())[0]


def _bump_version(session: Session) -> None:
    """A new token: every process reads the calendar again on its next request.

    Called by every service that changes ``holiday`` or ``calendaryear``, before it
    reads the calendar back, in the same transaction (a rollback leaves the old token)."""
    session.info.pop(_PREFETCHED, None)  # read before this change
    row = session.get(AppSetting, VERSION_KEY)
    if row is None:
        row = AppSetting(key=VERSION_KEY)
    row.value = {"token": uuid.uuid4().hex}
    row.updated_at = clock.now()
    session.add(row)
    session.flush()


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


def rebuild_calendar_days(session: Session, since: date | None = None) -> None:
    """Rewrite ``calendarday`` from ``since`` on (all of it when None).

    An office edit changes one day, so only the rows from that day carry a new
    running count; rewriting from there keeps a holiday edit cheap.
    """
    _bump_version(session)  # the holiday rows changed: no process may keep its old calendar
    cal = load_calendar(session)
    start = max(since or TABLE_START, TABLE_START)
    if start > TABLE_END:
        return
    seq = 0
    if start > TABLE_START:
        seq = session.exec(select(CalendarDay.seq).where(CalendarDay.day == start - timedelta(days=1))).first()
        if seq is None:  # table never built: build it whole
            start, seq = TABLE_START, 0
    session.exec(delete(CalendarDay).where(CalendarDay.day >= start))
    rows = []
    for day, workday in cal.days(start, TABLE_END):
        seq += workday
        rows.append({"day": day, "is_workday": workday, "seq": seq})
    session.execute(sa.insert(CalendarDay), rows)
    session.flush()


def set_holiday(session: Session, actor: Actor, day: date, *, is_workday: bool | None, name: str = "") -> None:
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
    audit.record(
        session,
        actor,
        "holiday_set",
        entity="holiday",
        entity_id=None,
        before=before,
        after=after,
        note=day.isoformat(),
    )
    rebuild_calendar_days(session, since=day)


def confirm_year(session: Session, actor: Actor, year: int) -> None:
    """The office has entered the whole year's arrangement: stop calling it provisional."""
    if session.get(CalendarYear, year) is None:
        session.add(CalendarYear(year=year, origin="office"))
        _bump_version(session)  # the year is no longer provisional, in every process
        audit.record(
            session, actor, "calendar_year_confirmed", entity="calendar_year", entity_id=year, after={"year": year}
        )
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
        session.add(
            TimeLimitPreset(
                code=code, name=name, amount=amount, unit=unit, urgency=urgency, basis=basis, sort_order=order
            )
        )
        added += 1
    session.flush()
    return added


def due_from_preset(session: Session, code: str, start: date) -> tuple[DayResult, TimeLimitPreset]:
    """The due date a preset gives for an item that starts on ``start``."""
    preset = session.exec(select(TimeLimitPreset).where(TimeLimitPreset.code == code)).first()
    if preset is None or not preset.active:
        raise ValidationFailed(f"未找到办理时限预设：{code}", fields={"time_limit_preset": "无此预设"})
    return due_after(load_calendar(session), start, preset.amount, preset.unit), preset


# --- the admin pages: the holiday table and the presets, edited by the office -------

ORIGIN_LABELS = {"package": "内置数据", "office": "督查室录入"}
PRESET_UNIT_LABELS = {"workdays": "个工作日", "days": "个自然日", "hours": "小时"}
_HOLIDAY_WORDS = {"休", "假", "休息", "放假", "节假日", "休假"}
_WORKDAY_WORDS = {"班", "上班", "补班", "工作", "工作日", "调休上班"}
_DATE_RE = re.compile(r"^(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})日?$")
_LINE_RE = re.compile(
    r"^(?P<start>[\d年月日/.\-]+)\s*(?:(?:至|到|~)\s*(?P<end>[\d年月日/.\-]+)\s*)?"
    r"(?P<kind>[^\s\d]+?)(?:\s+(?P<name>.+))?$"
)
MAX_RANGE_DAYS = 31
MAX_BULK_LINES = 200


def _require_office(actor: Actor) -> None:
    if not actor.is_office and actor.role != "admin":
        raise ValidationFailed("只有督查室或管理员可以维护节假日")


def year_exceptions(session: Session, year: int) -> list[Holiday]:
    return list(
        session.exec(
            select(Holiday)
            .where(Holiday.day >= date(year, 1, 1), Holiday.day <= date(year, 12, 31))
            .order_by(Holiday.day)
        )
    )


def known_years(session: Session) -> list[CalendarYear]:
    return list(session.exec(select(CalendarYear).order_by(CalendarYear.year.desc())))


def _in_table(day: date) -> bool:
    return TABLE_START <= day <= TABLE_END


def _parse_date(text: str, default_year: int | None = None) -> date | None:
    m = _DATE_RE.match(text.strip())
    if not m:
        return None
    year = int(m.group(1)) if m.group(1) else default_year
    if year is None:
        return None
    try:
        return date(year, int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def parse_day(text: str, field: str = "day") -> date:
    """A date typed into a form (2027-01-01, 2027/1/1 or 2027年1月1日)."""
    day = _parse_date(unicodedata.normalize("NFKC", text or ""))
    if day is None:
        raise ValidationFailed("日期无效，应为 YYYY-MM-DD", fields={field: "日期无效，应为 YYYY-MM-DD"})
    if not _in_table(day):
        msg = f"日期须在 {TABLE_START.year}–{TABLE_END.year} 年之间"
        raise ValidationFailed(msg, fields={field: msg})
    return day


def parse_holiday_lines(text: str) -> list[tuple[date, bool, str]]:
    """Read a pasted arrangement, one day (or a range with 至/~) per line.

    ``2027-01-01 休 元旦`` is a weekday off, ``2027-02-07 班 春节调休`` a make-up
    workday. A range keeps only the days that change (weekdays of a 休 range,
    weekend days of a 班 range). Every bad line is reported, by line number.
    """
    fields: dict[str, str] = {}
    out: list[tuple[date, bool, str]] = []
    seen: dict[date, int] = {}
    lines = (text or "").splitlines()
    if len(lines) > MAX_BULK_LINES:
        raise ValidationFailed(
            f"一次最多录入 {MAX_BULK_LINES} 行", fields={"lines": f"一次最多录入 {MAX_BULK_LINES} 行"}
        )
    for no, raw in enumerate(lines, start=1):
        line = unicodedata.normalize("NFKC", raw).strip()
        if not line or line.startswith("#"):
            continue
        err = None
        m = _LINE_RE.match(line)
        if not m:
            err = "格式应为“日期 休/班 名称”，如 2027-01-01 休 元旦"
        else:
            start = _parse_date(m.group("start"))
            end = _parse_date(m.group("end"), start.year if start else None) if m.group("end") else start
            kind, name = m.group("kind"), (m.group("name") or "").strip()
            if start is None:
                err = f"日期“{m.group('start')}”无效，应为 YYYY-MM-DD"
            elif end is None:
                err = f"结束日期“{m.group('end')}”无效"
            elif not (_in_table(start) and _in_table(end)):
                err = f"日期须在 {TABLE_START.year}–{TABLE_END.year} 年之间"
            elif end < start:
                err = "结束日期早于开始日期"
            elif (end - start).days >= MAX_RANGE_DAYS:
                err = f"一个日期段不能超过 {MAX_RANGE_DAYS} 天"
            elif kind not in _HOLIDAY_WORDS | _WORKDAY_WORDS:
                err = f"无法识别“{kind}”，应为“休”（放假）或“班”（调休上班）"
            elif len(name) > 40:
                err = "名称不能超过 40 个字"
        if err is None:
            is_workday = kind in _WORKDAY_WORDS
            days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
            if start == end:
                if is_workday == (start.weekday() < 5):
                    usual = "工作日" if is_workday else "休息日"
                    err = f"{start.isoformat()} 是{weekday_name(start)}，本来就是{usual}，无需登记"
            else:
                days = [d for d in days if is_workday != (d.weekday() < 5)]
                if not days:
                    err = "该日期段内没有需要登记的日期"
            for d in days if err is None else ():
                if d in seen:
                    err = f"{d.isoformat()} 与第 {seen[d]} 行重复"
                    break
        if err is not None:
            fields[f"line_{no}"] = f"第 {no} 行“{raw.strip()}”：{err}"
            continue
        for d in days:
            seen[d] = no
            out.append((d, is_workday, name))
    if fields:
        summary = f"有 {len(fields)} 行有误，未录入任何一行，请修改后重新提交"
        raise ValidationFailed(summary, fields={"lines": summary, **fields})
    if not out:
        raise ValidationFailed("请至少填写一行", fields={"lines": "请至少填写一行，如 2027-01-01 休 元旦"})
    return sorted(out)


def enter_holidays(session: Session, actor: Actor, text: str, *, confirm_years: bool = False) -> list[date]:
    """Enter a pasted arrangement all at once: every line is valid or nothing is saved."""
    _require_office(actor)
    entries = parse_holiday_lines(text)
    before, after = {}, {}
    for day, is_workday, name in entries:
        row = session.get(Holiday, day)
        key = day.isoformat()
        if row is None:
            session.add(Holiday(day=day, is_workday=is_workday, name=name, origin="office"))
        else:
            before[key] = {"is_workday": row.is_workday, "name": row.name}
            row.is_workday, row.name, row.origin = is_workday, name, "office"
            session.add(row)
        after[key] = {"is_workday": is_workday, "name": name}
    session.flush()
    years = sorted({d.year for d, _w, _n in entries})
    audit.record(
        session,
        actor,
        "holiday_bulk_set",
        entity="holiday",
        entity_id=None,
        before=before,
        after=after,
        note=f"批量录入 {len(entries)} 天（{'、'.join(map(str, years))}年）",
    )
    if confirm_years:
        for year in years:
            confirm_year(session, actor, year)
    rebuild_calendar_days(session, since=min(d for d, _w, _n in entries))
    return [d for d, _w, _n in entries]


def mark_year_entered(session: Session, actor: Actor, year: int) -> bool:
    """confirm_year for the admin page: refuses a year with nothing entered.

    Returns False when the year was already known."""
    _require_office(actor)
    if not TABLE_START.year <= year <= TABLE_END.year:
        raise ValidationFailed(f"年份须在 {TABLE_START.year}–{TABLE_END.year} 之间", fields={"year": "年份无效"})
    if session.get(CalendarYear, year) is not None:
        return False
    if not year_exceptions(session, year):
        msg = f"{year}年尚未录入任何节假日或调休，不能标记为已录入"
        raise ValidationFailed(msg, fields={"year": msg})
    confirm_year(session, actor, year)
    return True


def _preset_fields(
    name: str, amount, unit: str, urgency: str, basis: str, sort_order
) -> tuple[dict, int | None, int | None]:
    fields: dict = {}
    if not name:
        fields["name"] = "名称不能为空"
    elif len(name) > 80:
        fields["name"] = "名称不能超过 80 个字"
    try:
        amount = int(str(amount).strip())
    except ValueError:
        amount = None
        fields["amount"] = "时限须为正整数"
    else:
        if not 1 <= amount <= 999:
            fields["amount"] = "时限须在 1–999 之间"
    if unit not in PRESET_UNIT_LABELS:
        fields["unit"] = "请选择单位"
    if urgency and urgency not in Urgency.__members__.values():
        fields["urgency"] = "紧急程度无效"
    if len(basis) > 80:
        fields["basis"] = "依据不能超过 80 个字"
    sort_order = to_int(str(sort_order).strip() or "0", signed=True)  # a 32-bit column: at most nine digits
    if sort_order is None:
        fields["sort_order"] = "排序须为不超过九位的整数"
    return fields, amount, sort_order


def create_preset(
    session: Session,
    actor: Actor,
    *,
    code: str = "",
    name: str,
    amount,
    unit: str,
    urgency: str = "",
    basis: str = "",
    active: bool = True,
    sort_order=0,
) -> TimeLimitPreset:
    """A new time limit the office can pick when registering a task."""
    name, basis, code = (name or "").strip(), (basis or "").strip(), (code or "").strip().lower()
    fields, amount, sort_order = _preset_fields(name, amount, unit, urgency, basis, sort_order)
    if code and not re.fullmatch(r"[a-z][a-z0-9_]{1,39}", code):
        fields["code"] = "代码须以字母开头，只含小写字母、数字和下划线（2–40 位）"
    elif code and session.exec(select(TimeLimitPreset).where(TimeLimitPreset.code == code)).first():
        fields["code"] = "该代码已被使用"
    if fields:
        raise ValidationFailed("时限预设有误：" + "；".join(fields.values()), fields=fields)
    if not code:
        n = session.scalar(select(sa.func.count()).select_from(TimeLimitPreset)) + 1
        while session.exec(select(TimeLimitPreset).where(TimeLimitPreset.code == f"custom_{n}")).first():
            n += 1
        code = f"custom_{n}"
    preset = TimeLimitPreset(
        code=code,
        name=name,
        amount=amount,
        unit=unit,
        urgency=urgency,
        basis=basis,
        active=active,
        sort_order=sort_order,
    )
    session.add(preset)
    session.flush()
    audit.record(
        session,
        actor,
        "preset_create",
        entity="time_limit_preset",
        entity_id=preset.id,
        after={
            "code": code,
            "name": name,
            "amount": amount,
            "unit": unit,
            "urgency": urgency,
            "basis": basis,
            "active": active,
        },
    )
    return preset


def update_preset(
    session: Session,
    actor: Actor,
    preset_id: int,
    *,
    name: str,
    amount,
    unit: str,
    urgency: str = "",
    basis: str = "",
    active: bool = True,
    sort_order=0,
) -> TimeLimitPreset:
    """Edit a preset. Tasks keep the due date computed when they were registered."""
    preset = session.get(TimeLimitPreset, preset_id)
    if preset is None:
        raise NotFound("未找到该时限预设")
    name, basis = (name or "").strip(), (basis or "").strip()
    fields, amount, sort_order = _preset_fields(name, amount, unit, urgency, basis, sort_order)
    if fields:
        raise ValidationFailed("时限预设有误：" + "；".join(fields.values()), fields=fields)
    keys = ("name", "amount", "unit", "urgency", "basis", "active", "sort_order")
    before = {k: getattr(preset, k) for k in keys}
    preset.name, preset.amount, preset.unit, preset.urgency = name, amount, unit, urgency
    preset.basis, preset.active, preset.sort_order = basis, active, sort_order
    session.add(preset)
    session.flush()
    audit.record(
        session,
        actor,
        "preset_update",
        entity="time_limit_preset",
        entity_id=preset.id,
        before=before,
        after={k: getattr(preset, k) for k in keys},
        note=preset.code,
    )
    return preset


def enter_holiday(session: Session, actor: Actor, day_text: str, kind: str, name: str = "") -> date:
    """The single-day form: check every field, then set_holiday."""
    fields: dict = {}
    day = None
    try:
        day = parse_day(day_text)
    except ValidationFailed as exc:
        fields.update(exc.fields)
    if kind not in ("holiday", "workday"):
        fields["kind"] = "请选择放假或调休上班"
    name = unicodedata.normalize("NFKC", name or "").strip()
    if len(name) > 40:
        fields["name"] = "名称不能超过 40 个字"
    if fields:
        raise ValidationFailed("节假日信息有误：" + "；".join(fields.values()), fields=fields)
    try:
        set_holiday(session, actor, day, is_workday=kind == "workday", name=name)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, fields={"day": exc.message} if exc.fields else {}) from None
    return day
