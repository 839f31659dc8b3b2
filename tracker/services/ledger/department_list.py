"""The department list (单位名录) import: 单位全称, 简称/别名, 单位类型, 分管领导.

Planned and committed like a ledger (``ledger.importer``): every row checked first,
then all written or none, in the caller's transaction. Names are split and
normalised by ``tracker.rules.names``, the same rules every other import uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, select

from importers import Limits, Workbook, WorkbookError, read_workbook
from importers.mapping import DEPARTMENT_FIELDS, MappingStore
from tracker.errors import NotPermitted, ValidationFailed
from tracker.models import (
    DEPARTMENT_KIND_LABELS,
    Department,
    DepartmentKind,
    LeaderDepartment,
)
from tracker.rules.names import normalise_name, split_leader, split_list
from tracker.services import audit
from tracker.services.actors import Actor
from tracker.services.ledger.report import ImportReport, Issue, PlacedIssues, SheetResult, scan_sheets
from tracker.services.organisation import directory as organisation
from tracker.services.organisation.resolve import DepartmentResolver, LeaderResolver

_KIND_WORDS = {
    DepartmentKind.COMPONENT: (
        "政府组成部门",
        "组成部门",
        "区政府组成部门",
        "县政府组成部门",
        "工作部门",
        "政府工作部门",
        "部门",
    ),
    DepartmentKind.STREET: ("街道", "街道办事处", "街道办"),
    DepartmentKind.TOWN: ("乡镇", "镇", "乡", "乡镇人民政府", "镇人民政府"),
    DepartmentKind.INSTITUTION: (
        "事业单位",
        "直属机构",
        "直属事业单位",
        "直属单位",
        "派出机构",
        "垂直管理部门",
        "垂管部门",
    ),
    DepartmentKind.OTHER: ("其他", "其它", "群团组织", "人民团体", "国有企业", "驻区单位"),
}


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


@dataclass
class DepartmentRow(PlacedIssues):
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

    def to_dict(self) -> dict:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "action": self.action,
            "name": self.name,
            "kind": self.kind,
            "short_name": self.short_name or None,
            "aliases": self.aliases,
            "leaders": self.leaders,
            "department_id": self.department_id,
            "new_aliases": self.new_aliases,
            "new_leaders": self.new_leaders,
            "errors": [e.to_dict() for e in self.errors],
            "warnings": [w.to_dict() for w in self.warnings],
        }


def plan_departments(
    session: Session,
    workbook: Workbook,
    *,
    sheet: str | None = None,
    store: MappingStore | None = None,
    overrides: dict[str, dict[int, str | None]] | None = None,
) -> ImportReport:
    """Dry run of a department list (单位全称, 简称/别名, 单位类型, 分管领导)."""
    report = ImportReport(workbook.filename, workbook.kind, workbook.reader, workbook.encoding, what="departments")
    scans, issues = scan_sheets(
        workbook, sheet=sheet, fields=DEPARTMENT_FIELDS, required=frozenset({"name"}), store=store, overrides=overrides
    )
    report.errors.extend(issues)
    registered = DepartmentResolver.load(session)
    leaders = LeaderResolver.load(session)
    portfolio = {
        (lid, did) for lid, did in session.execute(select(LeaderDepartment.leader_id, LeaderDepartment.department_id))
    }
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
            result.warnings.append(
                Issue(f"未识别的列“{col.header}”，该列内容不会导入", t.sheet, t.mapping.header_rows[-1], col.letter)
            )
        for data in t.rows:
            order += 1
            row = DepartmentRow(
                data.sheet,
                data.row,
                sort_order=order * 10,
                _columns={n: c.letter for n, c in t.mapping.field_columns().items()},
            )
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
            existing = registered.by_full_name(row.name)
            if existing is None and registered.by_alias(row.name) is not None:
                existing = registered.by_alias(row.name)
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
                row.warn(
                    f"单位类型与系统不一致（系统：{DEPARTMENT_KIND_LABELS.get(DepartmentKind(existing.kind), existing.kind)}），"
                    "导入不修改已登记单位的类型",
                    "kind",
                )
            # aliases
            aliases = [normalise_name(a) for a in split_list(data.text("aliases")) if normalise_name(a)]
            aliases = [a for a in dict.fromkeys(aliases) if a != row.name]
            for a in aliases:
                if len(a) > 120:
                    row.error(f"简称“{a[:20]}…”过长", "aliases")
                    continue
                owner = registered.by_alias(a) or registered.by_full_name(a)
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
                known = registered.aliases_of(existing.id)
                row.new_aliases = [a for a in aliases if a not in known]
            # leaders
            title_text = data.text("leader_title")
            for part in split_list(data.text("leader")):
                if not part.strip():
                    continue
                name, title = split_leader(part)
                if not name:
                    continue
                title = title or title_text
                row.leaders.append(name)
                found = leaders.active_named(name)
                if len(found) > 1:
                    row.error(f"有{len(found)}位名为“{name}”的领导，请在系统中指定分管关系", "leader")
                elif not found:
                    row.new_leaders.append(name)
                    row._leader_titles[name] = title
                elif existing is None or (found[0], existing.id) not in portfolio:
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
        raise ValidationFailed(
            f"单位名录有 {report.error_count} 处错误，未导入任何单位"
            if report.error_count
            else "文件中没有可导入的单位"
        )
    if not any(r.action in ("create", "update") for r in report.rows):
        return report  # the same list again: nothing to write
    ids: dict[str, int] = {}
    for row in report.rows:
        if row.action == "create":
            dep = organisation.create_department(
                session,
                actor,
                row.name,
                kind=row.kind,
                short_name=row.short_name,
                aliases=[a for a in row.aliases if a != row.short_name],
                sort_order=row.sort_order,
            )
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
    leaders = LeaderResolver.load(session)
    for name, dep_ids in wanted.items():
        found = leaders.active_named(name)
        if not found:
            organisation.create_leader(session, actor, name, titles.get(name, ""), department_ids=dep_ids)
            continue
        current = organisation.portfolio_ids(session, found[0])
        missing = [d for d in dict.fromkeys(dep_ids) if d not in current]
        if missing:
            organisation.change_portfolio(session, actor, found[0], current + missing)
    audit.record(
        session,
        actor,
        "departments_import",
        entity="departments_import",
        entity_id=None,
        after={
            "file": report.filename,
            **{k: v for k, v in report.counts().items() if k in ("create", "update", "unchanged")},
        },
        note=report.filename,
    )
    session.flush()
    report.committed = True
    return report


def import_departments(
    session: Session,
    actor: Actor,
    path: str | Path,
    *,
    filename: str | None = None,
    dry_run: bool = True,
    sheet: str | None = None,
    limits: Limits | None = None,
) -> ImportReport:
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
