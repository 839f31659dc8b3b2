"""The layout of a 会议纪要 or a 批示 as a clerk reads it: title, preamble, items, trailer.

A clerk skips the title block (青山区人民政府常务会议纪要, 〔2026〕12号), the preamble (who
chaired, who attended, 现纪要如下：), the 出席/列席/参加/抄送/分送 blocks and the signature
(…办公室 2026年3月3日印发), and reads the items between them: numbered (一、 （一） 1. 1、
第一项 ①), or, in an unnumbered 纪要, one paragraph each, beginning with 会议要求/会议明确/…

Everything here works on a ``View`` of the text: text pasted from a PDF keeps its fixed-width
line breaks (even inside a name: 区审\\n计局) and page footers (— 2 —); the view joins what was
wrapped, drops the footers and stray spaces, and remembers where each character stood, so
that every span found in the view maps back to offsets into the text the clerk sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tracker.services.intake.deadlines import cn_number

__all__ = ["ITEM_STARTERS", "Layout", "Segment", "View", "make_view", "numbered_items", "read_minutes"]

_CJK = "\u3000-\u303f\u3400-\u9fff\uff00-\uffef“”‘’—…"
_END = "。；;！!？?：:”」』）)"
_FOOTER = re.compile(
    r"^[ \t\u3000]*(?:[—–\-－]+[ \t\u3000]*\d{1,3}[ \t\u3000]*[—–\-－]+|第\s*\d+\s*页(?:\s*共\s*\d+\s*页)?)"
    r"[ \t\u3000]*$"
)
_SPACE = " \t\u3000\xa0"


@dataclass(frozen=True)
class View:
    """A text joined as a reader joins it; ``offsets[i]`` is where ``text[i]`` stood."""

    text: str
    offsets: tuple[int, ...]
    source_length: int

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Offsets into the original text of the view's ``text[start:end]``."""
        if end <= start:
            at = self.offsets[start] if start < len(self.offsets) else self.source_length
            return at, at
        return self.offsets[start], self.offsets[end - 1] + 1


def _is_cjk(ch: str) -> bool:
    return bool(ch) and bool(re.match(f"[{_CJK}]", ch))


def _columns(line: str) -> int:
    """Display width: a Chinese character takes two columns, a digit or a letter one."""
    return sum(2 if _is_cjk(ch) else 1 for ch in line)


def _wrap_width(lines: list[str]) -> int:
    """The width (in columns) of a text wrapped at a fixed width (several lines of about the
    same width that end mid-sentence), or 0 when the text is not wrapped."""
    open_lines = [
        _columns(s.strip(_SPACE))
        for s, nxt in zip(lines, lines[1:] + [""])
        if len(s.strip(_SPACE)) >= 15
        and s.strip(_SPACE)[-1] not in _END
        and nxt.strip(_SPACE)
        and not _heading_line(s.strip(_SPACE))
    ]
    if len(open_lines) < 3:
        return 0
    open_lines.sort()
    middle = open_lines[len(open_lines) // 2]
    return middle if sum(abs(n - middle) <= 4 for n in open_lines) >= 3 else 0


# A row of a form copied from Word (a 批示件, a 督办单): a short label, a tab, its value. Read as
# "label：value", as the form means it, so that 领导批示, 来文, 牵头单位… are understood as labels.
_FORM_LABEL = re.compile(r"(?P<label>[\u4e00-\u9fff]{2,8})[ \u3000]*(?=\t[ \t\u3000]*[^\s：:])")


def make_view(text: str) -> View:
    """The view of ``text``: page footers dropped; in a text wrapped at a fixed width, the
    breaks inside sentences joined; spaces between Chinese characters removed."""
    # offsets point into ``text`` as given: a form posts its lines ending in \r\n
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    ends = [m.start() for m in re.finditer(r"\r\n|\r|\n", text)] + [len(text)]
    lines = [text[a:b] for a, b in zip(starts, ends)]
    width = _wrap_width([ln for ln in lines if not _FOOTER.match(ln)])
    chars: list[str] = []
    offsets: list[int] = []
    prev_line = ""
    footer = False  # a page footer since the previous line: a page ends wherever it ends
    for line, start in zip(lines, starts):
        if _FOOTER.match(line):
            footer = True
            continue
        body = line.strip(_SPACE)
        if not body:  # a blank line stays one: paragraphs are told apart by it
            if chars and chars[-1] != "\n":
                chars.append("\n")
                offsets.append(start)
            if chars and chars[-1] == "\n" and (len(chars) < 2 or chars[-2] != "\n"):
                chars.append("\n")
                offsets.append(start)
            prev_line, footer = "", False
            continue
        lead = len(line) - len(line.lstrip(_SPACE))
        if chars and chars[-1] != "\n":
            full = (
                footer
                or _columns(prev_line) >= width - 8
                or prev_line[-1] in "，,、"
                or (prev_line[-1].isdigit() and body[0].isdigit())
            )
            joined = (
                width
                and full
                and prev_line[-1] not in _END
                and not _starts_block(body)
                and not _heading_line(prev_line)
            )
            if not joined:
                chars.append("\n")
                offsets.append(start - 1)
        label = _FORM_LABEL.match(body)
        for i, ch in enumerate(body):
            if label and i == label.end("label"):  # 领导批示<Tab>请…: a form's label and its value
                chars.append("：")
                offsets.append(start + lead + i)
                continue
            if ch in _SPACE:
                before = chars[-1] if chars else ""
                after = next((c for c in body[i + 1 :] if c not in _SPACE), "")
                if (_is_cjk(before) and _is_cjk(after)) or before in ("", "\n"):
                    continue
                if before in _SPACE:
                    continue
            chars.append(ch)
            offsets.append(start + lead + i)
        prev_line, footer = body, False
    return View("".join(chars), tuple(offsets), len(text))


# --- blocks that are not items -----------------------------------------------------------

_TRAILER_WORDS = (
    r"(?:出\s*席|列\s*席|参\s*加|参会|缺\s*席|请\s*假|记\s*录|主\s*持|抄\s*送|抄\s*报|分\s*送|发\s*送|主\s*送"
    r"|印\s*送|送\s*达|送)(?:人员|单位|领导|同志|范围|人)?"
)
_TRAILER = re.compile(r"(?:^|(?<=[\n。；;]))[ \t\u3000]*" + _TRAILER_WORDS + r"[ \t\u3000]*[：:]")
_DATE = r"(?:\d{4}\s*年\s*)?\d{1,2}\s*月\s*\d{1,2}\s*日"
_SIGNATURE = re.compile(
    r"^[（(]?[^。；;，,：:\n]{0,40}?" + _DATE + r"(?:印发|印制|签发|发)?[）)]?$"
    r"|^[^。；;，,：:\n]{2,40}(?:印发|印制|整理|制发)$"
    r"|^[^。；;，,：:\n]{2,24}(?:办公室|督查室|督查科|人民政府|政府办)$"
    r"|^[（(]此(?:件|页)[^）)]{0,20}[）)]$"
)
_CLOSING = re.compile(r"^会议还(?:听取|研究|审议|通报|学习|传达|讨论)|^(?:其他|其它)事项")


@dataclass(frozen=True)
class Segment:
    """An item: its number as written ("一", "3") and where its text stands in the view."""

    no: str
    start: int
    end: int
    marker: tuple[int, int] | None = None  # the number itself (一、), in the view


@dataclass
class Layout:
    view: View
    items: list[Segment]
    title: str = ""
    title_span: tuple[int, int] | None = None  # in the view
    excluded: list[tuple[int, int]] = field(default_factory=list)  # preamble, trailer… (view)
    signer: str = ""  # a 批示's signature line, as written
    signer_span: tuple[int, int] | None = None
    document: str = ""  # a 批示's 来文 (此件)
    body_start: int = 0  # where the first item (or the instruction) starts


# --- numbered items ------------------------------------------------------------------------

_CN = "零〇一二两三四五六七八九十"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_STYLES: list[tuple[str, re.Pattern]] = [
    ("ordinal", re.compile(rf"第(?P<n>[{_CN}]{{1,3}})(?:项|条|点)[、，,：:．.]?|第(?P<n2>[{_CN}]{{1,3}})[、，,：:]")),
    ("cn_paren", re.compile(rf"[（(](?P<n>[{_CN}]{{1,3}})[）)][、，,．.]?")),
    ("cn", re.compile(rf"(?P<n>[{_CN}]{{1,3}})[、，,．.](?![0-9０-９])")),
    ("ar_paren", re.compile(r"[（(](?P<n>[0-9０-９]{1,2})[）)][、，,．.]?")),
    ("ar", re.compile(r"(?P<n>[0-9０-９]{1,2})(?:[、．]|\.(?![0-9０-９])|[）)](?![0-9０-９]))")),
    ("circled", re.compile(rf"(?P<n>[{_CIRCLED}])")),
]
_BOUNDARY = re.compile(r"(?:^|\n)[ \t\u3000]*|[。；;！!：:]\s*")
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


@dataclass(frozen=True)
class _Marker:
    start: int
    end: int
    number: int
    label: str
    line_start: bool


def _number(style: str, raw: str) -> int | None:
    if style == "circled":
        return _CIRCLED.index(raw) + 1
    try:
        return cn_number(raw.translate(_FULLWIDTH_DIGITS))
    except ValueError:
        return None


def _markers(text: str) -> dict[str, list[_Marker]]:
    found: dict[str, list[_Marker]] = {name: [] for name, _ in _STYLES}
    for b in _BOUNDARY.finditer(text):
        pos = b.end()
        line_start = b.start() == 0 or text[b.start()] == "\n"
        for name, pattern in _STYLES:
            m = pattern.match(text, pos)
            if not m:
                continue
            raw = m.group("n") or (m.groupdict().get("n2") or "")
            number = _number(name, raw)
            if number:
                label = str(number) if name == "circled" else raw.translate(_FULLWIDTH_DIGITS)
                found[name].append(_Marker(m.start(), m.end(), number, label, line_start))
            break
    return found


def _sequence(markers: list[_Marker], start: int = 0, stop: int | None = None) -> list[_Marker]:
    """The markers that count 1, 2, 3... in order between start and stop; others are text."""
    out: list[_Marker] = []
    for m in markers:
        if m.start < start or (stop is not None and m.start >= stop):
            continue
        expected = out[-1].number + 1 if out else 1
        if m.number == expected:
            out.append(m)
    return out


def _is_heading(text: str) -> bool:
    """A line that only names a part (项目建设方面, 关于X工作): no sentence in it."""
    line = text.split("\n", 1)[0].strip()
    return bool(line) and len(line) <= 40 and not re.search(r"[。；;，,]", line)


def _numbered(text: str, start: int, stop: int) -> tuple[list[_Marker], list[int]]:
    """The outermost numbering in text[start:stop]; when its items are bare headings with
    numbered items under them (一、项目建设方面 （一）… （二）…), the items under them."""
    by_style = _markers(text)
    best: list[_Marker] = []
    for markers in by_style.values():
        seq = _sequence(markers, start, stop)
        if seq and (
            not best or seq[0].start < best[0].start or (seq[0].start == best[0].start and len(seq) > len(best))
        ):
            best = seq
    if not best:
        return [], []
    inner: list[_Marker] = []
    for i, m in enumerate(best):
        end = best[i + 1].start if i + 1 < len(best) else stop
        if not _is_heading(text[m.end : end]):
            return best, []
        nested = []
        for markers in by_style.values():
            seq = _sequence(markers, m.end, end)
            if len(seq) >= 1 and (not nested or seq[0].start < nested[0].start):
                nested = seq
        if not nested:
            return best, []
        inner += [_Marker(x.start, x.end, x.number, f"{m.label}（{x.label}）", x.line_start) for x in nested]
    return inner, [m.start for m in best]


# --- unnumbered items ----------------------------------------------------------------------

ITEM_STARTERS = re.compile(
    r"会议(?:原则)?(?:要求|明确|指出|同意|决定|强调|议定|认为|研究认为|研究决定|审议通过|通过|提出|部署|确定)"
)


def _paragraphs(text: str, start: int, stop: int) -> list[tuple[int, int]]:
    out = []
    pos = start
    for part in text[start:stop].split("\n"):
        s, e = pos, pos + len(part)
        pos = e + 1
        stripped = part.strip(_SPACE)
        if stripped:
            out.append((s + len(part) - len(part.lstrip(_SPACE)), s + len(part.rstrip(_SPACE))))
    return out


def _has_starter(text: str) -> bool:
    """A paragraph that decides something: it begins with 会议要求… or has one after a 。"""
    return bool(re.match(ITEM_STARTERS, text) or re.search(r"[。；]\s*" + ITEM_STARTERS.pattern, text))


# --- the whole document --------------------------------------------------------------------

_TITLE_LINE = re.compile(r"^(?P<t>[^。；;，,\n]{2,80}?纪要)(?P<b>[（(][^）)\n]{1,20}[）)])?")
_REPORT_ONLY = re.compile(r"会议(?:听取|审议|研究|讨论)")


def _cuts(text: str, start: int) -> list[int]:
    """Where a block that is no item begins (出席：, 抄送：, a signature line), after ``start``."""
    out = [m.start() for m in _TRAILER.finditer(text, start)]
    pos = 0
    for line in text.split("\n"):
        s = pos
        pos += len(line) + 1
        if s < start:
            continue
        body = line.strip(_SPACE)
        if body and (_SIGNATURE.match(body) or _CLOSING.match(body)):
            out.append(s)
    return sorted(set(out))


def _title(text: str, stop: int) -> tuple[str, tuple[int, int] | None]:
    """The source's customary name from its title lines: the last line ending in 纪要 before
    the items (区政府第31次常务会议纪要 → 区政府第31次常务会议), with a bracket that follows it
    (区长办公会议纪要（2026年第5次） → 区长办公会议（2026年第5次）)."""
    best = None
    pos = 0
    for line in text[:stop].split("\n"):
        s = pos
        pos += len(line) + 1
        m = _TITLE_LINE.match(line.strip(_SPACE))
        lead = len(line) - len(line.lstrip(_SPACE))
        if m:
            best = (m, s + lead)
        elif best and best[0].group("b") is None and re.fullmatch(r"[（(][^）)]{1,20}[）)]", line.strip(_SPACE)):
            bracket = line.strip(_SPACE)
            m0, at = best
            return m0.group("t")[:-2] + bracket, (at, s + lead + len(bracket))
        elif best and best[0].group("b") is None and (number := _ISSUE.fullmatch(line.strip(_SPACE))):
            # 专题会议纪要 / 第8号, 区长办公会议纪要 / 〔2026〕第12期: the number joins the name
            m0, at = best
            year = f"{number['y']}年" if number["y"] else ""
            named = _name_of(m0.group("t")[:-2]) + f"（{year}第{number['n']}{number['u']}）"
            return named, (at, s + lead + len(line.strip(_SPACE)))
    if best is None:
        return "", None
    m, at = best
    return _name_of(m.group("t")[:-2]) + (m.group("b") or ""), (at, at + m.end())


_ISSUE = re.compile(r"(?:[〔\[（(]\s*(?P<y>\d{4})\s*[〕\]）)])?\s*第\s*(?P<n>\d{1,4})\s*(?P<u>[号期次])")


def _name_of(title: str) -> str:
    """The customary name in a title line without its 纪要: 关于全区重点项目建设推进调度会议的 →
    全区重点项目建设推进调度会议."""
    name = re.sub(r"的$", "", title)
    name = re.sub(r"^关于(?=.{4,}会议?$)", "", name)
    return re.sub(r"(?:的)?会议$", "会议", name) if name.endswith("会议") else name


def read_minutes(text: str) -> Layout:
    """The items of a 纪要 and what surrounds them."""
    view = make_view(text)
    t = view.text
    numbered, headings = _numbered(t, 0, len(t))
    cuts = sorted(_cuts(t, 0) + headings)
    if numbered:
        first = numbered[0].start
        # a block before the first item (出席 at the top) cuts nothing inside the items
        items = _numbered_items(t, numbered, [c for c in cuts if c > first])
    else:
        items = _unnumbered_items(t, cuts) or _plain_paragraphs(t, cuts)
        first = items[0].start if items else len(t)
    title, title_span = _title(t, first)
    excluded = [(0, first)] if first else []
    covered = sorted((s.start, s.end) for s in items)
    pos = first
    for s, e in covered:
        if s > pos:
            excluded.append((pos, s))
        pos = max(pos, e)
    if pos < len(t):
        excluded.append((pos, len(t)))
    return Layout(view, items, title, title_span, excluded, body_start=first)


def numbered_items(text: str, start: int, stop: int) -> list[Segment]:
    """The numbered items between ``start`` and ``stop`` of a view's text (a 批示's body);
    none unless at least two are numbered."""
    markers, headings = _numbered(text, start, stop)
    if len(markers) < 2:
        return []
    cuts = sorted(c for c in _cuts(text, markers[0].start) + headings + [stop] if c <= stop)
    return _numbered_items(text, markers, cuts)


def _heading_line(line: str) -> bool:
    """An item's number and its subject on a line of their own (一、关于城区停车难综合治理问题):
    a heading, however wide, is never a line wrapped at the page's width."""
    return _starts_block(line) and not re.search(r"[，,。；;：:]", line)


def _starts_block(line: str) -> bool:
    """A line that begins something new even inside wrapped text: an item number, 出席：…"""
    return bool(_TRAILER.match(line) or any(p.match(line) for _, p in _STYLES))


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _SPACE + "\n":
        start += 1
    while end > start and text[end - 1] in _SPACE + "\n":
        end -= 1
    return start, end


def _numbered_items(t: str, markers: list[_Marker], cuts: list[int]) -> list[Segment]:
    out: list[Segment] = []
    for i, m in enumerate(markers):
        end = markers[i + 1].start if i + 1 < len(markers) else len(t)
        end = min([c for c in cuts if m.end <= c < end] + [end])
        s, e = _trim(t, m.end, end)
        if e > s:
            out.append(Segment(m.label, s, e, (m.start, m.end)))
    if out:  # a 会议强调… paragraph after the last item is an item of its own
        last = out[-1]
        paragraphs = _paragraphs(t, last.start, last.end)
        for k, (ps, _pe) in enumerate(paragraphs[1:], start=1):
            before = t[last.start : ps]
            if ITEM_STARTERS.match(t, ps) and "。" in before:
                out[-1] = Segment(last.no, last.start, _trim(t, last.start, ps)[1], last.marker)
                for qs, qe in paragraphs[k:]:
                    out.append(Segment(str(len(out) + 1), qs, qe))
                break
    return out


def _plain_paragraphs(t: str, cuts: list[int]) -> list[Segment]:
    """Neither numbered nor 会议要求…: each paragraph (blank-line separated) is an item, except
    title lines, the preamble and the blocks that are no item."""
    out: list[Segment] = []
    pos = 0
    stop = cuts[0] if cuts else len(t)
    for block in t.split("\n\n"):
        s, e = _trim(t, pos, min(pos + len(block), stop))
        pos += len(block) + 2
        body = t[s:e]
        if e <= s or _TITLE_LINE.match(body) or re.fullmatch(r"[^。；;，,\n]{0,30}[〔\[]\d{4}[〕\]][^\n]{0,12}", body):
            continue
        if re.search(r"主持召开|纪要如下|议定如下|现纪要|纪要如下", body) and not out:
            continue
        out.append(Segment(str(len(out) + 1), s, e))
    return out


def _unnumbered_items(t: str, cuts: list[int]) -> list[Segment]:
    """One paragraph per item, from the first paragraph that decides something. A paragraph
    that only reports (会议听取了…的汇报) is no item and joins none; any other paragraph
    continues the item before it; a cut (出席：…, a signature) ends the items."""
    paragraphs = _paragraphs(t, 0, len(t))
    out: list[Segment] = []
    started = trailer = False
    for s, e in paragraphs:
        cut = next((c for c in cuts if s <= c < e), None)
        if cut is not None and cut == s:
            trailer = started
            continue
        if cut is not None:
            e = _trim(t, s, cut)[1]
        body = t[s:e]
        if _has_starter(body):
            started, trailer = True, cut is not None
            out.append(Segment(str(len(out) + 1), s, e))
        elif trailer or not started or _REPORT_ONLY.match(body):
            continue
        elif out and not _CLOSING.match(body) and not _TITLE_LINE.match(body):
            last = out[-1]
            out[-1] = Segment(last.no, last.start, e)
    return out
