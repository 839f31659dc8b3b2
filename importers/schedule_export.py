"""The week's schedule and the 调度会 agenda as a workbook (two sheets, A4 landscape).

Takes the plain dict of ``services.schedule.as_dict`` so that no database code
lives here. User text goes through the ledger export's ``_text_cell``: control
characters stripped, text starting with = + - @ tab or CR written as a string
with Excel's quote prefix, never as a formula.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from importers.export import _BORDER, _CENTER, _HEADER_FILL, _HEADER_FONT, _TITLE_FONT, _WRAP, PAPER_A4, _text_cell

SCHEDULE_COLUMNS: list[tuple[str, float]] = [
    ("类别", 14),
    ("序号", 6),
    ("事项编号", 14),
    ("督办事项", 40),
    ("牵头单位", 20),
    ("完成时限", 12),
    ("情况说明", 50),
]
AGENDA_COLUMNS: list[tuple[str, float]] = [
    ("序号", 6),
    ("议题类别", 12),
    ("事项编号", 14),
    ("督办事项", 34),
    ("阻点断点", 36),
    ("牵头领导", 10),
    ("牵头单位", 18),
    ("解决建议", 34),
    ("会议决定", 34),
]


def _sheet(wb: Workbook, title: str, heading: str, columns: list[tuple[str, float]]):
    ws = wb.create_sheet(title)
    for i, (_, width) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = PAPER_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "2:2"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    title_cell = _text_cell(ws, heading, style={"font": _TITLE_FONT})
    ws.append([title_cell])
    header = []
    for name, _ in columns:
        cell = WriteOnlyCell(ws, value=name)
        cell.font, cell.fill, cell.border, cell.alignment = _HEADER_FONT, _HEADER_FILL, _BORDER, _CENTER
        header.append(cell)
    ws.append(header)
    return ws


def _row(ws, values: list) -> None:
    style = {"border": _BORDER, "alignment": _WRAP}
    ws.append([_text_cell(ws, v, style=style) if not isinstance(v, int) else v for v in values])


def write_schedule(out: str | Path | IO[bytes], data: dict, section_labels: dict[str, str]) -> None:
    wb = Workbook(write_only=True)
    ws = _sheet(wb, "每周调度", f"每周重点工作调度清单 {data['label']}", SCHEDULE_COLUMNS)
    for section, label in section_labels.items():
        for n, r in enumerate(data["sections"].get(section, []), start=1):
            _row(ws, [label, n, r["code"], r["title"], r["department"], r["due_date"], r["detail"]])
    ag = _sheet(wb, "调度会议议程", f"重点工作调度推进会议议程 {data['label']}", AGENDA_COLUMNS)
    for r in data["agenda"]:
        _row(
            ag,
            [
                r["agenda_order"],
                r["category"],
                r["code"],
                r["title"],
                r["detail"],
                r["leader"],
                r["department"],
                r["proposal"],
                r["decision"],
            ],
        )
    wb.save(out)
