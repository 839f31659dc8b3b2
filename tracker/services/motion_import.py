"""A 建议/提案 交办清单 (建议编号, 建议题目, 领衔代表, 主办单位, 协办单位, 办理时限) in, motions out.

The table is found by the ledger importer's layout detection (title rows, merged
cells, notes below) with the motion list's own header synonyms; units resolve
through the same ``DepartmentResolver`` as ledgers. Every row is checked first and
nothing is written unless all are clean (``motions.register`` runs in the caller's
transaction, which commits once).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from importers.cells import as_text
from importers.layout import detect
from importers.workbook import read_workbook
from tracker.errors import ValidationFailed
from tracker.services import motions
from tracker.services.actors import Actor
from tracker.services.resolve import DepartmentResolver, LeaderResolver

MOTION_FIELDS: dict[str, tuple[str, ...]] = {
    "number": ("建议编号", "提案编号", "建议号", "提案号", "案号", "编号"),
    "title": ("建议题目", "提案题目", "建议名称", "提案名称", "案由", "题目", "标题"),
    "body": ("建议内容", "提案内容", "主要内容", "内容", "正文"),
    "proposer": ("领衔代表", "第一提案人", "提案人", "领衔委员", "领衔人", "代表姓名", "委员姓名"),
    "co_signers": ("附议代表", "联名代表", "联名委员", "附议人", "联名人"),
    "contact": ("联系方式", "联系电话", "手机号码", "电话"),
    "category": ("建议类别", "提案类别", "分类", "类别"),
    "key": ("是否重点", "重点建议", "重点提案", "重点"),
    "leader": ("领办领导", "督办领导", "牵头领导", "领办区领导"),
    "lead": ("主办单位", "承办单位", "主办部门", "牵头单位"),
    "assist": ("协办单位", "会办单位", "协办部门", "配合单位"),
    "deadline": ("办理时限", "答复时限", "办结时限", "完成时限"),
    "session": ("届次", "会议届次"),
}
REQUIRED = {"number", "title", "lead"}
_SESSION = re.compile(r"([区县市]?[^\s，,]{0,6}届[^\s，,]{0,8}?次会议)")
_NUMBER = re.compile(r"(\d+)")
_DATE = re.compile(r"(\d{4})\s*[年.\-/]\s*(\d{1,2})\s*[月.\-/]\s*(\d{1,2})")
_SPLIT = re.compile(r"[、，,；;/\s]+")


@dataclass
class MotionImport:
    kind: str
    session_name: str
    rows: int
    errors: list[str] = field(default_factory=list)
    motions: list = field(default_factory=list)


def _date(value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    m = _DATE.search(as_text(value))
    if not m:
        raise ValueError(as_text(value))
    return date(int(m[1]), int(m[2]), int(m[3]))


def read_list(session, path: str | Path, *, kind: str = "", session_name: str = "",
              filename: str | None = None) -> tuple[MotionImport, list[motions.MotionInput]]:
    """Read and check a list; ``kind``/``session_name`` default to what the title row says."""
    book = read_workbook(path, filename=filename)
    scan = None
    for sheet in book.sheets:
        found = detect(sheet, MOTION_FIELDS, REQUIRED)
        if found.table is not None:
            scan = found
            break
    if scan is None:
        raise ValidationFailed("未识别到建议提案清单的表头（应有“建议编号”“建议题目”“主办单位”等列）")
    table = scan.table
    heads = " ".join([*table.preamble, *(c.header for c in table.mapping.columns)])
    if not kind:
        kind = "proposal" if ("提案" in heads or "政协" in heads) else "suggestion"
    if not session_name:
        m = _SESSION.search(" ".join(table.preamble))
        session_name = m[1] if m else ""
    report = MotionImport(kind, session_name, len(table.rows))
    depts = DepartmentResolver.load(session)
    leaders = LeaderResolver.load(session)
    inputs = []
    for row in table.rows:
        where = f"第{row.row}行"
        num = _NUMBER.search(row.text("number"))
        lead_name = row.text("lead")
        lead_id = depts.lookup(lead_name) if lead_name else None
        if lead_name and lead_id is None:
            report.errors.append(f"{where}（{row.columns.get('lead', '')}列）：主办单位“{lead_name}”不在单位名录中")
        assist = []
        for name in [n for n in _SPLIT.split(row.text("assist")) if n]:
            dep = depts.lookup(name)
            if dep is None:
                report.errors.append(f"{where}（{row.columns.get('assist', '')}列）：协办单位“{name}”不在单位名录中")
            elif dep != lead_id and dep not in assist:
                assist.append(dep)
        try:
            due = _date(row.values.get("deadline"))
        except ValueError as exc:
            report.errors.append(f"{where}（{row.columns.get('deadline', '')}列）：办理时限“{exc}”不是日期")
            due = None
        leader_id = None
        if row.text("leader"):
            res = leaders.resolve_list(row.text("leader"))
            leader_id = res.ids[0] if getattr(res, "ids", None) else None
            if leader_id is None:
                report.errors.append(f"{where}：领办领导“{row.text('leader')}”不在领导名单中")
        if not num:
            report.errors.append(f"{where}（{row.columns.get('number', '')}列）：编号“{row.text('number')}”应含数字")
        inputs.append(motions.MotionInput(
            kind=kind, number=int(num[1]) if num else 0,
            session_name=row.text("session") or session_name, title=row.text("title"),
            proposer=row.text("proposer"), lead_department_id=lead_id, assisting_department_ids=assist,
            body=row.text("body"), co_signers=row.text("co_signers"), contact=row.text("contact"),
            category=row.text("category"), is_key=row.text("key") in ("是", "重点", "√", "Y", "y", "1"),
            supervising_leader_id=leader_id, due_date=due, row=row.row))
    report.errors += [p for p in motions.check_inputs(session, inputs)
                      if not p.endswith("未填写主办单位") or not any("主办单位“" in e for e in report.errors)]
    return report, inputs


def import_list(session, actor: Actor, path: str | Path, *, kind: str = "", session_name: str = "",
                dry_run: bool = False, filename: str | None = None) -> MotionImport:
    """Check every row, then register and assign the whole batch, or nothing (ValidationFailed)."""
    report, inputs = read_list(session, path, kind=kind, session_name=session_name, filename=filename)
    if report.errors:
        raise ValidationFailed(f"清单有{len(report.errors)}处错误，未导入任何一件：" + "；".join(report.errors[:20]),
                               fields={"errors": report.errors})
    if not dry_run:
        report.motions = motions.register(session, actor, inputs)
    return report
