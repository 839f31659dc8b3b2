"""Reading uploaded documents (tracker/services/intake/documents.py).

Every file is built here: .docx with python-docx, PDFs with fpdf2 and Debian's Noto CJK font, scans
and photos drawn with Pillow and read back by the real OCR engine (its offline models are checked
in test_intake_ocr.py). No test touches the database.
"""

from __future__ import annotations

import difflib
import io
import subprocess
import zipfile
from functools import cache

import docx
import pytest
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from tracker.errors import ValidationFailed
from tracker.services.intake import documents
from tracker.services.intake.documents import DocumentError, DocumentText, Limits, read_document, read_pasted

MINUTES = [
    "区政府第十二次常务会议纪要",
    "一、关于老旧小区改造。区住建局牵头，区财政局配合，",
    "5个工作日内拿出改造方案，报区政府审定。",
    "二、关于安全生产检查。区应急管理局负责，",
    "于2026年6月底前完成全区排查整治。",
    "三、关于河道清淤。区水务局牵头，长期坚持。",
]


@cache
def cjk_font() -> tuple[str, int]:
    """Noto Sans CJK SC (Debian's fonts-noto-cjk): its file and its index in the collection."""
    out = subprocess.run(
        ["fc-list", "-f", "%{file}|%{index}|%{family}|%{style}\n", ":lang=zh"], capture_output=True, text=True
    ).stdout
    for line in out.splitlines():
        path, index, family, style = line.split("|", 3)
        if "Noto Sans CJK SC" in family.split(",") and style == "Regular":
            return path, int(index)
    pytest.fail("no Noto Sans CJK SC font: apt-get install fonts-noto-cjk")


def draw_text(lines: list[str], size: int = 30) -> Image.Image:
    """A white page with black text, like a scan at about 150 dpi. Its short side is at least the
    736 px the engine's detector works at: a smaller image is enlarged, and slow to read."""
    path, index = cjk_font()
    font = ImageFont.truetype(path, size=size, index=index)
    width = max(int(font.getlength(line)) for line in lines) + 2 * size
    height = int(len(lines) * size * 1.8) + 2 * size
    image = Image.new("RGB", (max(width, 740), max(height, 740)), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((size, size + int(i * size * 1.8)), line, font=font, fill="black")
    return image


def png(image: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kw)
    return out.getvalue()


def new_pdf(cjk: bool = True) -> FPDF:
    pdf = FPDF(format="A4")
    if cjk:
        path, index = cjk_font()
        pdf.add_font("noto", fname=path, collection_font_number=index)
        pdf.set_font("noto", size=12)
    else:
        pdf.set_font("helvetica", size=12)
    return pdf


def text_page(pdf: FPDF, lines: list[str]) -> None:
    pdf.add_page()
    for line in lines:
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")


def similarity(expected: str, got: str) -> float:
    return difflib.SequenceMatcher(None, expected, got).ratio()


# --- text and pasted text --------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "一、区住建局牵头\r\n二、区财政局配合".encode(),
        b"\xef\xbb\xbf" + "一、区住建局牵头\n二、区财政局配合".encode(),
        "一、区住建局牵头\r二、区财政局配合".encode("gb18030"),
        "\ufeff一、区住建局牵头\n二、区财政局配合".encode("utf-16-le"),
        "一、区住建\x00局牵头\n二、区财政局\x07配合\n\n".encode() + b"\x00" * 64,
    ],
    ids=["utf8-crlf", "utf8-bom", "gb18030", "utf16-bom", "nul-and-controls"],
)
def test_a_text_file_in_any_usual_encoding(data):
    got = read_document(data, "纪要.txt")
    assert got == DocumentText("一、区住建局牵头\n二、区财政局配合", "text", 1, [])


def test_text_keeps_full_width_spaces_and_tabs_and_drops_format_characters():
    got = read_document("\u3000\u3000一、区住建局\t牵头\u200b  \n\n二、区财政局配合\u2028完成".encode(), "a.txt")
    assert got.text == "\u3000\u3000一、区住建局\t牵头\n\n二、区财政局配合\n完成"


def test_pasted_text_is_cleaned_the_same_way():
    assert read_pasted("一、区住建局\x00牵头\r\n").text == "一、区住建局牵头"
    with pytest.raises(DocumentError, match="没有可读取的文字"):
        read_pasted(" \x00\n\u200b")


# --- Word --------------------------------------------------------------------------------


def tracked_insertion(paragraph, text: str) -> None:
    """Append ``text`` as a tracked insertion (w:ins), as Word writes it with 修订 on."""
    ins = OxmlElement("w:ins", attrs={qn("w:id"): "1", qn("w:author"): "办公室"})
    run = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = text
    run.append(t)
    ins.append(run)
    paragraph._p.append(ins)


def test_docx_paragraphs_and_tables_in_document_order():
    d = docx.Document()
    d.add_paragraph("区政府第十二次常务会议纪要")
    p = d.add_paragraph("会议议定事项如下")
    tracked_insertion(p, "：")
    table = d.add_table(rows=3, cols=3)
    for row, values in zip(
        table.rows, [("序号", "事项", "责任单位"), ("一、", "老旧小区改造", "区住建局"), ("二、", "河道清淤", "")]
    ):
        for cell, value in zip(row.cells, values):
            cell.text = value
    table.cell(1, 2).merge(table.cell(2, 2))  # 区住建局 for both items
    table.cell(0, 0).merge(table.cell(0, 1))  # a header spanning two columns
    table.cell(1, 1).add_paragraph("5个工作日内完成")
    d.add_paragraph("抄送：区委办").add_run().add_break()
    d.add_paragraph("")
    out = io.BytesIO()
    d.save(out)

    got = read_document(out.getvalue(), "纪要.docx")

    assert got.kind == "docx" and got.pages == 1 and got.warnings == []
    assert got.text.split("\n") == [
        "区政府第十二次常务会议纪要",
        "会议议定事项如下：",
        "序号 事项\t责任单位",  # the two paragraphs of the merged header cell on one line
        "一、\t老旧小区改造 5个工作日内完成\t区住建局",
        "二、\t河道清淤\t区住建局",
        "抄送：区委办",
    ]


def test_a_docx_without_text_is_refused():
    out = io.BytesIO()
    docx.Document().save(out)
    with pytest.raises(DocumentError, match="没有文字"):
        read_document(out.getvalue(), "空白.docx")


# --- PDF -----------------------------------------------------------------------------------


def test_a_pdf_with_a_chinese_text_layer():
    pdf = new_pdf()
    text_page(pdf, MINUTES)
    got = read_document(bytes(pdf.output()), "纪要.pdf")
    assert got == DocumentText("\n".join(MINUTES), "pdf", 1, [])


def test_a_two_page_pdf_with_a_text_page_and_a_scanned_page():
    pdf = new_pdf()
    text_page(pdf, MINUTES[:3])
    pdf.add_page(format=(180, 100))  # the scan: an image, no text layer (a small page reads faster)
    pdf.image(draw_text(MINUTES[3:]), x=5, y=5, w=170)

    got = read_document(bytes(pdf.output()), "纪要（扫描）.pdf")

    assert got.kind == "pdf" and got.pages == 2
    assert got.warnings == ["第2页没有文字层，已用文字识别读取，请核对"]
    first, _, second = got.text.partition(MINUTES[2] + "\n")
    assert first == "\n".join(MINUTES[:2]) + "\n"
    assert "区应急管理局" in second and "2026年6月底前" in second
    assert second.startswith("二、") and "\n三、" in second
    assert similarity("\n".join(MINUTES[3:]), second) >= 0.9


def test_a_scanned_pdf_whose_only_text_is_a_stamp_is_read_by_ocr():
    pdf = new_pdf()
    pdf.add_page(format=(180, 100))
    pdf.image(draw_text(MINUTES[1:3]), x=5, y=5, w=170)
    pdf.set_auto_page_break(False)
    pdf.set_xy(150, 90)
    pdf.cell(20, 5, "第1页")  # a scanner's page stamp: a text layer, but not the page's text

    got = read_document(bytes(pdf.output()), "扫描件.pdf")

    assert got.kind == "ocr" and got.pages == 1
    assert got.warnings == ["第1页没有文字层，已用文字识别读取，请核对"]
    assert got.text.startswith("一、关于老旧小区改造") and "5个工作日内" in got.text


@pytest.mark.parametrize(
    "layer, usable",
    [("", None), (" \r\n ", None), ("区住建局牵头", True), ("\ue000\ue001\ue002\ufffd区", False)],
    ids=["none", "blank", "text", "undecodable"],
)
def test_which_text_layers_are_read(layer, usable):
    assert documents._usable_layer(layer) is usable


# --- scans and photos -----------------------------------------------------------------------


def test_a_photo_of_minutes_is_read_by_ocr_in_reading_order():
    got = read_document(png(draw_text(MINUTES)), "纪要.png")

    assert got.kind == "ocr" and got.pages == 1
    assert got.warnings[0] == "图片内容由文字识别读取，请核对"
    for phrase in ("区住建局", "区财政局", "区应急管理局", "区水务局", "5个工作日内", "2026年6月底前"):
        assert phrase in got.text
    lines = got.text.split("\n")
    assert [line[:2] for line in lines if line[:2] in ("一、", "二、", "三、")] == ["一、", "二、", "三、"]
    assert similarity("\n".join(MINUTES), got.text) >= 0.9


def test_a_sideways_jpeg_is_turned_upright_by_its_exif_orientation():
    upright = draw_text(MINUTES[1:3])
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    data = png(upright.rotate(90, expand=True), "JPEG", quality=90, exif=exif)
    got = read_document(data, "IMG_0001.jpg")
    # Read sideways, the engine still finds the phrases, but not the order of the lines.
    assert got.text.startswith("一、关于老旧小区改造") and "\n5个工作日内" in got.text
    assert similarity("\n".join(MINUTES[1:3]), got.text) >= 0.9


# --- files that cannot be read ---------------------------------------------------------------


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def encrypted_pdf() -> bytes:
    pdf = new_pdf(cjk=False)
    text_page(pdf, ["Minutes"])
    pdf.set_encryption(owner_password="owner", user_password="user")
    return bytes(pdf.output())


def pdf_of_pages(n: int) -> bytes:
    pdf = new_pdf(cjk=False)
    for i in range(n):
        text_page(pdf, [f"Page {i + 1}: minutes of the meeting"])
    return bytes(pdf.output())


def scanned_pdf() -> bytes:
    pdf = new_pdf(cjk=False)
    pdf.add_page()
    pdf.image(draw_text(MINUTES[:2]), x=15, y=20, w=170)
    return bytes(pdf.output())


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256)) * 8
CASES = [
    ("empty", lambda: b"", "a.txt", "是空文件"),
    ("exe-as-txt", lambda: EXE, "纪要.txt", "只能读取"),
    ("exe-as-docx", lambda: EXE, "纪要.docx", "内容不是 DOCX 文件"),
    ("exe-as-pdf", lambda: EXE, "纪要.pdf", "内容不是 PDF 文件"),
    ("binary-as-txt", lambda: bytes(range(256)) * 4, "纪要.txt", "不是文本文件"),
    ("unknown-encoding", lambda: "会议纪要".encode("utf-8")[:-1] + b"\xff\x80", "纪要.txt", "文字编码"),
    ("unknown-type", lambda: "会议纪要".encode(), "纪要.xyz", "只能读取"),
    ("corrupt-zip", lambda: b"PK\x03\x04" + b"\x00" * 200, "纪要.docx", "已损坏"),
    ("truncated-docx", lambda: zip_of({"word/document.xml": b"<w:document"})[:-30], "纪要.docx", "已损坏"),
    (
        "broken-docx-xml",
        lambda: zip_of({"word/document.xml": b"<w:document", "[Content_Types].xml": b"<x"}),
        "纪要.docx",
        "已损坏",
    ),
    ("workbook-as-docx", lambda: zip_of({"xl/workbook.xml": b"<x/>"}), "纪要.docx", "是Excel 工作簿"),
    ("zip-as-docx", lambda: zip_of({"photo.jpg": b"\xff\xd8\xff"}), "纪要.docx", "是压缩包"),
    ("old-doc", lambda: documents.OLE_MAGIC + b"\x00" * 600, "纪要.doc", "旧版 Word"),
    ("encrypted-docx", lambda: documents.OLE_MAGIC + "EncryptedPackage".encode("utf-16-le"), "纪要.docx", "已加密"),
    ("encrypted-pdf", encrypted_pdf, "纪要.pdf", "已加密（设有打开密码）"),
    ("corrupt-pdf", lambda: b"%PDF-1.7\n" + bytes(range(256)) * 4, "纪要.pdf", "已损坏"),
    ("too-many-pages", lambda: pdf_of_pages(31), "纪要.pdf", "共 31 页，超过每次 30 页的上限"),
    ("corrupt-image", lambda: documents.PNG_MAGIC + b"\x00" * 100, "纪要.png", "图片已损坏"),
    ("huge-image", lambda: png(Image.new("1", (10_000, 6_000), 1)), "扫描.png", "图片过大（10000×6000 像素）"),
    ("blank-image", lambda: png(Image.new("RGB", (800, 600), "white")), "扫描.png", "没有识别出文字"),
    ("whitespace-text", lambda: " \r\n\u3000\n".encode(), "纪要.txt", "没有文字"),
]


@pytest.mark.parametrize("make, filename, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_file_that_cannot_be_read_is_refused_with_the_reason(make, filename, message):
    with pytest.raises(DocumentError) as caught:
        read_document(make(), filename)
    assert message in caught.value.message
    assert isinstance(caught.value, ValidationFailed) and caught.value.code == "bad_document"


def test_the_limits_on_size_and_scanned_pages():
    with pytest.raises(DocumentError, match="超过 1 MB"):
        read_document(b"a" * (1024 * 1024 + 1), "a.txt", limits=Limits(max_bytes=1024 * 1024))
    with pytest.raises(DocumentError, match="有 1 页是扫描件，超过每次文字识别 0 页的上限"):
        read_document(scanned_pdf(), "扫描.pdf", limits=Limits(max_ocr_pages=0))


def test_a_file_name_is_shown_without_its_path_or_control_characters():
    with pytest.raises(DocumentError) as caught:
        read_document(b"", "C:\\Users\\办公室\\纪要\x00.txt")
    assert caught.value.message.startswith("“纪要.txt”")
