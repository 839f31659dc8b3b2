"""Cell readers (``importers.cells``): one reading of a date cell for every import, so an
Excel serial reads the same date in a ledger and in a 建议/提案 list."""

from __future__ import annotations

from datetime import date, datetime

import openpyxl
import pytest
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from importers import read_workbook
from importers.cells import cell_date, excel_serial, find_date
from tests.fixtures.helpers import load_district
from tracker.models import Task
from tracker.services.ledger import importer as ledger_import
from tracker.services.motions import importer as motion_import

# 46387 is 2026-12-31 counted from 1899-12-30 (Excel's 1900 system); 44925 is the same
# day counted from 1904-01-01.
SERIAL_1900, SERIAL_1904, DAY = 46387, 44925, date(2026, 12, 31)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 12, 31, 0, 0), DAY),
        (DAY, DAY),
        (SERIAL_1900, DAY),
        (float(SERIAL_1900), DAY),
        ("2026年12月31日前", DAY),
        ("２０２６－１２－３１", DAY),
        ("2026.12.31", DAY),
        ("12月底前", None),
        (17, None),  # an item number, not a date
        (True, None),
        (None, None),
    ],
)
def test_cell_date(value, expected):
    assert cell_date(value) == expected


def test_the_1904_system_moves_the_same_serial():
    assert excel_serial(SERIAL_1904, date1904=True) == excel_serial(SERIAL_1900) == DAY
    assert cell_date(SERIAL_1900, date1904=True) == date(2031, 1, 1)  # four years and a day later


def test_find_date_skips_impossible_dates():
    assert find_date("2026年2月30日，改为2026年3月2日") == date(2026, 3, 2)


def _book(tmp_path, name: str, rows: list[list], *, date1904: bool = False):
    wb = openpyxl.Workbook()
    if date1904:
        wb.epoch = CALENDAR_MAC_1904
    for row in rows:
        wb.active.append(row)
    path = tmp_path / name
    wb.save(path)
    return path


def _ledger(tmp_path, deadline, *, date1904: bool = False):
    return _book(
        tmp_path,
        "ledger.xlsx",
        [
            ["任务来源", "会议日期", "督办事项", "牵头单位", "完成时限"],
            ["区政府第12次常务会议", "2026年11月5日", "研究制定城区停车管理办法", "区交通运输局", deadline],
        ],
        date1904=date1904,
    )


def _motion_list(tmp_path, deadline, *, date1904: bool = False):
    return _book(
        tmp_path,
        "motions.xlsx",
        [
            ["区十七届人大三次会议代表建议交办清单"],
            ["建议编号", "建议题目", "领衔代表", "主办单位", "协办单位", "办理时限"],
            [1, "关于改善城区停车的建议", "王芳", "区交通运输局", "", deadline],
        ],
        date1904=date1904,
    )


@pytest.fixture
def org(session):
    return load_district(session)


def test_a_workbook_says_whether_it_counts_from_1904(tmp_path):
    assert read_workbook(_ledger(tmp_path, SERIAL_1904, date1904=True)).date1904
    assert not read_workbook(_ledger(tmp_path, SERIAL_1900)).date1904


@pytest.mark.parametrize(("serial", "date1904"), [(SERIAL_1900, False), (SERIAL_1904, True)])
def test_an_excel_serial_reads_the_same_date_in_a_ledger_and_a_motion_list(org, session, tmp_path, serial, date1904):
    ledger = ledger_import.import_ledger(
        session, org.office, _ledger(tmp_path, serial, date1904=date1904), dry_run=False
    )
    assert ledger.committed, [e.message for r in ledger.rows for e in r.errors]
    motions = motion_import.import_list(session, org.office, _motion_list(tmp_path, serial, date1904=date1904))
    assert motions.committed, motions.errors
    assert ledger.rows[0].due_date == motions.items[0].due_date == DAY
    assert session.get(Task, motions.items[0].task_id).due_date == DAY
    # both say how they read the number
    assert any("Excel 日期序号" in w.message for w in ledger.rows[0].warnings)
    assert any("Excel 日期序号" in w["message"] for w in motions.items[0].warnings)


def test_a_number_that_is_no_date_is_refused_by_both(org, session, tmp_path):
    ledger = ledger_import.import_ledger(session, org.office, _ledger(tmp_path, 17))
    assert [e.message for e in ledger.rows[0].errors] == ["无法识别的完成时限：“17”"]
    report, _inputs = motion_import.read_list(session, _motion_list(tmp_path, 17))
    assert [e["field"] for e in report.items[0].errors] == ["deadline"]
