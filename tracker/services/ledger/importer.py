"""The business rules of a ledger (台账) import.

An import is two steps in one transaction, as django-import-export does it:
``plan_ledger`` reads every row, resolves departments, leaders, sources and
deadlines, finds duplicates, and returns a report without writing anything;
``ledger.commit.commit_ledger`` then writes all rows or none (it refuses a report
with any error, and any failure while writing propagates so the caller rolls
back). The caller commits once. Cells are read by ``importers.cells`` and names
by ``resolve`` (on ``tracker.rules.names``), as every other import reads them.

Identity of a row: the same source (by title, and by date where the ledger
gives one) and the same title or requirement as an existing task. Such a row is
never imported twice; if its progress text is new, the text is recorded as a
progress report authored by the office (``ledger.commit``), and the
task's status is left alone.

Relative and year-less deadlines are read against the row's source date: a
date column, a date written in the source's name, the date of the source
already registered, else the ledger's own date (“截至2026年11月20日” above the
table), else the ``base_date`` the user gave — never today by accident.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from importers import Limits, Workbook, WorkbookError, read_workbook
from importers.cells import as_text, cell_date, excel_serial, find_date
from importers.layout import DataRow, Table
from importers.mapping import MappingStore
from tracker import clock
from tracker.models import (
    CloseRequest,
    DeadlineKind,
    Department,
    Leader,
    ProgressReport,
    RequestStatus,
    Source,
    SourceKind,
    Task,
    TaskAssist,
    TaskLeader,
    Urgency,
)
from tracker.rules.names import normalise_name
from tracker.services.actors import Actor
from tracker.services.calendar import load_calendar
from tracker.services.intake.deadlines import DeadlineError, DeadlineParse, parse_deadline
from tracker.services.ledger.commit import closing_text, commit_ledger, progress_known, text_key
from tracker.services.ledger.report import ImportReport, Issue, PlacedIssues, SheetResult, chunks, scan_sheets
from tracker.services.organisation.resolve import DepartmentResolver, LeaderResolver

Progress = Callable[[int, int], None]


@dataclass
class Named:
    id: int | None
    name: str


@dataclass
class RowResult(PlacedIssues):
    """One detected task: what it would become, and what stands in its way."""

    sheet: str
    row: int
    category: str = ""
    item_no: str = ""
    source: str = ""
    source_kind: str = ""
    source_date: date | None = None
    source_id: int | None = None  # an existing source
    title: str = ""
    requirement: str = ""
    lead: Named | None = None
    assisting: list[Named] = field(default_factory=list)
    leaders: list[Named] = field(default_factory=list)
    urgency: str = Urgency.NORMAL.value
    deadline_text: str = ""
    deadline_kind: str = ""  # date | recurring | ongoing | immediate ("" when none)
    due_date: date | None = None
    recurrence: str = ""
    feedback_cycle: str = "once"
    provisional: bool = False
    deadline_note: str = ""
    progress: str = ""
    action: str = "create"  # create | update | unchanged | duplicate | error
    task_id: int | None = None
    task_code: str = ""
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    _source_key: Any = None
    _columns: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "action": self.action,
            "task_id": self.task_id,
            "task_code": self.task_code or None,
            "category": self.category or None,
            "item_no": self.item_no or None,
            "source": self.source or None,
            "source_kind": self.source_kind or None,
            "source_date": self.source_date.isoformat() if self.source_date else None,
            "title": self.title,
            "requirement": self.requirement or None,
            "lead": self.lead.name if self.lead else None,
            "lead_id": self.lead.id if self.lead else None,
            "assisting": [d.name for d in self.assisting],
            "leaders": [lead.name for lead in self.leaders],
            "urgency": self.urgency,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "deadline_text": self.deadline_text,
            "deadline_kind": self.deadline_kind or None,
            "recurrence": self.recurrence or None,
            "feedback_cycle": self.feedback_cycle,
            "provisional": self.provisional,
            "deadline_note": self.deadline_note or None,
            "progress": self.progress or None,
            "errors": [e.to_dict() for e in self.errors],
            "warnings": [w.to_dict() for w in self.warnings],
        }


_SOURCE_KINDS: list[tuple[re.Pattern, SourceKind]] = [
    (re.compile(r"常务会"), SourceKind.EXECUTIVE_MEETING),
    (re.compile(r"全体会"), SourceKind.PLENARY_MEETING),
    (re.compile(r"[区县市]?长办公会|政府办公会"), SourceKind.MAYOR_OFFICE_MEETING),
    (re.compile(r"党组(?:扩大)?会"), SourceKind.PARTY_GROUP_MEETING),
    (re.compile(r"调度|推进会"), SourceKind.SCHEDULING_MEETING),
    (re.compile(r"专题会|专题研究|现场办公|协调会|联席会"), SourceKind.TOPIC_MEETING),
    (re.compile(r"人大代表|代表建议|人大建议"), SourceKind.NPC_SUGGESTION),
    (re.compile(r"政协|提案"), SourceKind.CPPCC_PROPOSAL),
    (re.compile(r"批示|指示|交办单"), SourceKind.LEADER_INSTRUCTION),
    (re.compile(r"审计|巡视|巡察|督查发现|整改"), SourceKind.AUDIT_FINDING),
    (re.compile(r"舆情"), SourceKind.PUBLIC_OPINION),
    (re.compile(r"提示函|沟通函|督办函"), SourceKind.LETTER),
    (re.compile(r"重点工作|政府工作报告|年度目标|工作要点|民生实事"), SourceKind.KEY_WORK),
    (re.compile(r"〔\d{4}〕|\[\d{4}\]|\(\d{4}\)|文件|通知|意见|方案|纪要"), SourceKind.DOCUMENT),
]


def guess_source_kind(text: str) -> SourceKind:
    key = normalise_name(text)
    for pattern, kind in _SOURCE_KINDS:
        if pattern.search(key):
            return kind
    return SourceKind.OTHER


_URGENCY_WORDS = {
    Urgency.EXTRA_URGENT: ("特急", "特提", "特急件", "加急特办"),
    Urgency.URGENT: ("急件", "急", "加急", "紧急", "急办"),
    Urgency.NORMAL: ("一般", "平件", "普通", "常规", "一般件", "正常"),
}


def read_urgency(text: str) -> Urgency | None:
    key = normalise_name(text)
    if not key:
        return Urgency.NORMAL
    for urgency, words in _URGENCY_WORDS.items():
        if key in words:
            return urgency
    return None


# Probe bases far apart in different years: a phrase whose reading changes between
# them depends on its base date (15个工作日内, 12月底前, 每月25日前).
_PROBES = (date(2010, 3, 1), date(2013, 9, 2))


def needs_base(text: Any, calendar) -> bool:
    results = []
    for base in _PROBES:
        try:
            p = parse_deadline(text, base=base, calendar=calendar)
            results.append((p.kind, p.due_date, p.recurrence))
        except DeadlineError as exc:
            results.append(("error", "起算" in exc.message))
    if all(r[0] == "error" for r in results):
        return any(r[1] for r in results)
    return results[0] != results[1]


@dataclass
class _NewSource:
    key: tuple
    title: str
    kind: SourceKind
    source_date: date
    reference: str
    leader_id: int | None
    id: int | None = None


class _Context:
    """What one plan reads once: the organisation, the calendar, the sources."""

    def __init__(self, session: Session, base_date: date | None, assign: bool, date1904: bool = False):
        self.session = session
        self.date1904 = date1904
        self.base_date = base_date
        self.assign = assign
        self.departments = DepartmentResolver.load(session)
        self.leaders = LeaderResolver.load(session)
        self.calendar = load_calendar(session)
        self.dept_names = dict(session.exec(select(Department.id, Department.name)).all())
        self.leader_names = dict(session.exec(select(Leader.id, Leader.name)).all())
        self.sources_by_key: dict[str, list[Source]] = {}
        self.new_sources: dict[tuple, _NewSource] = {}
        self._cache: dict[tuple, Any] = {}  # ledgers repeat the same names and phrases

    def resolve_departments(self, text: str, first_is_lead: bool = False):
        key = ("d", text, first_is_lead)
        if key not in self._cache:
            self._cache[key] = self.departments.resolve_list(text, first_is_lead=first_is_lead)
        return self._cache[key]

    def resolve_leaders(self, text: str):
        key = ("l", text)
        if key not in self._cache:
            self._cache[key] = self.leaders.resolve_list(text)
        return self._cache[key]

    def parse(self, value: Any, base: date) -> DeadlineParse:
        key = ("t", type(value).__name__, value, base)
        if key not in self._cache:
            try:
                self._cache[key] = parse_deadline(value, base=base, calendar=self.calendar)
            except DeadlineError as exc:
                self._cache[key] = exc
        result = self._cache[key]
        if isinstance(result, DeadlineError):
            raise result
        return result

    def needs_base(self, value: Any) -> bool:
        key = ("b", type(value).__name__, value)
        if key not in self._cache:
            self._cache[key] = needs_base(value, self.calendar)
        return self._cache[key]

    def load_sources(self, titles: Iterable[str]) -> None:
        wanted = {t for t in titles if t}
        variants = sorted(wanted | {normalise_name(t) for t in wanted})
        for chunk in chunks(variants, 500):
            for src in self.session.exec(select(Source).where(Source.title.in_(chunk))):
                bucket = self.sources_by_key.setdefault(normalise_name(src.title), [])
                if src not in bucket:
                    bucket.append(src)


def load_ledger(
    path: str | Path,
    *,
    filename: str | None = None,
    limits: Limits | None = None,
    progress: Callable[[str], None] | None = None,
) -> Workbook:
    """Read the file (``WorkbookError`` with a Chinese message for a bad one)."""
    return read_workbook(path, filename=filename, limits=limits, progress=progress)


def plan_ledger(
    session: Session,
    workbook: Workbook,
    *,
    base_date: date | None = None,
    sheet: str | None = None,
    assign: bool = False,
    store: MappingStore | None = None,
    overrides: dict[str, dict[int, str | None]] | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """The dry run: every row resolved and checked, nothing written."""
    report = ImportReport(workbook.filename, workbook.kind, workbook.reader, workbook.encoding, base_date)
    scans, issues = scan_sheets(workbook, sheet=sheet, store=store, overrides=overrides)
    report.errors.extend(issues)
    ctx = _Context(session, base_date, assign, workbook.date1904)
    tables: list[Table] = []
    for scan in scans:
        result = SheetResult(scan.sheet, scan.table is not None, scan.reason)
        report.sheets.append(result)
        if scan.table is None:
            continue
        t = scan.table
        tables.append(t)
        result.title, result.ledger_date, result.mapping = t.title, t.ledger_date, t.mapping.to_dict()
        result.rows, result.sections, result.notes, result.skipped = len(t.rows), t.sections, t.notes, t.skipped
        for note in t.mapping.notes:
            result.warnings.append(Issue(note, t.sheet))
        for col in t.mapping.unmapped():
            result.warnings.append(
                Issue(
                    f"未识别的列“{col.header}”，该列内容不会导入（可在导入时指定该列的含义）",
                    t.sheet,
                    t.mapping.header_rows[-1],
                    col.letter,
                )
            )
    if not tables and not report.errors:
        reasons = "；".join(f"{s.name}：{s.reason}" for s in report.sheets) or "文件中没有工作表"
        report.errors.append(Issue(f"未在文件中找到督办台账表格（{reasons}）"))
    report._tables = tables
    total = sum(len(t.rows) for t in tables)
    ctx.load_sources([_row_source_text(t, r) for t in tables for r in t.rows])
    done = 0
    for t, result in zip(tables, [s for s in report.sheets if s.detected]):
        previous: dict = {}
        first = len(report.rows)
        for data in t.rows:
            row = _plan_row(ctx, t, data, previous)
            report.rows.append(row)
            done += 1
            if progress and (done % 1000 == 0 or done == total):
                progress(done, total)
        if "source" not in t.mapping.field_columns():
            sourced = [r for r in report.rows[first:] if r.source]
            if sourced:
                result.warnings.append(Issue(f"没有“任务来源”列，以台账标题“{sourced[0].source}”作为任务来源", t.sheet))
            elif t.title:
                result.warnings.append(
                    Issue(
                        "没有“任务来源”列，台账也未注明日期，事项不关联任务来源"
                        "（可用 --base-date 指定日期，以台账标题登记来源）",
                        t.sheet,
                    )
                )
            else:
                result.warnings.append(Issue("没有“任务来源”列，事项不关联任务来源", t.sheet))
    _find_existing(ctx, report.rows)
    report._new_sources = ctx.new_sources
    for row in report.rows:
        if row.errors:
            row.action = "error"
    return report


def _row_source_text(t: Table, data: DataRow) -> str:
    return data.text("source") if "source" in t.mapping.field_columns() else _AS_OF_SUFFIX.sub("", t.title).strip()


def _plan_row(ctx: _Context, t: Table, data: DataRow, previous: dict) -> RowResult:
    cols = t.mapping.field_columns()
    row = RowResult(data.sheet, data.row, category=data.category, _columns=_letters(t))
    # what must be done
    title, requirement = data.text("title"), data.text("requirement")
    if not title:
        row.error("未填写督办事项", "title")
    if len(title) > 200:
        row.warn("督办事项超过200字，已截取前部作为事项名称，全文保留在工作要求中", "title")
        requirement = title + ("\n" + requirement if requirement else "")
        title = _short_title(title)
    row.title, row.requirement = title, requirement
    row.item_no = data.text("seq")
    if len(row.item_no) > 20:
        row.error(f"序号“{row.item_no[:30]}”过长（不超过20个字符）", "seq")
    row.progress = data.text("progress")

    _plan_source(ctx, t, data, row, cols, previous)
    _plan_departments(ctx, data, row)
    _plan_leaders(ctx, data, row)
    _plan_urgency(data, row)
    _plan_deadline(ctx, t, data, row)
    if ctx.assign and row.lead is None and not any(e.field in ("lead", "units") for e in row.errors):
        row.error("交办前须指定牵头单位", "lead" if "lead" in cols else "units")
    elif row.progress and row.lead is None and not any(e.field in ("lead", "units") for e in row.errors):
        row.error("填写了进展情况，但未指定牵头单位（进展须记在牵头单位名下）", "progress")
    return row


def _letters(t: Table) -> dict[str, str]:
    """Field → column letter of a table (shared by its rows: issues only read it)."""
    cached = getattr(t, "_letters", None)
    if cached is None:
        cached = {name: col.letter for name, col in t.mapping.field_columns().items()}
        t._letters = cached
    return cached


def _short_title(text: str) -> str:
    first = re.split(r"[。；;！!？?\n]", text, maxsplit=1)[0].strip()
    if 0 < len(first) <= 200:
        return first
    return text[:199] + "…"


_AS_OF_SUFFIX = re.compile(r"[（(]\s*(?:截至|截止|更新至|统计至|更新于)[^（()）]*[）)]")


def _plan_source(ctx: _Context, t: Table, data: DataRow, row: RowResult, cols, previous: dict) -> None:
    """The row's source: its own cell, a merged cell above, the previous row's (with a
    warning), or for a ledger without a source column the ledger's own title."""
    has_column = "source" in cols
    text = data.text("source") if has_column else _AS_OF_SUFFIX.sub("", t.title).strip()
    inherited = None
    if has_column and not text and previous.get("text"):
        text, inherited = previous["text"], previous.get("date")
        row.warn(f"未填写任务来源，沿用上一行的“{text}”", "source")
    elif has_column and not text:
        row.warn("未填写任务来源，该事项不关联任务来源", "source")
    if not text:
        return
    if len(text) > 200:
        row.error("任务来源名称过长（不超过200字）", "source")
        return
    reference = data.text("reference")
    if len(reference) > 120:
        row.error("文号过长（不超过120字）", "reference")
        reference = ""
    explicit = None
    if "source_date" in data.values:
        explicit = cell_date(data.values["source_date"], date1904=ctx.date1904)
        if explicit is None:
            row.warn(f"无法识别来源日期“{data.text('source_date')}”", "source_date")
    explicit = explicit or find_date(text) or inherited
    if has_column:
        previous.update(text=text, date=explicit)
    fallback = t.ledger_date or ctx.base_date
    row.source = text
    candidates = ctx.sources_by_key.get(normalise_name(text), [])
    match = None
    if explicit:
        match = next((s for s in candidates if s.source_date == explicit), None)
    elif len(candidates) == 1:
        match = candidates[0]
    elif len(candidates) > 1:
        by_date = [s for s in candidates if fallback and s.source_date == fallback]
        if len(by_date) == 1:
            match = by_date[0]
        else:
            dates = "、".join(sorted(s.source_date.isoformat() for s in candidates))
            row.error(f"系统中有多个名为“{text}”的任务来源（日期：{dates}），请在台账中注明会议或批示日期", "source")
            return
    if match is not None:
        row.source_id, row.source_kind, row.source_date = match.id, match.kind, match.source_date
        row._source_key = ("db", match.id)
        return
    when = explicit or fallback
    kind = guess_source_kind(text)
    row.source_kind = kind.value
    if when is None:
        if has_column:
            row.error(
                f"无法确定任务来源“{text}”的日期：台账中没有会议或批示日期列，标题中也没有“截至…”日期，"
                "请增加日期列或用 --base-date 指定",
                "source",
            )
        else:
            row.source, row.source_kind = "", ""  # the sheet says why, once
        return
    row.source_date = when
    key = (normalise_name(text), when)
    row._source_key = ("new", key)
    if key not in ctx.new_sources:
        leader_id = None
        if kind == SourceKind.LEADER_INSTRUCTION:
            res = ctx.resolve_leaders(data.text("leaders"))
            leader_id = res.ids[0] if res.ids else None
            if leader_id is None:
                kind = SourceKind.OTHER
                row.source_kind = kind.value
                row.warn(f"任务来源“{text}”像领导批示，但未能确定批示领导，按“其他”来源登记", "source")
        ctx.new_sources[key] = _NewSource(key, text, kind, when, reference, leader_id)


def _named_depts(ctx: _Context, ids: Iterable[int]) -> list[Named]:
    return [Named(i, ctx.dept_names.get(i, str(i))) for i in ids]


def _plan_departments(ctx: _Context, data: DataRow, row: RowResult) -> None:
    primary_field = "lead" if data.text("lead") else ("units" if data.text("units") else "")
    assisting: list[int] = []
    lead_id = None
    if primary_field:
        res = ctx.resolve_departments(data.text(primary_field), first_is_lead=True)
        for name in res.unknown:
            row.error(f"未找到单位“{name}”（请先在单位名录中登记该单位或其简称）", primary_field)
        for w in res.warnings:
            row.warn(w, primary_field)
        lead_id = res.lead_id
        if lead_id is None and not res.unknown:
            row.error("未能确定牵头单位" + ("：" + res.warnings[0] if res.warnings else ""), primary_field)
        marked = re.search(r"牵头|主办|负责", data.text(primary_field))
        if primary_field == "lead" and res.assisting_ids and not marked:
            extra = "、".join(ctx.dept_names.get(i, "") for i in res.assisting_ids)
            row.warn(
                f"牵头单位列填写了多个单位，以“{ctx.dept_names.get(lead_id, '')}”为牵头单位，{extra}作为配合单位",
                "lead",
            )
        assisting.extend(res.assisting_ids)
    else:
        row.warn("未填写牵头单位", "lead")
    for name in ("units", "assist"):
        if name == primary_field or not data.text(name):
            continue
        res = ctx.resolve_departments(data.text(name))
        for unknown in res.unknown:
            row.error(f"未找到单位“{unknown}”（请先在单位名录中登记该单位或其简称）", name)
        for w in res.warnings:
            row.warn(w, name)
        assisting.extend(res.ids)
    if lead_id is not None and lead_id in assisting:
        row.warn(f"配合单位中包含牵头单位“{ctx.dept_names.get(lead_id, '')}”，已去除", "assist")
    assisting = [i for i in dict.fromkeys(assisting) if i != lead_id]
    row.lead = Named(lead_id, ctx.dept_names.get(lead_id, "")) if lead_id is not None else None
    row.assisting = _named_depts(ctx, assisting)


def _plan_leaders(ctx: _Context, data: DataRow, row: RowResult) -> None:
    text = data.text("leaders")
    if not text:
        return
    res = ctx.resolve_leaders(text)
    for name in res.unknown:
        row.error(f"未找到领导“{name}”（请先在领导名单中登记）", "leaders")
    for w in res.warnings:
        row.warn(w, "leaders")
    row.leaders = [Named(i, ctx.leader_names.get(i, str(i))) for i in res.ids]


def _plan_urgency(data: DataRow, row: RowResult) -> None:
    text = data.text("urgency")
    urgency = read_urgency(text)
    if urgency is None:
        row.warn(f"无法识别紧急程度“{text}”，按“一般”处理（可填：特急、急件、一般）", "urgency")
        urgency = Urgency.NORMAL
    row.urgency = urgency.value


def _plan_deadline(ctx: _Context, t: Table, data: DataRow, row: RowResult) -> None:
    value = data.values.get("deadline")
    worded = data.values.get("deadline_text")
    words = as_text(worded).strip() if worded is not None else ""
    if words:  # 时限要求 beside 完成时限: the words say what the deadline is, a date beside them when
        _plan_worded_deadline(ctx, t, row, words, cell_date(value, date1904=ctx.date1904))
        return
    if value is None:
        if ctx.assign:
            row.error("交办前须填写完成时限", "deadline")
        else:
            row.warn("未填写完成时限", "deadline")
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        as_date = excel_serial(value, date1904=ctx.date1904)
        if as_date is None:
            row.error(f"无法识别的完成时限：“{as_text(value)}”", "deadline")
            return
        row.warn(f"完成时限“{as_text(value)}”按 Excel 日期序号读作 {as_date.isoformat()}", "deadline")
        value = as_date
    raw = as_text(value) if not isinstance(value, str) else value
    row.deadline_text = raw
    if len(raw) > 120:
        row.error("完成时限文字过长（不超过120字），请只填时限，其余写入工作要求", "deadline")
        return
    base = row.source_date or t.ledger_date or ctx.base_date
    if base is None:
        if ctx.needs_base(value):
            row.error(
                f"完成时限“{raw}”需要起算日期（会议或批示日期）：台账中没有日期列，标题中也没有“截至…”日期，"
                "请用 --base-date 指定",
                "deadline",
            )
            return
        base = _PROBES[0]
    try:
        parsed: DeadlineParse = ctx.parse(value, base)
    except DeadlineError as exc:
        row.error(exc.message, "deadline")
        return
    _take_deadline(ctx, row, parsed)


def _plan_worded_deadline(ctx: _Context, t: Table, row: RowResult, words: str, given: date | None) -> None:
    """时限要求 (the words) with or without a 完成时限 date: the words give the kind (a date,
    长期坚持, 每月25日前报送) and the date column, when filled, the due date (after an extension
    it differs from what the words count to); words that cannot be read beside a date are kept
    as the task's wording."""
    row.deadline_text = words
    if len(words) > 120:
        row.error("时限要求文字过长（不超过120字），请只填时限，其余写入工作要求", "deadline")
        return
    base = row.source_date or t.ledger_date or ctx.base_date
    try:
        if base is None and ctx.needs_base(words):
            raise DeadlineError(
                f"时限要求“{words}”需要起算日期（会议或批示日期），请填写来源日期或用 --base-date 指定", words
            )
        parsed: DeadlineParse = ctx.parse(words, base or _PROBES[0])
    except DeadlineError as exc:
        if given is None:
            row.error(exc.message, "deadline")
            return
        parsed = ctx.parse(given, given)
        row.warn(f"时限要求“{words}”无法推算日期，按完成时限 {given.isoformat()}", "deadline")
    if given is not None and parsed.kind in ("date", "immediate") and parsed.due_date != given:
        parsed = ctx.parse(given, given)
    _take_deadline(ctx, row, parsed)


def _take_deadline(ctx: _Context, row: RowResult, parsed: DeadlineParse) -> None:
    row.deadline_kind = parsed.kind
    row.due_date = parsed.due_date
    row.recurrence = parsed.recurrence
    row.feedback_cycle = parsed.feedback_cycle
    row.provisional = parsed.provisional
    row.deadline_note = parsed.note
    if parsed.provisional:
        row.warn(f"完成时限为暂定结果：{parsed.note}", "deadline")
    elif "顺延" in parsed.note:
        row.warn(parsed.note, "deadline")
    if parsed.kind in ("date", "immediate") and parsed.due_date and parsed.due_date < clock.today():
        message = f"完成时限 {parsed.due_date.isoformat()} 早于今天"
        if ctx.assign:
            row.error(message + "，不能交办", "deadline")
        else:
            row.warn(message, "deadline")


def _find_existing(ctx: _Context, rows: list[RowResult]) -> None:
    """Mark rows that repeat an existing task or an earlier row of the file."""
    session = ctx.session
    source_ids = sorted({r.source_id for r in rows if r.source_id is not None})
    sourceless_titles = sorted({r.title for r in rows if r._source_key is None and r.title})
    existing: dict[tuple, Task] = {}

    def index(task: Task) -> None:
        skey = ("db", task.source_id) if task.source_id is not None else None
        existing.setdefault((skey, text_key(task.title)), task)
        if task.requirement:
            existing.setdefault((skey, "r:" + text_key(task.requirement)), task)

    for chunk in chunks(source_ids, 500):
        for task in session.exec(select(Task).where(Task.source_id.in_(chunk)).order_by(Task.id)):
            index(task)
    for chunk in chunks(sourceless_titles, 500):
        for task in session.exec(select(Task).where(Task.source_id.is_(None), Task.title.in_(chunk)).order_by(Task.id)):
            index(task)

    seen: dict[tuple, RowResult] = {}
    matched: dict[int, list[RowResult]] = {}
    for row in rows:
        if not row.title:
            continue
        keys = [(row._source_key, text_key(row.title))]
        if row.requirement:
            keys.append((row._source_key, "r:" + text_key(row.requirement)))
        earlier = next((seen[k] for k in keys if k in seen), None)
        if earlier is not None:
            row.action = "duplicate"
            row.warnings.append(
                Issue(f"与第{earlier.row}行（工作表“{earlier.sheet}”）是同一事项，不重复导入", row.sheet, row.row)
            )
            continue
        for k in keys:
            seen[k] = row
        task = next((existing[k] for k in keys if k in existing), None)
        if task is not None:
            row.task_id, row.task_code = task.id, task.code
            row.action = "unchanged"
            matched.setdefault(task.id, []).append(row)
    if not matched:
        return
    ids = sorted(matched)
    assist: dict[int, set[int]] = {i: set() for i in ids}
    leads: dict[int, set[int]] = {i: set() for i in ids}
    texts: dict[int, list[str]] = {i: [] for i in ids}
    for chunk in chunks(ids, 500):
        for tid, dep in session.execute(
            select(TaskAssist.task_id, TaskAssist.department_id).where(TaskAssist.task_id.in_(chunk))
        ):
            assist[tid].add(dep)
        for tid, lid in session.execute(
            select(TaskLeader.task_id, TaskLeader.leader_id).where(TaskLeader.task_id.in_(chunk))
        ):
            leads[tid].add(lid)
        for tid, text in session.execute(
            select(ProgressReport.task_id, ProgressReport.text)
            .where(ProgressReport.task_id.in_(chunk))
            .order_by(ProgressReport.created_at, ProgressReport.id)
        ):
            texts[tid].append(text)
        for tid, summary in session.execute(
            select(CloseRequest.task_id, CloseRequest.summary).where(
                CloseRequest.task_id.in_(chunk), CloseRequest.status == RequestStatus.APPROVED.value
            )
        ):
            texts[tid].append(closing_text(summary))  # the ledger's 最新进展 of a closed task
    tasks_by_id = {t.id: t for t in existing.values()}
    for tid, rows_ in matched.items():
        task = tasks_by_id[tid]
        for row in rows_:
            row.warnings.append(Issue(f"与已登记的事项 {task.code} 相同，不重复导入", row.sheet, row.row))
            _compare(ctx, row, task, assist[tid], leads[tid])
            if row.progress and not progress_known(texts[tid], row.progress):
                row.action = "update"


def _compare(ctx: _Context, row: RowResult, task: Task, assist: set[int], leaders: set[int]) -> None:
    """Differences between the ledger and the registered task are shown, never applied:
    changing a task that went out is a workflow step (变更、延期), not an import."""

    def names(ids, table):
        return "、".join(sorted(table.get(i, str(i)) for i in ids)) or "无"

    diffs = []
    if row.lead is not None and row.lead.id != task.lead_department_id:
        diffs.append(f"牵头单位（系统：{ctx.dept_names.get(task.lead_department_id, '无')}；台账：{row.lead.name}）")
    if row.assisting and {d.id for d in row.assisting} != assist:
        diffs.append(
            f"配合单位（系统：{names(assist, ctx.dept_names)}；台账：{names({d.id for d in row.assisting}, ctx.dept_names)}）"
        )
    if row.leaders and {lead.id for lead in row.leaders} != leaders:
        diffs.append(
            f"责任领导（系统：{names(leaders, ctx.leader_names)}；台账：{names({x.id for x in row.leaders}, ctx.leader_names)}）"
        )
    if row.deadline_kind:
        kind = DeadlineKind.DATE.value if row.deadline_kind == "immediate" else row.deadline_kind
        if (
            kind != task.deadline_kind
            or (kind == DeadlineKind.DATE.value and row.due_date != task.due_date)
            or (kind == DeadlineKind.RECURRING.value and row.recurrence != task.recurrence)
        ):
            shown = task.due_date.isoformat() if task.due_date else (task.deadline_text or task.deadline_kind)
            diffs.append(f"完成时限（系统：{shown}；台账：{row.deadline_text}）")
    if row.requirement and task.requirement and text_key(row.requirement) != text_key(task.requirement):
        diffs.append("工作要求")
    if diffs:
        row.warnings.append(
            Issue(
                "台账与系统中的事项不一致，导入不会修改已登记的事项："
                + "；".join(diffs)
                + "（如需调整请走变更或延期流程）",
                row.sheet,
                row.row,
            )
        )


def import_ledger(
    session: Session,
    actor: Actor,
    path: str | Path,
    *,
    filename: str | None = None,
    dry_run: bool = True,
    base_date: date | None = None,
    sheet: str | None = None,
    assign: bool = False,
    limits: Limits | None = None,
    store: MappingStore | None = None,
    overrides: dict[str, dict[int, str | None]] | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Read, plan and (unless ``dry_run`` or any row has an error) write; the caller commits.

    A file that cannot be read comes back as a report with a file-level error,
    never as an exception.
    """
    try:
        workbook = load_ledger(path, filename=filename, limits=limits)
    except WorkbookError as exc:
        report = ImportReport(filename or Path(path).name, base_date=base_date)
        report.errors.append(Issue(exc.message))
        return report
    report = plan_ledger(
        session,
        workbook,
        base_date=base_date,
        sheet=sheet,
        assign=assign,
        store=store,
        overrides=overrides,
        progress=progress,
    )
    if not dry_run and report.ok:
        commit_ledger(session, actor, report, assign=assign)
    return report
