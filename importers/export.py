"""Writing the office's standard ledger (督办台账) and the blank import template.

The ledger streams through openpyxl's write-only mode, so 100,000 tasks never
sit in memory as cell objects. Every cell holding user text goes through
``_Cells.text`` (or ``_text_cell``): illegal control characters are stripped and
text a spreadsheet would run as a formula (= + - @ tab CR) is written as a
string cell with Excel's quote-prefix flag, so it shows and stays as text.
"""

from __future__ import annotations

from collections.abc import Iterable
from copy import copy
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.cell_range import CellRange, MultiCellRange
from openpyxl.worksheet.datavalidation import DataValidation

from importers.cells import FORMULA_TRIGGERS, needs_quote_prefix, safe_text

# (header, sub-header, width). A sub-header under a shared group header makes the
# two-row header: 责任单位 over 牵头单位 / 配合单位.
LEDGER_COLUMNS: list[tuple[str, str, float]] = [
    ("序号", "", 6),
    ("任务来源", "", 24),
    ("来源日期", "", 12),
    ("事项编号", "", 14),
    ("督办事项", "", 36),
    ("工作要求", "", 40),
    ("责任单位", "牵头单位", 20),
    ("责任单位", "配合单位", 26),
    ("责任领导", "", 12),
    ("完成时限", "", 12),
    ("时限要求", "", 18),
    ("紧急程度", "", 9),
    ("办理状态", "", 14),
    ("最新进展", "", 44),
]
HEADER_ROWS = (2, 3)
FIRST_DATA_ROW = 4
TEMPLATE_ROWS = 500

LIGHT_FILLS = {  # pale traffic lights: readable in print, not shouting on screen
    "red": PatternFill("solid", fgColor="FFC7CE"),
    "yellow": PatternFill("solid", fgColor="FFEB9C"),
    "green": PatternFill("solid", fgColor="C6EFCE"),
}
_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_HEADER_FONT = Font(bold=True)
_TITLE_FONT = Font(bold=True, size=16)
_WRAP = Alignment(wrap_text=True, vertical="top")
_SECTION = Alignment(horizontal="left", vertical="center")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
DATE_FORMAT = "yyyy-mm-dd"
PAPER_A4 = "9"  # Worksheet.PAPERSIZE_A4; write-only sheets lack the constant


@dataclass
class LedgerRow:
    """One task as the ledger shows it; ``light`` is red | yellow | green | none."""

    source: str
    source_date: date | None
    code: str
    title: str
    requirement: str
    lead: str
    assisting: list[str]
    leaders: list[str]
    deadline: date | None  # the due date: a real date, so that the column sorts and filters
    urgency: str
    status: str
    progress: str
    light: str = "none"
    source_key: object = None  # rows with the same key in a run share merged source cells
    item_no: str = ""  # 序号: the item's number in its source, else the running number
    category: str = ""  # the ledger's section ("一、扎实推进项目建设"): a section row above its first task
    deadline_text: str = ""  # 时限要求: the deadline as worded (12月底前, 长期坚持，每月25日前报送)


def _text_cell(ws, value, *, style: dict | None = None) -> WriteOnlyCell:
    text = safe_text(value)
    cell = WriteOnlyCell(ws, value=text)
    if style:
        _apply_style(cell, style)
    if text and needs_quote_prefix(text):
        cell.data_type = "s"  # never a formula, whatever it starts with
        cell.quotePrefix = True
    return cell


def _styled(ws, value, **style) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    _apply_style(cell, style)
    return cell


def _apply_style(cell, style: dict) -> None:
    """Set the named styles (font, fill, border, alignment, number_format) on a fresh cell.

    Setting one hashes the style object into the workbook's style tables, recursively
    through every side and colour: for a small export that cost more than its rows. The
    resulting index array is kept per workbook and style combination (the styles are
    module constants, keyed by identity and kept alive by the cache) and copied to the
    next cell with the same styles: the same indices as setting them one by one."""
    wb = cell.parent.parent
    cache = wb.__dict__.setdefault("_style_arrays", {})
    key = tuple((name, id(value)) for name, value in style.items())
    hit = cache.get(key)
    if hit is None:
        for name, value in style.items():
            setattr(cell, name, value)
        cache[key] = (copy(cell._style), tuple(style.values()))
    else:
        cell._style = copy(hit[0])


def _page_setup(ws) -> None:
    """Column widths, frozen header, A4 landscape with the header rows repeated:
    what the ledger and the blank template share."""
    for i, (_, _, width) in enumerate(LEDGER_COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = f"A{FIRST_DATA_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = PAPER_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{HEADER_ROWS[0]}:{HEADER_ROWS[1]}"


def _setup_sheet(ws) -> None:
    """The ledger's page setup, centred with narrow margins: set before the first row streams."""
    _page_setup(ws)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5


def _header_rows(ws) -> list[list]:
    """The title row is written by the caller; these are the two header rows and their merges."""
    upper, lower = [], []
    style = {"font": _HEADER_FONT, "fill": _HEADER_FILL, "border": _BORDER, "alignment": _CENTER}
    for i, (head, sub, _) in enumerate(LEDGER_COLUMNS):
        upper.append(_styled(ws, head, **style))
        lower.append(_styled(ws, sub or None, **style))
        col = get_column_letter(i + 1)
        if not sub:
            ws.merged_cells.add(f"{col}{HEADER_ROWS[0]}:{col}{HEADER_ROWS[1]}")
    # group headers: consecutive columns sharing an upper header with sub-headers
    i = 0
    while i < len(LEDGER_COLUMNS):
        j = i
        while j + 1 < len(LEDGER_COLUMNS) and LEDGER_COLUMNS[j + 1][0] == LEDGER_COLUMNS[i][0] and LEDGER_COLUMNS[i][1]:
            j += 1
        if j > i:
            ws.merged_cells.add(
                f"{get_column_letter(i + 1)}{HEADER_ROWS[0]}:{get_column_letter(j + 1)}{HEADER_ROWS[0]}"
            )
            for k in range(i + 1, j + 1):
                upper[k] = _styled(ws, None, **style)
        i = j + 1
    return [upper, lower]


class _LedgerSheet(WriteOnlyWorksheet):
    """A write-only sheet whose rows are always lists of cells (or None).

    openpyxl's ``append`` first tries each item as a plain value and only then
    as a cell, through an exception whose message formats the cell's repr:
    for a 100,000-row export that cost more than writing the XML. Here every
    item is a cell already, so it is only placed. (openpyxl is pinned: the
    export tests would catch a change of this internal hook.)
    """

    def _values_to_row(self, values, row_idx):
        for col_idx, cell in enumerate(values, 1):
            if cell is None:
                continue
            cell.column = col_idx
            cell.row = row_idx
            yield cell


class _StyledCell(Cell):
    """A cell whose style never changes once written: its style id is looked up once."""

    __slots__ = ("_style_id",)

    def __init__(self, ws):
        super().__init__(ws, row=1, column=1)
        self._style_id = None

    @property
    def style_id(self):
        if self._style_id is None:
            self._style_id = self.parent.parent._cell_styles.add(self._style)
        return self._style_id


def write_ledger(
    out: str | Path | IO[bytes],
    rows: Iterable[LedgerRow],
    *,
    title: str = "督办台账",
    as_of: date | None = None,
    progress=None,
) -> int:
    """Stream the ledger to ``out``; returns the number of task rows written."""
    wb = Workbook(write_only=True)
    ws = _LedgerSheet(parent=wb, title="督办台账")
    wb._add_sheet(ws)
    _setup_sheet(ws)
    ncols = len(LEDGER_COLUMNS)
    heading = title + (f"（截至{as_of.year}年{as_of.month}月{as_of.day}日）" if as_of else "")
    ws.row_dimensions[1].height = 32
    ws.append([_text_cell(ws, heading, style={"font": _TITLE_FONT, "alignment": _CENTER})] + [None] * (ncols - 1))
    ws.merged_cells.add(f"A1:{get_column_letter(ncols)}1")
    for row in _header_rows(ws):
        ws.append(row)

    cells = _Cells(ws)
    ws._ledger_merges = []
    n = 0
    run_key, run_start = object(), FIRST_DATA_ROW
    excel_row = FIRST_DATA_ROW
    text, plain = cells.text, cells.plain
    section = ""
    for n, task in enumerate(rows, start=1):
        if task.category and task.category != section:
            # A section row as the ledger came in (read back as the tasks' category); it ends a source run.
            if excel_row - run_start > 1:
                _merge_source(ws, run_start, excel_row - 1)
            ws.append(
                [_text_cell(ws, task.category, style={"font": _HEADER_FONT, "alignment": _SECTION, "border": _BORDER})]
                + [None] * (ncols - 1)
            )
            ws._ledger_merges.append(f"A{excel_row}:{get_column_letter(ncols)}{excel_row}")
            excel_row += 1
            section = task.category
            run_key, run_start = object(), excel_row
        same = task.source_key is not None and task.source_key == run_key
        if not same:
            if excel_row - run_start > 1:
                _merge_source(ws, run_start, excel_row - 1)
            run_key, run_start = task.source_key, excel_row
        lit = "body_" + task.light if task.light in LIGHT_FILLS else "body"
        deadline = plain(10, task.deadline, "date_" + task.light if task.light in LIGHT_FILLS else "date")
        seq = (
            text(1, task.item_no, "seq")
            if task.item_no and not task.item_no.isdigit()
            else plain(1, int(task.item_no) if task.item_no else n, "seq")
        )
        ws.append(
            [
                seq,
                text(2, None if same else task.source),
                plain(3, None if same else task.source_date, "date"),
                text(4, task.code),
                text(5, task.title),
                text(6, task.requirement),
                text(7, task.lead),
                text(8, "、".join(task.assisting)),
                text(9, "、".join(task.leaders)),
                deadline,
                text(11, task.deadline_text),
                text(12, task.urgency),
                text(13, task.status, lit),
                text(14, task.progress),
            ]
        )
        excel_row += 1
        if progress and n % 5000 == 0:
            progress(n)
    if excel_row - run_start > 1:
        _merge_source(ws, run_start, excel_row - 1)
    ws.merged_cells = MultiCellRange([*ws.merged_cells.ranges, *(CellRange(r) for r in ws._ledger_merges)])
    if n:
        ws.auto_filter.ref = f"A{HEADER_ROWS[1]}:{get_column_letter(ncols)}{excel_row - 1}"
    wb.save(out)
    return n


class _Cells:
    """Styled cells for the streamed body, one reusable cell per column and style.

    A write-only sheet writes each appended row at once, so the same cell
    objects can carry the next row's values: styles are set once, not hashed
    into the workbook's style table for every cell (which cost more than the
    writing itself on a 100,000-row export). Values are set as openpyxl's
    ``Cell.value`` would, minus the type sniffing: text is always a string.
    """

    def __init__(self, ws):
        self.ws = ws
        base = {"border": _BORDER, "alignment": _WRAP}
        self.styles = {
            "body": base,
            "seq": {"border": _BORDER, "alignment": _CENTER},
            "date": dict(base, number_format=DATE_FORMAT),
        }
        for light, fill in LIGHT_FILLS.items():
            self.styles[f"body_{light}"] = dict(base, fill=fill)
            self.styles[f"date_{light}"] = dict(base, fill=fill, number_format=DATE_FORMAT)
        self.cells: dict[tuple, WriteOnlyCell] = {}

    def _cell(self, column: int, key: str, quoted: bool = False) -> WriteOnlyCell:
        cell = self.cells.get((column, key, quoted))
        if cell is None:
            cell = _StyledCell(self.ws)
            _apply_style(cell, self.styles[key])
            if quoted:
                cell.quotePrefix = True
            self.cells[(column, key, quoted)] = cell
        return cell

    def plain(self, column: int, value, key: str = "body") -> WriteOnlyCell:
        """A number or a date (or nothing)."""
        cell = self._cell(column, key)
        cell._value = value
        cell.data_type = "d" if isinstance(value, date) else "n"
        return cell

    def text(self, column: int, value, key: str = "body") -> WriteOnlyCell:
        """User text: never a formula, never an illegal character, at most 32,767 characters."""
        s = safe_text(value)[:32767] if value else ""
        if not s:
            return self.plain(column, None, key)
        cell = self._cell(column, key, quoted=s.startswith(FORMULA_TRIGGERS))
        cell._value = s
        cell.data_type = "s"
        return cell


def _merge_source(ws, first: int, last: int) -> None:
    # collected in a plain list: MultiCellRange.add checks every range already there,
    # quadratic over a 100,000-row export; write_ledger sets them all at the end
    ws._ledger_merges.extend(f"{col}{first}:{col}{last}" for col in ("B", "C"))


def _list_validation(lists_ws, values: list[str], column: int, label: str, *, strict: bool) -> DataValidation | None:
    """A drop-down; past Excel's 255-character limit the list lives on the hidden sheet."""
    values = [safe_text(v).replace('"', "") for v in values if v]
    if not values:
        return None
    inline = ",".join(values)
    if values and len(inline) <= 255 and "," not in "".join(values):
        formula = f'"{inline}"'
    else:
        col = get_column_letter(column)
        for i, v in enumerate(values, start=1):
            cell = lists_ws.cell(row=i, column=column, value=v)
            if needs_quote_prefix(v):
                cell.data_type = "s"
                cell.quotePrefix = True
        formula = f"'{lists_ws.title}'!${col}$1:${col}${len(values)}"
    dv = DataValidation(
        type="list",
        formula1=formula,
        allow_blank=True,
        showDropDown=False,
        showErrorMessage=strict,
        errorTitle="请从下拉列表中选择",
        error=f"请从下拉列表中选择{label}",
        promptTitle=label,
        prompt=f"请选择{label}" + ("" if strict else "，多个用顿号“、”分隔"),
        showInputMessage=True,
    )
    return dv


def write_template(
    out: str | Path | IO[bytes],
    *,
    departments: list[str],
    leaders: list[str],
    urgencies: list[str],
    title: str = "督办台账（导入模板）",
) -> None:
    """A blank ledger with the import header and drop-downs for departments, leaders and urgency."""
    wb = Workbook()
    ws = wb.active
    ws.title = "督办台账"
    lists_ws = wb.create_sheet("_lists")
    lists_ws.sheet_state = "hidden"
    ncols = len(LEDGER_COLUMNS)
    _page_setup(ws)
    ws.cell(row=1, column=1, value=safe_text(title)).font = _TITLE_FONT
    ws.cell(row=1, column=1).alignment = _CENTER
    ws.row_dimensions[1].height = 32
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
    for i, (head, sub, _) in enumerate(LEDGER_COLUMNS, start=1):
        for r, text in ((HEADER_ROWS[0], head), (HEADER_ROWS[1], sub or head)):
            cell = ws.cell(row=r, column=i, value=text if r == HEADER_ROWS[0] or sub else None)
            cell.font, cell.fill, cell.border, cell.alignment = _HEADER_FONT, _HEADER_FILL, _BORDER, _CENTER
        if not sub:
            ws.merge_cells(start_row=HEADER_ROWS[0], start_column=i, end_row=HEADER_ROWS[1], end_column=i)
    ws.merge_cells("G2:H2")
    last = FIRST_DATA_ROW + TEMPLATE_ROWS - 1
    by_name = {head if not sub else sub: i for i, (head, sub, _) in enumerate(LEDGER_COLUMNS, start=1)}
    for label, values, header, strict in (
        ("牵头单位", departments, "牵头单位", True),
        ("配合单位", departments, "配合单位", False),
        ("责任领导", leaders, "责任领导", False),
        ("紧急程度", urgencies, "紧急程度", True),
    ):
        column = by_name[header]
        dv = _list_validation(lists_ws, values, column, label, strict=strict)
        if dv is None:
            continue
        col = get_column_letter(column)
        dv.add(f"{col}{FIRST_DATA_ROW}:{col}{last}")
        ws.add_data_validation(dv)
    for col in ("C", get_column_letter(by_name["完成时限"])):
        for r in range(FIRST_DATA_ROW, last + 1):
            ws[f"{col}{r}"].number_format = DATE_FORMAT
    notes = wb.create_sheet("填表说明")
    for i, line in enumerate(TEMPLATE_NOTES, start=1):
        notes.cell(row=i, column=1, value=line)
    notes.column_dimensions["A"].width = 100
    wb.active = 0
    wb.save(out)


TEMPLATE_NOTES = [
    "填表说明",
    "1. 每行填写一项督办事项；同一会议的多项议定事项可合并“任务来源”单元格。",
    "2. 牵头单位只填一个；配合单位、责任领导可填多个，用顿号“、”分隔。单位和领导须是系统中已登记的名称或简称。",
    "3. “完成时限”填日期（如 2026-12-31）；“时限要求”照录会议或批示的原话，如“2026年12月底前”“15个工作日内”"
    "“长期坚持”“每月25日前报送”。两列可只填一列：只填时限要求时，系统按原话推算日期；两列都填时以完成时限的日期为准。",
    "4. “15个工作日内”“12月底前”等相对时限从“来源日期”（会议或批示日期）起算，请填写来源日期。",
    "5. 可用“一、××××”这样的分类行分隔不同类别的事项。",
    "6. 导入时先生成预览报告，全部无误后才一次性写入；任何一行有错误都不会写入。",
]
