"""A 建议/提案 交办清单 (建议编号, 建议题目, 领衔代表, 主办单位, 协办单位, 办理时限) in, motions out.

The table is found by the ledger importer's layout detection (title rows, merged
cells, notes below) with the motion list's own header synonyms
(``importers.mapping.MOTION_FIELDS``), a remembered or corrected column mapping
included, so that the CLI and the web importer's "motions" jobs read a list the
same way. Units resolve through the same ``DepartmentResolver`` as ledgers ("县交通局和
县财政局" is two departments in both), and 办理时限 cells are read by the same cell reader
(a date cell, an Excel serial, or a date in text). Every
row is checked first and nothing is written unless all are clean
(``motions.register`` runs in the caller's transaction, which commits once).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from importers import Limits, Workbook, read_workbook
from importers.cells import as_text, cell_date, header_key
from importers.layout import SheetScan, Table, detect
from importers.mapping import MOTION_FIELDS, MappingStore
from tracker import clock
from tracker.errors import ValidationFailed
from tracker.models import Department, Leader
from tracker.services import audit
from tracker.services.actors import Actor
from tracker.services.motions import handling as motions
from tracker.services.organisation.resolve import DepartmentResolver, LeaderResolver

__all__ = ["MOTION_FIELDS", "REQUIRED", "MotionImport", "MotionRow", "import_list", "looks_like_list", "read_list"]

REQUIRED = frozenset({"number", "title", "lead"})
_SESSION = re.compile(r"([区县市]?[^\s，,]{0,6}届[^\s，,]{0,8}?次会议)")
_NUMBER = re.compile(r"(\d+)")
_KEY_WORDS = ("是", "重点", "√", "Y", "y", "1")
# The headers that only a motion list has: its number or title names 建议/提案 (or 案号/案由).
_MOTION_WORDS = ("建议", "提案")
# Which column a problem found by ``motions.check_inputs`` belongs to (first match wins).
_PROBLEM_FIELDS = (
    ("不能同时是协办", "assist"),
    ("未填写主办单位", "lead"),
    ("办理时限", "deadline"),
    ("已经登记", "number"),
    ("重复", "number"),
    ("编号", "number"),
    ("题目为空", "title"),
    ("届次为空", "session"),
    ("为空", "proposer"),
)
_WHERE = re.compile(r"^第(\d+)行：")


@dataclass
class MotionRow:
    """One row of the list: the motion it would become, and what stands in its way."""

    sheet: str
    row: int
    kind: str
    number: int | None
    session_name: str
    title: str
    proposer: str
    lead: str = ""
    assisting: list[str] = field(default_factory=list)
    due_date: date | None = None
    deadline_text: str = ""
    category: str = ""
    is_key: bool = False
    leader: str = ""
    action: str = "create"  # create | error
    motion_id: int | None = None
    task_id: int | None = None
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)

    def error(self, message: str, name: str = "") -> None:
        self.errors.append({"message": message, "column": self.columns.get(name) or None, "field": name or None})

    def warn(self, message: str, name: str = "") -> None:
        self.warnings.append({"message": message, "column": self.columns.get(name) or None, "field": name or None})

    def has_error(self, name: str) -> bool:
        return any(e["field"] == name for e in self.errors)

    @property
    def label(self) -> str:
        return f"{motions.KIND_LABELS.get(self.kind, '')}第{self.number}号" if self.number else ""

    def to_dict(self) -> dict:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "action": self.action,
            "kind": self.kind,
            "number": self.number,
            "label": self.label,
            "session": self.session_name,
            "title": self.title,
            "proposer": self.proposer,
            "lead": self.lead or None,
            "assisting": self.assisting,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "deadline_text": self.deadline_text or None,
            "category": self.category or None,
            "is_key": self.is_key,
            "leader": self.leader or None,
            "motion_id": self.motion_id,
            "task_id": self.task_id,
            "errors": self.errors,
            "warnings": self.warnings,
        }


@dataclass
class MotionImport:
    """The dry-run report of a list; after ``import_list`` also the motions written."""

    filename: str = ""
    kind: str = ""  # of the first table (the CLI's message)
    session_name: str = ""
    items: list[MotionRow] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    sheets: list[dict] = field(default_factory=list)
    default_due: date | None = None  # the answer limit counted from today, for rows without 办理时限
    default_limit: str = ""
    motions: list = field(default_factory=list)
    committed: bool = False
    inputs: list = field(default_factory=list, repr=False)  # for motions.register, row by row

    @property
    def rows(self) -> list[MotionRow]:
        return self.items

    @property
    def errors(self) -> list[str]:
        """Every problem as one line naming the row and column, for the CLI and exceptions."""
        out = list(self.file_errors)
        for item in self.items:
            for e in item.errors:
                col = f"（{e['column']}列）" if e.get("column") else ""
                out.append(f"第{item.row}行{col}：{e['message']}")
        return out

    @property
    def error_count(self) -> int:
        return len(self.file_errors) + sum(len(i.errors) for i in self.items)

    @property
    def ok(self) -> bool:
        return self.error_count == 0 and bool(self.items)

    def sessions(self) -> list[tuple[str, str]]:
        """(kind, 届次) pairs of the list, in order: the 建议提案 page's filters."""
        return list(dict.fromkeys((i.kind, i.session_name) for i in self.items if i.session_name))

    def counts(self) -> dict[str, int]:
        create = sum(1 for i in self.items if i.action == "create")
        return {
            "rows": len(self.items),
            "create": create,
            "update": 0,
            "unchanged": 0,
            "duplicate": 0,
            "error": len(self.items) - create,
            "errors": self.error_count,
            "warnings": sum(len(i.warnings) for i in self.items),
        }

    def to_dict(self) -> dict:
        """The shape of the web importer's job report (``ledger.jobs.report_json``)."""
        return {
            "file": self.filename,
            "what": "motions",
            "kind": self.kind,
            "session_name": self.session_name,
            "ok": self.ok,
            "committed": self.committed,
            "counts": self.counts(),
            "default_due": self.default_due.isoformat() if self.default_due else None,
            "default_limit": self.default_limit,
            "sessions": [{"kind": k, "session": s} for k, s in self.sessions()],
            "errors": [{"message": m} for m in self.file_errors],
            "sheets": self.sheets,
            "rows": [i.to_dict() for i in self.items],
        }


def guess_kind(table: Table) -> str:
    """提案 when the title or the headers say so (or name the 政协), else 建议."""
    heads = " ".join([*table.preamble, table.sheet, *(c.header for c in table.mapping.columns)])
    return "proposal" if ("提案" in heads or "政协" in heads) else "suggestion"


def guess_session(table: Table) -> str:
    """The "…届…次会议" of the list's title rows, or empty."""
    m = _SESSION.search(" ".join(table.preamble))
    return m[1] if m else ""


def scan_sheets(
    workbook: Workbook,
    *,
    sheet: str | None = None,
    store: MappingStore | None = None,
    overrides: dict[str, dict[int, str | None]] | None = None,
) -> list[SheetScan]:
    """Detect the list's table on every sheet (or on the one named)."""
    out = []
    for s in workbook.sheets:
        if sheet and s.name != sheet:
            continue
        chosen = (overrides or {}).get(s.name) or (overrides or {}).get("*")
        scan = detect(s, MOTION_FIELDS, set(REQUIRED), store=store, overrides=chosen)
        if scan.table is None and scan.reason.startswith("未识别到表头"):
            scan.reason = "未识别到表头（前30行中没有“建议编号”“建议题目”“主办单位”等列名）"
        out.append(scan)
    return out


def looks_like_list(workbook: Workbook) -> bool:
    """Is a file uploaded as a 督办台账 really a 建议/提案 交办清单?

    Yes when one sheet has the motion list's table (number, title and 主办单位 columns)
    whose number or title header names 建议/提案 (建议编号, 提案题目, 案号, 案由) and which
    has a 领衔代表/提案人 column. A ledger that lists suggestions (编号, 建议题目, 责任单位,
    任务来源) has no 领衔代表/提案人, and a ledger's 序号/督办事项 never name 建议/提案.
    """
    for scan in scan_sheets(workbook):
        if scan.table is None:
            continue
        cols = scan.table.mapping.field_columns()
        if "proposer" not in cols:
            continue
        named = [header_key(cols[f].header) for f in ("number", "title")]
        if any(any(w in h for w in _MOTION_WORDS) or h in ("案号", "案由") for h in named):
            return True
    return False


def read_list(
    session: Session,
    source: str | Path | Workbook,
    *,
    kind: str = "",
    session_name: str = "",
    filename: str | None = None,
    sheet: str | None = None,
    store: MappingStore | None = None,
    overrides: dict[str, dict[int, str | None]] | None = None,
    limits: Limits | None = None,
) -> tuple[MotionImport, list[motions.MotionInput]]:
    """Read and check a list, writing nothing.

    ``kind``/``session_name`` default to what each sheet's title rows and headers
    say; ``store``/``overrides`` are a remembered or corrected column mapping
    (``MappingTable(session, "motions")``, the web importer's drop-downs). Problems
    land in the report by row and column; the inputs are for ``motions.register``.
    """
    workbook = source if isinstance(source, Workbook) else read_workbook(source, filename=filename, limits=limits)
    report = MotionImport(workbook.filename or (filename or ""))
    limit = motions.load_limits(session)["answer"]
    report.default_due = motions.limit_due(session, clock.today(), limit)
    report.default_limit = f"交办之日起{motions.limit_text(limit)}"
    tables = []
    for scan in scan_sheets(workbook, sheet=sheet, store=store, overrides=overrides):
        entry: dict[str, Any] = {"name": scan.sheet, "detected": scan.table is not None, "reason": scan.reason or None}
        if scan.table is not None:
            t = scan.table
            tables.append(t)
            entry.update(
                title=t.title or None,
                rows=len(t.rows),
                mapping=t.mapping.to_dict(),
                warnings=[{"message": note, "column": None} for note in t.mapping.notes],
            )
        report.sheets.append(entry)
    if not tables:
        reasons = "；".join(f"{s['name']}：{s['reason']}" for s in report.sheets if s.get("reason"))
        report.file_errors.append(
            "未识别到建议提案清单的表头（应有“建议编号”“建议题目”“主办单位”等列）"
            + (f"（{reasons}）" if reasons else "")
        )
        return report, []
    depts = DepartmentResolver.load(session)
    leaders = LeaderResolver.load(session)
    names = dict(session.exec(select(Department.id, Department.name)).all())
    leader_names = dict(session.exec(select(Leader.id, Leader.name)).all())
    inputs: list[motions.MotionInput] = []
    for t in tables:
        t_kind = kind or guess_kind(t)
        t_session = session_name or guess_session(t)
        report.kind = report.kind or t_kind
        report.session_name = report.session_name or t_session
        has_session_column = "session" in t.mapping.field_columns()
        if not t_session and not has_session_column:
            report.file_errors.append(
                f"工作表“{t.sheet}”：未能从清单标题识别届次，请填写届次（如“区十七届人大三次会议”“区政协十届三次会议”）"
            )
        for data in t.rows:
            item, data_input = _read_row(
                t, data, t_kind, t_session, depts, leaders, names, leader_names, date1904=workbook.date1904
            )
            report.items.append(item)
            inputs.append(data_input)
    _batch_checks(session, report, inputs)
    for item in report.items:
        if item.errors:
            item.action = "error"
    report.inputs = inputs
    return report, inputs


def commit_list(session: Session, actor: Actor, report: MotionImport, *, assign: bool = True) -> MotionImport:
    """Register (and by default assign) a clean report's motions in the caller's
    transaction, with one summary audit event; ``motions.register`` checks the batch
    again and writes all or nothing."""
    if not report.ok:
        raise ValidationFailed(f"清单有{report.error_count}处错误，未导入任何一件")
    report.motions = motions.register(session, actor, report.inputs, assign=assign)
    for item, motion in zip(report.items, report.motions):
        item.motion_id, item.task_id = motion.id, motion.task_id
    audit.record(
        session,
        actor,
        "motions_import",
        entity="motion",
        entity_id=None,
        after={
            "file": report.filename,
            "created": len(report.motions),
            "assigned": assign,
            "sessions": [f"{motions.KIND_LABELS[k]}：{s}" for k, s in report.sessions()],
        },
    )
    report.committed = True
    return report


def _read_row(
    t: Table,
    data,
    kind: str,
    session_name: str,
    depts: DepartmentResolver,
    leaders: LeaderResolver,
    names: dict[int, str],
    leader_names: dict[int, str],
    *,
    date1904: bool = False,
):
    num = _NUMBER.search(data.text("number"))
    item = MotionRow(
        t.sheet,
        data.row,
        kind,
        int(num[1]) if num else None,
        data.text("session") or session_name,
        data.text("title"),
        data.text("proposer"),
        category=data.text("category"),
        is_key=data.text("key") in _KEY_WORDS,
        columns={name: col.letter for name, col in t.mapping.field_columns().items()},
    )
    if not num:
        item.error(f"编号“{data.text('number')}”应含数字", "number")
    lead_id, assist = _read_units(item, data, depts, names)
    item.deadline_text = data.text("deadline")
    item.due_date = due = _read_due(item, data.values.get("deadline"), date1904)
    leader_id = None
    if data.text("leader"):
        res = leaders.resolve_list(data.text("leader"))
        leader_id = res.ids[0] if getattr(res, "ids", None) else None
        if leader_id is None:
            item.error(f"领办领导“{data.text('leader')}”不在领导名单中", "leader")
        item.leader = leader_names.get(leader_id, data.text("leader")) if leader_id else data.text("leader")
    return item, motions.MotionInput(
        kind=kind,
        number=item.number or 0,
        session_name=item.session_name,
        title=item.title,
        proposer=item.proposer,
        lead_department_id=lead_id,
        assisting_department_ids=assist,
        body=data.text("body"),
        co_signers=data.text("co_signers"),
        contact=data.text("contact"),
        category=item.category,
        is_key=item.is_key,
        supervising_leader_id=leader_id,
        due_date=due,
        row=data.row,
    )


def _read_units(
    item: MotionRow, data, depts: DepartmentResolver, names: dict[int, str]
) -> tuple[int | None, list[int]]:
    """主办 and 协办 units, read as a ledger reads 牵头 and 配合: one lead; a second unit
    written in the 主办单位 cell assists (with a warning), as in a ledger."""
    lead_name = data.text("lead")
    lead_id, assist = None, []
    if lead_name:
        res = depts.resolve_list(lead_name, first_is_lead=True)
        for name in res.unknown:
            item.error(f"主办单位“{name}”不在单位名录中", "lead")
        for w in res.warnings:
            item.warn(w, "lead")
        lead_id = res.lead_id
        if lead_id is None and not res.unknown:
            item.error("未能确定主办单位" + ("：" + res.warnings[0] if res.warnings else ""), "lead")
        if lead_id is not None and res.assisting_ids:
            extra = "、".join(names.get(i, "") for i in res.assisting_ids)
            item.warn(f"主办单位列填写了多个单位，以“{names.get(lead_id, '')}”为主办单位，{extra}作为协办单位", "lead")
        assist.extend(res.assisting_ids)
    item.lead = names.get(lead_id, lead_name) if lead_id else lead_name
    if data.text("assist"):
        res = depts.resolve_list(data.text("assist"))
        for name in res.unknown:
            item.error(f"协办单位“{name}”不在单位名录中", "assist")
        for w in res.warnings:
            item.warn(w, "assist")
        assist.extend(res.ids)
    assist = [d for d in dict.fromkeys(assist) if d != lead_id]
    item.assisting = [names.get(d, "") for d in assist]
    return lead_id, assist


def _read_due(item: MotionRow, value: Any, date1904: bool) -> date | None:
    """办理时限: a date cell, an Excel serial (a number in a General cell), or a date in text."""
    if value is None or value == "":
        return None
    due = cell_date(value, date1904=date1904)
    if due is None:
        item.error(
            f"办理时限“{as_text(value)}”不是日期（应写明年月日，如“2026年5月29日前”；不填则按默认答复时限）", "deadline"
        )
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        item.warn(f"办理时限“{as_text(value)}”按 Excel 日期序号读作 {due.isoformat()}", "deadline")
    return due


def _batch_checks(session: Session, report: MotionImport, inputs: list[motions.MotionInput]) -> None:
    """The rules of a batch (``motions.check_inputs``: empty fields, numbers repeated or
    already registered), placed on their rows and columns; a column that already
    has an error of its own is not reported twice."""
    by_row = {item.row: item for item in report.items}
    session_missing = any("未能从清单标题识别届次" in e for e in report.file_errors)
    for problem in motions.check_inputs(session, inputs):
        m = _WHERE.match(problem)
        item = by_row.get(int(m[1])) if m else None
        if item is None:
            report.file_errors.append(problem)
            continue
        message = problem[m.end() :]
        name = next((f for word, f in _PROBLEM_FIELDS if word in message), "")
        if name == "session" and session_missing:
            continue
        if name and item.has_error(name):
            continue
        if name == "number" and item.number is None:
            continue
        item.error(message, name)


def import_list(
    session: Session,
    actor: Actor,
    source: str | Path | Workbook,
    *,
    kind: str = "",
    session_name: str = "",
    dry_run: bool = False,
    filename: str | None = None,
    assign: bool = True,
    sheet: str | None = None,
    store: MappingStore | None = None,
    overrides: dict[str, dict[int, str | None]] | None = None,
    limits: Limits | None = None,
) -> MotionImport:
    """Check every row, then register (and by default assign) the whole batch, or nothing.

    Raises ``ValidationFailed`` listing the problems by row and column. ``assign=False``
    registers the motions with their tasks left as drafts, for the office to assign later.
    """
    report, inputs = read_list(
        session,
        source,
        kind=kind,
        session_name=session_name,
        filename=filename,
        sheet=sheet,
        store=store,
        overrides=overrides,
        limits=limits,
    )
    errors = report.errors
    if errors or not inputs:
        errors = errors or ["清单中没有可导入的行"]
        raise ValidationFailed(
            f"清单有{len(errors)}处错误，未导入任何一件："
            + "；".join(errors[:20])
            + (f"；等共{len(errors)}处" if len(errors) > 20 else ""),
            fields={"errors": errors},
        )
    if not dry_run:
        commit_list(session, actor, report, assign=assign)
    return report
