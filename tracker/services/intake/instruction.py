"""The layout of a leader's instruction (领导批示) as a clerk reads it.

A 批示 is written on a document (the 来文, "此件"): the clerk keeps the document as the
source, reads the instruction itself (after "吴海涛同志批示：" or "批示：") and its signature
(the leader's name and the date at the end). The signer is the responsible leader; "报我"
means the signer; the deadline counts from the instruction date (003 §35, 001 §33, 002 §41:
"办理完毕后向区政府报告办理情况"), never from the signature's own date, which is no deadline.
"""

from __future__ import annotations

import re

from tracker.services.intake.layout import Layout, Segment, make_view, numbered_items

__all__ = ["read_instruction"]

_NAME = r"[\u4e00-\u9fa5]{2,4}?"
_TITLE = r"(?:常务副[区县]长|副[区县]长|[区县]长|副?书记|副?主任|同志)"
# "吴海涛同志批示：", "周国平区长批示：", "批示：", "领导批示意见："
_MARK = re.compile(
    rf"(?:(?P<who>{_NAME}){_TITLE}?(?:的|在[^：:\n]{{0,40}}上的)?|领导|区领导)?批示(?:意见|内容|如下)?[：:]"
)
_DATE = r"(?:\d{4}\s*[年.\-/]\s*)?\d{1,2}\s*[月.\-/]\s*\d{1,2}\s*日?"
# The signature at the end: a name (with or without its title) and a date, on one line or two.
_SIGNATURE = re.compile(
    rf"[（(]?(?P<who>{_NAME})\s*{_TITLE}?\s*[，,]?\s*(?P<date>{_DATE})?[）)]?\s*$"
)
_DATE_LINE = re.compile(rf"^[（(]?\s*{_DATE}\s*[）)]?$")
_DOCUMENT = re.compile(r"^(?:来文|原件|原文|文件|事由|标题|附件|呈报件|报送件)\s*[：:]\s*(?P<doc>.+)$")
_HEADER = re.compile(r"^(?:领导)?批示(?:件|单|处理单|办理单)?$|^[^。，,；;\n]{0,20}(?:批示件|批示单|处理单|呈批件|阅办单)$")


def _lines(text: str, start: int, end: int):
    pos = start
    for line in text[start:end].split("\n"):
        yield pos, pos + len(line), line
        pos += len(line) + 1


def read_instruction(text: str, signers: frozenset[str] = frozenset()) -> Layout:
    """The instruction's items (one, unless it numbers several), its signer and its document.

    ``signers``: the leaders' names, so that a signature line holding only a name is known
    for one (a line holding an unknown name still ends the instruction)."""
    view = make_view(text)
    t = view.text
    document = ""
    start, signer, signer_span = 0, "", None
    mark = None
    for m in _MARK.finditer(t):
        mark = m
        break
    if mark is not None:
        start = mark.end()
        who = mark.group("who") or ""
        if who:
            signer, signer_span = who, (mark.start("who"), mark.end("who"))
    end = len(t)
    # the 来文 and header lines before the instruction
    for _s, _e, line in _lines(t, 0, start):
        found = _DOCUMENT.match(line.strip())
        if found:
            document = found.group("doc").strip()
        elif not document and re.search(r"《[^》]+》|^关于.{2,60}(?:报告|请示|情况|函|意见|通知)$", line.strip()):
            document = line.strip()
    # a document given after the instruction (批示 first, then 来文：…)
    for s, _e, line in _lines(t, start, end):
        found = _DOCUMENT.match(line.strip())
        if found:
            document = document or found.group("doc").strip()
            end = min(end, s)
    # the signature: trailing lines holding a date and/or a name, or a name and date at the end
    body_end = end
    while True:
        head = t[start:body_end].rstrip()
        last_nl = head.rfind("\n")
        last = head[last_nl + 1:].strip()
        if not last:
            break
        if _DATE_LINE.match(last):
            body_end = start + (last_nl if last_nl >= 0 else 0)
            continue
        sig = re.fullmatch(rf"(?P<who>{_NAME})\s*{_TITLE}?", last)
        if sig and (sig.group("who") in signers or last_nl >= 0):
            if not signer:
                signer = sig.group("who")
                at = start + last_nl + 1 + (len(head[last_nl + 1:]) - len(head[last_nl + 1:].lstrip()))
                signer_span = (at, at + len(sig.group("who")))
            body_end = start + (last_nl if last_nl >= 0 else 0)
            continue
        dated = re.search(rf"[（(]\s*{_DATE}\s*[）)]$|(?<=[。！；])\s*{_DATE}$", head)
        if dated:
            body_end = start + dated.start()
            continue
        inline = _SIGNATURE.search(head)
        if inline and inline.group("date") and (inline.group("who") in signers or not signer):
            cut = inline.start()
            if head[:cut].rstrip().endswith(("。", "！", "；")) or head[cut - 1:cut] in "（( \n":
                if not signer:
                    signer, signer_span = inline.group("who"), (start + inline.start("who"), start + inline.end("who"))
                body_end = start + cut
        break
    items: list[Segment] = numbered_items(t, start, body_end)
    if not items:
        s, e = start, body_end
        while s < e and t[s] in " \t\u3000\n":
            s += 1
        while e > s and t[e - 1] in " \t\u3000\n":
            e -= 1
        if e > s:
            items = [Segment("1", s, e)]
    excluded = [(0, start)] if start else []
    if body_end < len(t):
        excluded.append((body_end, len(t)))
    title = f"{signer}同志批示" if signer else "领导批示"
    return Layout(view, items, title, signer_span, excluded, signer=signer, signer_span=signer_span,
                  document=document, body_start=start)
