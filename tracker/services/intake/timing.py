"""Which words of an item are its deadline (完成时限).

An item may name several times; a clerk takes the one the item must be done by and leaves
the rest: a milestone before it (4月底前形成初稿，年底前完成 → 年底前, 4月底前 offered as a
milestone), a period that only qualifies a noun (形成一季度经济运行报告), a service standard
(实现企业开办1个工作日内办结), a conditional (遇有突发事件立即报告, 发现问题立即整改), a
target (全年培训不少于2000人次). 长期坚持 after the last date makes the item ongoing (此项工作
长期坚持); a reporting recurrence (每月25日前报送) joins the deadline. What the phrase means is
``deadlines.parse_deadline``'s business; this module only finds it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tracker.rules.festivals import FESTIVALS

__all__ = ["DeadlinePhrase", "find_deadline"]

_NUMC = r"(?:[0-9０-９]{1,4}|[零〇一二两三四五六七八九十]{1,3})"
_BEFORE = r"(?:之前|以前|前|为止)"
_YEAR = r"(?:[0-9]{4}年|今年|明年|次年)"
_FEST = "(?:" + "|".join(sorted(FESTIVALS, key=len, reverse=True)) + ")"
# Phrases that end with 前/底/末/内: a deadline wherever they stand.
_MARKED = [
    rf"[0-9]{{4}}[-/.][0-9]{{1,2}}[-/.][0-9]{{1,2}}{_BEFORE}?",
    rf"{_YEAR}?{_NUMC}月{_NUMC}[日号](?:{_BEFORE}|(?=完成|办结|到位|报送|上报|提交|投入|建成|实现|全部|启动|召开))",
    rf"(?<=截至|截止|止于){_YEAR}?{_NUMC}月{_NUMC}[日号]",
    rf"{_YEAR}?{_NUMC}月份?(?:底|末){_BEFORE}?",
    rf"{_YEAR}?{_NUMC}月份?(?:上旬|中旬|下旬)(?:末)?{_BEFORE}",
    rf"(?:本|当|下个?)月(?:上旬|中旬|下旬){_BEFORE}?",
    rf"(?:本|下个?)月{_NUMC}[日号]{_BEFORE}",
    rf"{_YEAR}?(?:年底|年末|上半年末|下半年末){_BEFORE}?",
    rf"{_YEAR}?(?:上半年|下半年|第?[一二三四1-4]季度(?:末|底)?){_BEFORE}",
    rf"{_YEAR}?第?[一二三四1-4]季度(?:末|底)",
    rf"[0-9]{{4}}年(?:底|末|内){_BEFORE}?",
    r"(?:今年|明年)(?:底|末|内)" + _BEFORE + "?",
    rf"(?:{_FEST}(?:假期|长假)?|节)(?:之后|以后|后)(?:上班)?{_NUMC}个?工作日(?:之内|以内|内)?",
    rf"{_FEST}(?:假期|长假|节日|放假)?{_BEFORE}",
    rf"{_NUMC}个?工作日(?:之内|以内|内)",
    rf"{_NUMC}(?:个自然日|个日历日|天|日|周|个月)(?:之内|以内|内)",
    rf"(?:本|下个?)(?:周|星期)[一二三四五六日天]{_BEFORE}?",
    rf"(?:本|下个?)(?:周|月|季度)(?:内|底|末){_BEFORE}?",
    r"(?:月底|月末|年底|年内)" + _BEFORE + "?",
    r"年内",
]
# Periods without 前/底: a deadline only where a time stands (年内建成…, 一季度实现…), not
# where a period qualifies a noun (形成一季度工业经济运行报告).
_BARE = [
    rf"{_YEAR}?{_NUMC}月份?(?:上旬|中旬|下旬)",
    rf"{_YEAR}?(?:上半年|下半年|第?[一二三四1-4]季度)",
    rf"{_NUMC}个?工作日",
    r"当天|当日",
]
_RECURRING = [
    rf"每(?:个)?(?:周|星期)[一二三四五六日天1-7]?{_BEFORE}?",
    rf"每(?:个)?月(?:{_NUMC}[日号]|底|末)?{_BEFORE}?",
    rf"每(?:个)?季度(?:末|底)?{_BEFORE}?",
    rf"每半年(?:末|底)?{_BEFORE}?",
]
_ONGOING = r"长期坚持|持续推进|常态化|长期推进|常抓不懈|长效推进"
_LOOSE = r"立即|即时|马上|立行立改|即知即改|立刻"

_MARKED_RE = re.compile("|".join(f"(?:{p})" for p in _MARKED))
_BARE_RE = re.compile("|".join(f"(?:{p})" for p in _BARE))
_RECURRING_RE = re.compile("|".join(f"(?:{p})" for p in _RECURRING))
_ONGOING_RE = re.compile(_ONGOING)
_LOOSE_RE = re.compile(_LOOSE)
# Where a bare period stands as a time: at the start of a clause or after these words.
_TIME_SLOT = re.compile(r"(?:^|[，,。；;：:\n（(]|于|在|要在|确保|力争|争取|务必|必须|要|将|并|须|需|应)$")
_STANDARD = re.compile(r"(?:实现|压缩(?:至|到)|控制在|缩短(?:至|到)|不超过|提速(?:至|到)|做到)[^，,。；;]{0,12}$")
_CONDITION = re.compile(r"(?:遇有|遇到|一旦|如有|如遇|如发现|发现|出现|发生|对于)[^，,。；;]{0,20}$")
_SPAN_OK_AFTER = re.compile(
    r"^(?:[^\u4e00-\u9fa5]|完成|办结|到位|报|提交|形成|实现|建成|启动|开展|拿出|印发|上线|制定"
    r"|出台|投入|全部|全面|基本|前|内|组织|召开|开工|交付|达到|落实|推出|明确|提出|汇总|部署"
    r"|确定|见效|具备|通过|清零|销号|整改|竣工|运行|$)"
)


@dataclass
class DeadlinePhrase:
    """The deadline words of an item as written, where they stand, and the other dates."""

    text: str = ""
    spans: list[tuple[int, int]] = field(default_factory=list)
    others: list[str] = field(default_factory=list)  # earlier dates: milestones
    # the spans a title leaves out: dates go, 立即/长期坚持 stay (they say how, not only when)
    dated: list[tuple[int, int]] = field(default_factory=list)


def _clause_before(text: str, start: int) -> str:
    head = text[:start]
    cut = max(head.rfind(c) for c in "，,。；;\n")
    return head[cut + 1 :]


_DURATION = re.compile(r"(?:工作日|自然日|日历日|天|日|周|个月)(?:之内|以内|内)?$")


def _after_an_event(text: str, m: re.Match) -> bool:
    """办结后10个工作日内 counts from an event to come, not from the meeting (会后 does)."""
    return (
        bool(_DURATION.search(m.group()))
        and text[m.start() - 1 : m.start()] == "后"
        and text[m.start() - 2 : m.start()] != "会后"
    )


def _dates(text: str, recurring: list[re.Match]) -> list[re.Match]:
    inside = [(r.start(), r.end()) for r in recurring]
    found = []
    for m in _MARKED_RE.finditer(text):
        if any(s <= m.start() < e for s, e in inside):  # 每月底前 is a recurrence, not 月底前
            continue
        if _STANDARD.search(_clause_before(text, m.start())) or _after_an_event(text, m):
            continue
        found.append(m)
    taken = [(m.start(), m.end()) for m in found] + inside
    for m in _BARE_RE.finditer(text):
        if any(not (e <= m.start() or s >= m.end()) for s, e in taken):
            continue
        if not _TIME_SLOT.search(text[max(0, m.start() - 4) : m.start()]):
            continue
        if not _SPAN_OK_AFTER.match(text[m.end() : m.end() + 2]):
            continue
        if _STANDARD.search(_clause_before(text, m.start())) or _after_an_event(text, m):
            continue
        found.append(m)
    found.sort(key=lambda m: m.start())
    return found


_REPORT = re.compile(r"报送|上报|报告|反馈|通报|汇报|报")


def _reports(text: str, m: re.Match) -> bool:
    """每月25日前报送 sets when progress is reported; 每周到现场调度一次 describes the work."""
    if m.group().endswith(("前", "为止")):
        return True
    rest = re.split(r"[，,。；;\n]", text[m.end() :], maxsplit=1)[0]
    return bool(_REPORT.search(rest))


_LABELLED = re.compile(
    r"(?:完成时限|办结时限|完成时间|办理时限|时限要求|时间要求|截止时间|截止日期|时限)\s*[:：]\s*(?P<v>[^；;。\n）)]+)"
)


def find_deadline(text: str) -> DeadlinePhrase:
    """The deadline phrase of one item's text (empty when the item names none); a labelled
    one (完成时限：12月20日前) wins over what the sentences say."""
    out = DeadlinePhrase()
    labelled = _LABELLED.search(text)
    if labelled:
        value = labelled.group("v").strip(" \t\u3000，,、")
        out.text = value
        out.spans = out.dated = [(labelled.start("v"), labelled.start("v") + len(value))]
        out.others = [d.group() for d in _dates(text, []) if not labelled.start() <= d.start() < labelled.end()]
        return out
    recurring = [m for m in _RECURRING_RE.finditer(text) if _reports(text, m)]
    dates = _dates(text, recurring)
    ongoing = [m for m in _ONGOING_RE.finditer(text)]
    loose = [m for m in _LOOSE_RE.finditer(text) if not _CONDITION.search(_clause_before(text, m.start()))]
    parts: list[re.Match] = []
    last_date = dates[-1] if dates else None
    if ongoing and (last_date is None or ongoing[-1].start() > last_date.start()):
        parts.append(ongoing[-1])
        out.others = [d.group() for d in dates]
    elif last_date is not None:
        parts.append(last_date)
        out.others = [d.group() for d in dates[:-1]]
    elif loose and not recurring:
        parts.append(loose[0])
    if recurring:
        parts.append(recurring[0])
    out.text = "，".join(m.group() for m in parts)
    out.spans = [m.span() for m in parts]
    out.dated = [m.span() for m in parts if not _LOOSE_RE.fullmatch(m.group()) and not _ONGOING_RE.fullmatch(m.group())]
    return out
