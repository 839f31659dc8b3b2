"""Finding the table in a sheet as people lay ledgers out.

A sheet may have title rows and notes above the table, a one- or two-row header
(with merged group headers such as 责任单位 over 牵头单位 / 配合单位), merged
cells spanning rows (one meeting written once for several decisions), section
rows ("一、扎实推进项目建设"), blank rows, and notes below ("备注：…"). The
detection works on the plain grid from ``importers.workbook``: merged ranges
are filled in, the header is the row (or pair of rows) naming the most known
fields, and every row below it is classified as data, section, note or blank.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from importers.cells import as_text, find_date, header_key
from importers.mapping import Column, ColumnMapping, MappingStore, column_letter, match_header, signature
from importers.workbook import RawSheet

HEADER_SCAN_ROWS = 30

_HEADING = re.compile(
    r"^(?:[一二三四五六七八九十百]+[、.．]|[(（][一二三四五六七八九十]+[)）]|第[一二三四五六七八九十]+"
    r"(?:部分|章|节|类|篇|项)|[A-Z][、.．]|[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ]+[、.．]?)"
)
_CN_NUMERAL = re.compile(r"^[一二三四五六七八九十]+[、.．]?$")
_NOTE = re.compile(
    r"^(?:备\s*注|注|说\s*明|填表说明|填报说明|填报人|填报单位|制表人?|审核人?|联系人|联系电话|"
    r"签发人?|报送单位|附件|注意事项)\s*[:：\d、.．(（]"
)
_AS_OF = re.compile(r"(?:截至|截止|截止到|更新至|统计至|更新日期|填报日期|报送日期|日期)[:：\s]*$")


@dataclass
class DataRow:
    """One row of the table: values by field, the column each came from, and which
    values were filled in from a merged range above (not written on this row)."""

    sheet: str
    row: int  # Excel row number
    values: dict[str, Any]
    columns: dict[str, str]
    filled: set[str] = field(default_factory=set)
    category: str = ""

    def text(self, name: str) -> str:
        return as_text(self.values.get(name))


@dataclass
class Table:
    sheet: str
    mapping: ColumnMapping
    title: str = ""
    preamble: list[str] = field(default_factory=list)
    ledger_date: date | None = None
    rows: list[DataRow] = field(default_factory=list)
    sections: list[tuple[int, str]] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class SheetScan:
    """What was found on one sheet: a table, or why there is none."""

    sheet: str
    table: Table | None
    reason: str = ""
    hidden: bool = False


class _Grid:
    """The sheet with merged ranges filled in, remembering which cells were filled."""

    def __init__(self, sheet: RawSheet):
        self.raw = sheet.rows
        self.height = len(sheet.rows)
        self.width = sheet.width
        self.full = [list(r) for r in sheet.rows]
        self.below_origin: set[tuple[int, int]] = set()  # inside a merge, below its first row
        self.merge_of: dict[tuple[int, int], tuple[int, int, int, int]] = {}
        for r0, c0, r1, c1 in sheet.merged:
            if r0 >= self.height or c0 >= self.width:
                continue
            r1, c1 = min(r1, self.height - 1), min(c1, self.width - 1)
            value = self.raw[r0][c0]
            for r in range(r0, r1 + 1):
                for c in range(c0, c1 + 1):
                    self.merge_of[(r, c)] = (r0, c0, r1, c1)
                    if (r, c) != (r0, c0):
                        self.full[r][c] = value
                    if r > r0:
                        self.below_origin.add((r, c))

    def h_span(self, r: int, c: int) -> int:
        m = self.merge_of.get((r, c))
        return (m[3] - m[1] + 1) if m else 1

    def own_cells(self, r: int) -> list[int]:
        """Columns with a value written on this row (not carried down from a merge above)."""
        return [c for c in range(self.width) if self.full[r][c] is not None and (r, c) not in self.below_origin]

    def single_value(self, r: int) -> bool:
        values = {as_text(v) for v in self.full[r] if v is not None}
        return len(values) == 1


def _header_fields(grid: _Grid, r: int, fields) -> dict[int, tuple[str, int]]:
    out = {}
    for c in range(grid.width):
        v = grid.full[r][c]
        if isinstance(v, str):
            m = match_header(v, fields)
            if m:
                out[c] = m
    return out


def _header_like(grid: _Grid, r: int, main: int, fields) -> bool:
    """Could row ``r`` be the other half of a two-row header whose main row is ``main``?"""
    if not 0 <= r < grid.height or grid.single_value(r):
        return False
    matched = _header_fields(grid, r, fields)
    differs = False
    for c in range(grid.width):
        v = grid.full[r][c]
        if v is None:
            continue
        if not isinstance(v, str):
            return False
        same = v == grid.full[main][c]
        if not same:
            differs = True
        if c not in matched and not same and grid.h_span(r, c) < 2 and _role_word(v) is None:
            return False
    return differs and (bool(matched) or any(_role_word(v) for v in grid.full[r] if isinstance(v, str)))


def _role_word(text: str) -> str | None:
    key = header_key(text)
    if key in ("牵头", "主办", "牵头单位", "主办单位"):
        return "lead"
    if key in ("配合", "协办", "配合单位", "协办单位"):
        return "assist"
    return None


def _column_field(upper: str | None, lower: str | None, fields) -> tuple[str, int] | None:
    for text in (lower, upper):
        if not text:
            continue
        m = match_header(text, fields)
        role = _role_word(text)
        if role and role in fields:
            return role, 1000
        if m:
            name, score = m
            key = header_key(text)
            if name == "units" and "lead" in fields:  # 责任单位（牵头） / 责任单位（配合）
                if "牵头" in key or "主办" in key:
                    return "lead", score
                if "配合" in key or "协办" in key:
                    return "assist", score
            return m
    return None


def _find_header(grid: _Grid, fields, required: set[str]) -> list[int] | None:
    best, best_score = None, 0
    for r in range(min(grid.height, HEADER_SCAN_ROWS)):
        if grid.single_value(r):
            continue
        found = _header_fields(grid, r, fields)
        names = {f for f, _ in found.values()}
        if not (names & required) or len(names) < 2:
            continue
        if len(names) > best_score:
            best, best_score = r, len(names)
    if best is None:
        return None
    if _header_like(grid, best + 1, best, fields):
        return [best, best + 1]
    if _header_like(grid, best - 1, best, fields):
        return [best - 1, best]
    return [best]


def _ledger_date(texts: list[str], cells: list[Any]) -> date | None:
    for v in cells:
        if isinstance(v, datetime):
            return v.date()
        if isinstance(v, date):
            return v
    for text in texts:
        found = find_date(text)
        if found is not None:
            return found
    return None


def build_mapping(
    grid: _Grid,
    header_rows: list[int],
    fields,
    *,
    store: MappingStore | None = None,
    overrides: dict[int, str | None] | None = None,
) -> ColumnMapping:
    upper_row = grid.full[header_rows[0]]
    lower_row = grid.full[header_rows[-1]]
    columns: list[Column] = []
    scores: dict[int, int] = {}
    for c in range(grid.width):
        up = as_text(upper_row[c]) or None
        low = as_text(lower_row[c]) or None if len(header_rows) > 1 else None
        if len(header_rows) > 1 and low == up:
            low = None
        shown = f"{up}/{low}" if up and low else (up or low or "")
        m = _column_field(up, low, fields)
        columns.append(Column(c, shown, m[0] if m else None))
        if m:
            scores[c] = m[1]
    notes: list[str] = []
    # One column per field: the best-scoring, then the leftmost; a second 事项 column is the requirement.
    by_field: dict[str, list[Column]] = {}
    for col in columns:
        if col.field:
            by_field.setdefault(col.field, []).append(col)
    for name, cols in by_field.items():
        cols.sort(key=lambda col: (-scores[col.index], col.index))
        if name == "title" and len(cols) > 1:
            cols.sort(key=lambda col: col.index)
        for extra in cols[1:]:
            if (
                name == "title"
                and "requirement" in fields
                and "requirement" not in by_field
                and not any(c.field == "requirement" for c in columns)
            ):
                extra.field = "requirement"
                continue
            notes.append(
                f"列{extra.letter}“{extra.header}”与列{cols[0].letter}“{cols[0].header}”都像"
                f"“{name}”，已使用列{cols[0].letter}"
            )
            extra.field = None
    names = {c.field for c in columns if c.field}
    if "title" in fields and "title" not in names and "requirement" in names:
        for col in columns:
            if col.field == "requirement":
                col.field = "title"
    sig = signature([c.header for c in columns])
    remembered = False
    chosen = overrides
    if chosen is None and store is not None:
        chosen = store.get(sig)
        remembered = chosen is not None
    if chosen:
        for index, name in chosen.items():
            if not 0 <= index < len(columns) or (name is not None and name not in fields):
                continue
            if name is not None:
                for other in columns:
                    if other.field == name and other.index != index:
                        other.field, other.guessed = None, False
            columns[index].field, columns[index].guessed = name, False
    return ColumnMapping(columns, [r + 1 for r in header_rows], sig, remembered=remembered, notes=notes)


def detect(
    sheet: RawSheet,
    fields: dict[str, tuple[str, ...]],
    required: set[str],
    *,
    store: MappingStore | None = None,
    overrides: dict[int, str | None] | None = None,
) -> SheetScan:
    """Find the table on one sheet; ``required`` fields must appear in its header."""
    if sheet.hidden:
        return SheetScan(sheet.name, None, "隐藏的工作表，已跳过", hidden=True)
    grid = _Grid(sheet)
    if grid.height == 0 or grid.width == 0:
        return SheetScan(sheet.name, None, "空白工作表")
    header_rows = _find_header(grid, fields, required)
    if header_rows is None:
        return SheetScan(
            sheet.name,
            None,
            "未识别到表头（前30行中没有“督办事项”“牵头单位”“完成时限”等列名）"
            if "title" in fields
            else "未识别到表头（没有“单位全称”等列名）",
        )
    mapping = build_mapping(grid, header_rows, fields, store=store, overrides=overrides)
    table = Table(sheet.name, mapping)
    above = [grid.full[r] for r in range(header_rows[0])]
    seen: set[str] = set()
    for row in above:
        for v in row:
            t = as_text(v)
            if t and t not in seen:
                seen.add(t)
                table.preamble.append(t)
    table.title = next((t for t in table.preamble if not _AS_OF.search(t)), "")
    table.ledger_date = _ledger_date(table.preamble, [v for row in above for v in row])
    _read_rows(grid, header_rows, mapping, table)
    return SheetScan(sheet.name, table)


def _read_rows(grid: _Grid, header_rows: list[int], mapping: ColumnMapping, table: Table) -> None:
    cols = mapping.field_columns()
    title_col = cols.get("title").index if "title" in cols else (cols["name"].index if "name" in cols else -1)
    seq_col = cols["seq"].index if "seq" in cols else -1
    header_texts = [as_text(v) for v in grid.full[header_rows[-1]]]
    category, in_notes = "", False
    key_fields = [f for f in ("lead", "units", "deadline", "leaders", "assist") if f in cols]
    placed = [(name, col.index, col.letter) for name, col in cols.items()]
    for r in range(header_rows[-1] + 1, grid.height):
        full = grid.full[r]
        if all(v is None for v in full):
            continue
        own = grid.own_cells(r)
        if not own:
            continue  # only merged values carried down from above: nothing written here
        if [as_text(v) for v in full] == header_texts:
            table.skipped.append((r + 1, "重复的表头行"))
            continue
        origins = {grid.merge_of.get((r, c), (r, c, r, c))[:2] for c in own}
        first_text = as_text(full[own[0]])
        if len(origins) == 1:
            if in_notes or _NOTE.match(first_text):
                in_notes = True
                table.notes.append((r + 1, first_text))
                continue
            heading = bool(_HEADING.match(first_text) or _CN_NUMERAL.match(first_text))
            if own == [seq_col] and not heading:
                continue  # a numbered but empty row of a template
            carried_title = title_col >= 0 and (r, title_col) in grid.below_origin
            if (
                isinstance(full[own[0]], str)
                and not carried_title
                and (heading or grid.h_span(r, own[0]) >= 2 or own[0] != title_col)
            ):
                category = first_text
                table.sections.append((r + 1, first_text))
                continue
        elif in_notes:
            if not (title_col in own and any(cols[f].index in own for f in key_fields)):
                table.notes.append((r + 1, " ".join(as_text(full[c]) for c in own)))
                continue
            in_notes = False
        if (
            seq_col >= 0
            and title_col >= 0
            and set(own) <= {seq_col, title_col}
            and seq_col in own
            and title_col in own
            and _CN_NUMERAL.match(as_text(full[seq_col]))
        ):
            category = f"{as_text(full[seq_col]).rstrip('、.．')}、{as_text(full[title_col])}"
            table.sections.append((r + 1, category))
            continue
        if (
            _NOTE.match(first_text)
            and (title_col not in own or own[0] == title_col)
            and not any(cols[f].index in own for f in key_fields)
        ):
            in_notes = True
            table.notes.append((r + 1, " ".join(as_text(full[c]) for c in own)))
            continue
        values, columns, filled = {}, {}, set()
        for name, index, letter in placed:
            v = full[index]
            if v is None:
                continue
            values[name] = v
            columns[name] = letter
            if (r, index) in grid.below_origin:
                filled.add(name)
        if not values:
            table.skipped.append((r + 1, "该行没有可导入的内容（只有未识别列）"))
            continue
        if set(values) <= {"seq"} or (set(values) - filled) <= {"seq"}:
            continue
        table.rows.append(DataRow(table.sheet, r + 1, values, columns, filled, category))


def letter(index: int) -> str:
    return column_letter(index)
