"""What every workbook import reports: issues placed by sheet, row and column, the
sheets found, and the text a clerk reads in a terminal.

The ledger import (``ledger.importer``) and the department list (``ledger.department_list``)
fill the same report, so the web importer and the CLI show both the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from importers import Workbook
from importers.layout import SheetScan, detect
from importers.mapping import FIELD_LABELS, LEDGER_FIELDS, MappingStore
from tracker.models import DEPARTMENT_KIND_LABELS, DepartmentKind
from tracker.rules.names import normalise_name

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
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column or None,
            "field": self.field or None,
            "message": self.message,
        }


class PlacedIssues:
    """A report row's ``error``/``warn``: the issue placed at the row's sheet, row and the
    field's column letter (``sheet``, ``row``, ``errors``, ``warnings`` and ``_columns`` are
    the row's own fields)."""

    def error(self, message: str, name: str = "") -> None:
        self.errors.append(Issue(message, self.sheet, self.row, self._columns.get(name, ""), name))

    def warn(self, message: str, name: str = "") -> None:
        self.warnings.append(Issue(message, self.sheet, self.row, self._columns.get(name, ""), name))


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
            "name": self.name,
            "detected": self.detected,
            "reason": self.reason or None,
            "title": self.title or None,
            "ledger_date": self.ledger_date.isoformat() if self.ledger_date else None,
            "mapping": self.mapping,
            "rows": self.rows,
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
            "file": self.filename,
            "kind": self.kind,
            "reader": self.reader,
            "encoding": self.encoding or None,
            "what": self.what,
            "base_date": self.base_date.isoformat() if self.base_date else None,
            "ok": self.ok,
            "committed": self.committed,
            "counts": self.counts(),
            "errors": [e.to_dict() for e in self.errors],
            "sheets": [s.to_dict() for s in self.sheets],
            "rows": [r.to_dict() for r in self.rows],
        }


def chunks(items: list, size: int) -> Iterator[list]:
    """``items`` in slices of ``size``: IN lists and inserts stay within the databases' limits."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def scan_sheets(
    workbook: Workbook,
    *,
    sheet: str | None = None,
    fields=LEDGER_FIELDS,
    required=frozenset({"title"}),
    store: MappingStore | None = None,
    overrides: dict[str, dict[int, str | None]] | None = None,
) -> tuple[list[SheetScan], list[Issue]]:
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


# --- the text report -----------------------------------------------------------------------------

_ACTION_LABELS = {"create": "新建", "update": "更新进展", "unchanged": "无变化", "duplicate": "重复", "error": "有错误"}


def format_report(report: ImportReport, *, dry_run: bool) -> str:
    """The report as a clerk reads it in a terminal."""
    lines = [
        f"文件：{report.filename}"
        + (
            f"（{report.kind}，{report.encoding}）"
            if report.encoding
            else (f"（{report.kind}）" if report.kind else "")
        )
    ]
    for issue in report.errors:
        lines.append(f"错误：{issue.where() + '：' if issue.where() else ''}{issue.message}")
    for s in report.sheets:
        if not s.detected:
            lines.append(f"工作表“{s.name}”：{s.reason}")
            continue
        header = s.mapping["header_rows"] if s.mapping else []
        lines.append(
            f"工作表“{s.name}”：表头在第{'、'.join(map(str, header))}行，识别出 {s.rows} 行"
            + (f"，台账日期 {s.ledger_date.isoformat()}" if s.ledger_date else "")
        )
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
            lines.append(
                f"    来源：{row.source or '—'}"
                + (f"（{row.source_date.isoformat()}）" if row.source_date else "")
                + f"  牵头：{row.lead.name if row.lead else '—'}"
                + f"  配合：{'、'.join(d.name for d in row.assisting) or '—'}"
                + f"  领导：{'、'.join(x.name for x in row.leaders) or '—'}"
            )
            lines.append(
                f"    时限：{due}{'（' + kind + '）' if kind else ''}  原文：{row.deadline_text or '—'}"
                + (f"  分类：{row.category}" if row.category else "")
            )
        for e in row.errors:
            lines.append(f"    错误{' ' + e.column + '列' if e.column else ''}：{e.message}")
        for w in row.warnings:
            lines.append(f"    提示{' ' + w.column + '列' if w.column else ''}：{w.message}")
    c = report.counts()
    what = "单位" if report.what == "departments" else "事项"
    lines.append(
        f"共 {c['rows']} 行：新建 {c['create']}，更新 {c['update']}，无变化 {c['unchanged']}，"
        f"重复 {c.get('duplicate', 0)}；错误 {c['errors']} 处，提示 {c['warnings']} 处。"
    )
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
