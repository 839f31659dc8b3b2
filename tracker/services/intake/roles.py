"""Who does what in one item: the lead department, the assisting ones, the leaders.

The names are found first (``NameScanner``: the district's departments, group words and
leaders are a closed vocabulary); each one's role is then read from the clause around it, the
way a clerk reads it (000 §31, 003 §35, 004 §29: "牵头部门要发挥主导作用，协办部门要积极配合"):

- a list of names is a party only where a party stands: at the start of a clause (after
  会议要求/会议明确/…), after 由/请/责成 (the doer), after 会同/协同/联合 or 督促/指导/组织
  (those who help). Elsewhere a name is a place or a receiver, not a party: 报区财政局,
  以区政府办公室名义, 纳入区机关事务中心部门预算, 推进柳河镇两所幼儿园建设;
- what follows the list says how strongly it leads: 牵头/负责/具体负责/统筹 (the lead, even
  after 由某副区长牵头), 要/抓紧 (the doer), 配合/协助/参与/派员参与 (assisting);
- the strongest doer leads; a list's first name leads and the rest assist ("X、Y要…", with a
  warning); every other party assists. A group word where the lead stands (各镇要…) leads
  nothing: its members assist;
- every leader named in an item is a responsible leader (由X副区长牵头, X副区长负责督导,
  报X副区长审定, X同志负责跟踪, 吴海涛常务副区长任组长);
- text that stands where a party stands and looks like a unit (区大数据中心, 国网青山供电
  公司) but is no name of the district is kept as an unknown party, with its position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tracker.services.organisation.resolve import NameHit, NameScanner

__all__ = ["Party", "Roles", "read_roles"]


@dataclass(frozen=True)
class Party:
    """A department, group or leader in a role, or an unknown name standing where one stands."""

    text: str  # as written
    start: int  # in the text read (view coordinates)
    end: int
    hit: NameHit | None = None  # None: not a name of the district

    @property
    def known(self) -> bool:
        return self.hit is not None

    @property
    def kind(self) -> str:
        return self.hit.kind if self.hit is not None else "unknown"


@dataclass
class Roles:
    lead: Party | None = None
    assisting: list[Party] = field(default_factory=list)
    leaders: list[Party] = field(default_factory=list)
    unknown: list[Party] = field(default_factory=list)
    spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # field → phrase spans
    warnings: list[str] = field(default_factory=list)


# --- the words around a list -----------------------------------------------------------------

_CONNECTIVE = re.compile(
    r"(?:会议(?:原则)?(?:要求|明确|决定|同意|强调|指出|认为|研究认为|议定|确定|提出)[，,：:]?"
    r"|(?:同时|此外|另外|其中|并且?|要求|明确|责成|均|统一|具体|主要|最后)[，,]?)*"
)
# After these a list names those who do the work.
_DOER_BEFORE = re.compile(r"(?:并由|统一由|具体由|明确由|主要由|均由|交由|由|请|责成|要求|委托)$")
# After these a list names those who help.
_HELPER_BEFORE = re.compile(r"(?:会同|协同|联合|商请|商|督促|指导|组织|动员|带领|协调|配合|协助|支持|帮助)$")
_LEAD_AFTER = re.compile(
    r"^(?:[（(]牵头[）)]|牵头负责|牵头抓总|牵头|具体负责|负总责|负责|主办|统筹|为牵头单位|为责任单位)"
)
_ASSIST_AFTER = re.compile(
    r"^(?:要|应|须|需|也要)?(?:积极|密切|全力|主动|共同|全程|各自|按照职责分工|按职责分工)?"
    r"(?:派员参与|参与|配合|协助|协办|做好配合|予以配合|[（(]配合[）)]|为配合单位|为协办单位|为参与单位)"
)
_DOER_AFTER = re.compile(r"^(?:要|应|须|需|必须|务必|抓紧|尽快|立即|和.{2,20}?共同|共同)")
_HELPS_AFTER = re.compile(r"^(?:要)?(?:做好|加强(?:指导|监管|配合)|按照职责分工|按职责分工|派员)")
_ETC = re.compile(r"^等(?:相关|有关)?(?:单位|部门|镇街|街道)?")
_SEPARATOR = re.compile(r"^(?:、|，(?=[^，。；]{0,12}(?:配合|协助|参与))|以及|和|及|与|同)")
# A unit that is not one of the district's (区大数据中心, 国网青山供电公司, 区消防救援大队).
_UNIT = re.compile(
    r"(?:[区县市]|国网|中国|团)?[\u4e00-\u9fa5]{1,10}?"
    r"(?:委员会|办公室|管委会|分局|支队|大队|中队|中心|集团|公司|工会|团委|妇联|残联|联合会|协会"
    r"|局|委|办|所|站|院|队|社|街道|镇|乡)(?![\u4e00-\u9fa5]{0,1}(?:局|委|办|中心|公司))"
)
_NOT_UNIT = re.compile(
    r"^(?:各|有关|相关|其他|其它|全[区县市]|[区县市]政府|[区县市]委|本|该|涉及|所在|项目|施工|供热"
    r"|企业|属地|辖区|责任|牵头|配合|会议|要求|严格|加强|确保)"
)
_LEADER_WORD = r"(?:常务副[区县]长|副[区县]长|[区县]长|同志)"
_UNKNOWN_LEADER = re.compile(r"(?:(?<=[由报请，,。；、])|^)(?P<name>[\u4e00-\u9fa5]{2,3}?)" + _LEADER_WORD)
# A leader who chairs, attends or speaks is named, not put in charge (周国平区长强调，…).
_SPEAKS = re.compile(r"^[，,]?(?:主持|讲话|指出|强调|出席|参加|列席|听取|在会上)")
_NOT_A_NAME = re.compile(r"[分管各主要相关有政府领导位门同由请求经和及与并副常务区县市的为是要、向将报]")

# A labelled block (牵头单位：区城管局；配合单位：…；责任领导：…) says the role outright.
_LEAD_LABEL = re.compile(r"(?:牵头单位|牵头部门|主办单位|主责单位|责任单位|责任部门|承办单位|牵头责任单位)[:：]\s*$")
_ASSIST_LABEL = re.compile(r"(?:配合单位|配合部门|协办单位|协办部门|参与单位|协助单位)[:：]\s*$")

# A unit that starts a list names its level: 区大数据中心, 团区委, 国网青山供电公司.
_UNIT_START = re.compile(r"[区县]|团|国网|中国")
_MARKER = re.compile(r"^[（(](牵头|主办|负责|配合|协办|协助|参与)[）)]")
_TRIGGER = re.compile(_DOER_BEFORE.pattern[:-1] + "|" + _HELPER_BEFORE.pattern[:-1] + "|会议")

# strengths of a doer
_LABEL, _LEAD, _DOER, _PLAIN, _HELPS = 5, 4, 3, 2, 1


@dataclass
class _List:
    members: list[Party]
    start: int
    end: int  # after the list (and 等…)
    helper: bool = False  # after 会同/督促/…, or followed by 配合/参与
    phrase_start: int = 0  # where the words giving the role begin (由, 会同)
    marked: dict[int, str] = field(default_factory=dict)  # member index → lead/assist, from （牵头）
    strength: int = 0
    phrase_end: int = 0


def _clauses(text: str):
    pos = 0
    for part in re.split(r"([，,。；;！!？?\n：:])", text):
        if part and part not in "，,。；;！!？?\n：:":
            yield pos, part
        pos += len(part)


class _Reader:
    def __init__(self, text: str, hits: list[NameHit]):
        self.text = text
        self.depts = {h.start: h for h in hits if h.kind != "leader"}
        self.covered = [(h.start, h.end) for h in hits]

    def _free(self, start: int, end: int) -> bool:
        return all(e <= start or s >= end for s, e in self.covered)

    def member_at(self, pos: int, in_list: bool = False) -> Party | None:
        """The name at ``pos``: one of the district's, or text that looks like a unit. A unit
        that continues a list (区水利局、国网青山供电公司) needs no more; one that starts a
        list must be followed by what follows a party (要, 牵头, 配合, 、 …)."""
        hit = self.depts.get(pos)
        if hit is not None:
            return Party(hit.text, hit.start, hit.end, hit)
        m = _UNIT.match(self.text, pos)
        if m and self._free(m.start(), m.end()) and not _NOT_UNIT.match(m.group()) and not _TRIGGER.match(m.group()):
            if in_list:
                return Party(m.group(), m.start(), m.end())
            if not _UNIT_START.match(m.group()):  # 排涝泵站要…, 检查情况报区安委会办公室: no unit
                return None
            after = self.text[m.end() : m.end() + 1]
            # a unit ends where the list or the clause goes on: 、 和 要 牵头 配合 研究…
            if (
                after == ""
                or after in "、，,。；;：:和及与等要（("
                or re.match(r"[负牵配协参具积做加对在根按统会共研开组督指落抓立进制全主]", after)
            ):
                return Party(m.group(), m.start(), m.end())
        return None

    def list_at(self, pos: int, stop: int) -> _List | None:
        members: list[Party] = []
        at = pos
        marked: dict[int, str] = {}
        while at < stop:
            party = self.member_at(at, in_list=bool(members))
            if party is None:
                break
            members.append(party)
            at = party.end
            mark = _MARKER.match(self.text[at:stop])  # 区住建局（牵头）、区财政局（配合）
            if mark:
                marked[len(members) - 1] = "lead" if mark.group(1) in ("牵头", "主办", "负责") else "assist"
                at += mark.end()
            sep = _SEPARATOR.match(self.text[at:stop])
            if not sep:
                break
            if self.member_at(at + sep.end(), in_list=True) is None:
                break
            at += sep.end()
        if not members:
            return None
        end = members[-1].end
        if len(members) - 1 in marked:
            end = at
        etc = _ETC.match(self.text[end:stop])
        if etc:
            end += etc.end()
            vague = self.depts.get(end)
            if vague is not None and vague.kind == "vague":
                end = vague.end
        return _List(members, pos, end, marked=marked)


def _grade(reader: _Reader, lst: _List, before: str, clause_start: bool, stop: int) -> None:
    after = reader.text[lst.end : stop]
    if "lead" in lst.marked.values():  # the list says who leads, name by name
        lead = next(k for k, v in lst.marked.items() if v == "lead")
        lst.members.insert(0, lst.members.pop(lead))
        lst.strength, lst.phrase_end = _LABEL, lst.end
        return
    label = reader.text[max(0, lst.start - 12) : lst.start]
    if _LEAD_LABEL.search(label):
        lst.strength, lst.phrase_end = _LABEL, lst.end
        return
    if _ASSIST_LABEL.search(label):
        lst.helper, lst.phrase_end = True, lst.end
        return
    lead = _LEAD_AFTER.match(after)
    assist = _ASSIST_AFTER.match(after)
    if _HELPER_BEFORE.search(before):
        lst.helper = True
    elif assist:
        lst.helper = True
        lst.phrase_end = lst.end + assist.end()
    elif lead:
        lst.strength = _LEAD
        lst.phrase_end = lst.end + lead.end()
    elif _DOER_BEFORE.search(before) or _DOER_AFTER.match(after):
        lst.strength = _DOER
    elif _HELPS_AFTER.match(after):
        lst.strength = _HELPS
    elif clause_start:
        lst.strength = _PLAIN
    lst.phrase_end = lst.phrase_end or lst.end


def _lists(reader: _Reader) -> list[_List]:
    """Every list of names standing where a party stands, graded."""
    text = reader.text
    out: list[_List] = []
    for cstart, clause in _clauses(text):
        cend = cstart + len(clause)
        lead_in = _CONNECTIVE.match(clause)
        first = cstart + (lead_in.end() if lead_in else 0)
        starts = {first: True}
        trigger_at = {first: first}
        for m in re.finditer(_DOER_BEFORE.pattern[:-1] + "|" + _HELPER_BEFORE.pattern[:-1], clause):
            starts.setdefault(cstart + m.end(), False)
            trigger_at.setdefault(cstart + m.end(), cstart + m.start())
        pos_done = cstart
        for start in sorted(starts):
            if start < pos_done:
                continue
            lst = reader.list_at(start, cend)
            if lst is None:
                continue
            _grade(reader, lst, text[cstart:start], starts[start], cend)
            if not lst.helper and lst.strength == 0:
                continue
            lst.phrase_start = trigger_at[start]
            out.append(lst)
            pos_done = lst.end
    return out


def _leaders(text: str, hits: list[NameHit]) -> tuple[list[Party], list[Party]]:
    known = [
        Party(h.text, h.start, h.end, h)
        for h in hits
        if h.kind == "leader" and not _SPEAKS.match(text[h.end : h.end + 4])
    ]
    taken = [(h.start, h.end) for h in hits]
    unknown = []
    for m in _UNKNOWN_LEADER.finditer(text):
        name = m.group("name")
        if _NOT_A_NAME.search(name) or any(not (e <= m.start() or s >= m.end()) for s, e in taken):
            continue
        unknown.append(Party(name, m.start("name"), m.end("name")))
    return known, unknown


def read_roles(text: str, scanner: NameScanner, hits: list[NameHit] | None = None) -> Roles:
    """The parties of one item's text (``hits``: the scanner's names in it, if already found)."""
    hits = scanner.scan(text) if hits is None else hits
    reader = _Reader(text, hits)
    roles = Roles()
    lists = _lists(reader)
    doers = [lst for lst in lists if not lst.helper and lst.strength > 0]
    chosen = max(doers, key=lambda lst: (lst.strength, -lst.start), default=None)
    spans: dict[str, list[tuple[int, int]]] = {"lead": [], "assisting": [], "leaders": []}
    assisting: list[Party] = []
    if chosen is not None:
        first, *rest = [p for p in chosen.members if p.kind != "vague"] or [None]
        if first is not None and first.kind in ("group", "ambiguous"):
            roles.warnings.append(f"“{first.text}”包含多个单位，不能作为牵头单位，请确定牵头单位")
            assisting.append(first)
        elif first is not None:
            roles.lead = first
            spans["lead"].append((chosen.phrase_start, chosen.phrase_end))
        if rest and first is not None and chosen.strength < _LABEL:
            names = "、".join(p.text for p in chosen.members)
            roles.warnings.append(f"“{names}”同时承办，已以第一个为牵头单位，其余为配合单位，请核对")
        assisting += rest
    for lst in lists:
        if lst is chosen:
            continue
        members = [p for p in lst.members if p.kind != "vague"]
        assisting += members
        if any(roles.lead is None or _key(p) != _key(roles.lead) for p in members):
            spans["assisting"].append((lst.phrase_start, lst.phrase_end))
    seen = {_key(roles.lead)} if roles.lead else set()
    for p in assisting:
        if _key(p) not in seen:
            seen.add(_key(p))
            roles.assisting.append(p)
    if rest_spans := [(p.start, p.end) for p in roles.assisting if chosen and p in chosen.members]:
        spans["assisting"] += rest_spans
    known, unknown_leaders = _leaders(text, hits)
    for p in known + unknown_leaders:
        if _key(p) not in {_key(q) for q in roles.leaders}:
            roles.leaders.append(p)
            spans["leaders"].append((p.start, p.end))
    roles.leaders.sort(key=lambda p: p.start)
    roles.unknown = [p for p in ([roles.lead] if roles.lead else []) + roles.assisting if not p.known]
    roles.unknown += unknown_leaders
    roles.spans = spans
    return roles


def _key(p: Party) -> tuple:
    return p.hit.ids if p.hit is not None and p.hit.ids else (p.text,)
