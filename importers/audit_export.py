"""The audit log as an Excel workbook: one row per event, newest first, with the filters it was
taken with in its title.

Streamed (write-only mode), every text cell through ``_Cells.text`` (``importers/export.py``):
control characters stripped, text that a spreadsheet would run as a formula kept as text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from openpyxl import Workbook

from importers.bulletin_export import _row, _sheet

COLUMNS = [
    ("时间", 18),
    ("操作人", 12),
    ("操作人单位", 20),
    ("操作", 16),
    ("对象", 14),
    ("事项编号", 16),
    ("事项名称", 30),
    ("变更内容", 50),
    ("说明", 30),
    ("事件编号", 10),
]


@dataclass
class AuditLine:
    """One event as the workbook shows it."""

    at: str
    actor: str
    actor_department: str
    action: str
    entity: str
    task_code: str
    task_title: str
    changes: str
    note: str
    event_id: int


def write_audit(out: str | Path | IO[bytes], title: str, lines: Iterable[AuditLine]) -> int:
    """Write the workbook; returns the number of events written."""
    wb = Workbook(write_only=True)
    ws, cells = _sheet(wb, "审计日志", title, COLUMNS)
    n = 0
    for line in lines:
        _row(
            ws,
            cells,
            [
                line.at,
                line.actor,
                line.actor_department,
                line.action,
                line.entity,
                line.task_code,
                line.task_title,
                line.changes,
                line.note,
                line.event_id,
            ],
        )
        n += 1
    wb.save(out)
    return n
