"""Checks made on an uploaded file before any parser sees it.

openpyxl and calamine put no cap on what a workbook may expand to, so the zip
container is inspected first: the declared sizes, the compression ratio of each
member, and then the real sizes while decompressing in small chunks (a member
that lies about its size is caught too). Every refusal is a ``WorkbookError``
with a Chinese message a clerk can act on.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from tracker.errors import ValidationFailed

MB = 1024 * 1024

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls and encrypted OOXML containers
ZIP_MAGIC = b"PK\x03\x04"


class WorkbookError(ValidationFailed):
    """A file that cannot be read as a ledger: too big, corrupt, encrypted, unknown format."""

    code = "bad_workbook"


@dataclass(frozen=True)
class Limits:
    """What one import may contain; generous for a district's ledgers, small for a bomb."""

    max_file_bytes: int = 20 * MB
    max_uncompressed_bytes: int = 400 * MB
    max_member_ratio: int = 200  # uncompressed / compressed, for members above ratio_floor
    ratio_floor_bytes: int = 2 * MB
    max_zip_members: int = 5000
    max_rows: int = 50_000  # rows in one sheet, blank rows included
    max_columns: int = 200
    max_sheets: int = 50

    def human_size(self, n: int) -> str:
        return f"{n / MB:.1f} MB" if n >= MB else f"{n / 1024:.0f} KB"


def sniff(head: bytes, filename: str) -> str:
    """The file's real kind from its first bytes, whatever its extension says:
    ``xlsx``, ``ole`` (an .xls or an encrypted workbook) or ``csv``."""
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        return "ole"
    suffix = Path(filename).suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix in (".xlsx", ".xlsm", ".xls"):
        raise WorkbookError(
            f"文件“{Path(filename).name}”已损坏或不是 Excel 文件，请用 Excel 打开确认后另存为 .xlsx 再导入"
        )
    if b"\x00" in head[:4096]:
        raise WorkbookError(f"无法识别文件“{Path(filename).name}”的格式：请导入 .xlsx、.xls 或 .csv 文件")
    return "csv"


def check_size(path: Path, limits: Limits) -> int:
    size = path.stat().st_size
    if size == 0:
        raise WorkbookError("文件为空")
    if size > limits.max_file_bytes:
        raise WorkbookError(
            f"文件过大（{limits.human_size(size)}），单次导入不能超过 "
            f"{limits.human_size(limits.max_file_bytes)}，请拆分后再导入"
        )
    return size


def check_zip(path: Path, limits: Limits) -> None:
    """Refuse zip bombs before a parser opens the file."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_zip_members:
                raise WorkbookError(f"文件结构异常（包含 {len(infos)} 个部件），已拒绝导入")
            names = {i.filename for i in infos}
            if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
                raise WorkbookError("文件不是 Excel 工作簿（可能是 Word 文档或其他压缩包），请另存为 .xlsx 后再导入")
            declared = sum(i.file_size for i in infos)
            if declared > limits.max_uncompressed_bytes:
                raise WorkbookError(f"文件解压后过大（{limits.human_size(declared)}），已拒绝导入，请拆分后再导入")
            for info in infos:
                if info.flag_bits & 0x1:
                    raise WorkbookError("文件已加密，请在 Excel 中取消密码后再导入")
                if info.file_size > limits.ratio_floor_bytes and info.file_size > limits.max_member_ratio * max(
                    1, info.compress_size
                ):
                    raise WorkbookError("文件压缩比异常（疑似“压缩炸弹”），已拒绝导入")
            _check_real_sizes(zf, infos, limits)
    except WorkbookError:
        raise
    except Exception as exc:  # BadZipFile, zlib.error, EOFError, CRC errors...: all mean a broken file
        raise WorkbookError("文件已损坏，无法读取（压缩结构错误），请用 Excel 打开后另存为 .xlsx 再导入") from exc


def _check_real_sizes(zf: zipfile.ZipFile, infos, limits: Limits) -> None:
    """Decompress in chunks and stop at the first member larger than it declared."""
    total = 0
    for info in infos:
        seen = 0
        with zf.open(info) as member:
            while True:
                chunk = member.read(1 << 20)
                if not chunk:
                    break
                seen += len(chunk)
                total += len(chunk)
                if seen > info.file_size or total > limits.max_uncompressed_bytes:
                    raise WorkbookError("文件压缩结构异常（实际大小与声明不符），已拒绝导入")


def is_encrypted_ole(path: Path) -> bool:
    """An encrypted .xlsx is an OLE container holding an "EncryptedPackage" stream
    (the file is at most ``max_file_bytes``, checked before)."""
    return "EncryptedPackage".encode("utf-16-le") in path.read_bytes()
