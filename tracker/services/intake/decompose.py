"""Splitting a meeting's minutes (议定事项) into draft tasks.

Two layers. The pure one reads text: ``split_items`` cuts the pasted minutes at
their item numbers, ``find_mentions`` finds the phrases inside an item that name
departments, leaders and the deadline, ``guess_title`` and ``guess_urgency``
propose the rest. The resolving layer hands those phrases to the name resolvers
and the deadline parser and keeps every name or phrase they cannot read as a
blocking error on its row: nothing is dropped silently, the office decides.
``save_rows`` then creates (and assigns) all rows in one savepoint: every row
or none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session

from tracker.calendar import WorkCalendar
from tracker.errors import DomainError, ValidationFailed
from tracker.models import FeedbackCycle, Source, Task, Urgency
from tracker.rules.names import split_list
from tracker.services.actors import Actor
from tracker.services.calendar import load_calendar
from tracker.services.intake.deadlines import DeadlineError, DeadlineParse, cn_number, parse_deadline
from tracker.services.organisation.resolve import DepartmentResolver, LeaderResolver
from tracker.services.tasks import lifecycle as tasks

# --- splitting -------------------------------------------------------------------

_CN = "零〇一二两三四五六七八九十"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")

# Each numbering style: a name and a pattern whose group "n" is the number.
_STYLES: list[tuple[str, re.Pattern]] = [
    ("ordinal", re.compile(rf"第(?P<n>[{_CN}]{{1,3}})(?:项|条|点)[、，,：:．.]?|第(?P<n2>[{_CN}]{{1,3}})[、，,：:]")),
    ("cn_paren", re.compile(rf"[（(](?P<n>[{_CN}]{{1,3}})[）)][、，,．.]?")),
    ("cn", re.compile(rf"(?P<n>[{_CN}]{{1,3}})[、，,．.](?![0-9０-９])")),
    ("ar_paren", re.compile(r"[（(](?P<n>[0-9０-９]{1,2})[）)][、，,．.]?")),
    ("ar", re.compile(r"(?P<n>[0-9０-９]{1,2})(?:[、．]|\.(?![0-9０-９]))")),
    ("circled", re.compile(rf"(?P<n>[{_CIRCLED}])")),
]
# Where an item may start: a line start, or right after the end of a sentence
# (minutes pasted from a PDF often lose their line breaks).
_BOUNDARY = re.compile(r"(?:^|\n)[ \t\u3000]*|[。；;！!：:]\s*")


@dataclass(frozen=True)
class Item:
    no: str  # the item number as written (一, 3)
    text: str


@dataclass(frozen=True)
class _Marker:
    start: int
    end: int
    number: int
    label: str


def _number(style: str, raw: str) -> int | None:
    if style == "circled":
        return _CIRCLED.index(raw) + 1
    raw = raw.translate(_FULLWIDTH_DIGITS)
    try:
        return cn_number(raw)
    except ValueError:
        return None


def _markers(text: str) -> dict[str, list[_Marker]]:
    found: dict[str, list[_Marker]] = {name: [] for name, _ in _STYLES}
    for b in _BOUNDARY.finditer(text):
        pos = b.end()
        for name, pattern in _STYLES:
            m = pattern.match(text, pos)
            if not m:
                continue
            raw = m.group("n") or (m.groupdict().get("n2") or "")
            number = _number(name, raw)
            if number:
                label = str(number) if name == "circled" else raw.translate(_FULLWIDTH_DIGITS)
                found[name].append(_Marker(m.start(), m.end(), number, label))
            break  # one style per position: the first that matches
    return found


def _sequence(markers: list[_Marker]) -> list[_Marker]:
    """The markers that count 1, 2, 3... in order; others are text (1.5亿元, a sub-list)."""
    out: list[_Marker] = []
    for m in markers:
        expected = out[-1].number + 1 if out else 1
        if m.number == expected:
            out.append(m)
    return out


def split_items(text: str) -> list[Item]:
    """Cut pasted minutes into their numbered items (一、 （一） 1. 1、 第一项 ①).

    The outermost style is the one whose item 1 comes first; other numberings
    inside an item (its sub-points) stay in its text. Text before item 1 (会议
    听取了……议定如下：) is dropped. Without any numbering, each paragraph is an item.
    """
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    best: list[_Marker] = []
    for markers in _markers(text).values():
        seq = _sequence(markers)
        if seq and (not best or seq[0].start < best[0].start or
                    (seq[0].start == best[0].start and len(seq) > len(best))):
            best = seq
    if not best:
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        return [Item(str(i), p) for i, p in enumerate(paragraphs, 1)]
    items = []
    for i, m in enumerate(best):
        end = best[i + 1].start if i + 1 < len(best) else len(text)
        body = text[m.end:end].strip()
        if body:
            items.append(Item(m.label, body))
    return items


# --- mentions ----------------------------------------------------------------------

_LEAD_LABELS = ("牵头单位", "牵头部门", "主办单位", "主责单位", "责任单位", "责任部门", "承办单位", "牵头责任单位")
_ASSIST_LABELS = ("配合单位", "配合部门", "协办单位", "协办部门", "参与单位", "协助单位")
_LEADER_LABELS = ("责任领导", "分管领导", "牵头领导", "联系领导", "包联领导", "督办领导", "分管区领导", "牵头区领导")
_DEADLINE_LABELS = ("完成时限", "办结时限", "完成时间", "办理时限", "时限要求", "时间要求", "截止时间", "时限")
_ALL_LABELS = sorted(_LEAD_LABELS + _ASSIST_LABELS + _LEADER_LABELS + _DEADLINE_LABELS, key=len, reverse=True)
_LABEL_RE = re.compile(r"(?P<label>" + "|".join(_ALL_LABELS) + r")\s*[:：]\s*")

# What a department's name ends with; used where no label or verb says "department".
_DEPT_SUFFIX = re.compile(
    r"(?:委员会|管委会|办事处|街道办|街道|中心|集团|公司|政府|分局|支队|大队|委|局|办|院|所|镇|乡|厅|部|署|队|站|馆|社|室|处|会)$"
)
_LEADER_TITLE = r"(?:常务副|副)?[区县市]长"
# 和/及/与 separate names only after a name's end (区住房和城乡建设局 is one name).
_LIST_SEP = re.compile(r"[、，,/／]|(?<=[局委办院所镇乡厅部署队站馆社室处心团司府道会])(?:和|及|与)")
_VERB_START = re.compile(
    r"等|研究|制定|制订|开展|做好|加快|抓紧|推进|落实|完成|共同|联合|负责|牵头|配合|协调|编制|起草|拟定|"
    r"提出|办理|进行|实施|督促|指导|确保|力争|按照|对|就|按|在|于"
)
_STRIP_PREFIX = re.compile(r"^(?:会议)?(?:要求|明确|决定|同意|议定|强调)?[，,：:]?(?:并由|并|由|请|责成|要求)?")
_STRIP_SUFFIX = re.compile(r"(?:等(?:相关)?(?:单位|部门)?|(?:相关|有关)(?:单位|部门))$")

_LEAD_VERB = r"(?:牵头负责|牵头抓总|牵头|主办|负总责|为牵头单位|为责任单位)"
_BY_RE = re.compile(r"由(?P<list>[^，,。；;：:由]{2,60}?)(?P<verb>牵头负责|牵头|主办|负责|会同)")
_LEAD_START_RE = re.compile(r"^(?P<list>[^，,。；;：:]{2,60}?)" + _LEAD_VERB)
_RESP_START_RE = re.compile(r"^(?P<list>[^，,。；;：:]{2,60}?)负责")
_ASSIST_START_RE = re.compile(
    r"^(?P<list>[^，,。；;：:]{2,80}?)(?:等(?:相关)?(?:单位|部门))?(?:积极|密切|全力|共同|做好)?(?:配合|协助|协办|参与)"
)
_JOINTLY_RE = re.compile(r"会同(?P<list>[^，,。；;：:]{2,80})")

_NAME = r"[\u4e00-\u9fa5]{2,3}"
_LEADER_BEFORE_RE = re.compile(rf"(?P<name>{_NAME})(?:同志)?{_LEADER_TITLE}(?!办公|会议)")
_LEADER_AFTER_RE = re.compile(
    rf"{_LEADER_TITLE}(?!办公|会议|负责|牵头|督导|协调|挂帅|统筹|同志|主持|要求|强调|指出)"
    rf"(?P<name>[\u4e00-\u9fa5]{{2,3}}?)(?=同志|负责|牵头|督导|协调|挂帅|统筹|[，,。；;、）)\s]|$)"
)
_NOT_A_NAME = re.compile(r"[分管各主要相关有政府领导位门同由请求经和及与并副常务区县市的为是要、]")

_NUMC = r"(?:[0-9０-９]{1,4}|[零〇一二两三四五六七八九十]{1,3})"
_BEFORE = r"(?:之前|以前|前|为止)?"
_DATE_PHRASES = [
    rf"[0-9]{{4}}[-/.][0-9]{{1,2}}[-/.][0-9]{{1,2}}{_BEFORE}",
    rf"(?:[0-9]{{4}}年|今年|明年)?{_NUMC}月{_NUMC}[日号]{_BEFORE}",
    rf"(?:[0-9]{{4}}年|今年|明年)?{_NUMC}月份?(?:底|末|上旬|中旬|下旬){_BEFORE}",
    rf"(?:[0-9]{{4}}年|今年|明年)?(?:年底|年末|上半年|下半年|第?[一二三四1-4]季度(?:末|底)?){_BEFORE}",
    rf"[0-9]{{4}}年(?:底|末|内){_BEFORE}",
    rf"{_NUMC}个?工作日(?:之内|以内|内)?",
    rf"{_NUMC}(?:个自然日|天|日|周|个月)(?:之内|以内|内)",
    rf"(?:本|下个?)(?:周|星期)[一二三四五六日天]{_BEFORE}",
    rf"(?:本|下个?)(?:周|月|季度)(?:内|底|末){_BEFORE}",
    r"(?:年内|月底前|年底前|当天|当日)",
]
_RECURRING_PHRASES = [
    rf"每(?:个)?(?:周|星期)[一二三四五六日天1-7]?{_BEFORE}",
    rf"每(?:个)?月(?:{_NUMC}[日号]|底|末)?{_BEFORE}",
    rf"每季度(?:末|底)?{_BEFORE}",
    rf"每半年(?:末|底)?{_BEFORE}",
]
_LOOSE_PHRASES = [r"长期坚持", r"持续推进", r"常态化推进", r"长期推进", r"常抓不懈", r"立行立改", r"立即", r"即时", r"马上"]
_DATE_RE = re.compile("|".join(f"(?:{p})" for p in _DATE_PHRASES))
_RECURRING_RE = re.compile("|".join(f"(?:{p})" for p in _RECURRING_PHRASES))
_LOOSE_RE = re.compile("|".join(_LOOSE_PHRASES))


@dataclass
class Mentions:
    """Phrases found in one item; each is handed to a resolver as written."""

    lead: str = ""  # the first name is the lead; any others become assisting departments
    assisting: str = ""
    leaders: str = ""
    deadline: str = ""
    other_deadlines: list[str] = field(default_factory=list)  # candidates for milestones
    spans: list[tuple[int, int]] = field(default_factory=list)  # where the phrases stand


def _clean_list(text: str) -> str:
    text = text.strip(" \t\u3000，,、；;：:")
    text = _STRIP_PREFIX.sub("", text)
    text = _STRIP_SUFFIX.sub("", text)
    return text.strip(" \t\u3000，,、；;：:")


def looks_like_departments(text: str) -> bool:
    """Every name in the list ends like a department (局, 委, 街道...) and none is a leader."""
    if re.search(_LEADER_TITLE, text):
        return False
    parts = [p for p in _LIST_SEP.split(_clean_list(text)) if p]
    return bool(parts) and all(_DEPT_SUFFIX.search(p) for p in parts)


def _department_value(value: str) -> tuple[str, int]:
    """A labelled department value ends where a comma starts something else
    (责任单位：区发改委、区财政局，12月底前完成). Returns the names and the length used."""
    pieces = re.split(r"([，,])", value)
    kept, used = [pieces[0]], len(pieces[0])
    for sep, piece in zip(pieces[1::2], pieces[2::2]):
        if not looks_like_departments(piece):
            break
        kept.append(piece)
        used += len(sep) + len(piece)
    return "、".join(p.strip() for p in kept if p.strip()), used


def _value_end(text: str, start: int, stop: int) -> int:
    """Where a labelled value ends: at ；。 or a line break, or at the bracket closing the
    labelled block — not at one inside the value (各镇（街道）)."""
    depth = 0
    for i in range(start, stop):
        ch = text[i]
        if ch in "（(":
            depth += 1
        elif ch in "）)":
            if depth == 0:
                return i
            depth -= 1
        elif ch in "；;。\n":
            return i
    return stop


def _join(*parts: str) -> str:
    return "、".join(p for p in parts if p)


def _labelled(text: str, m: Mentions) -> set[str]:
    """``牵头单位：…；配合单位：…；完成时限：…`` blocks. Returns the kinds found."""
    labels = list(_LABEL_RE.finditer(text))
    found: set[str] = set()
    for i, lm in enumerate(labels):
        stop = labels[i + 1].start() if i + 1 < len(labels) else len(text)
        end = _value_end(text, lm.end(), stop)
        raw = text[lm.end():end].strip(" \t\u3000，,、")
        label = lm.group("label")
        if not raw:
            continue
        if label in _LEAD_LABELS or label in _ASSIST_LABELS:
            names, used = _department_value(raw)
            end = lm.end() + (len(text[lm.end():end]) - len(text[lm.end():end].lstrip(" \t\u3000，,、"))) + used
            if label in _LEAD_LABELS:
                m.lead = _join(m.lead, _clean_list(names))
                found.add("lead")
            else:
                m.assisting = _join(m.assisting, _clean_list(names))
                found.add("assisting")
        elif label in _LEADER_LABELS:
            m.leaders = _join(m.leaders, _clean_list(raw))
            found.add("leaders")
        else:
            if m.deadline:
                m.other_deadlines.append(raw)
            else:
                m.deadline = raw
            found.add("deadline")
        m.spans.append((lm.start(), end))
    return found


def _clauses(text: str):
    """(start, clause) pairs split at Chinese clause punctuation."""
    pos = 0
    for part in re.split(r"([，,。；;！!？?\n])", text):
        if part and part not in "，,。；;！!？?\n":
            stripped = part.lstrip(" \t\u3000")
            yield pos + len(part) - len(stripped), stripped.rstrip()
        pos += len(part)


def _verbs(text: str, m: Mentions, skip: set[str]) -> None:
    """由区发改委牵头，区财政局、区住建局配合 and the like, clause by clause."""
    leads: list[str] = []
    assists: list[str] = []
    for start, clause in _clauses(text):
        body = _STRIP_PREFIX.sub("", clause) if not clause.startswith("由") else clause
        offset = start + (len(clause) - len(body))
        hit = _BY_RE.search(clause)
        if hit and not re.search(_LEADER_TITLE, hit.group("list")):
            leads.append(_clean_list(hit.group("list")))
            span_end = hit.end()
            if hit.group("verb") == "会同":
                names, used = _take_departments(clause[hit.end():])
                if names:
                    assists.append(names)
                    span_end = hit.end() + used
            m.spans.append((start + hit.start(), start + span_end))
            continue
        hit = _JOINTLY_RE.search(clause)
        if hit:
            names, used = _take_departments(hit.group("list"))
            if names:
                assists.append(names)
                m.spans.append((start + hit.start(), start + hit.start("list") + used))
        for pattern, bucket in ((_LEAD_START_RE, leads), (_ASSIST_START_RE, assists), (_RESP_START_RE, leads)):
            hit = pattern.match(body)
            if hit and looks_like_departments(hit.group("list")):
                bucket.append(_clean_list(hit.group("list")))
                m.spans.append((offset, offset + hit.end()))
                break
    if "lead" not in skip and leads:
        m.lead = _join(*leads)
    if "assisting" not in skip and assists:
        m.assisting = _join(*assists)


def _take_departments(text: str) -> tuple[str, int]:
    """The department names at the start of ``text`` (会同区财政局、区住建局研究制定 → both),
    and how many characters they take: the list ends where a verb starts."""
    stop = _VERB_START.search(text)
    head = text[: stop.start()] if stop else text
    names, end = [], 0
    for name, start in _split_list_with_pos(head):
        if not _DEPT_SUFFIX.search(name):
            break
        names.append(name)
        end = start + len(name)
    return "、".join(names), end


def _split_list_with_pos(text: str):
    pos = 0
    for sep in list(_LIST_SEP.finditer(text)) + [None]:
        stop = sep.start() if sep else len(text)
        yield text[pos:stop], pos
        if sep:
            pos = sep.end()


def _leader_names(text: str) -> list[tuple[str, tuple[int, int]]]:
    out = []
    for pattern in (_LEADER_BEFORE_RE, _LEADER_AFTER_RE):
        for hit in pattern.finditer(text):
            name = hit.group("name")
            start = hit.start("name")
            while len(name) > 2 and _NOT_A_NAME.match(name[0]):
                name, start = name[1:], start + 1
            if _NOT_A_NAME.search(name):
                continue
            span_start = hit.start() if pattern is _LEADER_AFTER_RE else start
            out.append((name, (span_start, hit.end())))
    out.sort(key=lambda x: x[1][0])
    return out


def _deadlines(text: str, m: Mentions) -> None:
    """Explicit dates win over 立即/长期坚持; a reporting recurrence joins the deadline;
    the last date is the deadline and earlier ones are offered as milestones."""
    recurring = list(_RECURRING_RE.finditer(text))
    dates = [d for d in _DATE_RE.finditer(text)  # 每月底前 is a recurrence, not 月底前
             if not any(r.start() <= d.start() < r.end() for r in recurring)]
    loose = list(_LOOSE_RE.finditer(text))
    parts = []
    if dates:
        parts.append(dates[-1].group())
        m.spans.append(dates[-1].span())
    elif loose:  # 立即/持续推进 stay in the title: they say how, not only when
        parts.append(loose[0].group())
    if recurring:
        parts.append(recurring[0].group())
        m.spans.append(recurring[0].span())
    m.deadline = "，".join(parts)
    m.other_deadlines.extend(d.group() for d in dates[:-1])


def find_mentions(text: str) -> Mentions:
    """Find the department-list, leader and deadline phrases of one item.

    Labelled blocks (牵头单位：… 责任领导：… 完成时限：…) take precedence over
    phrases read from the sentence (由…牵头, …配合, 吴海涛副区长负责, 12月底前).
    """
    m = Mentions()
    found = _labelled(text, m)
    _verbs(text, m, found)
    if "leaders" not in found:
        names = _leader_names(text)
        m.leaders = "、".join(dict.fromkeys(n for n, _ in names))
        m.spans.extend(span for _, span in names)
    if "deadline" not in found:
        _deadlines(text, m)
    return m


# --- titles and urgency ------------------------------------------------------------

_TITLE_PREFIX = re.compile(
    r"^(?:关于|会议(?:原则)?(?:要求|明确|强调|指出|决定|议定|研究决定|认为|研究|同意)?[，,：:]?|"
    r"并|要|确保|力争|于|在|抓紧|尽快)+"
)


def guess_title(text: str, mentions: Mentions | None = None, limit: int = 60) -> str:
    """The first clause of the item once the department, leader and deadline phrases
    are taken out, at most ``limit`` characters."""
    mentions = mentions or find_mentions(text)
    chars = list(text)
    for start, end in mentions.spans:
        for i in range(max(0, start), min(len(chars), end)):
            chars[i] = "\0"
    s = "".join(chars).replace("\0", "，")
    s = re.sub(r"[（(][\s，,；;、]*[）)]", "", s)  # brackets emptied of a labelled block
    s = re.sub(r"[，,、]{2,}", "，", s)
    s = re.sub(r"[，,、]+([。；;])", r"\1", s)
    s = s.strip(" \t\u3000\n，,、；;。")
    sentence = re.split(r"[。；;！!？?\n]", s, maxsplit=1)[0].strip(" ，,、")
    stripped = _TITLE_PREFIX.sub("", sentence).strip(" ，,、")
    if len(stripped) >= 4:
        sentence = stripped
    first = re.split(r"[，,]", sentence, maxsplit=1)[0].strip()
    if len(first) >= 6:  # the first clause, unless it is too short to say anything
        sentence = first
    sentence = sentence[:limit]
    if len(sentence) < 4:  # the item is little more than names and dates
        sentence = re.split(r"[。；;\n]", text.strip(), maxsplit=1)[0][:limit]
    return sentence


def guess_urgency(text: str) -> Urgency:
    if "特急" in text:
        return Urgency.EXTRA_URGENT
    if re.search(r"急件|紧急|立即|即刻|马上|火速|立行立改", text):
        return Urgency.URGENT
    return Urgency.NORMAL


# --- resolving drafts ----------------------------------------------------------------

ROW_FIELDS = ("item_no", "title", "requirement", "lead", "assisting", "leaders", "deadline_text",
              "due_date", "parsed_due", "urgency")
# A task service's field name → the table column that shows it.
_SERVICE_FIELD = {"title": "title", "requirement": "requirement", "item_no": "item_no",
                  "lead_department_id": "lead", "assisting_department_ids": "assisting",
                  "leader_ids": "leaders", "due_date": "deadline_text", "deadline_kind": "deadline_text",
                  "recurrence": "deadline_text", "urgency": "urgency"}


@dataclass
class DraftRow:
    """One line of the decomposition table: the texts as the office sees and edits
    them, and what they resolved to."""

    item_no: str = ""
    include: bool = True
    title: str = ""
    requirement: str = ""
    lead: str = ""  # department names as written; the first is the lead
    assisting: str = ""
    leaders: str = ""
    deadline_text: str = ""
    due_date: str = ""  # ISO date as shown in the table, possibly typed over
    parsed_due: str = ""  # what deadline_text gave last time: a different due_date is an override
    urgency: str = Urgency.NORMAL.value
    # resolution
    lead_id: int | None = None
    assisting_ids: list[int] = field(default_factory=list)
    leader_ids: list[int] = field(default_factory=list)
    matched: dict[str, list[str]] = field(default_factory=dict)  # column → names it resolved to
    deadline: DeadlineParse | None = None
    errors: dict[str, str] = field(default_factory=dict)  # column → message; any blocks the save
    warnings: dict[str, list[str]] = field(default_factory=dict)  # column → notes worth a look

    def warn(self, column: str, message: str) -> None:
        self.warnings.setdefault(column, []).append(message)

    def task_data(self, source: Source) -> dict:
        """The input for tasks.create_draft."""
        data = {
            "title": self.title, "requirement": self.requirement, "source_id": source.id,
            "item_no": self.item_no[:20], "lead_department_id": self.lead_id,
            "assisting_department_ids": self.assisting_ids, "leader_ids": self.leader_ids,
            "urgency": self.urgency, "deadline_text": self.deadline_text[:120],
        }
        if self.deadline is not None:
            data.update(deadline_kind=self.deadline.deadline_kind.value, due_date=self.deadline.due_date,
                        recurrence=self.deadline.recurrence, feedback_cycle=self.deadline.feedback_cycle)
        return data


class RowsInvalid(ValidationFailed):
    """Some rows need the office's attention; nothing was saved. ``rows`` carry the messages."""

    def __init__(self, rows: list[DraftRow]):
        bad = [r for r in rows if r.include and r.errors]
        nos = "、".join(r.item_no or "?" for r in bad)
        super().__init__(f"有 {len(bad)} 项需要修正（第 {nos} 项），未保存任何事项")
        self.rows = rows


@dataclass
class Resolvers:
    """Read the organisation and the calendar once per request, not once per row."""

    departments: DepartmentResolver
    leaders: LeaderResolver
    calendar: WorkCalendar

    @classmethod
    def load(cls, session: Session) -> "Resolvers":
        return cls(DepartmentResolver.load(session), LeaderResolver.load(session), load_calendar(session))


def draft_rows(session: Session, source: Source, text: str) -> list[DraftRow]:
    """The proposed table for pasted minutes: one row per item, resolved."""
    rows, found = [], []
    for item in split_items(text):
        m = find_mentions(item.text)
        found.append(m)
        rows.append(DraftRow(item_no=item.no, title=guess_title(item.text, m), requirement=item.text,
                             lead=m.lead, assisting=m.assisting, leaders=m.leaders, deadline_text=m.deadline,
                             urgency=guess_urgency(item.text).value))
    resolve_rows(session, source, rows)
    for row, m in zip(rows, found):  # after resolving, which starts every row's notes afresh
        if m.other_deadlines:
            row.warn("deadline_text", "文中另有时限：" + "、".join(m.other_deadlines) + "，可在事项中设为时间节点")
    return rows


def resolve_rows(session: Session, source: Source, rows: list[DraftRow], *, for_assign: bool = False,
                 resolvers: Resolvers | None = None) -> bool:
    """Resolve every included row's names and deadline in place; True when none has errors.

    ``for_assign`` also requires what a task needs to go out (a lead, a deadline).
    """
    r = resolvers or Resolvers.load(session)
    ok = True
    for row in rows:
        row.errors, row.matched, row.warnings = {}, {}, {}
        if not row.include:
            continue
        _resolve_departments(r, row)
        _resolve_leaders(r, row)
        _resolve_deadline(r, source, row)
        if not row.title.strip():
            row.errors["title"] = "请填写事项名称"
        if row.urgency not in Urgency.__members__.values():
            row.errors["urgency"] = "紧急程度取值无效"
        if for_assign:
            if row.lead_id is None and "lead" not in row.errors:
                row.errors["lead"] = "请填写牵头单位"
            if row.deadline is None and not row.due_date and "deadline_text" not in row.errors:
                row.errors["deadline_text"] = "请填写完成时限"
        ok = ok and not row.errors
    return ok


def _resolve_departments(r: Resolvers, row: DraftRow) -> None:
    lead = r.departments.resolve_list(row.lead, first_is_lead=True) if row.lead.strip() else None
    assist = r.departments.resolve_list(row.assisting) if row.assisting.strip() else None
    row.lead_id = lead.lead_id if lead else None
    if lead and lead.lead_id is None and not lead.unknown and not lead.warnings and lead.assisting_ids:
        row.errors["lead"] = "未能确定牵头单位，请只填写一个牵头单位"
    extra = (lead.assisting_ids if lead else []) + (assist.ids if assist else [])
    row.assisting_ids = [i for i in dict.fromkeys(extra) if i != row.lead_id]
    if lead and lead.assisting_ids:
        row.warn("lead", "牵头单位只能有一个，其余已作为配合单位")
    if assist and row.lead_id is not None and row.lead_id in assist.ids:
        row.warn("assisting", "牵头单位不再重复列为配合单位")
    for column, res in (("lead", lead), ("assisting", assist)):
        if res is None:
            continue
        row.matched[column] = [name for name, _ in res.matched]
        if res.unknown:
            row.errors[column] = "未识别的单位：" + "、".join(res.unknown)
        for w in res.warnings:
            row.warn(column, w)


def _resolve_leaders(r: Resolvers, row: DraftRow) -> None:
    ids, unknown, matched = [], [], []
    for name in split_list(row.leaders, spaces=True):
        res = r.leaders.resolve_list(name)
        if res.unknown and len(name) == 3:  # 要求李明副区长 read as 求李明: try the shorter name
            shorter = r.leaders.resolve_list(name[1:])
            if not shorter.unknown and shorter.ids:
                res = shorter
        ids.extend(res.ids)
        unknown.extend(res.unknown)
        matched.extend(n for n, _ in res.matched)
        for w in res.warnings:
            row.warn("leaders", w)
    row.leader_ids = list(dict.fromkeys(ids))
    row.matched["leaders"] = matched
    if unknown:
        row.errors["leaders"] = "未识别的领导：" + "、".join(dict.fromkeys(unknown))


def _resolve_deadline(r: Resolvers, source: Source, row: DraftRow) -> None:
    """The typed date wins when the office changed it; otherwise the phrase decides."""
    row.deadline = None
    typed = row.due_date.strip()
    if typed:
        try:
            typed_date = date.fromisoformat(typed)
        except ValueError:
            row.errors["deadline_text"] = f"完成日期“{typed}”不是有效日期"
            return
    overridden = bool(typed) and typed != row.parsed_due
    if row.deadline_text.strip() and not overridden:
        try:
            row.deadline = parse_deadline(row.deadline_text, base=source.source_date, calendar=r.calendar)
        except DeadlineError as exc:
            row.errors["deadline_text"] = exc.message
            row.due_date = row.parsed_due = ""
            return
        row.due_date = row.parsed_due = row.deadline.due_date.isoformat() if row.deadline.due_date else ""
        if row.deadline.note:
            row.warn("deadline_text", row.deadline.note)
    elif typed:
        row.deadline = DeadlineParse("date", typed_date, "", FeedbackCycle.ONCE.value, False,
                                     row.deadline_text or typed)
        if row.deadline_text.strip():
            row.warn("deadline_text", "已按手工填写的日期")


def save_rows(session: Session, actor: Actor, source: Source, rows: list[DraftRow], *,
              assign: bool) -> list[Task]:
    """Create every included row as a draft (and assign it), all or nothing.

    Raises RowsInvalid, with the messages on the rows, when any row cannot be
    saved; the savepoint is then rolled back and nothing remains.
    """
    included = [r for r in rows if r.include]
    if not included:
        raise ValidationFailed("没有选中任何事项")
    if not resolve_rows(session, source, rows, for_assign=assign):
        raise RowsInvalid(rows)
    created: list[Task] = []
    with session.begin_nested():
        for row in included:
            try:
                task = tasks.create_draft(session, actor, row.task_data(source))
                if assign:
                    tasks.assign(session, actor, task.id)
                created.append(task)
            except DomainError as exc:
                _row_error(row, exc)
        if any(r.errors for r in included):
            raise RowsInvalid(rows)  # leaving the block rolls the savepoint back
    return created


def _row_error(row: DraftRow, exc: DomainError) -> None:
    """A service's complaint, shown in the column it concerns ("_": the whole row)."""
    for name, message in exc.fields.items():
        row.errors[_SERVICE_FIELD.get(name, "_")] = message
    if not exc.fields:
        row.errors["_"] = exc.message
