"""Reading the text out of an uploaded document, for the minutes reader (``decompose.split_items``).

``read_document(data, filename)`` returns a ``DocumentText``; ``read_pasted(text)`` cleans pasted
text the same way. The kind of file is judged by its first bytes; the extension only decides
between "a text file" and "not a document". What cannot be read raises ``DocumentError``, whose
Chinese message says why and what to do.

* Text: UTF-8 with or without BOM, UTF-16 with BOM (Notepad's "Unicode"), else GB18030 (GBK).
* .docx: python-docx. Paragraphs and tables in document order, one line per paragraph and per
  row (cells joined by a tab, as Word copies a row), tracked insertions included (python-docx's
  ``Paragraph.text`` skips them). Headers, footers, comments and text boxes are not read.
* PDF: pypdfium2 for both jobs. Its text extraction is clean on CJK where pypdf 7.1 put a NUL
  before every character (an fpdf2 PDF with an embedded Noto CJK subset), and it renders a scanned
  page whatever compressed it (JBIG2, CCITT, JPEG 2000, several tiles), where extracting the
  embedded image would need a decoder per filter. The wheel ships pdfium. PDFium is not
  thread-safe, not even across documents (pypdfium2's docs, "Incompatibility with Threading"):
  every call holds ``_PDFIUM`` and every object is closed under it, never left to a finaliser.
  A page is OCR'd when it has no text layer, only a few characters beside an image (a scanner's
  stamp), or a layer that decodes to replacement and private-use characters.
* Scans and photos: ``intake/ocr.py`` (offline, the models inside the OCR package's wheel).

Text comes back normalised: line breaks as ``\\n``, tabs kept, other control and format characters
removed (PostgreSQL refuses NUL), full-width spaces kept, trailing spaces cut.
"""

from __future__ import annotations

import io
import re
import threading
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import docx
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph
from PIL import Image, ImageOps, UnidentifiedImageError

from tracker.errors import ValidationFailed
from tracker.services.intake import ocr
from tracker.services.tasks.attachments import sanitise_name

MB = 1024 * 1024
Kind = Literal["text", "docx", "pdf", "ocr"]

PDF_MAGIC = b"%PDF-"
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, .wps, and encrypted .docx
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
TEXT_SUFFIXES = {"", ".txt", ".text", ".md"}
SUPPORTED = "Word（.docx）、PDF、文本（.txt）文件或 JPG、PNG 图片"


class DocumentError(ValidationFailed):
    """An upload that cannot be read as a document: the message says why, in Chinese."""

    code = "bad_document"


@dataclass(frozen=True)
class Limits:
    """What one upload may hold. A scanned page costs a few seconds of OCR on two cores and a web
    request has 60 s (docs/deploy/gunicorn.conf.py), hence the lower bound for scanned pages."""

    max_bytes: int = 20 * MB
    max_pages: int = 30
    max_ocr_pages: int = 10
    max_pixels: int = 50_000_000  # a 50-megapixel photo; a phone's is 12
    max_unzipped_bytes: int = 200 * MB  # a .docx, all parts together
    max_zip_members: int = 5000


@dataclass(frozen=True)
class DocumentText:
    text: str
    kind: Kind  # "pdf": at least one page had a text layer; "ocr": everything came from OCR
    pages: int  # PDF pages read; 1 for anything else
    warnings: list[str] = field(default_factory=list)


def read_pasted(text: str) -> DocumentText:
    """Pasted minutes, cleaned like a file's text. Raises ``DocumentError`` when nothing is left."""
    clean = normalise(text or "")
    if not clean.strip():
        raise DocumentError("没有可读取的文字，请粘贴会议纪要的正文")
    return DocumentText(clean, "text", 1, [])


def read_document(data: bytes, filename: str, *, limits: Limits = Limits()) -> DocumentText:
    """The text of an uploaded .txt, .docx, .pdf, .png or .jpg, judged by its content.

    Raises ``DocumentError`` for an empty, oversized, encrypted, corrupt or unknown file, a PDF
    with too many pages, an image too large, or a document without any text."""
    name = sanitise_name(filename) or "未命名文件"
    suffix = Path(name).suffix.lower()
    if not data:
        raise DocumentError(f"“{name}”是空文件，请重新选择")
    if len(data) > limits.max_bytes:
        raise DocumentError(f"“{name}”超过 {limits.max_bytes // MB} MB，请压缩或拆分后再上传")
    head = data[:1024]
    if PDF_MAGIC in head:  # the spec lets the header sit anywhere in the first 1024 bytes
        return _read_pdf(data, name, limits)
    if data.startswith(ZIP_MAGIC):
        return _read_docx(data, name, limits)
    if data.startswith(OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise DocumentError(f"“{name}”已加密（设有打开密码），请在 Word 或 WPS 中取消密码后再上传")
        raise DocumentError(f"“{name}”是旧版 Word（.doc）或 WPS 格式，请在 Word 或 WPS 中另存为 .docx 或 PDF 后再上传")
    if data.startswith((PNG_MAGIC, JPEG_MAGIC)):
        return _read_image(data, name, limits)
    if suffix in {".docx", ".pdf", ".png", ".jpg", ".jpeg"}:
        raise DocumentError(
            f"“{name}”的内容不是 {suffix[1:].upper()} 文件（可能已损坏或改过扩展名），请重新导出后再上传"
        )
    if suffix not in TEXT_SUFFIXES or head.startswith((b"MZ", b"\x7fELF", b"{\\rtf")):
        raise DocumentError(f"无法读取“{name}”：只能读取 {SUPPORTED}")
    return _read_text(data, name)


# --- text ----------------------------------------------------------------------------

_LINE_BREAKS = re.compile(r"\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_DROPPED = {"Cc", "Cf", "Cs"}  # controls, format characters (BOM, zero-width space), lone surrogates


def normalise(text: str) -> str:
    """Line breaks as ``\\n``; controls other than tab, format characters, lone surrogates and
    noncharacters removed; trailing spaces cut; blank lines at both ends dropped."""
    text = _LINE_BREAKS.sub("\n", text)
    kept = "".join(
        ch for ch in text if ch in "\n\t" or (unicodedata.category(ch) not in _DROPPED and ch not in "\ufffe\uffff")
    )
    return "\n".join(line.rstrip(" \t") for line in kept.split("\n")).strip("\n")


_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\x0c") + b"\x7f"
_CONTROL_CHARS = dict.fromkeys(_CONTROL_BYTES)  # str.translate table: the same characters, deleted


def _read_text(data: bytes, name: str) -> DocumentText:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Notepad's "Unicode"
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:  # an odd length or a broken pair: not what Notepad writes
            raise DocumentError(f"“{name}”不是文本文件（可能是程序或其他二进制文件）：只能读取 {SUPPORTED}") from None
        if len(text) - len(text.translate(_CONTROL_CHARS)) > max(4, len(text) // 20):
            raise DocumentError(f"“{name}”不是文本文件（可能是程序或其他二进制文件）：只能读取 {SUPPORTED}")
    else:
        data = data.rstrip(b"\x00")  # some editors pad a file with NULs
        controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
        if controls > max(4, len(data) // 20):  # a stray NUL is cleaned; a program is refused
            raise DocumentError(f"“{name}”不是文本文件（可能是程序或其他二进制文件）：只能读取 {SUPPORTED}")
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise DocumentError(
                f"无法识别“{name}”的文字编码（既不是 UTF-8 也不是 GBK/GB18030），请用记事本或 WPS 另存为 UTF-8 编码后再上传"
            )
    clean = normalise(text)
    if not clean.strip():
        raise DocumentError(f"“{name}”中没有文字")
    return DocumentText(clean, "text", 1, [])


# --- Word ----------------------------------------------------------------------------

_RUN_CONTAINERS = {qn(t) for t in ("w:hyperlink", "w:ins", "w:moveTo", "w:smartTag", "w:fldSimple", "w:customXml")}
_RUN_CONTAINERS |= {qn("w:sdt"), qn("w:sdtContent")}
_RUN = qn("w:r")
_OTHER_ZIPS = {"xl/workbook.xml": "Excel 工作簿", "ppt/presentation.xml": "PowerPoint 演示文稿"}


def _check_zip(data: bytes, name: str, limits: Limits) -> None:
    """A zip bomb is refused before python-docx inflates it. zipfile never yields more than a
    member declares (it stops at ``file_size``), so the declared sizes are the ones to check."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise DocumentError(
            f"“{name}”已损坏，无法读取（压缩结构错误），请用 Word 或 WPS 打开后另存为 .docx 再上传"
        ) from exc
    names = {i.filename for i in infos}
    if "word/document.xml" not in names:
        found = [what for part, what in _OTHER_ZIPS.items() if part in names]
        what = found[0] if found else "压缩包"
        raise DocumentError(f"“{name}”是{what}，不是 Word 文档：只能读取 {SUPPORTED}")
    if len(infos) > limits.max_zip_members or sum(i.file_size for i in infos) > limits.max_unzipped_bytes:
        raise DocumentError(f"“{name}”解压后过大，已拒绝读取，请删去图片等内容或拆分后再上传")
    if any(i.flag_bits & 0x1 for i in infos):
        raise DocumentError(f"“{name}”已加密，请在 Word 或 WPS 中取消密码后再上传")


def _paragraph_text(p) -> str:
    """The runs of a ``w:p``, including those inside hyperlinks, tracked insertions and content
    controls; deleted text (``w:del``) and text boxes (inside a run's drawing) are left out."""
    parts: list[str] = []

    def walk(element) -> None:
        for child in element:
            if child.tag == _RUN:
                parts.append(child.text)  # python-docx's CT_R: w:t, w:tab -> \t, w:br -> \n
            elif child.tag in _RUN_CONTAINERS:
                walk(child)

    walk(p)
    return "".join(parts)


def _cell_text(cell) -> str:
    parts = []
    for block in cell.iter_inner_content():
        if isinstance(block, Paragraph):
            parts.append(_paragraph_text(block._p))
        else:
            parts.extend(_table_rows(block))
    return " ".join(" ".join(p.split()) for p in parts if p.strip())


def _table_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells, seen = [], None
        for cell in row.cells:
            if cell._tc is seen:  # a horizontally merged cell comes once per grid column
                continue
            seen = cell._tc
            cells.append(_cell_text(cell))  # a vertically merged one repeats on each row: wanted
        if any(cells):
            rows.append("\t".join(cells))
    return rows


def _read_docx(data: bytes, name: str, limits: Limits) -> DocumentText:
    _check_zip(data, name, limits)
    try:
        document = docx.Document(io.BytesIO(data))
        lines = []
        for block in document.iter_inner_content():
            if isinstance(block, Paragraph):
                lines.append(_paragraph_text(block._p))
            else:
                lines.extend(_table_rows(block))
    except ValueError as exc:  # python-docx: a .docm, a template, or another content type
        raise DocumentError(f"“{name}”不是标准的 Word 文档（.docx），请在 Word 或 WPS 中另存为 .docx 后再上传") from exc
    except Exception as exc:  # broken XML, a missing part, a bad relationship: all mean a damaged file
        raise DocumentError(f"“{name}”已损坏，无法读取，请用 Word 或 WPS 打开后另存为 .docx 再上传") from exc
    text = normalise("\n".join(lines))
    if not text.strip():
        raise DocumentError(f"“{name}”中没有文字（如果是扫描件，请上传 PDF 或图片）")
    return DocumentText(text, "docx", 1, [])


# --- PDF -----------------------------------------------------------------------------

_PDFIUM = threading.Lock()
_MIN_LAYER_CHARS = 10  # fewer beside an image: a scanner's stamp or a page number, not the text


def _usable_layer(text: str) -> bool | None:
    """True: read the layer; False: it decodes to garbage; None: there is (almost) none."""
    visible = [ch for ch in text if not ch.isspace()]
    if not visible:
        return None
    bad = sum(1 for ch in visible if ch == "\ufffd" or unicodedata.category(ch) in ("Co", "Cc"))
    return bad * 3 < len(visible)


def _read_pdf(data: bytes, name: str, limits: Limits) -> DocumentText:
    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
                raise DocumentError(f"“{name}”已加密（设有打开密码），请去掉密码后再上传") from exc
            if exc.err_code == pdfium_c.FPDF_ERR_SECURITY:
                raise DocumentError(f"“{name}”使用了不支持的加密方式，请去掉密码后再上传") from exc
            raise DocumentError(f"“{name}”已损坏，无法读取，请重新导出 PDF 后再上传") from exc
    try:
        with _PDFIUM:
            count = len(pdf)
            if count == 0:
                raise DocumentError(f"“{name}”没有任何页面")
            if count > limits.max_pages:
                raise DocumentError(f"“{name}”共 {count} 页，超过每次 {limits.max_pages} 页的上限，请拆分后再上传")
            layers = [_page_layer(pdf, i, name) for i in range(count)]
        scans = [i for i, (text, usable) in enumerate(layers) if usable is not True]
        if len(scans) > limits.max_ocr_pages:
            raise DocumentError(
                f"“{name}”有 {len(scans)} 页是扫描件，超过每次文字识别 {limits.max_ocr_pages} 页的上限，请拆分后再上传"
            )
        pages, warnings = [], []
        for i, (text, usable) in enumerate(layers):
            if usable is True:
                pages.append(text)
                continue
            with _PDFIUM:
                image = _render(pdf, i)
            ocr_text, doubtful = _ocr(image)
            pages.append(ocr_text)
            why = "没有文字层" if usable is None else "的文字层无法解码"
            got = "已用文字识别读取" if ocr_text.strip() else "文字识别也没有读出文字（可能是空白页或图片）"
            warnings.append(f"第{i + 1}页{why}，{got}，请核对")
            if doubtful:
                warnings.append(f"第{i + 1}页有 {doubtful} 行文字识别把握不大，请重点核对")
    finally:
        with _PDFIUM:
            pdf.close()
    text = normalise("\n".join(pages))
    if not text.strip():
        raise DocumentError(f"“{name}”中没有可读取的文字")
    kind: Kind = "ocr" if len(scans) == count else "pdf"
    return DocumentText(text, kind, count, warnings)


def _page_layer(pdf, index: int, name: str) -> tuple[str, bool | None]:
    """Its text layer and whether to use it (see ``_usable_layer``); the caller holds ``_PDFIUM``."""
    try:
        page = pdf[index]
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        textpage.close()
        usable = _usable_layer(text)
        if usable and len("".join(text.split())) < _MIN_LAYER_CHARS:
            images = page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])
            if next(images, None) is not None:
                usable = None
        page.close()
    except pdfium.PdfiumError as exc:
        raise DocumentError(f"“{name}”第{index + 1}页已损坏，无法读取，请重新导出 PDF 后再上传") from exc
    return text, usable


def _render(pdf, index: int) -> Image.Image:
    """The page at 200 dpi, its long side at most 2,000 px: the engine shrinks anything larger
    (``max_side_len``), so A4 comes out at 170 dpi. The caller holds ``_PDFIUM``."""
    page = pdf[index]
    bitmap = page.render(scale=min(200 / 72, 2000 / max(page.get_size())))
    image = bitmap.to_pil().convert("RGB")  # a copy: the bitmap's buffer is freed below
    bitmap.close()
    page.close()
    return image


# --- images ----------------------------------------------------------------------


def _read_image(data: bytes, name: str, limits: Limits) -> DocumentText:
    broken = f"“{name}”图片已损坏，无法读取，请重新拍照或扫描后再上传"
    try:
        image = Image.open(io.BytesIO(data))  # reads the header only
    except Image.DecompressionBombError:  # Pillow's own bound, above ours
        image = None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DocumentError(broken) from exc
    if image is None or image.width * image.height > limits.max_pixels:
        size = f"（{image.width}×{image.height} 像素）" if image else ""
        raise DocumentError(f"“{name}”图片过大{size}，请缩小到 {limits.max_pixels // 1_000_000} 百万像素以内后再上传")
    try:
        image = ImageOps.exif_transpose(image)  # a phone photo taken sideways
        if image.mode in ("RGBA", "LA", "P", "PA"):  # transparency would turn black: lay it on white
            image = image.convert("RGBA")
            image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image)
        image = image.convert("RGB")
    except (OSError, ValueError, SyntaxError) as exc:  # a truncated or corrupt stream
        raise DocumentError(broken) from exc
    text, doubtful = _ocr(image)
    text = normalise(text)
    if not text.strip():
        raise DocumentError(f"“{name}”中没有识别出文字，请确认图片清晰、方向正确后再上传")
    warnings = ["图片内容由文字识别读取，请核对"]
    if doubtful:
        warnings.append(f"有 {doubtful} 行文字识别把握不大，请重点核对")
    return DocumentText(text, "ocr", 1, warnings)


def _ocr(image: Image.Image) -> tuple[str, int]:
    """The image's text, and how many of its lines the engine was unsure of."""
    lines = ocr.recognise(image)
    return "\n".join(line.text for line in lines), sum(1 for line in lines if line.score < ocr.DOUBTFUL_SCORE)
