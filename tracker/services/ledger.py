"""The business rules of a ledger (台账) import and export.

An import is two steps in one transaction, as django-import-export does it:
``plan_ledger`` reads every row, resolves departments, leaders, sources and
deadlines, finds duplicates, and returns a report without writing anything;
``commit_ledger`` then writes all rows or none (it refuses a report with any
error, and any failure while writing propagates so the caller rolls back).
The caller commits once.

Identity of a row: the same source (by title, and by date where the ledger
gives one) and the same title or requirement as an existing task. Such a row is
never imported twice; if its progress text is new, the text is recorded as a
progress report authored by the office (``record_imported_progress``), and the
task's status is left alone.

Relative and year-less deadlines are read against the row's source date: a
date column, a date written in the source's name, the date of the source
already registered, else the ledger's own date (“截至2026年11月20日” above the
table), else the ``base_date`` the user gave — never today by accident.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError as PydanticValidationError
from sqlmodel import Session, select

from importers import Limits, Workbook, WorkbookError, read_workbook
from importers.cells import as_text
from importers.layout import DataRow, SheetScan, Table, detect
from importers.mapping import DEPARTMENT_FIELDS, FIELD_LABELS, LEDGER_FIELDS, MappingStore
from tracker import clock
from tracker.db import is_postgres
from tracker.errors import NotPermitted, ValidationFailed
from tracker.models import (
    DEPARTMENT_KIND_LABELS,
    URGENCY_LABELS,
    DeadlineKind,
    Department,
    DepartmentAlias,
    DepartmentKind,
    Leader,
    LeaderDepartment,
    ProgressReport,
    Role,
    Source,
    SourceKind,
    Task,
    TaskAssist,
    TaskLeader,
    Urgency,
)
from tracker.services import audit, organisation, tasks
from tracker.services.actors import Actor
from tracker.services.calendar import load_calendar
from tracker.services.deadlines import DeadlineError, DeadlineParse, parse_deadline
from tracker.services.organisation import normalise_name
from tracker.services.resolve import DepartmentResolver, LeaderResolver
from tracker.shared_sql import shared
from tracker.sql import id_in

Progress = Callable[[int, int], None]

# --- the report ------------------------------------------------------------------------


@dataclass
class Issue:
    """An error or warning, placed at a sheet, row and column as the user sees them."""

    message: str
    sheet: str = ""
    row: int | None = None
    column: str = ""
    field: str = ""

    def where(self) -> str:
        parts = []
        if self.sheet:
            parts.append(f"工作表“{self.sheet}”")
        if self.row:
            parts.append(f"第{self.row}行")
        if self.column:
            parts.append(f"{self.column}列")
        if self.field and not self.column:
            parts.append(f"（{FIELD_LABELS.get(self.field, self.field)}）")
        return "".join(parts)

    def to_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column or None,
                "field": self.field or None, "message": self.message}


@dataclass
class Named:
    id: int | None
    name: str


@dataclass
class RowResult:
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

    def error(self, message: str, name: str = "") -> None:
        self.errors.append(Issue(message, self.sheet, self.row, self._columns.get(name, ""), name))

    def warn(self, message: str, name: str = "") -> None:
        self.warnings.append(Issue(message, self.sheet, self.row, self._columns.get(name, ""), name))

    def to_dict(self) -> dict:
        return {
            "sheet": self.sheet, "row": self.row, "action": self.action,
            "task_id": self.task_id, "task_code": self.task_code or None,
            "category": self.category or None, "item_no": self.item_no or None,
            "source": self.source or None,
            "source_kind": self.source_kind or None,
            "source_date": self.source_date.isoformat() if self.source_date else None,
            "title": self.title, "requirement": self.requirement or None,
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


@dataclass
class SheetResult:
    name: str
    detected: bool
    reason: str = ""
    title: str = ""
    ledger_date: date | None = None
    mapping: dict | None = None
    rows: int = 0
    sections: list[tuple[int, str]] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "name": self.name, "detected": self.detected, "reason": self.reason or None,
            "title": self.title or None,
            "ledger_date": self.ledger_date.isoformat() if self.ledger_date else None,
            "mapping": self.mapping, "rows": self.rows,
            "sections": [{"row": r, "text": t} for r, t in self.sections],
            "notes": [{"row": r, "text": t} for r, t in self.notes],
            "skipped": [{"row": r, "reason": t} for r, t in self.skipped],
            "warnings": [w.to_dict() for w in self.warnings],
        }


@dataclass
class ImportReport:
    """The dry-run report; after ``commit_*`` it also says what was written."""

    filename: str
    kind: str = ""
    reader: str = ""
    encoding: str = ""
    base_date: date | None = None
    sheets: list[SheetResult] = field(default_factory=list)
    rows: list[Any] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)  # file-level
    committed: bool = False
    what: str = "ledger"  # ledger | departments
    _new_sources: dict = field(default_factory=dict)
    _tables: list = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return len(self.errors) + sum(len(r.errors) for r in self.rows)

    @property
    def warning_count(self) -> int:
        return sum(len(r.warnings) for r in self.rows) + sum(len(s.warnings) for s in self.sheets)

    @property
    def ok(self) -> bool:
        return self.error_count == 0 and bool(self.rows)

    def counts(self) -> dict[str, int]:
        out = {"rows": len(self.rows), "create": 0, "update": 0, "unchanged": 0, "duplicate": 0, "error": 0}
        for r in self.rows:
            out[r.action] = out.get(r.action, 0) + 1
        out["errors"] = self.error_count
        out["warnings"] = self.warning_count
        return out

    def to_dict(self) -> dict:
        return {
            "file": self.filename, "kind": self.kind, "reader": self.reader,
            "encoding": self.encoding or None, "what": self.what,
            "base_date": self.base_date.isoformat() if self.base_date else None,
            "ok": self.ok, "committed": self.committed, "counts": self.counts(),
            "errors": [e.to_dict() for e in self.errors],
            "sheets": [s.to_dict() for s in self.sheets],
            "rows": [r.to_dict() for r in self.rows],
        }


# --- small readers -----------------------------------------------------------------------

_DATE_IN_TEXT = re.compile(r"(?P<y>(?:19|20)\d{2})\s*[年.\-/]\s*(?P<m>\d{1,2})\s*[月.\-/]\s*(?P<d>\d{1,2})\s*日?")
_TRAILING = re.compile(r"[\s。．.；;，,、]+$")
EXCEL_SERIAL_RANGE = (25569, 73051)  # 1970-01-01 .. 2099-12-31


def text_key(text: str) -> str:
    """How titles and requirements are compared: NFKC, no spaces, no closing punctuation."""
    return _TRAILING.sub("", normalise_name(text))


def find_date(text: str) -> date | None:
    for m in _DATE_IN_TEXT.finditer(unicodedata.normalize("NFKC", text or "")):
        try:
            return date(int(m["y"]), int(m["m"]), int(m["d"]))
        except ValueError:
            continue
    return None


def excel_serial(value: float) -> date | None:
    if isinstance(value, bool) or not EXCEL_SERIAL_RANGE[0] <= value <= EXCEL_SERIAL_RANGE[1]:
        return None
    from openpyxl.utils.datetime import from_excel

    result = from_excel(value)
    return result.date() if isinstance(result, datetime) else result


def cell_date(value: Any) -> date | None:
    """A date from a date cell, an Excel serial, or text such as 2026年11月5日 / 2026-11-05."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)):
        return excel_serial(value)
    if isinstance(value, str):
        return find_date(value)
    return None


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


# --- the import plan ----------------------------------------------------------------------


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

    def __init__(self, session: Session, base_date: date | None, assign: bool):
        self.session = session
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
        for chunk in _chunks(variants, 500):
            for src in self.session.exec(select(Source).where(Source.title.in_(chunk))):
                bucket = self.sources_by_key.setdefault(normalise_name(src.title), [])
                if src not in bucket:
                    bucket.append(src)


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def load_ledger(path: str | Path, *, filename: str | None = None, limits: Limits | None = None,
                progress: Callable[[str], None] | None = None) -> Workbook:
    """Read the file (``WorkbookError`` with a Chinese message for a bad one)."""
    return read_workbook(path, filename=filename, limits=limits, progress=progress)


def scan_sheets(workbook: Workbook, *, sheet: str | None = None, fields=LEDGER_FIELDS,
                required=frozenset({"title"}), store: MappingStore | None = None,
                overrides: dict[str, dict[int, str | None]] | None = None) -> tuple[list[SheetScan], list[Issue]]:
    """Detect the table of every sheet (or of the one named)."""
    issues: list[Issue] = []
    sheets = workbook.sheets
    if sheet is not None:
        sheets = [s for s in sheets if s.name == sheet or normalise_name(s.name) == normalise_name(sheet)]
        if not sheets:
            names = "、".join(s.name for s in workbook.sheets)
            issues.append(Issue(f"未找到工作表“{sheet}”（文件中的工作表：{names}）", sheet))
            return [], issues
    scans = []
    for s in sheets:
        chosen = (overrides or {}).get(s.name) or (overrides or {}).get("*")
        scans.append(detect(s, fields, set(required), store=store, overrides=chosen))
    return scans, issues


def plan_ledger(session: Session, workbook: Workbook, *, base_date: date | None = None,
                sheet: str | None = None, assign: bool = False, store: MappingStore | None = None,
                overrides: dict[str, dict[int, str | None]] | None = None,
                progress: Progress | None = None) -> ImportReport:
    """The dry run: every row resolved and checked, nothing written."""
    report = ImportReport(workbook.filename, workbook.kind, workbook.reader, workbook.encoding, base_date)
    scans, issues = scan_sheets(workbook, sheet=sheet, store=store, overrides=overrides)
    report.errors.extend(issues)
    ctx = _Context(session, base_date, assign)
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
            result.warnings.append(Issue(f"未识别的列“{col.header}”，该列内容不会导入（可在导入时指定该列的含义）",
                                         t.sheet, t.mapping.header_rows[-1], col.letter))
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
                result.warnings.append(Issue("没有“任务来源”列，台账也未注明日期，事项不关联任务来源"
                                             "（可用 --base-date 指定日期，以台账标题登记来源）", t.sheet))
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
        explicit = cell_date(data.values["source_date"])
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
            row.error(f"无法确定任务来源“{text}”的日期：台账中没有会议或批示日期列，标题中也没有“截至…”日期，"
                      "请增加日期列或用 --base-date 指定", "source")
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
            row.warn(f"牵头单位列填写了多个单位，以“{ctx.dept_names.get(lead_id, '')}”为牵头单位，"
                     f"{extra}作为配合单位", "lead")
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
    if value is None:
        if ctx.assign:
            row.error("交办前须填写完成时限", "deadline")
        else:
            row.warn("未填写完成时限", "deadline")
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        as_date = excel_serial(value)
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
            row.error(f"完成时限“{raw}”需要起算日期（会议或批示日期）：台账中没有日期列，标题中也没有“截至…”日期，"
                      "请用 --base-date 指定", "deadline")
            return
        base = _PROBES[0]
    try:
        parsed: DeadlineParse = ctx.parse(value, base)
    except DeadlineError as exc:
        row.error(exc.message, "deadline")
        return
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

    for chunk in _chunks(source_ids, 500):
        for task in session.exec(select(Task).where(Task.source_id.in_(chunk)).order_by(Task.id)):
            index(task)
    for chunk in _chunks(sourceless_titles, 500):
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
            row.warnings.append(Issue(f"与第{earlier.row}行（工作表“{earlier.sheet}”）是同一事项，不重复导入",
                                      row.sheet, row.row))
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
    for chunk in _chunks(ids, 500):
        for tid, dep in session.execute(select(TaskAssist.task_id, TaskAssist.department_id)
                                        .where(TaskAssist.task_id.in_(chunk))):
            assist[tid].add(dep)
        for tid, lid in session.execute(select(TaskLeader.task_id, TaskLeader.leader_id)
                                        .where(TaskLeader.task_id.in_(chunk))):
            leads[tid].add(lid)
        for tid, text in session.execute(select(ProgressReport.task_id, ProgressReport.text)
                                         .where(ProgressReport.task_id.in_(chunk))
                                         .order_by(ProgressReport.created_at, ProgressReport.id)):
            texts[tid].append(text)
    tasks_by_id = {t.id: t for t in existing.values()}
    for tid, rows_ in matched.items():
        task = tasks_by_id[tid]
        for row in rows_:
            row.warnings.append(Issue(f"与已登记的事项 {task.code} 相同，不重复导入", row.sheet, row.row))
            _compare(ctx, row, task, assist[tid], leads[tid])
            if row.progress and not progress_known(texts[tid], row.progress):
                row.action = "update"


def progress_known(existing_texts: list[str], text: str) -> bool:
    """Is this progress text already on record? (the latest report, or any earlier one)"""
    key = text_key(text)
    return any(text_key(t) == key for t in existing_texts)


def _compare(ctx: _Context, row: RowResult, task: Task, assist: set[int], leaders: set[int]) -> None:
    """Differences between the ledger and the registered task are shown, never applied:
    changing a task that went out is a workflow step (变更、延期), not an import."""
    def names(ids, table):
        return "、".join(sorted(table.get(i, str(i)) for i in ids)) or "无"

    diffs = []
    if row.lead is not None and row.lead.id != task.lead_department_id:
        diffs.append(f"牵头单位（系统：{ctx.dept_names.get(task.lead_department_id, '无')}；台账：{row.lead.name}）")
    if row.assisting and {d.id for d in row.assisting} != assist:
        diffs.append(f"配合单位（系统：{names(assist, ctx.dept_names)}；台账：{names({d.id for d in row.assisting}, ctx.dept_names)}）")
    if row.leaders and {lead.id for lead in row.leaders} != leaders:
        diffs.append(f"责任领导（系统：{names(leaders, ctx.leader_names)}；台账：{names({x.id for x in row.leaders}, ctx.leader_names)}）")
    if row.deadline_kind:
        kind = DeadlineKind.DATE.value if row.deadline_kind == "immediate" else row.deadline_kind
        if kind != task.deadline_kind or (kind == DeadlineKind.DATE.value and row.due_date != task.due_date) \
                or (kind == DeadlineKind.RECURRING.value and row.recurrence != task.recurrence):
            shown = task.due_date.isoformat() if task.due_date else (task.deadline_text or task.deadline_kind)
            diffs.append(f"完成时限（系统：{shown}；台账：{row.deadline_text}）")
    if row.requirement and task.requirement and text_key(row.requirement) != text_key(task.requirement):
        diffs.append("工作要求")
    if diffs:
        row.warnings.append(Issue("台账与系统中的事项不一致，导入不会修改已登记的事项：" + "；".join(diffs)
                                  + "（如需调整请走变更或延期流程）", row.sheet, row.row))


# --- writing --------------------------------------------------------------------------------


def record_imported_progress(session: Session, actor: Actor, task_id: int, text: str, *,
                             note: str = "台账导入") -> ProgressReport | None:
    """Record a ledger's progress text as a report by the office, in the lead's name.

    Unlike ``tasks.report_progress`` this is not a department's step: the task's
    status does not move. Returns None (and writes nothing) when the text is
    already on record, so re-importing the same ledger changes nothing.
    """
    if not actor.is_office:
        raise NotPermitted("只有督查室可以导入进展情况")
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("进展情况不能为空", fields={"text": "请填写进展情况"})
    task = tasks.get_task(session, task_id)
    if task.lead_department_id is None:
        raise ValidationFailed(f"事项 {task.code} 未指定牵头单位，不能记录进展", fields={"text": "未指定牵头单位"})
    known = list(session.exec(select(ProgressReport.text).where(ProgressReport.task_id == task.id)
                              .order_by(ProgressReport.created_at, ProgressReport.id)))
    if progress_known(known, text):
        return None
    report = ProgressReport(task_id=task.id, department_id=task.lead_department_id, author_id=actor.user_id,
                            text=text)
    session.add(report)
    session.flush()
    audit.record(session, actor, "import_progress", entity="progress_report", entity_id=report.id,
                 task_id=task.id, after={"text": text, "department_id": task.lead_department_id}, note=note)
    return report


def commit_ledger(session: Session, actor: Actor, report: ImportReport, *, assign: bool = False,
                  progress: Progress | None = None) -> ImportReport:
    """Write every row of a clean report, in the caller's transaction (all or none).

    Sources go through ``sources.create_source``, tasks through
    ``tasks.create_drafts`` (the same path as a draft made on the form, in bulk),
    each with its ledger section as ``Task.category``. ``--assign`` then takes
    each task through ``tasks.assign``.
    """
    if not actor.is_office:
        raise NotPermitted("只有督查室可以导入督办台账")
    if not report.ok:
        raise ValidationFailed(f"台账有 {report.error_count} 处错误，未导入任何事项" if report.error_count
                               else "台账中没有可导入的事项")
    counts = report.counts()
    if not counts["create"] and not counts["update"]:
        return report  # nothing new: re-importing the same ledger writes nothing, not even a log line
    from tracker.services import sources as source_service

    for spec in report._new_sources.values():
        src = source_service.create_source(session, actor, {
            "kind": spec.kind.value, "title": spec.title, "reference": spec.reference,
            "source_date": spec.source_date, "leader_id": spec.leader_id,
            "body": spec.title if spec.kind == SourceKind.LEADER_INSTRUCTION else "",
        })
        spec.id = src.id
    creates = [r for r in report.rows if r.action == "create"]
    inputs = []
    for row in creates:
        if row._source_key and row._source_key[0] == "new":
            row.source_id = report._new_sources[row._source_key[1]].id
        kind = DeadlineKind.DATE if row.deadline_kind in ("", "date", "immediate") else DeadlineKind(row.deadline_kind)
        try:
            inputs.append(tasks.TaskInput(
                title=row.title, requirement=row.requirement, source_id=row.source_id, item_no=row.item_no,
                lead_department_id=row.lead.id if row.lead else None,
                assisting_department_ids=[d.id for d in row.assisting],
                leader_ids=[lead.id for lead in row.leaders], urgency=Urgency(row.urgency),
                deadline_kind=kind, due_date=row.due_date, deadline_text=row.deadline_text,
                recurrence=row.recurrence, feedback_cycle=row.feedback_cycle, category=row.category[:120],
            ))
        except PydanticValidationError as exc:  # the plan checks these; a gap there must not crash
            where = Issue("", row.sheet, row.row).where()
            raise ValidationFailed(f"{where}：事项信息有误（{exc.errors()[0]['msg']}），未导入任何事项") from exc
    created = tasks.create_drafts(session, actor, inputs)
    categories: dict[str, list[str]] = {}
    for row, (task_id, code) in zip(creates, created):
        row.task_id, row.task_code = task_id, code
        if row.category:
            categories.setdefault(row.category, []).append(code)
    if assign:
        for done, row in enumerate(creates, start=1):
            tasks.assign(session, actor, row.task_id)
            if progress and done % 1000 == 0:
                progress(done, len(creates))
    _record_progress_bulk(session, actor, [(r.task_id, r.lead.id, r.progress) for r in report.rows
                                           if r.action in ("create", "update") and r.progress])
    audit.record(session, actor, "ledger_import", entity="ledger_import", entity_id=None,
                 after={"file": report.filename, "created": counts["create"], "progress": counts["update"],
                        "unchanged": counts["unchanged"], "duplicate": counts["duplicate"],
                        "sources": len(report._new_sources), "assigned": assign,
                        "categories": categories},
                 note=report.filename)
    session.flush()
    if progress:
        progress(len(report.rows), len(report.rows))
    report.committed = True
    return report


def _created(values: dict) -> tuple[dict | None, dict | None]:
    """What ``audit.record(before={}, after=values)`` stores, without its generality:
    the keys that are set, dates as ISO text, each "before" None."""
    after = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in sorted(values.items()) if v is not None}
    return ({k: None for k in after} or None), (after or None)


def _record_progress_bulk(session: Session, actor: Actor, items: list[tuple[int, int, str]]) -> int:
    """``record_imported_progress`` for many tasks at once (same rule, same events)."""
    from tracker.models import AuditEvent

    if not items:
        return 0
    known: dict[int, list[str]] = {}
    for part in _chunks(sorted({tid for tid, _, _ in items}), 500):
        for tid, text in session.execute(select(ProgressReport.task_id, ProgressReport.text)
                                         .where(ProgressReport.task_id.in_(part))):
            known.setdefault(tid, []).append(text)
    now = clock.now()
    rows, seen = [], set()
    items = list({tid: (tid, dep, text) for tid, dep, text in items}.values())  # one report per task
    for tid, dep, text in items:
        text = text.strip()
        if not text or (tid, text_key(text)) in seen or progress_known(known.get(tid, []), text):
            continue
        seen.add((tid, text_key(text)))
        rows.append({"task_id": tid, "department_id": dep, "author_id": actor.user_id, "created_at": now,
                     "text": text, "problems": "", "next_steps": "", "needs_coordination": False})
    for part in _chunks(rows, 2000):
        session.execute(ProgressReport.__table__.insert(), part)
    # one new report per task in this import: find each by its task and the insert's timestamp
    new_ids: dict[int, int] = {}
    for part in _chunks([r["task_id"] for r in rows], 900):
        new_ids.update(session.execute(
            select(ProgressReport.task_id, sa.func.max(ProgressReport.id))
            .where(ProgressReport.task_id.in_(part), ProgressReport.created_at == now)
            .group_by(ProgressReport.task_id)).all())
    events = []
    for row in rows:
        before, after = _created({"text": row["text"], "department_id": row["department_id"]})
        events.append({"at": now, "actor_id": actor.user_id, "actor_name": actor.name, "entity": "progress_report",
                       "entity_id": new_ids[row["task_id"]], "task_id": row["task_id"], "action": "import_progress",
                       "before": before, "after": after, "note": "台账导入"})
    for part in _chunks(events, 5000):
        session.execute(AuditEvent.__table__.insert(), part)
    return len(rows)


def import_ledger(session: Session, actor: Actor, path: str | Path, *, filename: str | None = None,
                  dry_run: bool = True, base_date: date | None = None, sheet: str | None = None,
                  assign: bool = False, limits: Limits | None = None, store: MappingStore | None = None,
                  overrides: dict[str, dict[int, str | None]] | None = None,
                  progress: Progress | None = None) -> ImportReport:
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
    report = plan_ledger(session, workbook, base_date=base_date, sheet=sheet, assign=assign, store=store,
                         overrides=overrides, progress=progress)
    if not dry_run and report.ok:
        commit_ledger(session, actor, report, assign=assign)
    return report


# --- department lists -------------------------------------------------------------------------

_KIND_WORDS = {
    DepartmentKind.COMPONENT: ("政府组成部门", "组成部门", "区政府组成部门", "县政府组成部门", "工作部门", "政府工作部门", "部门"),
    DepartmentKind.STREET: ("街道", "街道办事处", "街道办"),
    DepartmentKind.TOWN: ("乡镇", "镇", "乡", "乡镇人民政府", "镇人民政府"),
    DepartmentKind.INSTITUTION: ("事业单位", "直属机构", "直属事业单位", "直属单位", "派出机构", "垂直管理部门", "垂管部门"),
    DepartmentKind.OTHER: ("其他", "其它", "群团组织", "人民团体", "国有企业", "驻区单位"),
}
_SPLIT = re.compile(r"[、,，;；/／\n]+")


def read_department_kind(text: str) -> DepartmentKind | None:
    key = normalise_name(text)
    for kind, words in _KIND_WORDS.items():
        if key in words or key == kind.value or key == DEPARTMENT_KIND_LABELS[kind]:
            return kind
    return None


def infer_department_kind(name: str) -> DepartmentKind:
    key = normalise_name(name)
    if re.search(r"街道(?:办事处)?$", key):
        return DepartmentKind.STREET
    if re.search(r"(?:镇|乡)(?:人民政府)?$", key):
        return DepartmentKind.TOWN
    return DepartmentKind.COMPONENT


_LEADER_CELL = re.compile(r"^(?P<name>[^()（）]+)[(（](?P<title>[^()（）]*)[)）]$")


def split_leader(text: str) -> tuple[str, str]:
    """"高志远（副县长）" → ("高志远", "副县长"); a name alone has no title."""
    m = _LEADER_CELL.match(text.strip())
    if m:
        return normalise_name(m["name"]), m["title"].strip()
    return normalise_name(text), ""


@dataclass
class DepartmentRow:
    sheet: str
    row: int
    name: str = ""
    kind: str = ""
    short_name: str = ""
    aliases: list[str] = field(default_factory=list)
    leaders: list[str] = field(default_factory=list)
    action: str = "create"  # create | update | unchanged | error
    department_id: int | None = None
    new_aliases: list[str] = field(default_factory=list)
    new_leaders: list[str] = field(default_factory=list)
    new_portfolio: list[str] = field(default_factory=list)
    sort_order: int = 0
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    _columns: dict = field(default_factory=dict)
    _leader_titles: dict = field(default_factory=dict)

    def error(self, message: str, name: str = "") -> None:
        self.errors.append(Issue(message, self.sheet, self.row, self._columns.get(name, ""), name))

    def warn(self, message: str, name: str = "") -> None:
        self.warnings.append(Issue(message, self.sheet, self.row, self._columns.get(name, ""), name))

    def to_dict(self) -> dict:
        return {
            "sheet": self.sheet, "row": self.row, "action": self.action, "name": self.name,
            "kind": self.kind, "short_name": self.short_name or None, "aliases": self.aliases,
            "leaders": self.leaders, "department_id": self.department_id,
            "new_aliases": self.new_aliases, "new_leaders": self.new_leaders,
            "errors": [e.to_dict() for e in self.errors], "warnings": [w.to_dict() for w in self.warnings],
        }


def plan_departments(session: Session, workbook: Workbook, *, sheet: str | None = None,
                     store: MappingStore | None = None,
                     overrides: dict[str, dict[int, str | None]] | None = None) -> ImportReport:
    """Dry run of a department list (单位全称, 简称/别名, 单位类型, 分管领导)."""
    report = ImportReport(workbook.filename, workbook.kind, workbook.reader, workbook.encoding, what="departments")
    scans, issues = scan_sheets(workbook, sheet=sheet, fields=DEPARTMENT_FIELDS, required=frozenset({"name"}),
                                store=store, overrides=overrides)
    report.errors.extend(issues)
    depts = {d.name: d for d in session.exec(select(Department))}
    alias_owner = {a.alias: a.department_id for a in session.exec(select(DepartmentAlias))}
    by_id = {d.id: d for d in depts.values()}
    leaders_by_name: dict[str, list[Leader]] = {}
    for leader in session.exec(select(Leader).where(Leader.active.is_(True))):
        leaders_by_name.setdefault(normalise_name(leader.name), []).append(leader)
    portfolio = {(lid, did) for lid, did in session.execute(select(LeaderDepartment.leader_id, LeaderDepartment.department_id))}
    names_in_file: dict[str, DepartmentRow] = {}
    aliases_in_file: dict[str, DepartmentRow] = {}
    order = 0
    for scan in scans:
        result = SheetResult(scan.sheet, scan.table is not None, scan.reason)
        report.sheets.append(result)
        if scan.table is None:
            continue
        t = scan.table
        report._tables.append(t)
        result.title, result.mapping, result.rows = t.title, t.mapping.to_dict(), len(t.rows)
        result.sections, result.notes, result.skipped = t.sections, t.notes, t.skipped
        for col in t.mapping.unmapped():
            result.warnings.append(Issue(f"未识别的列“{col.header}”，该列内容不会导入", t.sheet,
                                         t.mapping.header_rows[-1], col.letter))
        for data in t.rows:
            order += 1
            row = DepartmentRow(data.sheet, data.row, sort_order=order * 10,
                                _columns={n: c.letter for n, c in t.mapping.field_columns().items()})
            report.rows.append(row)
            row.name = normalise_name(data.text("name"))
            if not row.name:
                row.error("未填写单位全称", "name")
                continue
            if len(row.name) > 120:
                row.error("单位全称过长（不超过120字）", "name")
                continue
            if row.name in names_in_file:
                row.error(f"单位“{row.name}”在第{names_in_file[row.name].row}行已出现", "name")
                continue
            names_in_file[row.name] = row
            existing = depts.get(row.name)
            if existing is None and row.name in alias_owner:
                existing = by_id.get(alias_owner[row.name])
                row.warn(f"“{row.name}”是已登记单位“{existing.name}”的简称，按该单位处理", "name")
            # kind
            kind_text = data.text("kind")
            kind = read_department_kind(kind_text) if kind_text else None
            if kind_text and kind is None:
                row.error(f"无法识别单位类型“{kind_text}”（可填：组成部门、街道、乡镇、事业单位、其他）", "kind")
            if kind is None and not kind_text:
                kind = infer_department_kind(row.name) if existing is None else DepartmentKind(existing.kind)
                if existing is None:
                    row.warn(f"未填写单位类型，按名称推断为“{DEPARTMENT_KIND_LABELS[kind]}”", "kind")
            row.kind = kind.value if kind else ""
            if existing is not None and kind is not None and existing.kind != kind.value:
                row.warn(f"单位类型与系统不一致（系统：{DEPARTMENT_KIND_LABELS.get(DepartmentKind(existing.kind), existing.kind)}），"
                         "导入不修改已登记单位的类型", "kind")
            # aliases
            aliases = [normalise_name(a) for a in _SPLIT.split(data.text("aliases")) if normalise_name(a)]
            aliases = [a for a in dict.fromkeys(aliases) if a != row.name]
            for a in aliases:
                if len(a) > 120:
                    row.error(f"简称“{a[:20]}…”过长", "aliases")
                    continue
                owner_id = alias_owner.get(a)
                owner = by_id.get(owner_id) if owner_id else depts.get(a)
                if owner is not None and (existing is None or owner.id != existing.id):
                    row.error(f"简称“{a}”已是“{owner.name}”的名称或简称", "aliases")
                elif a in aliases_in_file and aliases_in_file[a] is not row:
                    row.error(f"简称“{a}”在第{aliases_in_file[a].row}行已用于“{aliases_in_file[a].name}”", "aliases")
                elif a in names_in_file and names_in_file[a] is not row:
                    row.error(f"简称“{a}”与第{names_in_file[a].row}行的单位全称相同", "aliases")
                aliases_in_file[a] = row
            row.aliases = aliases
            if existing is None:
                row.short_name = aliases[0] if aliases and len(aliases[0]) <= 40 else ""
            else:
                row.department_id = existing.id
                known = {al for al, owner in alias_owner.items() if owner == existing.id} | {existing.short_name}
                row.new_aliases = [a for a in aliases if a not in known]
            # leaders
            title_text = data.text("leader_title")
            for part in _SPLIT.split(data.text("leader")):
                if not part.strip():
                    continue
                name, title = split_leader(part)
                if not name:
                    continue
                title = title or title_text
                row.leaders.append(name)
                found = leaders_by_name.get(name, [])
                if len(found) > 1:
                    row.error(f"有{len(found)}位名为“{name}”的领导，请在系统中指定分管关系", "leader")
                elif not found:
                    row.new_leaders.append(name)
                    row._leader_titles[name] = title
                elif existing is None or (found[0].id, existing.id) not in portfolio:
                    row.new_portfolio.append(name)
            if existing is not None:
                row.action = "update" if (row.new_aliases or row.new_leaders or row.new_portfolio) else "unchanged"
            if row.errors:
                row.action = "error"
    for row in report.rows:
        if row.errors:
            row.action = "error"
    if not any(s.detected for s in report.sheets) and not report.errors:
        reasons = "；".join(f"{s.name}：{s.reason}" for s in report.sheets) or "文件中没有工作表"
        report.errors.append(Issue(f"未在文件中找到单位名录表格（{reasons}）"))
    return report


def commit_departments(session: Session, actor: Actor, report: ImportReport) -> ImportReport:
    """Create the new departments, add missing aliases, create leaders and their portfolios."""
    if not actor.is_office and actor.role != "admin":
        raise NotPermitted("只有督查室或系统管理员可以导入单位名录")
    if not report.ok:
        raise ValidationFailed(f"单位名录有 {report.error_count} 处错误，未导入任何单位" if report.error_count
                               else "文件中没有可导入的单位")
    if not any(r.action in ("create", "update") for r in report.rows):
        return report  # the same list again: nothing to write
    ids: dict[str, int] = {}
    for row in report.rows:
        if row.action == "create":
            dep = organisation.create_department(session, actor, row.name, kind=row.kind, short_name=row.short_name,
                                                 aliases=[a for a in row.aliases if a != row.short_name],
                                                 sort_order=row.sort_order)
            row.department_id = dep.id
        elif row.action == "update":
            dep = session.get(Department, row.department_id)
            for alias in row.new_aliases:
                organisation.add_alias(session, dep, alias, audit_actor=actor)
        ids[row.name] = row.department_id
    wanted: dict[str, list[int]] = {}
    titles: dict[str, str] = {}
    for row in report.rows:
        for name in row.leaders:
            wanted.setdefault(name, []).append(row.department_id)
        titles.update({k: v for k, v in row._leader_titles.items() if v})
    existing = {}
    for leader in session.exec(select(Leader).where(Leader.active.is_(True))):
        existing.setdefault(normalise_name(leader.name), []).append(leader)
    for name, dep_ids in wanted.items():
        found = existing.get(name, [])
        if not found:
            organisation.create_leader(session, actor, name, titles.get(name, ""), department_ids=dep_ids)
            continue
        leader = found[0]
        current = organisation.portfolio_ids(session, leader.id)
        missing = [d for d in dict.fromkeys(dep_ids) if d not in current]
        if missing:
            organisation.change_portfolio(session, actor, leader.id, current + missing)
    audit.record(session, actor, "departments_import", entity="departments_import", entity_id=None,
                 after={"file": report.filename, **{k: v for k, v in report.counts().items()
                                                     if k in ("create", "update", "unchanged")}},
                 note=report.filename)
    session.flush()
    report.committed = True
    return report


def import_departments(session: Session, actor: Actor, path: str | Path, *, filename: str | None = None,
                       dry_run: bool = True, sheet: str | None = None, limits: Limits | None = None) -> ImportReport:
    try:
        workbook = read_workbook(path, filename=filename, limits=limits)
    except WorkbookError as exc:
        report = ImportReport(filename or Path(path).name, what="departments")
        report.errors.append(Issue(exc.message))
        return report
    report = plan_departments(session, workbook, sheet=sheet)
    if not dry_run and report.ok:
        commit_departments(session, actor, report)
    return report


# --- the text report -----------------------------------------------------------------------------

_ACTION_LABELS = {"create": "新建", "update": "更新进展", "unchanged": "无变化", "duplicate": "重复", "error": "有错误"}


def format_report(report: ImportReport, *, dry_run: bool) -> str:
    """The report as a clerk reads it in a terminal."""
    lines = [f"文件：{report.filename}" + (f"（{report.kind}，{report.encoding}）" if report.encoding else
                                        (f"（{report.kind}）" if report.kind else ""))]
    for issue in report.errors:
        lines.append(f"错误：{issue.where() + '：' if issue.where() else ''}{issue.message}")
    for s in report.sheets:
        if not s.detected:
            lines.append(f"工作表“{s.name}”：{s.reason}")
            continue
        header = s.mapping["header_rows"] if s.mapping else []
        lines.append(f"工作表“{s.name}”：表头在第{'、'.join(map(str, header))}行，识别出 {s.rows} 行"
                     + (f"，台账日期 {s.ledger_date.isoformat()}" if s.ledger_date else ""))
        if s.mapping:
            mapped = "，".join(f"{c['column']}={c['label'] or '未识别'}" for c in s.mapping["columns"] if c["header"])
            lines.append(f"  列：{mapped}")
        for w in s.warnings:
            lines.append(f"  提示：{w.where()}：{w.message}")
    for row in report.rows:
        label = _ACTION_LABELS.get(row.action, row.action)
        if report.what == "departments":
            extra = f"  类型：{DEPARTMENT_KIND_LABELS.get(DepartmentKind(row.kind), row.kind) if row.kind else '—'}"
            if row.aliases:
                extra += f"  简称：{'、'.join(row.aliases)}"
            if row.leaders:
                extra += f"  分管领导：{'、'.join(row.leaders)}"
            lines.append(f"[{row.sheet}!{row.row}] {label}  {row.name}{extra}")
        else:
            due = row.due_date.isoformat() if row.due_date else "—"
            kind = {"recurring": "周期", "ongoing": "长期", "immediate": "立即"}.get(row.deadline_kind, "")
            lines.append(f"[{row.sheet}!{row.row}] {label}{' ' + row.task_code if row.task_code else ''}  {row.title}")
            lines.append(f"    来源：{row.source or '—'}"
                         + (f"（{row.source_date.isoformat()}）" if row.source_date else "")
                         + f"  牵头：{row.lead.name if row.lead else '—'}"
                         + f"  配合：{'、'.join(d.name for d in row.assisting) or '—'}"
                         + f"  领导：{'、'.join(x.name for x in row.leaders) or '—'}")
            lines.append(f"    时限：{due}{'（' + kind + '）' if kind else ''}  原文：{row.deadline_text or '—'}"
                         + (f"  分类：{row.category}" if row.category else ""))
        for e in row.errors:
            lines.append(f"    错误{' ' + e.column + '列' if e.column else ''}：{e.message}")
        for w in row.warnings:
            lines.append(f"    提示{' ' + w.column + '列' if w.column else ''}：{w.message}")
    c = report.counts()
    what = "单位" if report.what == "departments" else "事项"
    lines.append(f"共 {c['rows']} 行：新建 {c['create']}，更新 {c['update']}，无变化 {c['unchanged']}，"
                 f"重复 {c.get('duplicate', 0)}；错误 {c['errors']} 处，提示 {c['warnings']} 处。")
    if report.committed:
        lines.append("已导入（一次性写入）。")
    elif report.error_count:
        lines.append(f"有错误，未导入任何{what}。请修改后重新导入。")
    elif dry_run:
        lines.append("试运行（--dry-run）：未写入数据库。")
    elif not report.rows:
        lines.append(f"没有可导入的{what}。")
    else:
        lines.append(f"没有新的{what}或变化，未写入任何内容。")
    return "\n".join(lines)


# --- export ------------------------------------------------------------------------------------------


def ledger_rows(session: Session, actor: Actor, f, horizon, *, sort: str = "source",
                chunk: int = 2000) -> tuple[int, Iterator]:
    """Tasks matching the filter, visible to the actor, as ledger rows streamed in chunks.

    ``sort="source"`` groups by source (date, then item number) so that the
    source cells can be merged; any other value is a ``queries.SORTS`` key.
    """
    from importers.export import LedgerRow
    from tracker.services import queries
    from tracker.services.actors import visible_params
    from tracker.rules.overdue import Light, due_soon_of, light_label
    from tracker.workflow import Party, status_label

    session.flush()  # the statements below run on the connection (no ORM autoflush, no entity loading)
    conn = session.connection()
    if sort == "source":
        visible, params = visible_params(actor)
        shape, values = queries.filter_params(f)
        ids = list(conn.execute(_ids_by_source(visible, shape, horizon), {**params, **values}).scalars())
    else:
        ids = queries.task_ids(session, actor, f, horizon, sort=sort)
    party = Party.OFFICE if actor.is_office else (Party.LEADER if actor.role == "leader" else Party.LEAD)
    own = actor.department_id if actor.role == Role.CLERK else None  # see _latest_progress
    dept_names = dict(conn.execute(select(Department.id, Department.name)).all())
    pg = is_postgres(session)
    rows_stmt, sources_stmt = _export_rows_select(horizon, pg), _export_sources_select(pg)
    check = _PhraseCheck(session)
    sources: dict[int, tuple[str, date]] = {}

    def generate():
        for part in _chunks(ids, chunk):
            rows = {r.id: r for r in conn.execute(rows_stmt, {"ids": part})}
            wanted = {r.source_id for r in rows.values() if r.source_id and r.source_id not in sources}
            if wanted:
                sources.update({sid: (title, day) for sid, title, day in conn.execute(
                    sources_stmt, {"ids": list(wanted)})})
            assist, leaders = queries.names_for(session, part)
            latest = _latest_progress(session, part, department_id=own)
            for tid in part:
                t = rows.get(tid)
                if t is None:
                    continue
                src_title, src_date = sources.get(t.source_id, ("", None))
                status = status_label(t.status, party)
                lit = Light(t.light) if t.light else Light.NONE
                if lit in (Light.RED, Light.YELLOW):
                    status += f"（{light_label(lit.value, due_soon_of(horizon, t.status, t.due_date))}）"
                yield LedgerRow(
                    source=src_title, source_date=src_date, code=t.code, title=t.title, requirement=t.requirement,
                    lead=dept_names.get(t.lead_department_id, ""), assisting=assist.get(tid, []),
                    leaders=leaders.get(tid, []), deadline=_deadline_cell(t, src_date, check), item_no=t.item_no,
                    urgency=URGENCY_LABELS.get(Urgency(t.urgency), t.urgency), status=status,
                    progress=latest.get(tid, ""), light=lit.value, source_key=t.source_id,
                    category=t.category if sort == "source" else "",
                )

    return len(ids), generate()


@shared(16)
def _export_rows_select(horizon, pg: bool) -> sa.Select:
    """The ledger's columns for a chunk of ids (parameter ``ids``), built once per day."""
    from tracker.rules.overdue import light

    return select(Task.id, Task.code, Task.title, Task.requirement, Task.source_id, Task.item_no,
                  Task.lead_department_id, Task.urgency, Task.deadline_kind, Task.due_date, Task.original_due_date,
                  Task.deadline_text, Task.recurrence, Task.status, Task.category,
                  light(horizon).label("light")).where(id_in(Task.id, "ids", pg))


@shared()
def _export_sources_select(pg: bool) -> sa.Select:
    return select(Source.id, Source.title, Source.source_date).where(id_in(Source.id, "ids", pg))


@shared(256)
def _ids_by_source(visible: str, shape: tuple, horizon) -> sa.Select:
    """The export's task ids grouped by source (date, then item number), built once per
    visibility and filter shape (``queries.filter_template``), the values bound at execution."""
    from tracker.services import queries
    from tracker.services.actors import visible_template

    return (select(Task.id).join(Source, Source.id == Task.source_id, isouter=True)
            .where(visible_template(visible), *queries.filter_template(shape, horizon))
            .order_by(Source.source_date.asc().nulls_last(), Task.source_id.asc().nulls_last(),
                      sa.func.length(Task.item_no), Task.item_no, Task.id))


def _latest_progress(session: Session, ids: list[int], *, department_id: int | None = None) -> dict[int, str]:
    """Each task's newest progress text. With ``department_id`` (a clerk's export), as
    ``actors.own_part_only``: the newest of all on the tasks it leads, its own newest on those
    it assists."""
    mine = [] if department_id is None else [sa.or_(
        ProgressReport.department_id == department_id,
        ProgressReport.task_id.in_(select(Task.id).where(Task.lead_department_id == department_id)))]
    newest = (select(ProgressReport.task_id, sa.func.max(ProgressReport.id).label("rid"))
              .where(id_in(ProgressReport.task_id, "ids", is_postgres(session)), *mine)
              .group_by(ProgressReport.task_id).subquery())
    rows = session.connection().execute(select(ProgressReport.task_id, ProgressReport.text)
                                        .join(newest, newest.c.rid == ProgressReport.id), {"ids": list(ids)})
    return {tid: text for tid, text in rows}


class _PhraseCheck:
    """Does a task's deadline phrase still read as its due date from its source's date?
    Then the ledger shows the phrase as the office wrote it; otherwise the date.

    The answers are kept across exports per calendar: they depend only on the phrase, the
    base date and the calendar, and an edited calendar is a new WorkCalendar object
    (services/calendar.py builds one per version), so an answer never outlives its calendar.
    A few calendars at most are kept (a database without a calendar version builds one per
    request)."""

    _by_calendar: dict[int, tuple[object, dict[tuple, date | None]]] = {}

    def __init__(self, session: Session):
        self.calendar = load_calendar(session)
        kept = self._by_calendar.get(id(self.calendar))
        if kept is None or kept[0] is not self.calendar:
            if len(self._by_calendar) >= 4:
                self._by_calendar.clear()
            kept = self._by_calendar[id(self.calendar)] = (self.calendar, {})
        self.cache = kept[1]

    def __call__(self, text: str, base: date | None) -> date | None:
        if not text or base is None:
            return None
        key = (text, base)
        if key not in self.cache:
            if len(self.cache) >= 20000:
                self.cache.clear()
            try:
                self.cache[key] = parse_deadline(text, base=base, calendar=self.calendar).due_date
            except DeadlineError:
                self.cache[key] = None
        return self.cache[key]


def _deadline_cell(t, source_date: date | None = None, check: _PhraseCheck | None = None) -> date | str:
    """What the 完成时限 cell shows, chosen so that reading it back gives the same task:
    the phrase as written while it still means the due date, else the date itself
    (after an extension, say); the phrase for recurring and ongoing deadlines."""
    from tracker.services.deadlines import describe_recurrence

    if t.deadline_kind == DeadlineKind.DATE.value:
        if t.deadline_text and t.due_date and t.due_date == t.original_due_date and check is not None \
                and check(t.deadline_text, source_date) == t.due_date:
            return t.deadline_text
        return t.due_date or ""
    if t.deadline_kind == DeadlineKind.RECURRING.value:
        return t.deadline_text or (describe_recurrence(t.recurrence) if t.recurrence else "")
    text = t.deadline_text or "长期坚持"
    if t.recurrence and not t.deadline_text:
        text += "，" + describe_recurrence(t.recurrence) + "报送"
    return text


def export_ledger(session: Session, actor: Actor, out, f, horizon, *, title: str = "督办台账",
                  sort: str = "source", progress: Callable[[int], None] | None = None) -> int:
    """Write the standard ledger for the filtered tasks; returns the number of tasks."""
    from importers.export import write_ledger

    _total, rows = ledger_rows(session, actor, f, horizon, sort=sort)
    return write_ledger(out, rows, title=title, as_of=clock.today(), progress=progress)


def write_import_template(session: Session, out) -> None:
    from importers.export import write_template

    departments = list(session.exec(select(Department.name).where(Department.active.is_(True))
                                    .order_by(Department.sort_order, Department.id)))
    leaders = list(session.exec(select(Leader.name).where(Leader.active.is_(True))
                                .order_by(Leader.sort_order, Leader.id)))
    write_template(out, departments=departments, leaders=leaders, urgencies=list(URGENCY_LABELS.values()))

