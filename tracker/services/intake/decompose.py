"""Minutes (会议纪要) and leaders' instructions (领导批示) into draft tasks.

Two layers. The reading layer proposes: ``propose`` finds the items of the text
(``layout``, ``instruction``), the district's names in each (``NameScanner``: a closed
vocabulary), their roles from the clause around them (``roles``) and the deadline phrase
(``timing``), and makes one ``DraftRow`` per item, each proposed field carrying the spans of
the text it came from. The resolving layer hands the rows' names to the resolvers and the
deadline to ``parse_deadline`` and keeps every name or phrase they cannot read as a blocking
error on its row: nothing is dropped silently, the office decides. A deadline already past on
the day the text is registered is a warning (the task is overdue from the start), not an
error. ``save_rows`` then creates (and assigns) all rows in one savepoint: every row or none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlmodel import Session

from tracker import clock
from tracker.calendar import WorkCalendar
from tracker.errors import DomainError, ValidationFailed
from tracker.models import FeedbackCycle, Source, SourceKind, Task, Urgency
from tracker.rules.festivals import named_before
from tracker.rules.names import split_list
from tracker.services.actors import Actor
from tracker.services.calendar import load_calendar
from tracker.services.intake.deadlines import DeadlineError, DeadlineParse, parse_deadline
from tracker.services.intake.instruction import read_instruction
from tracker.services.intake.layout import Layout, Segment, read_minutes
from tracker.services.intake.roles import Party, read_roles
from tracker.services.intake.timing import find_deadline
from tracker.services.organisation.resolve import DepartmentResolver, LeaderResolver, NameScanner
from tracker.services.tasks import lifecycle as tasks
from tracker.services.validation import parse_date

MINUTES, INSTRUCTION = "minutes", "instruction"
Span = tuple[int, int]


@dataclass(frozen=True)
class Item:
    no: str  # the item number as written (一, 3)
    text: str


def excerpt(text: str, span: Span, context: int = 10) -> tuple[str, str, str]:
    """The phrase at ``span`` with a few characters either side, on one line: what the split
    page shows under a proposed field so the clerk sees where it came from."""
    start, end = max(0, span[0]), min(len(text), span[1])
    before = text[max(0, start - context) : start].replace("\r", "").split("\n")[-1]
    after = text[end : end + context].replace("\r", "").split("\n")[0]
    return before, text[start:end], after


def split_items(text: str) -> list[Item]:
    """The items of pasted minutes (一、 （一） 1. 1、 第一项 ①, or unnumbered 会议要求… paragraphs),
    without the title, the preamble, the 出席/列席/抄送 blocks and the signature."""
    layout = read_minutes(text or "")
    return [Item(s.no, layout.view.text[s.start : s.end]) for s in layout.items]


# --- titles and urgency ------------------------------------------------------------

_TITLE_PREFIX = re.compile(
    r"^(?:关于|会议(?:原则)?(?:要求|明确|强调|指出|决定|议定|研究决定|认为|研究了?|同意|听取了?|审议了?|讨论了?)?[，,：:]?|"
    r"并|要|确保|力争|于|在|抓紧|尽快)+"
)


_ROLE_CLAUSE = re.compile(
    r"^(?:此件)?(?:由|请)?[^，,]{0,24}?(?:具体|积极|共同|主动)?(?:牵头|负责|配合|协助|参与|协调|督导|跟踪|统筹|阅处|阅示|阅办|研办|会同)(?:协调|落实|研究)?$"
)


def _work_clauses(sentence: str) -> list[str]:
    """The clauses of a sentence left when those that only hand out roles (各项目责任单位配合,
    由某某牵头, 此件请某某阅示) are taken out."""
    return [
        c.strip()
        for c in re.split(r"[，,]", sentence)
        if c.strip() and not _ROLE_CLAUSE.match(c.strip()) and not re.fullmatch(r"(?:此件|请|由|并|同时)+", c.strip())
    ]


def guess_title(text: str, spans: list[Span] = (), limit: int = 60) -> str:
    """The first clause of the item once the department, leader and deadline phrases
    (``spans``, in ``text``) are taken out, at most ``limit`` characters."""
    chars = list(text)
    for start, end in spans:
        for i in range(max(0, start), min(len(chars), end)):
            chars[i] = "\0"
    s = "".join(chars).replace("\0", "，")
    s = re.sub(r"[（(][\s，,；;、]*[）)]", "", s)  # brackets emptied of a labelled block
    s = re.sub(r"[，,、]{2,}", "，", s)
    s = re.sub(r"[，,、]+([。；;])", r"\1", s)
    s = s.strip(" \t\u3000\n，,、；;。")
    sentences = [x.strip(" ，,、") for x in re.split(r"[。；;！!？?\n]", s)]
    # the first sentence that says some work: one that only forwards or hands out roles
    # (此件请林晓东同志阅示。请区交通局研办…) names none
    sentence = next((x for x in sentences if x and _work_clauses(x)), sentences[0])
    stripped = _TITLE_PREFIX.sub("", sentence).strip(" ，,、")
    if len(stripped) >= 4:
        sentence = stripped
    if clauses := _work_clauses(sentence):
        sentence = "，".join(clauses)
        rest = _TITLE_PREFIX.sub("", clauses[0])
        first = rest.strip() if len(rest) >= 4 else clauses[0]
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

ROW_FIELDS = (
    "item_no",
    "title",
    "requirement",
    "lead",
    "assisting",
    "leaders",
    "deadline_text",
    "due_date",
    "parsed_due",
    "urgency",
)
# A task service's field name → the table column that shows it.
_SERVICE_FIELD = {
    "title": "title",
    "requirement": "requirement",
    "item_no": "item_no",
    "lead_department_id": "lead",
    "assisting_department_ids": "assisting",
    "leader_ids": "leaders",
    "due_date": "deadline_text",
    "deadline_kind": "deadline_text",
    "recurrence": "deadline_text",
    "urgency": "urgency",
}


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
    # what the reading proposed (not posted back by the page): where each proposed field came
    # from, as (start, end) offsets into the text the clerk pasted — "requirement" is the whole
    # item, "item_no" its number — the unknown names standing where a party stands, and the
    # reading's own notes (kept across resolving)
    spans: dict[str, list[Span]] = field(default_factory=dict)
    unknown: list[Unknown] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)

    def warn(self, column: str, message: str) -> None:
        self.warnings.setdefault(column, []).append(message)

    def task_data(self, source: Source) -> dict:
        """The input for tasks.create_draft."""
        data = {
            "title": self.title,
            "requirement": self.requirement,
            "source_id": source.id,
            "item_no": self.item_no[:20],
            "lead_department_id": self.lead_id,
            "assisting_department_ids": self.assisting_ids,
            "leader_ids": self.leader_ids,
            "urgency": self.urgency,
            "deadline_text": self.deadline_text[:120],
        }
        if self.deadline is not None:
            data.update(
                deadline_kind=self.deadline.deadline_kind.value,
                due_date=self.deadline.due_date,
                recurrence=self.deadline.recurrence,
                feedback_cycle=self.deadline.feedback_cycle,
            )
        return data


@dataclass(frozen=True)
class Unknown:
    """A name standing where a party stands that is none of the district's: reported, never
    dropped, never created. ``start``/``end`` are offsets into the pasted text."""

    text: str
    start: int
    end: int
    kind: str  # department | leader
    item_no: str


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

    def scanner(self) -> NameScanner:
        return NameScanner(self.departments, self.leaders)

    def full_name(self, kind: str, name: str) -> str:
        """A department by its name as stored, whatever spelling the text used; others as read."""
        if kind == "department" and (dept_id := self.departments.lookup(name)) is not None:
            return self.departments.name_of(dept_id)
        return name


# --- proposing -----------------------------------------------------------------------


@dataclass
class Proposal:
    """What the reading proposes for one text: the rows, and what the page shows around them."""

    kind: str  # minutes | instruction
    title: str  # the source's customary name: 区政府第31次常务会议, 吴海涛同志批示
    title_span: Span | None
    rows: list[DraftRow]
    unknown: list[Unknown]
    signer: str = ""  # a 批示's signer as written
    document: str = ""  # a 批示's 来文 (此件), kept as the source
    names: list[Recognised] = field(default_factory=list)  # every name recognised in the items, once


@dataclass(frozen=True)
class Recognised:
    """A name of the district found in the text: what it is and where (offsets into the text)."""

    kind: str  # department | group | vague | ambiguous | leader
    name: str  # as a cell says it: the spelling, the group word, the leader's name
    start: int
    end: int


@dataclass(frozen=True)
class Mark:
    """A stretch of the text as the split page shows it: plain, or a name it marks."""

    text: str
    kind: str = ""  # "" for plain text, else a Recognised kind or "unknown"
    name: str = ""  # what the mark stands for (the leader's name, the department's full name)


@dataclass(frozen=True)
class Mention:
    """One name of the text, once, with how often the items name it."""

    kind: str  # a Recognised kind, or "unknown"
    name: str
    count: int
    items: tuple[str, ...] = ()  # for an unknown name: the items it stands in


def marked_text(text: str, proposal: Proposal, full_name=lambda kind, name: name) -> list[Mark]:
    """The text cut at every recognised and unknown name, so the clerk sees at a glance what was
    read as whom and what was not read at all. ``full_name`` turns a spelling into the name the
    page shows (区住建局 → 区住房和城乡建设局)."""
    cuts = [(n.start, n.end, n.kind, full_name(n.kind, n.name)) for n in proposal.names]
    cuts += [(u.start, u.end, "unknown", u.text) for u in proposal.unknown]
    cuts.sort(key=lambda c: (c[0], c[0] - c[1]))  # at one place the longest wins
    out, pos = [], 0
    for start, end, kind, name in cuts:
        if start < pos or end <= start or end > len(text):
            continue
        if start > pos:
            out.append(Mark(text[pos:start]))
        out.append(Mark(text[start:end], kind, name))
        pos = end
    if pos < len(text):
        out.append(Mark(text[pos:]))
    return out


def mentions(proposal: Proposal, full_name=lambda kind, name: name) -> list[Mention]:
    """Every name once (各街道办事处 eight times in the text is one entry), in order of first
    mention, the unknown ones last with the items they stand in."""
    counts: dict[tuple[str, str], int] = {}
    for n in sorted(proposal.names, key=lambda n: n.start):
        key = (n.kind, full_name(n.kind, n.name))
        counts[key] = counts.get(key, 0) + 1
    unknown: dict[str, list[str]] = {}
    for u in proposal.unknown:
        unknown.setdefault(u.text, []).append(u.item_no)
    return [Mention(kind, name, c) for (kind, name), c in counts.items()] + [
        Mention("unknown", name, len(nos), tuple(dict.fromkeys(nos))) for name, nos in unknown.items()
    ]


def source_kind(source: Source) -> str:
    return INSTRUCTION if source.kind == SourceKind.LEADER_INSTRUCTION else MINUTES


def propose(text: str, *, kind: str, scanner: NameScanner, signer: str = "") -> Proposal:
    """Read minutes (``kind`` "minutes") or an instruction ("instruction") into unresolved rows.

    ``signer``: a 批示's leader when the text does not sign it (the registered source's).
    Every proposed field carries its spans in ``row.spans``."""
    text = text or ""
    if kind == INSTRUCTION:
        layout = read_instruction(
            text, frozenset(scanner.leaders.active_names()), assigns=lambda body: _assigns(body, scanner)
        )
        layout.items, shared = _requests(layout, scanner)
    else:
        layout, shared = read_minutes(text), []
        layout.items = _decisions(layout, scanner)
    signer = layout.signer or signer
    rows: list[DraftRow] = []
    unknown: list[Unknown] = []
    names: dict[Span, Recognised] = {}
    for seg in layout.items:
        row, found, recognised = _row(layout, seg, scanner, signer if kind == INSTRUCTION else "", shared)
        rows.append(row)
        unknown += found
        for name in recognised:
            names.setdefault((name.start, name.end), name)
    title_span = layout.view.span(*layout.title_span) if layout.title_span else None
    title = layout.title if kind == MINUTES or not layout.signer else f"{_leader_name(scanner, signer)}同志批示"
    return Proposal(kind, title, title_span, rows, unknown, signer, layout.document, list(names.values()))


_FINDING = re.compile(r"会议(?:研究)?(?:指出|认为)")


def _decisions(layout: Layout, scanner: NameScanner) -> list[Segment]:
    """The items of an unnumbered 纪要 without the paragraphs that only say what the meeting
    found (会议指出，今年以来全区重点项目建设总体进展顺利…): naming no one and setting no
    deadline, such a paragraph is the reason for the decisions, not one of them. Numbered
    items are the document's own division and are all kept."""
    items = layout.items
    if any(seg.marker for seg in items):
        return items
    kept = []
    for seg in items:
        body = layout.view.text[seg.start : seg.end]
        if _FINDING.match(body) and not scanner.scan(body) and not find_deadline(body).text:
            continue
        kept.append(Segment(str(len(kept) + 1), seg.start, seg.end, seg.marker))
    return kept


def _assigns(text: str, scanner: NameScanner) -> bool:
    """Whether a text hands work to one of the district's departments."""
    roles = read_roles(text, scanner)
    return any(p.known and p.kind != "leader" for p in ([roles.lead] if roles.lead else []) + roles.assisting)


def _requests(layout: Layout, scanner: NameScanner) -> tuple[list[Segment], list[Span]]:
    """A 批示 asking several departments for different things (区住建局要…；区国资中心要…)
    holds one item per request; a sentence naming only leaders (请海涛、志远同志督促落实)
    applies to every item; a remark before the first request (此件反映的问题具有普遍性) is
    none. Returns the items and the shared sentences (view spans)."""
    t = layout.view.text
    out: list[Segment] = []
    shared: list[Span] = []
    for seg in layout.items:
        parts = [
            (m.start() + seg.start, m.end() + seg.start)
            for m in re.finditer(r"[^。；;！!]+[。；;！!]?", t[seg.start : seg.end])
            if m.group().strip()
        ]
        requests: list[list[int]] = []
        for s, e in parts:
            body = t[s:e]
            roles = read_roles(body, scanner)
            if _assigns(body, scanner):
                requests.append([s, e])
            elif roles.leaders and not requests and len(parts) > 1 and s > seg.start:
                shared.append((s, e))
            elif roles.leaders and requests and not find_deadline(body).text:
                shared.append((s, e))
            elif requests:
                requests[-1][1] = e
        if len(requests) > 1:
            out += [
                Segment(f"{seg.no}.{k}" if seg.no != "1" else str(k), s, e)
                for k, (s, e) in enumerate(requests, start=1)
            ]
        else:
            out.append(seg)
            shared = []
    return out, shared


def _leader_name(scanner: NameScanner, written: str) -> str:
    hits = [h for h in scanner.scan(written) if h.kind == "leader"]
    return hits[0].name if hits else written


def _row(
    layout: Layout, seg: Segment, scanner: NameScanner, signer: str, shared: list[Span]
) -> tuple[DraftRow, list[Unknown], list[Recognised]]:
    view = layout.view
    text = view.text[seg.start : seg.end]
    hits = scanner.scan(text)
    recognised = [Recognised(h.kind, h.name, *view.span(seg.start + h.start, seg.start + h.end)) for h in hits]
    roles = read_roles(text, scanner, hits)
    phrase = find_deadline(text)
    for s, e in shared:  # 请海涛、志远同志督促落实 after the requests: their leaders are every item's
        more = read_roles(view.text[s:e], scanner)
        roles.leaders += [Party(p.text, p.start + s - seg.start, p.end + s - seg.start, p.hit) for p in more.leaders]

    def spans(local: list[Span]) -> list[Span]:
        return [view.span(seg.start + a, seg.start + b) for a, b in local if b > a]

    def written(p: Party) -> str:
        if p.hit is not None and p.hit.kind in ("group", "leader"):
            return p.hit.name
        return p.text

    leaders = [written(p) for p in roles.leaders]
    if signer:
        name = _leader_name(scanner, signer)
        leaders = [name] + [n for n in leaders if n != name]
    row = DraftRow(
        item_no=seg.no,
        title=guess_title(text, roles.spans["lead"] + roles.spans["assisting"] + roles.spans["leaders"] + phrase.dated),
        requirement=text,
        lead=written(roles.lead) if roles.lead else "",
        assisting="、".join(dict.fromkeys(written(p) for p in roles.assisting)),
        leaders="、".join(dict.fromkeys(leaders)),
        deadline_text=phrase.text,
        urgency=guess_urgency(text).value,
    )
    row.spans = {
        "requirement": spans([(0, len(text))]),
        "lead": spans([(roles.lead.start, roles.lead.end)] if roles.lead else []),
        "assisting": spans([(p.start, p.end) for p in roles.assisting]),
        "leaders": spans([(p.start, p.end) for p in roles.leaders]),
        "deadline_text": spans(phrase.spans),
    }
    if seg.marker:
        row.spans["item_no"] = [view.span(*seg.marker)]
    if roles.warnings:
        row.notes["lead"] = list(roles.warnings)
    if phrase.others:
        row.notes["deadline_text"] = ["文中另有时限：" + "、".join(phrase.others) + "，可在事项中设为时间节点"]
    found = []
    for p in roles.unknown:
        start, end = view.span(seg.start + p.start, seg.start + p.end)
        kind = "leader" if p in roles.leaders else "department"
        found.append(Unknown(p.text, start, end, kind, seg.no))
    row.unknown = found
    return row, found, recognised


def draft_rows(session: Session, source: Source, text: str) -> list[DraftRow]:
    """The proposed table for pasted minutes or an instruction: one row per item, resolved."""
    return propose_resolved(session, source, text).rows


def propose_resolved(session: Session, source: Source, text: str, *, resolvers: Resolvers | None = None) -> Proposal:
    """``propose`` for a source (its kind and, for a 批示, its leader), every row resolved."""
    r = resolvers or Resolvers.load(session)
    signer = r.leaders.name_of(source.leader_id) if source.leader_id is not None else ""
    proposal = propose(text, kind=source_kind(source), scanner=r.scanner(), signer=signer)
    resolve_rows(session, source, proposal.rows, resolvers=r)
    return proposal


def resolve_rows(
    session: Session,
    source: Source,
    rows: list[DraftRow],
    *,
    for_assign: bool = False,
    resolvers: Resolvers | None = None,
) -> bool:
    """Resolve every included row's names and deadline in place; True when none has errors.

    ``for_assign`` also requires what a task needs to go out (a lead, a deadline).
    """
    r = resolvers or Resolvers.load(session)
    ok = True
    for row in rows:
        row.errors, row.matched = {}, {}
        row.warnings = {column: list(notes) for column, notes in row.notes.items()}
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
        row.matched[column] = _as_read(r, res.matched)
        if res.unknown:
            row.errors[column] = "未识别的单位：" + "、".join(res.unknown)
        for w in res.warnings:
            row.warn(column, w)


def _as_read(r: Resolvers, matched: list[tuple[str, int]]) -> list[str]:
    """What each written name was read as, once: a short name with the full one it stands for
    (区城管局（区城市管理执法局）), a group word as written (it stands for many)."""
    ids: dict[str, list[int]] = {}
    for name, dept_id in matched:
        ids.setdefault(name, []).append(dept_id)
    out = []
    for name, found in ids.items():
        full = r.departments.name_of(found[0])
        out.append(name if len(found) > 1 or full == name else f"{name}（{full}）")
    return out


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
            typed_date = parse_date(typed, label="完成日期", field="due_date", error=ValidationFailed)
        except ValidationFailed as exc:
            row.errors["deadline_text"] = exc.message
            return
    overridden = bool(typed) and typed != row.parsed_due
    if row.deadline_text.strip() and not overridden:
        try:
            at = row.requirement.find(row.deadline_text)
            festival = named_before(row.requirement, at if at >= 0 else None)
            row.deadline = parse_deadline(
                row.deadline_text, base=source.source_date, calendar=r.calendar, festival=festival
            )
        except DeadlineError as exc:
            row.errors["deadline_text"] = exc.message
            row.due_date = row.parsed_due = ""
            return
        row.due_date = row.parsed_due = row.deadline.due_date.isoformat() if row.deadline.due_date else ""
        if row.deadline.note:
            row.warn("deadline_text", row.deadline.note)
    elif typed:
        row.deadline = DeadlineParse(
            "date", typed_date, "", FeedbackCycle.ONCE.value, False, row.deadline_text or typed
        )
        if row.deadline_text.strip():
            row.warn("deadline_text", "已按手工填写的日期")
    due = row.deadline.due_date if row.deadline is not None else None
    if due is not None and row.deadline.kind in ("date", "immediate") and due < clock.today():
        row.warn(
            "deadline_text",
            f"{PAST_DUE}：{due.isoformat()}早于登记日{clock.today().isoformat()}，"
            "事项登记后即为逾期；可保留，也可改为新的时限",
        )


PAST_DUE = "时限已过"


def save_rows(session: Session, actor: Actor, source: Source, rows: list[DraftRow], *, assign: bool) -> list[Task]:
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
                if assign:  # a past deadline was shown as a warning: the office keeps it knowingly
                    tasks.assign(session, actor, task.id, past_due_ok=True)
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
