"""The text of a file of minutes or of an instruction, as the reader needs it.

Plain text is read here (UTF-8, with or without a byte-order mark, or GB18030, which covers
GBK and GB2312: what Windows saves Chinese text as). Word, PDF and scanned images go through
``read_document`` of ``tracker.services.intake.documents`` (being written), which returns the
text with its kind, pages and warnings: ``document_text`` below is the one place to call it.
"""

from __future__ import annotations

from pathlib import PurePath

from tracker.errors import DomainError

__all__ = ["DOCUMENT_SUFFIXES", "TEXT_SUFFIXES", "UnreadableFile", "decode_text", "document_text", "source_text"]

TEXT_SUFFIXES = (".txt", ".text", "")
DOCUMENT_SUFFIXES = (".docx", ".pdf", ".png", ".jpg", ".jpeg")


class UnreadableFile(DomainError):
    """The file cannot be read as minutes or an instruction; the message says why, in Chinese."""


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030; raises ``UnreadableFile`` for anything else."""
    if b"\x00" in data[:4096]:
        raise UnreadableFile("文件不是文本文件（含有二进制内容），请另存为 .txt 后再试")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile("无法识别文件编码：请保存为 UTF-8 或 GB18030（GBK）编码的文本")


def document_text(data: bytes, filename: str) -> tuple[str, list[str]]:
    """The text of a .docx, .pdf, .png or .jpg, and the reader's warnings.

    HOOK: ``documents.read_document(data, filename)`` returns ``DocumentText(text, kind, pages,
    warnings)``; call it here and return ``(doc.text, doc.warnings)``. Until it exists these
    files are refused with a message the clerk can act on."""
    suffix = PurePath(filename).suffix.lower()
    raise UnreadableFile(f"暂不能直接读取{suffix}文件：请将纪要或批示内容复制粘贴，或另存为 .txt 文本后再试")


def source_text(data: bytes, filename: str) -> tuple[str, list[str]]:
    """The text of an uploaded or named file and any warnings about reading it."""
    suffix = PurePath(filename).suffix.lower()
    if suffix in DOCUMENT_SUFFIXES:
        return document_text(data, filename)
    if suffix not in TEXT_SUFFIXES:
        raise UnreadableFile(f"不支持的文件类型“{suffix}”：请使用 .txt、.docx、.pdf、.png 或 .jpg")
    text = decode_text(data)
    if not text.strip():
        raise UnreadableFile("文件内容为空")
    return text, []
