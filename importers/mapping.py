"""Which column holds what: header synonyms as data, the guess, and remembered choices.

The guess is plain data (``ColumnMapping.to_dict()``) so that a web importer can
show it and let the user correct it; a corrected mapping is remembered per
header signature (the normalised header texts). Remembering is the database's
business (``tracker.services.ledger.mappings.MappingTable``, the LedgerMapping table):
this module only says what a store must answer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol

from importers.cells import header_key

# Field → header texts, most specific first. Exact matches beat "contains" matches,
# and a longer synonym beats a shorter one.
LEDGER_FIELDS: dict[str, tuple[str, ...]] = {
    "seq": ("序号", "编号", "排序", "序"),
    "code": ("事项编号", "督办编号", "任务编号"),
    "source": (
        "任务来源",
        "会议名称",
        "来文单位",
        "交办来源",
        "文件名称",
        "来文名称",
        "会议纪要",
        "批示件",
        "来源",
        "会议",
        "交办单位",
        "文件",
    ),
    "source_date": (
        "会议时间",
        "会议日期",
        "批示时间",
        "批示日期",
        "交办日期",
        "交办时间",
        "来文日期",
        "印发日期",
        "来源日期",
        "立项日期",
        "收文日期",
        "召开时间",
    ),
    "reference": ("文号", "纪要文号", "来文文号", "期数", "会议期数", "纪要期数"),
    "title": (
        "督办事项",
        "议定事项",
        "决定事项",
        "工作任务",
        "具体措施",
        "建议题目",
        "提案题目",
        "事项名称",
        "任务名称",
        "督办内容",
        "交办事项",
        "工作事项",
        "重点工作",
        "主要任务",
        "任务内容",
        "工作内容",
        "批示内容",
        "事项内容",
        "会议议定事项",
        "重点任务",
        "目标任务",
        "批示事项",
        "任务",
        "事项",
    ),
    "requirement": (
        "工作要求",
        "具体要求",
        "目标要求",
        "工作目标",
        "办理要求",
        "任务要求",
        "主要内容",
        "具体内容",
        "督办要求",
        "工作举措",
    ),
    "lead": ("牵头单位", "主办单位", "承办单位", "牵头部门", "主办部门", "承办部门", "牵头责任单位"),
    "assist": ("配合单位", "协办单位", "配合部门", "协办部门", "参与单位", "协助单位", "配合责任单位"),
    "units": ("责任单位", "责任部门", "落实单位", "办理单位", "实施单位"),
    "leaders": (
        "责任领导",
        "分管领导",
        "批示领导",
        "牵头领导",
        "联系领导",
        "包抓领导",
        "分管区领导",
        "分管县领导",
        "责任区领导",
        "责任县领导",
        "区级领导",
        "县级领导",
        "领导",
    ),
    "deadline": (
        "完成时限",
        "办理时限",
        "时间节点",
        "完成时间",
        "办结时限",
        "截止时间",
        "办理期限",
        "完成期限",
        "时限",
    ),
    # the deadline as the source words it (12月底前, 每月25日前报送) beside a date column
    "deadline_text": ("时限要求", "时间要求", "完成时限要求"),
    "urgency": ("紧急程度", "缓急程度", "缓急", "紧急"),
    "progress": (
        "进展情况",
        "办理进展",
        "推进情况",
        "落实情况",
        "完成情况",
        "办理情况",
        "工作进展",
        "最新进展",
        "进度",
    ),
    "status": ("办理状态", "状态"),
}

DEPARTMENT_FIELDS: dict[str, tuple[str, ...]] = {
    "seq": ("序号",),
    "name": ("单位全称", "单位名称", "部门名称", "机构名称", "全称", "单位", "名称"),
    "aliases": ("简称/别名", "简称", "别名", "其他名称", "曾用名"),
    "kind": ("单位类型", "单位类别", "机构类型", "类型", "类别", "性质"),
    "leader": ("分管领导", "分管区领导", "分管县领导", "分管副区长", "分管副县长", "联系领导"),
    "leader_title": ("领导职务", "职务"),
}

# 人大建议/政协提案 交办清单 (read by ``tracker.services.motions.importer``).
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

FIELD_LABELS = {
    "seq": "序号",
    "code": "事项编号",
    "source": "任务来源",
    "source_date": "来源日期",
    "reference": "文号",
    "title": "督办事项",
    "requirement": "工作要求",
    "lead": "牵头单位",
    "assist": "配合单位",
    "units": "责任单位",
    "leaders": "责任领导",
    "deadline": "完成时限",
    "deadline_text": "时限要求",
    "urgency": "紧急程度",
    "progress": "进展情况",
    "status": "办理状态",
    "name": "单位全称",
    "aliases": "简称/别名",
    "kind": "单位类型",
    "leader": "分管领导",
    "leader_title": "领导职务",
}
# The motion list names some of the same fields differently (主办, not 牵头).
MOTION_FIELD_LABELS = {
    "number": "建议/提案编号",
    "title": "建议/提案题目",
    "body": "建议/提案内容",
    "proposer": "领衔代表/提案人",
    "co_signers": "附议代表/联名委员",
    "contact": "联系方式",
    "category": "类别",
    "key": "是否重点",
    "leader": "领办领导",
    "lead": "主办单位",
    "assist": "协办单位",
    "deadline": "办理时限",
    "session": "届次",
}
FIELD_LABELS_BY_KIND = {"ledger": FIELD_LABELS, "departments": FIELD_LABELS, "motions": MOTION_FIELD_LABELS}


def match_header(text: str, fields: dict[str, tuple[str, ...]]) -> tuple[str, int] | None:
    """(field, score) for one header text, or None. Long texts are titles or data, not headers."""
    key = header_key(text)
    if not key or len(key) > 24:
        return None
    best: tuple[str, int] | None = None
    for name, synonyms in fields.items():
        for syn in synonyms:
            if key == syn:
                score = 1000 + len(syn)
            elif syn in key and len(syn) >= 2 and len(key) <= 2 * len(syn) + 4:
                score = 10 * len(syn) - (len(key) - len(syn))
            else:
                continue
            if best is None or score > best[1]:
                best = (name, score)
    return best


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    out, n = "", index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


@dataclass
class Column:
    index: int
    header: str  # as shown: "责任单位/牵头单位" for a two-row header
    field: str | None
    guessed: bool = True  # False when the user (or a remembered mapping) chose it

    @property
    def letter(self) -> str:
        return column_letter(self.index)


@dataclass
class ColumnMapping:
    columns: list[Column]
    header_rows: list[int]  # Excel row numbers
    signature: str
    remembered: bool = False
    notes: list[str] = field(default_factory=list)

    def field_columns(self) -> dict[str, Column]:
        return {c.field: c for c in self.columns if c.field}

    def unmapped(self) -> list[Column]:
        return [c for c in self.columns if not c.field and c.header]

    def to_dict(self) -> dict:
        return {
            "signature": self.signature,
            "header_rows": self.header_rows,
            "remembered": self.remembered,
            "columns": [
                {
                    "column": c.letter,
                    "index": c.index,
                    "header": c.header,
                    "field": c.field,
                    "label": FIELD_LABELS.get(c.field or "", ""),
                    "guessed": c.guessed,
                }
                for c in self.columns
            ],
            "notes": list(self.notes),
        }


def signature(headers: list[str]) -> str:
    """Identifies a ledger layout: the same headers in the same columns."""
    joined = "\x1f".join(header_key(h) for h in headers)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:20]


class MappingStore(Protocol):
    """Where remembered column choices come from: column index -> field (None: ignore)."""

    def get(self, sig: str) -> dict[int, str | None] | None: ...
