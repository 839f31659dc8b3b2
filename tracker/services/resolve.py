"""Turning department and leader names as people write them into ids.

Minutes and ledgers write "县交通局（牵头）、县财政局和城关镇配合", "各镇（街道）" or
"常务副区长吴海涛". The resolvers read the organisation once, then resolve any
number of cells without further queries. They never create a department or a
leader and never drop a name: what they cannot resolve comes back in
``unknown`` or as a Chinese warning for the user to settle.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from sqlmodel import Session, select

from tracker.models import Department, DepartmentAlias, DepartmentKind, Leader
from tracker.services.organisation import normalise_name

__all__ = [
    "DepartmentResolution",
    "DepartmentResolver",
    "LeaderResolution",
    "LeaderResolver",
]

# Administrative prefixes a name may be written with or without (发改委 / 区发改委).
PREFIXES = ("区", "县", "市")
MAX_NAME = 60

_MAJOR_SEPARATORS = set("，,；;\n\r")
_MINOR_SEPARATORS = set("、/／")
# Places a run of text may be cut between two names, if the names then resolve.
_CUT = re.compile(r"以及|和|及|与|\s+")
_CONJUNCTION = re.compile(r"以及|和|及|与")
_OPEN, _CLOSE = "(", ")"

LEAD, ASSIST = "lead", "assist"
_LEAD_WORDS = ("牵头单位", "牵头部门", "主办单位", "主办部门", "牵头", "主办", "负责")
_ASSIST_WORDS = ("配合单位", "配合部门", "协办单位", "协办部门", "配合", "协办", "协助", "参与")
_ROLE_OF = {w: LEAD for w in _LEAD_WORDS} | {w: ASSIST for w in _ASSIST_WORDS}
_MARKER_ALT = "|".join(sorted(_ROLE_OF, key=len, reverse=True))
_BRACKET_MARKER = re.compile(rf"\((?P<w>{_MARKER_ALT})\)")
_PREFIX_LABEL = re.compile(rf"^(?P<w>{_MARKER_ALT}|责任单位|承办单位|责任部门):")
_SUFFIX_MARKER = re.compile(rf"(?P<w>{_MARKER_ALT})$")
_ETC = re.compile(r"等(?:相关|有关)?(?:单位|部门)?$")

_ALL = r"(?:全[区县市])?"
_GROUPS: list[tuple[re.Pattern, tuple[str, ...]]] = [
    (re.compile(_ALL + r"各(?:乡?镇\(街道?\)|乡?镇街道?|街镇|街道\(乡?镇\))"),
     (DepartmentKind.STREET.value, DepartmentKind.TOWN.value)),
    (re.compile(_ALL + r"各街道(?:办事处|办)?"), (DepartmentKind.STREET.value,)),
    (re.compile(_ALL + r"各(?:乡镇|镇)(?:人民政府|政府)?"), (DepartmentKind.TOWN.value,)),
    (re.compile(r"[区县市]直各?(?:部门|单位)|[区县市]政府各(?:部门|单位)?"),
     (DepartmentKind.COMPONENT.value, DepartmentKind.INSTITUTION.value)),
]
# Words that point at departments without naming them: the user must choose.
_VAGUE_START = re.compile(_ALL + r"(?:[区县市](?:直|政府|级)?)?各?(?:相关|有关|其他|其它|涉及|所在)")
_VAGUE_WHOLE = re.compile(_ALL + r"各(?:部门|单位|有关方面|级)")


def _nfkc(text: str) -> str:
    s = unicodedata.normalize("NFKC", text or "")
    return s.translate(str.maketrans("【】〔〕[]", "()()()"))


def _split(text: str, separators: set[str]) -> list[str]:
    """Split on separators outside brackets: "区财政局(牵头,负责资金)" stays whole."""
    parts, buf, depth = [], [], 0
    for ch in text:
        if ch == _OPEN:
            depth += 1
        elif ch == _CLOSE:
            depth = max(0, depth - 1)
        if ch in separators and depth == 0:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return [p for p in (q.strip() for q in parts) if p]


def _outside_brackets(text: str, start: int) -> bool:
    return text[:start].count(_OPEN) <= text[:start].count(_CLOSE)


# --- departments -------------------------------------------------------------------


@dataclass
class DepartmentResolution:
    lead_id: int | None = None
    assisting_ids: list[int] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    matched: list[tuple[str, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing left for the user to settle."""
        return not self.unknown and not self.warnings

    @property
    def ids(self) -> list[int]:
        return ([self.lead_id] if self.lead_id is not None else []) + self.assisting_ids


@dataclass(frozen=True)
class _Dept:
    id: int
    name: str
    kind: str
    sort_order: int


@dataclass
class _Entry:
    """One name as written, what it resolved to, and the role the text gave it."""

    text: str
    status: str  # dept | group | vague | ambiguous | inactive | empty_group | unknown | marker
    ids: list[int] = field(default_factory=list)
    role: str | None = None  # from a marker on the name, else from its clause
    suffix_role: bool = False  # the role came from a trailing word (区财政局牵头)
    etc: bool = False  # written with 等: the list may be incomplete

    @property
    def known(self) -> bool:
        return self.status != "unknown"


class DepartmentResolver:
    """Resolves department lists against the departments read once by ``load``."""

    def __init__(self, departments: list[_Dept], names: dict[str, set[int]], inactive: dict[str, set[int]]):
        self._depts = {d.id: d for d in departments}
        self._index = names
        self._inactive = inactive

    @classmethod
    def load(cls, session: Session) -> DepartmentResolver:
        """One query for departments and one for aliases; inactive ones only for messages."""
        rows = session.exec(select(Department)).all()
        aliases = session.exec(select(DepartmentAlias)).all()
        active: dict[str, set[int]] = {}
        inactive: dict[str, set[int]] = {}
        depts = []
        by_id = {d.id: d for d in rows}
        for d in rows:
            target = active if d.active else inactive
            if d.active:
                depts.append(_Dept(d.id, d.name, d.kind, d.sort_order))
            for key in (d.name, d.short_name):
                if normalise_name(key):
                    target.setdefault(normalise_name(key), set()).add(d.id)
        for a in aliases:
            owner = by_id.get(a.department_id)
            if owner is not None:
                target = active if owner.active else inactive
                target.setdefault(normalise_name(a.alias), set()).add(a.department_id)
        depts.sort(key=lambda d: (d.sort_order, d.id))
        return cls(depts, active, inactive)

    # -- single names --

    @staticmethod
    def _variants(key: str) -> list[str]:
        """Spellings tolerated when the exact one is unknown: 发改委 → 区发改委,
        城关街道 → 城关街道办事处, 城关镇人民政府 → 城关镇."""
        out = [p + key for p in PREFIXES if not key.startswith(p)]  # 市场监管局 → 区市场监管局
        if key[:1] in PREFIXES and len(key) > 2:
            out.append(key[1:])
        if key.endswith("街道"):
            out.append(key + "办事处")
        if key.endswith(("镇", "乡")):
            out.append(key + "人民政府")
        for suffix in ("办事处", "人民政府"):
            if key.endswith(suffix) and len(key) > len(suffix) + 1:
                out.append(key[: -len(suffix)])
        return out

    def _lookup(self, key: str, index: dict[str, set[int]]) -> set[int]:
        if key in index:
            return set(index[key])
        found: set[int] = set()
        for variant in self._variants(key):
            found |= index.get(variant, set())
        return found

    def lookup(self, name: str) -> int | None:
        """The one active department a single name means, or None."""
        ids = self._lookup(normalise_name(name), self._index)
        return next(iter(ids)) if len(ids) == 1 else None

    def _group(self, key: str) -> tuple[str, ...] | None:
        for pattern, kinds in _GROUPS:
            if pattern.fullmatch(key):
                return kinds
        return None

    def _classify(self, text: str) -> list[_Entry]:
        """What one name (no separators, no markers) refers to."""
        key = normalise_name(text)
        kinds = self._group(key)
        if kinds is not None:
            ids = [d.id for d in self._depts.values() if d.kind in kinds]
            return [_Entry(text, "group" if ids else "empty_group", ids)]
        if _VAGUE_START.match(key) or _VAGUE_WHOLE.fullmatch(key):
            return [_Entry(text, "vague")]
        ids = self._lookup(key, self._index)
        if len(ids) == 1:
            return [_Entry(text, "dept", list(ids))]
        if ids:
            return [_Entry(text, "ambiguous", sorted(ids, key=lambda i: (self._depts[i].sort_order, i)))]
        if self._lookup(key, self._inactive):
            return [_Entry(text, "inactive")]
        # "区委宣传部(区新闻办)": two names for one office, or two offices
        m = re.fullmatch(r"(?P<outer>[^()]+)\((?P<inner>[^()]+)\)", text)
        if m:
            outer = self._classify(m["outer"])
            inner = self._classify(m["inner"])
            if outer[0].known and inner[0].known and outer[0].ids == inner[0].ids:
                return outer
            return outer + inner
        return [_Entry(text, "unknown")]

    def _read_segment(self, text: str) -> list[_Entry]:
        """One name with its markers: "区财政局(牵头)", "由区财政局牵头", "牵头"."""
        core, role, from_suffix, etc = self._strip_markers(text)
        if not core:
            return [_Entry(text, "marker", role=role)] if role else [_Entry(text, "unknown")]
        entries = self._classify(core)
        for e in entries:
            e.role, e.suffix_role, e.etc = role, from_suffix, etc
        return entries

    def _segment(self, text: str) -> list[_Entry]:
        """Cut at 和/及/与 or spaces only where that separates names: 区住房和城乡建设局
        and "区 发改委" stay whole, "区财政局和区教育局" is two.

        Among all ways to cut, the one recognising the most names wins; ties go to
        fewer unknown pieces, then to fewer pieces.
        """
        cuts = [m for m in _CUT.finditer(text) if _outside_brackets(text, m.start())]
        starts = [0] + [m.end() for m in cuts]
        ends = [m.start() for m in cuts] + [len(text)]
        best: list[tuple[tuple[int, int, int], list[_Entry]] | None] = [None] * (len(cuts) + 2)
        best[0] = ((0, 0, 0), [])
        for j in range(len(cuts) + 1):
            for i in range(j + 1):
                if best[i] is None:
                    continue
                piece = text[starts[i]:ends[j]].strip()
                if not piece:
                    continue
                # No name is this long: don't look up every run of a pasted paragraph.
                entries = self._read_segment(piece) if len(piece) <= MAX_NAME else [_Entry(piece, "unknown")]
                known = sum(e.known for e in entries)
                gain = (known, -(len(entries) - known), -len(entries))
                score = tuple(a + b for a, b in zip(best[i][0], gain, strict=True))
                if best[j + 1] is None or score > best[j + 1][0]:
                    best[j + 1] = (score, best[i][1] + entries)
        result = best[len(cuts) + 1]
        return result[1] if result else [_Entry(text, "unknown")]

    # -- lists --

    def resolve_list(self, text: str, *, first_is_lead: bool = False) -> DepartmentResolution:
        """Resolve a cell or a sentence naming departments.

        ``first_is_lead``: with no name marked 牵头, the first one named leads
        (a ledger's 牵头单位 column). Unknown names are reported, never created.
        """
        out = DepartmentResolution()
        entries: list[_Entry] = []
        for clause in _split(_nfkc(text), _MAJOR_SEPARATORS):
            entries.extend(self._read_clause(clause))
        self._assign(entries, out, first_is_lead)
        return out

    def _read_clause(self, clause: str) -> list[_Entry]:
        """A marker at the end of a clause covers the whole clause ("区教育局、区民政局配合");
        one on a single name covers that name ("区财政局牵头、区教育局")."""
        clause_role = None
        label = _PREFIX_LABEL.match(normalise_name(clause))
        if label:
            clause_role = _ROLE_OF.get(label["w"])
            clause = clause[clause.find(":") + 1:]
        segments = [e for piece in _split(clause, _MINOR_SEPARATORS) for e in self._segment(piece)]
        names: list[_Entry] = []
        for k, e in enumerate(segments):
            is_last = k == len(segments) - 1
            if e.status == "marker":  # a marker standing alone: "区财政局 牵头"
                if names and names[-1].role is None:
                    names[-1].role = e.role
                if is_last or not names:
                    clause_role = clause_role or e.role
                continue
            if is_last and e.suffix_role and names:
                clause_role = clause_role or e.role
            names.append(e)
        if clause_role:
            for e in names:
                if e.role is None:
                    e.role = clause_role
        return names

    @staticmethod
    def _strip_markers(piece: str) -> tuple[str, str | None, bool, bool]:
        """(name, role, role came from a trailing word, ended with 等)."""
        s = normalise_name(piece)
        role, from_suffix, etc = None, False, False
        s = s.removeprefix("由")
        label = _PREFIX_LABEL.match(s)  # "配合单位:区教育局" after a space
        if label:
            role, s = _ROLE_OF.get(label["w"]), s[label.end():]
        m = _BRACKET_MARKER.search(s)
        while m:
            role = _ROLE_OF[m["w"]]
            s = s[: m.start()] + s[m.end():]
            m = _BRACKET_MARKER.search(s)
        while True:
            if _ETC.search(s):
                s, etc = _ETC.sub("", s), True
                continue
            m = _SUFFIX_MARKER.search(s)
            if m:
                role, from_suffix = _ROLE_OF[m["w"]], True
                s = s[: m.start()]
                continue
            break
        return s, role, from_suffix, etc

    def _name(self, dept_id: int) -> str:
        return self._depts[dept_id].name

    def _assign(self, entries: list[_Entry], out: DepartmentResolution, first_is_lead: bool) -> None:
        for e in entries:
            if e.etc:
                out.warnings.append(f"“{e.text}等”可能还有其他单位，请核对")
            if e.status in ("dept", "group"):
                out.matched.extend((e.text, i) for i in e.ids)
            elif e.status == "vague":
                out.warnings.append(f"“{e.text}”未指明具体单位，请选择")
            elif e.status == "empty_group":
                out.warnings.append(f"“{e.text}”下没有登记任何单位，请选择")
            elif e.status == "ambiguous":
                names = "、".join(self._name(i) for i in e.ids)
                out.warnings.append(f"“{e.text}”对应多个单位（{names}），请选择")
                out.unknown.append(e.text)
            elif e.status == "inactive":
                out.warnings.append(f"“{e.text}”已停用，请改选现有单位")
                out.unknown.append(e.text)
            else:
                out.unknown.append(e.text)
        out.unknown = list(dict.fromkeys(out.unknown))

        leads = [e for e in entries if e.role == LEAD]
        lead_ids = list(dict.fromkeys(i for e in leads for i in e.ids if e.status in ("dept", "group")))
        if leads:
            if len(lead_ids) == 1 and all(e.status in ("dept", "group") for e in leads):
                out.lead_id = lead_ids[0]
            elif len(leads) == 1 and leads[0].status == "group":
                out.warnings.append(f"“{leads[0].text}”包含多个单位，不能作为牵头单位，请选择")
            elif len(leads) > 1 or len(lead_ids) > 1:
                names = "、".join(e.text for e in leads)
                out.warnings.append(f"标注了多个牵头单位（{names}），请确定一个")
        elif first_is_lead:
            first = next((e for e in entries if e.role != ASSIST), None)
            if first is not None and first.status in ("dept", "group"):
                if len(first.ids) == 1:
                    out.lead_id = first.ids[0]
                else:
                    out.warnings.append(f"“{first.text}”包含多个单位，不能作为牵头单位，请选择")
        seen = {out.lead_id}
        for e in entries:
            if e.status not in ("dept", "group"):
                continue
            for i in e.ids:
                if i not in seen:
                    seen.add(i)
                    out.assisting_ids.append(i)


# --- leaders -----------------------------------------------------------------------

_TITLE_RE = re.compile(
    r"(?:[区县市](?:委|政府)?)?(?:党组)?(?:常务)?副?"
    r"(?:区长|县长|市长|书记|主任|秘书长|常委|党组成员|成员|调研员|巡视员|区长助理|县长助理|市长助理)"
    r"|(?:[区县市]政府)?办公室(?:副)?主任"
)
_HONORIFIC = re.compile(r"(?:同志|领导)$")


@dataclass
class LeaderResolution:
    ids: list[int] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    matched: list[tuple[str, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unknown and not self.warnings


@dataclass(frozen=True)
class _Lead:
    id: int
    name: str
    title: str
    active: bool


def _title_key(title: str) -> str:
    """区政府副区长 and 副区长 are the same office."""
    return re.sub(r"^[区县市]政府", "", normalise_name(title))


def _same_office(written: str, registered: str) -> bool:
    """A 常务副区长 written as 副区长 is no contradiction; 区长 for a 副区长 is."""
    return _title_key(written).replace("常务", "") == _title_key(registered).replace("常务", "")


class LeaderResolver:
    """Resolves leader names, with or without titles, against leaders read once."""

    def __init__(self, leaders: list[_Lead]):
        self._leaders = leaders
        self._by_name: dict[str, list[_Lead]] = {}
        for ld in leaders:
            self._by_name.setdefault(ld.name, []).append(ld)
        self._titles = {_title_key(ld.title) for ld in leaders if ld.title}
        # Longest first, so that 李明华 is not read as 李明 plus "华".
        self._names = sorted(self._by_name, key=len, reverse=True)

    @classmethod
    def load(cls, session: Session) -> LeaderResolver:
        rows = session.exec(select(Leader).order_by(Leader.sort_order, Leader.id)).all()
        return cls([_Lead(ld.id, normalise_name(ld.name), ld.title or "", ld.active) for ld in rows])

    def _is_title(self, text: str) -> bool:
        key = _title_key(text)
        return bool(key) and (key in self._titles or bool(_TITLE_RE.fullmatch(key)))

    def _split_name(self, text: str) -> tuple[str, str] | None:
        """(name, title) for "常务副区长吴海涛", "吴海涛(副区长)", "吴海涛副区长"."""
        m = re.fullmatch(r"(?P<outer>[^()]+)\((?P<inner>[^()]*)\)", text)
        outer, bracket = (m["outer"], m["inner"]) if m else (text, "")
        outer = _HONORIFIC.sub("", outer)
        if outer in self._by_name:
            return outer, bracket
        for name in self._names:
            for title in (outer[: -len(name)] if outer.endswith(name) else None,
                          outer[len(name):] if outer.startswith(name) else None):
                if title and self._is_title(title):
                    return name, bracket or title
        return None

    def resolve_list(self, text: str) -> LeaderResolution:
        """Resolve "吴海涛（副区长）、区长 孙志强"; a title alone resolves when one
        active leader holds it."""
        out = LeaderResolution()
        for chunk in _split(_nfkc(text), _MAJOR_SEPARATORS | set("、/／")):
            for token in self._pair_titles(_split(chunk, {" ", "\t", "\u3000"})):
                self._resolve_token(token, out)
        out.ids = list(dict.fromkeys(out.ids))
        out.unknown = list(dict.fromkeys(out.unknown))
        return out

    def _pair_titles(self, tokens: list[str]) -> list[str]:
        """"区长 孙志强" and "孙志强 区长" are one person, not a title and a name."""
        keys = [normalise_name(t) for t in tokens] + ["", ""]
        merged, i = [], 0
        while keys[i]:
            here, after, then = keys[i], keys[i + 1], keys[i + 2]
            title_then_name = self._is_title(here) and after in self._by_name
            # "孙志强 区长 吴海涛" pairs 区长 with 吴海涛, not with 孙志强
            name_then_title = here in self._by_name and self._is_title(after) and then not in self._by_name
            step = 2 if title_then_name or name_then_title else 1
            merged.append("".join(keys[i:i + step]))
            i += step
        return merged

    def _resolve_token(self, token: str, out: LeaderResolution) -> None:
        found = self._one(token, out)
        if found is None:
            parts = [p for p in _CONJUNCTION.split(token) if p]
            if len(parts) > 1:
                trial = LeaderResolution()
                if all(self._one(p, trial) is not None for p in parts):
                    out.ids.extend(trial.ids)
                    out.matched.extend(trial.matched)
                    out.warnings.extend(trial.warnings)
                    return
            out.unknown.append(token)

    def _one(self, token: str, out: LeaderResolution) -> int | None:
        """Resolve one person; None (with a warning when useful) if not exactly one."""
        split = self._split_name(token)
        if split is not None:
            name, title = split
            candidates = [ld for ld in self._by_name[name] if ld.active]
            if not candidates:
                out.warnings.append(f"“{token}”已不在任，请改选")
                return None
            if len(candidates) > 1 and title:
                narrowed = [ld for ld in candidates if _title_key(ld.title) == _title_key(title)]
                candidates = narrowed or candidates
            if len(candidates) > 1:
                out.warnings.append(f"“{token}”有{len(candidates)}位同名领导，请选择")
                return None
            leader = candidates[0]
            if title and not _same_office(title, leader.title):
                out.warnings.append(f"“{token}”的职务与登记的“{leader.title or '（未登记）'}”不一致，请核对")
        elif self._is_title(token):
            holders = [ld for ld in self._leaders if ld.active and _title_key(ld.title) == _title_key(token)]
            if len(holders) != 1:
                if holders:
                    names = "、".join(ld.name for ld in holders)
                    out.warnings.append(f"“{token}”对应多位领导（{names}），请选择")
                return None
            leader = holders[0]
        else:
            return None
        out.ids.append(leader.id)
        out.matched.append((token, leader.id))
        return leader.id
