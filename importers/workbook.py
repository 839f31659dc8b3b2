"""Workbooks in, plain grids out.

``read_workbook`` opens .xlsx, .xls and .csv (UTF-8 or GBK) and returns each
sheet as a rectangular grid of cleaned values with its merged ranges, so that
the layout detection never depends on a library's cell objects.

.xlsx and .xls go through python-calamine (Rust): on a 10,000-row ledger with
merged cells it reads several times faster than openpyxl in normal mode and at
a fraction of the memory, and unlike openpyxl's read-only mode it still
reports merged ranges (``bench/bench_ledger.py`` prints the figures). It reads
cached formula results and never evaluates anything. ``read_xlsx_openpyxl``
is kept as the reference reader for the tests and the benchmark.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from importers.cells import clean_value
from importers.safety import Limits, WorkbookError, check_size, check_zip, is_encrypted_ole, sniff

Progress = Callable[[str], None]

ENCRYPTED = "文件已设置打开密码（已加密），无法读取：请在 Excel 中取消密码（文件→信息→保护工作簿）后再导入"
CORRUPT = "文件已损坏或格式不正确，无法读取：请用 Excel 打开确认后另存为 .xlsx 再导入"


@dataclass
class RawSheet:
    """One sheet: ``rows[r][c]`` is Excel row r+1, column c+1; blanks are None."""

    name: str
    rows: list[list[Any]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # r0, c0, r1, c1 inclusive
    hidden: bool = False

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)


@dataclass
class Workbook:
    filename: str
    kind: str  # xlsx | xls | csv
    sheets: list[RawSheet]
    reader: str
    encoding: str = ""
    date1904: bool = False  # serials count from 1904-01-01: read them with ``cells.cell_date(date1904=...)``


def read_workbook(
    path: str | Path,
    *,
    filename: str | None = None,
    limits: Limits | None = None,
    engine: str = "calamine",
    progress: Progress | None = None,
) -> Workbook:
    """Read every sheet of a workbook, refusing what is too big, corrupt or encrypted.

    Raises ``WorkbookError`` (a ValidationFailed) with a Chinese message; never
    anything else for a bad file.
    """
    path = Path(path)
    filename = filename or path.name
    limits = limits or Limits()
    check_size(path, limits)
    with open(path, "rb") as fh:
        head = fh.read(8192)
    kind = sniff(head, filename)
    if kind == "csv":
        return _read_csv(path, filename, limits)
    if kind == "ole":
        if is_encrypted_ole(path):
            raise WorkbookError(ENCRYPTED)
        kind = "xls"
    else:
        check_zip(path, limits)
    date1904 = kind == "xlsx" and _xlsx_date1904(path)
    if engine == "openpyxl" and kind == "xlsx":
        sheets = read_xlsx_openpyxl(path, limits, progress)
        return Workbook(filename, kind, sheets, "openpyxl", date1904=date1904)
    return Workbook(filename, kind, _read_calamine(path, limits, progress), "calamine", date1904=date1904)


_DATE1904 = re.compile(rb"<(?:\w+:)?workbookPr\b[^>]*\bdate1904=\"(?:1|true)\"")


def _xlsx_date1904(path: Path) -> bool:
    """Does the workbook use the 1904 date system? Date cells come back as dates either
    way; a serial typed into a General cell does not, and its epoch is only written here
    (``<workbookPr date1904="1"/>`` in xl/workbook.xml). The zip was checked already."""
    try:
        with zipfile.ZipFile(path) as zf:
            with zf.open("xl/workbook.xml") as fh:
                head = fh.read(64 * 1024)  # workbookPr comes before the sheet list
    except (KeyError, OSError, zipfile.BadZipFile):
        return False
    return bool(_DATE1904.search(head))


def _check_shape(name: str, height: int, width: int, limits: Limits) -> None:
    if height > limits.max_rows:
        raise WorkbookError(f"工作表“{name}”有 {height} 行，超过单次导入上限 {limits.max_rows} 行，请拆分后再导入")
    if width > limits.max_columns:
        raise WorkbookError(f"工作表“{name}”有 {width} 列，超过上限 {limits.max_columns} 列，请删除多余的列后再导入")


def _grid(rows: list[list[Any]], merged: list[tuple[int, int, int, int]]) -> list[list[Any]]:
    """Clean every value, square the grid, and extend it to cover merged ranges."""
    height = max([len(rows)] + [r1 + 1 for _, _, r1, _ in merged])
    width = max([len(r) for r in rows] + [c1 + 1 for _, _, _, c1 in merged] + [0])
    out = []
    for r in range(height):
        src = rows[r] if r < len(rows) else ()
        row = [clean_value(v) for v in src]
        row.extend([None] * (width - len(row)))
        out.append(row)
    while out and all(v is None for v in out[-1]) and not any(r1 >= len(out) - 1 for _, _, r1, _ in merged):
        out.pop()
    return out


def _read_calamine(path: Path, limits: Limits, progress: Progress | None) -> list[RawSheet]:
    try:
        import python_calamine as pc
    except ImportError as exc:  # pragma: no cover - requirements.txt pins it
        raise WorkbookError("服务器缺少 Excel 读取组件（python-calamine），请联系管理员") from exc
    try:
        wb = pc.CalamineWorkbook.from_path(str(path))
    except pc.PasswordError as exc:
        raise WorkbookError(ENCRYPTED) from exc
    except Exception as exc:  # calamine raises several types for a broken file
        if "password" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise WorkbookError(ENCRYPTED) from exc
        raise WorkbookError(CORRUPT) from exc
    sheets: list[RawSheet] = []
    try:
        metas = list(wb.sheets_metadata)
        if len(metas) > limits.max_sheets:
            raise WorkbookError(f"工作簿有 {len(metas)} 个工作表，超过上限 {limits.max_sheets} 个")
        for meta in metas:
            if meta.typ != pc.SheetTypeEnum.WorkSheet:
                continue  # chart sheets and macro sheets hold no ledger
            if progress:
                progress(f"读取工作表“{meta.name}”")
            ws = wb.get_sheet_by_name(meta.name)
            end_row, end_col = ws.end if ws.end else (-1, -1)
            _check_shape(meta.name, end_row + 1, end_col + 1, limits)
            merged = [(a[0], a[1], b[0], b[1]) for a, b in (ws.merged_cell_ranges or [])]
            merged = [m for m in merged if m[2] < limits.max_rows and m[3] < limits.max_columns]
            rows = ws.to_python(skip_empty_area=False) if ws.end else []
            sheets.append(
                RawSheet(meta.name, _grid(rows, merged), merged, hidden=meta.visible != pc.SheetVisibleEnum.Visible)
            )
    except WorkbookError:
        raise
    except Exception as exc:
        if "password" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise WorkbookError(ENCRYPTED) from exc
        raise WorkbookError(CORRUPT) from exc
    finally:
        try:
            wb.close()
        except Exception:  # noqa: BLE001 - closing a broken workbook must not mask the error
            pass
    return sheets


def read_xlsx_openpyxl(path: Path, limits: Limits | None = None, progress: Progress | None = None) -> list[RawSheet]:
    """The same grids through openpyxl in normal mode (read-only mode has no merged cells)."""
    import openpyxl

    limits = limits or Limits()
    try:
        wb = openpyxl.load_workbook(path, read_only=False, data_only=True, keep_links=False, rich_text=False)
    except Exception as exc:
        raise WorkbookError(CORRUPT) from exc
    sheets = []
    for ws in wb.worksheets:
        if progress:
            progress(f"读取工作表“{ws.title}”")
        _check_shape(ws.title, ws.max_row, ws.max_column, limits)
        merged = [(m.min_row - 1, m.min_col - 1, m.max_row - 1, m.max_col - 1) for m in ws.merged_cells.ranges]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        sheets.append(RawSheet(ws.title, _grid(rows, merged), merged, hidden=ws.sheet_state != "visible"))
    wb.close()
    return sheets


def decode_text(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM) first, then GB18030, a superset of GBK and GB2312."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding), ("utf-8" if encoding == "utf-8-sig" else "gbk")
        except UnicodeDecodeError:
            continue
    raise WorkbookError("无法识别文件编码：CSV 文件应为 UTF-8 或 GBK 编码")


def _read_csv(path: Path, filename: str, limits: Limits) -> Workbook:
    text, encoding = decode_text(path.read_bytes())
    if "\x00" in text:
        raise WorkbookError(CORRUPT)
    sample = text[:20000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;，")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    rows: list[list[Any]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            rows.append(row)
            if len(rows) > limits.max_rows:
                raise WorkbookError(f"文件超过单次导入上限 {limits.max_rows} 行，请拆分后再导入")
    except csv.Error as exc:
        raise WorkbookError(f"CSV 文件格式有误：{exc}") from exc
    width = max((len(r) for r in rows), default=0)
    _check_shape(Path(filename).stem, len(rows), width, limits)
    sheet = RawSheet(Path(filename).stem or "CSV", _grid(rows, []), [])
    return Workbook(filename, "csv", [sheet], "csv", encoding)
