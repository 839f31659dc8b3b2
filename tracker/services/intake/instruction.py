"""The layout of a leader's instruction (领导批示) as a clerk reads it.

A 批示 is written on a document (the 来文, "此件"): the clerk keeps the document as the
source, reads the instruction itself (after "吴海涛同志批示：" or "批示：") and its signature
(the leader's name and the date at the end). The signer is the responsible leader; "报我"
means the signer; the deadline counts from the instruction date (003 §35, 001 §33, 002 §41:
"办理完毕后向区政府报告办理情况"), never from the signature's own date, which is no deadline.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tracker.services.intake.layout import Layout, Segment, make_view, numbered_items

__all__ = ["read_instruction"]

_NAME = r"[\u4e00-\u9fa5]{2,4}?"
_TITLE = r"(?:常务副[区县]长|副[区县]长|[区县]长|副?书记|副?主任|同志)"
# "吴海涛同志批示：", "周国平区长批示：", "批示：", "领导批示意见："
_MARK = re.compile(
    rf"(?:(?P<who>{_NAME}){_TITLE}?(?:的|在[^：:\n]{{0,80}}?上的?)?|领导|区领导)?批示(?:意见|内容|如下)?[：:]"
)
_DATE = r"(?:\d{4}\s*[年.\-/]\s*)?\d{1,2}\s*[月.\-/]\s*\d{1,2}\s*日?"
# The signature at the end: a name (with or without its title) and a date, on one line or two.
_SIGNATURE = re.compile(rf"[（(]?(?P<who>{_NAME})\s*{_TITLE}?\s*[，,]?\s*(?P<date>{_DATE})?[）)]?\s*$")
_DATE_LINE = re.compile(rf"^[（(]?\s*{_DATE}\s*[）)]?$")
_DOCUMENT = re.compile(r"^(?:来文|原件|原文|文件|事由|标题|附件|呈报件|报送件)\s*[：:]\s*(?P<doc>.+)$")
_HEADER = re.compile(
    r"^(?:领导)?批示(?:件|单|处理单|办理单)?$|^[^。，,；;\n]{0,20}(?:批示件|批示单|处理单|呈批件|阅办单)$"
)


def _lines(text: str, start: int, end: int):
    pos = start
    for line in text[start:end].split("\n"):
        yield pos, pos + len(line), line
        pos += len(line) + 1


def _marks(t: str, signers: frozenset[str]) -> list[tuple[int, int, str, tuple[int, int] | None]]:
    """Every "X批示：" (or "林晓东：" at a line start, X being a leader): (start, end of the mark,
    who as written, who's span)."""
    out = []
    for m in _MARK.finditer(t):
        who, at = m.group("who") or "", m.start("who")
        if who and signers and who not in signers:  # 长李明远 read for 李明远, 二吴海涛 for 吴海涛
            known = next((n for n in sorted(signers, key=len, reverse=True) if n in who), "")
            if known:
                at += who.index(known)
            who = known  # 领导批示：, 区领导批示：: no one's name; the signature names the signer
        out.append((m.start(), m.end(), who, (at, at + len(who)) if who else None))
    # "吴海涛同志批示" alone on its line, the instruction on the next ones
    for m in re.finditer(rf"(?:^|(?<=\n))[ \t\u3000]*(?P<who>{_NAME}){_TITLE}?的?批示(?:意见)?[ \t\u3000]*(?=\n)", t):
        if (not signers or m.group("who") in signers) and not any(s <= m.start() < e for s, e, _w, _sp in out):
            out.append((m.start(), m.end(), m.group("who"), (m.start("who"), m.end("who"))))
    if signers:
        names = "|".join(sorted((re.escape(n) for n in signers), key=len, reverse=True))
        for m in re.finditer(rf"(?:^|(?<=\n))[ \t\u3000]*(?P<who>{names}){_TITLE}?[：:]", t):
            if not any(s <= m.start() < e for s, e, _w, _sp in out):
                out.append((m.start(), m.end(), m.group("who"), (m.start("who"), m.end("who"))))
    return sorted(out)


def _signature(t: str, start: int, end: int, signers: frozenset[str]) -> tuple[int, str, tuple[int, int] | None]:
    """Where the instruction's text ends before its signature lines (a name, a date), and the
    signer that signature names."""
    body_end, signer, span = end, "", None
    while True:
        head = t[start:body_end].rstrip()
        last_nl = head.rfind("\n")
        last = head[last_nl + 1 :].strip()
        if not last:
            break
        if _DATE_LINE.match(last):
            body_end = start + (last_nl if last_nl >= 0 else 0)
            continue
        sig = re.fullmatch(rf"(?P<who>{_NAME})\s*{_TITLE}?", last)
        if sig and (sig.group("who") in signers or last_nl >= 0):
            if not signer:
                at = start + last_nl + 1 + (len(head[last_nl + 1 :]) - len(head[last_nl + 1 :].lstrip()))
                signer, span = sig.group("who"), (at, at + len(sig.group("who")))
            body_end = start + (last_nl if last_nl >= 0 else 0)
            continue
        dated = re.search(rf"[（(]\s*{_DATE}\s*[）)]$|(?<=[。！；])\s*{_DATE}$", head)
        if dated:
            body_end = start + dated.start()
            continue
        inline = _SIGNATURE.search(head)
        if inline and inline.group("date") and inline.group("who") in signers:
            cut = inline.start()
            if head[:cut].rstrip().endswith(("。", "！", "；")) or head[cut - 1 : cut] in "（( \n":
                signer, span = inline.group("who"), (start + inline.start("who"), start + inline.end("who"))
                body_end = start + cut
        break
    return body_end, signer, span


def read_instruction(
    text: str, signers: frozenset[str] = frozenset(), assigns: Callable[[str], bool] | None = None
) -> Layout:
    """The instruction's items, its signer and its document.

    ``signers``: the leaders' names (a signature line holding a name, "林晓东：…").
    ``assigns``: whether a text hands work to a department. On a 批示件 holding a chain of
    instructions (the 区长 passes it to a 副区长, who assigns it; a city leader's instruction
    passed down), the instructions that assign are read and the others, which only forward,
    are not; without any that assigns, the last one is read."""
    view = make_view(text)
    t = view.text
    document = ""
    marks = _marks(t, signers)
    parts = []  # (body start, body end, signer, signer span)
    for k, (_s, e, who, span) in enumerate(marks):
        stop = marks[k + 1][0] if k + 1 < len(marks) else len(t)
        body_end, signed, signed_span = _signature(t, e, stop, signers)
        parts.append((e, body_end, who or signed, span or signed_span))
    if not parts:
        body_end, signed, signed_span = _signature(t, 0, len(t), signers)
        parts = [(0, body_end, signed, signed_span)]
    chosen = [p for p in parts if assigns is not None and assigns(t[p[0] : p[1]])] or [parts[-1]]
    first_start = marks[0][0] if marks else 0
    start, end, signer, signer_span = chosen[0][0], chosen[-1][1], chosen[0][2], chosen[0][3]
    # the 来文 and header lines before the instructions
    for _s, _e, line in _lines(t, 0, first_start):
        found = _DOCUMENT.match(line.strip())
        if found:
            document = document or found.group("doc").strip()
        elif not document and re.search(r"《[^》]+》|^关于.{2,60}(?:报告|请示|情况|函|意见|通知)$", line.strip()):
            document = line.strip()
    if not document:
        named = re.search(r"《[^》]{2,80}》", t[:start])
        document = named.group() if named else ""
    items: list[Segment] = []
    for body_start, body_end, _who, _span in chosen:
        found_items = numbered_items(t, body_start, body_end)
        if not found_items:
            s, e = body_start, body_end
            while s < e and t[s] in " \t\u3000\n":
                s += 1
            while e > s and t[e - 1] in " \t\u3000\n":
                e -= 1
            found_items = [Segment(str(len(items) + 1), s, e)] if e > s else []
        items += found_items
    excluded = [(0, start)] if start else []
    if end < len(t):
        excluded.append((end, len(t)))
    title = f"{signer}同志批示" if signer else "领导批示"
    return Layout(
        view,
        items,
        title,
        signer_span,
        excluded,
        signer=signer,
        signer_span=signer_span,
        document=document,
        body_start=start,
    )
