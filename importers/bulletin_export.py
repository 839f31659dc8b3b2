"""The bulletin (通报) as an Excel workbook, from its frozen JSON.

Four sheets, each A4 with a title row and a bold header row repeated on every
printed page (the ledger's page setup): 概况, 逾期事项（按单位）,
逾期事项（按领导）, 考核排名. Every text cell goes through ``_Cells.text`` (illegal
characters stripped; text starting with = + - @ tab CR kept as text with the
quote prefix, never run as a formula) through ``importers/export.py``'s
reusable streamed cells (write-only mode: styles are hashed once, not per cell).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from importers.cells import safe_text
from importers.export import (
    _BORDER,
    _CENTER,
    _HEADER_FILL,
    _HEADER_FONT,
    _TITLE_FONT,
    PAPER_A4,
    _Cells,
    _LedgerSheet,
    _styled,
    _text_cell,
)

HEADER_ROW = 2
FIRST_ROW = 3


def _sheet(wb: Workbook, name: str, title: str, columns: list[tuple[str, float]]):
    """A streamed (write-only) sheet with the title and header rows written; returns
    the sheet and its reusable body cells (styles hashed once, not per cell)."""
    ws = _LedgerSheet(parent=wb, title=name)
    wb._add_sheet(ws)
    for i, (_, width) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = f"A{FIRST_ROW}"
    ws.page_setup.paperSize = PAPER_A4
    ws.page_setup.orientation = "landscape" if len(columns) > 6 else "portrait"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.print_options.horizontalCentered = True
    ws.row_dimensions[1].height = 30
    ws.append([_text_cell(ws, title, style={"font": _TITLE_FONT, "alignment": _CENTER})] + [None] * (len(columns) - 1))
    ws.merged_cells.add(f"A1:{get_column_letter(len(columns))}1")
    style = {"font": _HEADER_FONT, "fill": _HEADER_FILL, "border": _BORDER, "alignment": _CENTER}
    ws.append([_styled(ws, head, **style) for head, _ in columns])
    return ws, _Cells(ws)


def _row(ws, cells: _Cells, values: list) -> None:
    """Text through ``_Cells.text`` (never a formula), numbers as numbers."""
    ws.append(
        [
            cells.text(col, value) if isinstance(value, str) or value is None else cells.plain(col, value)
            for col, value in enumerate(values, start=1)
        ]
    )


def _pct(rate) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def write_bulletin(out: str | Path | IO[bytes], data: dict) -> None:
    """Write the bulletin ``data`` (``Bulletin.data``) to ``out``."""
    wb = Workbook(write_only=True)
    title = safe_text(data.get("title", "督查督办工作通报"))
    s = data.get("summary", {})
    ws, cells = _sheet(wb, "概况", title, [("项目", 30), ("数值", 16)])
    rows = [
        ("统计期间", f"{data.get('period_start')} 至 {data.get('period_end')}"),
        ("本期交办（件）", s.get("assigned", 0)),
        ("本期办结（件）", s.get("closed", 0)),
        ("其中按时办结（件）", s.get("closed_on_time", 0)),
        ("其中超期办结（件）", s.get("closed_late", 0)),
        ("按时办结率", _pct(s.get("on_time_rate"))),
        ("期末在办（件）", s.get("open", 0)),
        ("期末逾期（件）", s.get("overdue", 0)),
        ("逾期累计工作日", s.get("overdue_task_days", 0)),
        ("退回（次）", s.get("returns", 0)),
        ("延期（次）", s.get("extensions", 0)),
        ("报送超期（次）", s.get("late_reports", 0)),
    ]
    rows += [(f"状态：{c['label']}（件）", c["count"]) for c in data.get("status_counts", [])]
    rows += [(f"退回较多：{e['department']}（次）", e["returns"]) for e in data.get("top_returns", [])]
    for values in rows:
        _row(ws, cells, list(values))

    task_columns = [
        ("事项编号", 14),
        ("督办事项", 40),
        ("完成时限", 12),
        ("原定时限", 12),
        ("逾期工作日", 10),
        ("责任领导", 14),
    ]
    ws, cells = _sheet(wb, "逾期事项（按单位）", f"{title}·逾期事项（按牵头单位）", [("牵头单位", 22), *task_columns])
    for dep in data.get("overdue_by_department", []):
        for t in dep["tasks"]:
            _row(
                ws,
                cells,
                [
                    dep["department"],
                    t["code"],
                    t["title"],
                    t["due_date"],
                    t.get("original_due_date"),
                    t["overdue_workdays"],
                    "、".join(t.get("leaders", [])),
                ],
            )
    ws, cells = _sheet(
        wb,
        "逾期事项（按领导）",
        f"{title}·逾期事项（按责任领导）",
        [("责任领导", 14), ("牵头单位", 22), *task_columns[:5]],
    )
    for entry in data.get("overdue_by_leader", []):
        for t in entry["tasks"]:
            _row(
                ws,
                cells,
                [
                    entry["leader"],
                    t.get("department", ""),
                    t["code"],
                    t["title"],
                    t["due_date"],
                    t.get("original_due_date"),
                    t["overdue_workdays"],
                ],
            )
    ws, cells = _sheet(
        wb,
        "考核排名",
        f"{title}·考核排名",
        [
            ("名次", 6),
            ("单位", 22),
            ("得分", 8),
            ("按时办结率", 11),
            ("办结", 7),
            ("按时办结", 9),
            ("在办", 7),
            ("逾期", 7),
            ("逾期工作日", 10),
            ("退回", 7),
            ("报送超期", 9),
            ("延期", 7),
        ],
    )
    for f in data.get("ranking", []):
        _row(
            ws,
            cells,
            [
                f["rank"],
                f["department"],
                f["score"],
                _pct(f.get("on_time_rate")),
                f["closed"],
                f["closed_on_time"],
                f["open"],
                f["overdue"],
                f["overdue_task_days"],
                f["returns"],
                f["late_reports"],
                f["extensions"],
            ],
        )
    wb.save(out)
