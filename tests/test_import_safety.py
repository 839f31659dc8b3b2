"""Hostile and broken files: limits, zip bombs, encryption, corruption, XML entities,
encodings; and random workbooks that must never crash the importer or leave half an import."""

from __future__ import annotations

import random
import tempfile
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from importers import Limits, WorkbookError, read_workbook
from tests.fixtures.helpers import FIXTURES, counts, load_district
from tracker.services import actors
from tracker.services.ledger import importer as ledger_import
from tracker.services.ledger import report as import_report


def _error(path, **limits) -> str:
    with pytest.raises(WorkbookError) as info:
        read_workbook(path, limits=Limits(**limits))
    return info.value.message


def test_defusedxml_is_required_and_used():
    import importers  # noqa: F401 - the import asserts it

    assert openpyxl.xml.DEFUSEDXML is True


def test_size_row_and_column_limits(tmp_path):
    assert "文件过大" in _error(FIXTURES / "key_work_two_row.xlsx", max_file_bytes=1000)
    assert "超过单次导入上限 5 行" in _error(FIXTURES / "key_work_two_row.xlsx", max_rows=5)
    assert "列" in _error(FIXTURES / "key_work_two_row.xlsx", max_columns=3)
    assert "超过单次导入上限 2 行" in _error(FIXTURES / "suggestions_gbk.csv", max_rows=2)
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    assert _error(empty) == "文件为空"


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_zip_bomb_is_refused_before_parsing(tmp_path):
    bomb = _zip(
        tmp_path / "bomb.xlsx",
        {
            "[Content_Types].xml": b"<Types/>",
            "xl/workbook.xml": b"<workbook/>",
            "xl/worksheets/sheet1.xml": b"\x20" * (40 * 1024 * 1024),
        },
    )
    assert bomb.stat().st_size < 200_000
    assert "压缩炸弹" in _error(bomb)
    assert "解压后过大" in _error(FIXTURES / "key_work_two_row.xlsx", max_uncompressed_bytes=10_000)
    report = import_report.ImportReport("x")
    assert not report.ok


def test_not_a_workbook_corrupt_and_encrypted_files(tmp_path):
    docx = _zip(tmp_path / "letter.xlsx", {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"})
    assert "不是 Excel 工作簿" in _error(docx)
    data = (FIXTURES / "key_work_two_row.xlsx").read_bytes()
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(data[: len(data) // 2])
    assert "损坏" in _error(truncated)
    garbage = tmp_path / "garbage.xls"
    garbage.write_bytes(bytes(random.Random(1).getrandbits(8) for _ in range(5000)))
    assert "损坏" in _error(garbage) or "格式" in _error(garbage)
    assert "密码" in _error(FIXTURES / "encrypted.xlsx")
    fake_ole = tmp_path / "fake.xls"
    fake_ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4000)
    assert "损坏" in _error(fake_ole)
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    assert "无法识别文件" in _error(binary)


def test_a_bad_file_is_a_report_with_a_chinese_error_not_an_exception(session, tmp_path):
    path = tmp_path / "truncated.xlsx"
    path.write_bytes((FIXTURES / "legacy.xls").read_bytes()[:700])
    report = ledger_import.import_ledger(
        session, actors.Actor(None, "系统", "supervisor"), FIXTURES / "encrypted.xlsx", dry_run=False
    )
    assert not report.ok and "密码" in report.errors[0].message and report.to_dict()["rows"] == []


def _with_member(src: Path, dst: Path, name: str, data: bytes) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, data if info.filename == name else zin.read(info.filename))
    return dst


SHEET = "xl/worksheets/sheet1.xml"


def _shared_strings_workbook(tmp_path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["序号", "督办事项", "牵头单位"])
    ws.append([1, "PLACEHOLDER", "区财政局"])
    path = tmp_path / "plain.xlsx"
    wb.save(path)
    return path


def test_external_entities_are_never_resolved(tmp_path):
    src = _shared_strings_workbook(tmp_path)
    with zipfile.ZipFile(src) as zf:
        sheet_xml = zf.read(SHEET).decode()
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    evil = sheet_xml.replace(
        "<worksheet", f'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file://{secret}">]><worksheet', 1
    )
    evil = evil.replace("PLACEHOLDER", "&xxe;")
    path = _with_member(src, tmp_path / "xxe.xlsx", SHEET, evil.encode())
    try:
        sheets = read_workbook(path).sheets
    except WorkbookError:
        return  # refused outright: fine
    text = repr([s.rows for s in sheets])
    assert "TOP-SECRET-VALUE" not in text


def test_entity_expansion_does_not_blow_up(tmp_path):
    src = _shared_strings_workbook(tmp_path)
    with zipfile.ZipFile(src) as zf:
        sheet_xml = zf.read(SHEET).decode()
    lol = (
        '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
        + "]>"
    )
    evil = sheet_xml.replace("<worksheet", lol + "<worksheet", 1).replace("PLACEHOLDER", "&i;")
    path = _with_member(src, tmp_path / "lol.xlsx", SHEET, evil.encode())
    try:
        sheets = read_workbook(path).sheets
    except WorkbookError:
        return
    assert max(len(str(v)) for s in sheets for r in s.rows for v in r if v) < 10_000


def test_csv_encodings(tmp_path):
    rows = "序号,督办事项,牵头单位\n1,事项一,区财政局\n"
    for encoding, label in (("utf-8", "utf-8"), ("utf-8-sig", "utf-8"), ("gbk", "gbk"), ("gb18030", "gbk")):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(rows.encode(encoding))
        book = read_workbook(path)
        assert book.encoding == label and book.sheets[0].rows[1] == ["1", "事项一", "区财政局"]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\xfa\xfb" * 10)
    assert "编码" in _error(bad)


# --- random workbooks --------------------------------------------------------------------------

WORDS = [
    "序号",
    "督办事项",
    "议定事项",
    "牵头单位",
    "配合单位",
    "责任单位",
    "责任领导",
    "完成时限",
    "进展情况",
    "任务来源",
    "会议时间",
    "紧急程度",
    "备注",
    "一、重点工作",
    "备注：无",
    "区财政局",
    "区教育局",
    "区不存在局",
    "城关街道、东城街道",
    "各街道",
    "吴海涛",
    "李明、王芳",
    "张三丰",
    "2026年12月31日前",
    "15个工作日内",
    "长期坚持",
    "每月25日前报送",
    "尽快",
    "25日前",
    "三季度末",
    "区政府第9次常务会议",
    "孙志强区长批示",
    "=1+1",
    "+cmd",
    "@SUM(A1)",
    "特急",
    "急件",
    "\t制表符",
    "控制\x07字符",
    "（截至2026年11月20日）",
    "",
    " ",
    "　",
]
VALUES = st.one_of(
    st.none(),
    st.sampled_from(WORDS),
    st.integers(-5, 100_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(date(1990, 1, 1), date(2040, 12, 31)),
    st.text(max_size=30),
    st.datetimes(datetime(2000, 1, 1), datetime(2035, 1, 1)),
)
GRIDS = st.lists(st.lists(VALUES, min_size=1, max_size=9), min_size=1, max_size=14)
MERGES = st.lists(st.tuples(st.integers(1, 14), st.integers(1, 9), st.integers(0, 3), st.integers(0, 2)), max_size=4)


def _write(grid, merges, path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    for r, row in enumerate(grid, start=1):
        for c, value in enumerate(row, start=1):
            if isinstance(value, str):
                value = openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE.sub("", value)
            try:
                ws.cell(row=r, column=c, value=value)
            except (ValueError, TypeError):
                ws.cell(row=r, column=c, value=str(value))
    taken: set[tuple[int, int]] = set()
    for r, c, dr, dc in merges:
        cells = {(r + i, c + j) for i in range(dr + 1) for j in range(dc + 1)}
        if (dr or dc) and not cells & taken:
            ws.merge_cells(start_row=r, start_column=c, end_row=r + dr, end_column=c + dc)
            taken |= cells
    wb.save(path)


@pytest.fixture
def district_once(session):
    return load_district(session)


HEADER = ["序号", "任务来源", "会议时间", "督办事项", "牵头单位", "配合单位", "责任领导", "完成时限", "进展情况"]
PLAUSIBLE = st.lists(
    st.tuples(
        st.integers(1, 99),
        st.sampled_from(["区政府第9次常务会议", "孙志强区长批示", "2026年区政府工作报告"]),
        st.sampled_from([date(2026, 11, 2), date(2026, 11, 20), None]),
        st.sampled_from(["推进重点项目", "整治违法建设", "办好民生实事", "开展安全检查", "=HYPERLINK(1)"]),
        st.sampled_from(["区财政局", "区教育局", "城关街道", "区发改委（牵头）"]),
        st.sampled_from(["区民政局", "各街道", "区财政局、河口镇", "", None]),
        st.sampled_from(["吴海涛", "李明、王芳", "常务副区长吴海涛", None]),
        st.sampled_from(["2026年12月31日前", "15个工作日内", "长期坚持", "每月25日前报送", "12月底前", None]),
        st.sampled_from(["已启动", "已完成方案", None]),
    ).map(list),
    min_size=1,
    max_size=10,
)
SPOILERS = st.lists(st.tuples(st.integers(0, 10), st.integers(0, 8), VALUES), max_size=2)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    grid=GRIDS,
    rows=PLAUSIBLE,
    spoil=SPOILERS,
    merges=MERGES,
    shape=st.sampled_from(["plausible", "mixed", "random"]),
    base=st.sampled_from([True, True, False]),
)
def test_random_workbooks_never_crash_and_never_half_import(district_once, grid, rows, spoil, merges, shape, base):
    org = district_once
    if shape == "plausible":
        for r, c, value in spoil:
            rows[r % len(rows)][c] = value
        grid = [HEADER] + rows
        # like real ledgers: a meeting and its date merged down over its decisions
        merges = [(2 + r % len(rows), col, dr, 0) for r, col, dr, _ in merges for col in (2, 3)]
    elif shape == "mixed":
        grid = [HEADER] + rows + grid
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.xlsx"
        _write(grid, merges, path)
        before = counts(org.session)
        report = ledger_import.import_ledger(
            org.session, org.office, path, dry_run=False, base_date=date(2026, 11, 1) if base else None
        )
        after = counts(org.session)
        import_report.format_report(report, dry_run=False)
        report.to_dict()
        event("committed" if report.committed else ("row errors" if report.rows else "no rows"))
        if report.committed:
            assert report.error_count == 0
            assert after["Task"] - before["Task"] == report.counts()["create"]
        else:
            assert after == before, import_report.format_report(report, dry_run=False)
        org.session.rollback()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cuts=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8),
    name=st.sampled_from(["key_work_two_row.xlsx", "legacy.xls", "suggestions_gbk.csv"]),
)
def test_damaged_files_give_a_report_not_an_exception(district_once, cuts, name):
    data = bytearray((FIXTURES / name).read_bytes())
    for at, byte in cuts:
        data[at % len(data)] = byte
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(bytes(data))
        before = counts(district_once.session)
        report = ledger_import.import_ledger(district_once.session, district_once.office, path, dry_run=False)
        if not report.committed:
            assert counts(district_once.session) == before
        district_once.session.rollback()
