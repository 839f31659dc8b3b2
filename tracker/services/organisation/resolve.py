"""Turning department and leader names as people write them into ids.

Minutes, ledgers, 建议/提案 lists, the department list and the command line write
"县交通局（牵头）、县财政局和城关镇配合", "各镇（街道）" or "常务副区长吴海涛"; they all
resolve through here, on the pure reading of names in ``tracker.rules.names``.
The resolvers read the organisation once, then resolve any number of cells
without further queries. They never create a department or a
leader and never drop a name: what they cannot resolve comes back in
``unknown`` or as a Chinese warning for the user to settle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlmodel import Session, select

from tracker.models import Department, DepartmentAlias, Leader
from tracker.rules.names import (
    ASSIST,
    CONJUNCTION,
    GROUP_IN_TEXT,
    HONORIFIC,
    LEAD,
    MAJOR_SEPARATORS,
    MINOR_SEPARATORS,
    PREFIX_LABEL,
    PREFIXES,
    ROLE_OF,
    SPACES,
    VAGUE_IN_TEXT,
    group_cell,
    group_kinds,
    is_leader_title,
    is_vague,
    name_variants,
    nfkc,
    normalise_name,
    same_office,
    segment,
    split_list,
    split_outside_brackets,
    strip_markers,
    title_key,
)

__all__ = [
    "DepartmentResolution",
    "DepartmentResolver",
    "LeaderResolution",
    "LeaderResolver",
    "NameHit",
    "NameScanner",
    "one_department",
    "one_leader",
]


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

    def __init__(
        self,
        departments: list[_Dept],
        names: dict[str, set[int]],
        inactive: dict[str, set[int]],
        registered: list[Department] = (),
        aliases: list[DepartmentAlias] = (),
    ):
        self._depts = {d.id: d for d in departments}
        self._index = names
        self._inactive = inactive
        # Exact registrations, active or not: what a department list is checked against.
        self._registered = {d.id: d for d in registered}
        self._by_full_name = {d.name: d for d in registered}
        self._alias_owner = {a.alias: a.department_id for a in aliases}

    @classmethod
    def load(cls, session: Session) -> DepartmentResolver:
        """One query for departments and one for aliases; inactive ones only for messages."""
        return cls.build(session.exec(select(Department)).all(), session.exec(select(DepartmentAlias)).all())

    @classmethod
    def build(cls, rows: list[Department], aliases: list[DepartmentAlias]) -> DepartmentResolver:
        """The resolver of these rows (read by ``load``, or made in memory by a test)."""
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
        return cls(depts, active, inactive, rows, aliases)

    # -- exact registrations (the department list) --

    def by_full_name(self, name: str) -> Department | None:
        """The department registered under exactly this full name, active or not.

        No tolerated spellings here: a list that registers departments must not take
        a new 县交通局 for the registered 区交通局.
        """
        return self._by_full_name.get(normalise_name(name))

    def by_alias(self, name: str) -> Department | None:
        """The department that has exactly this alias (简称), active or not."""
        owner = self._alias_owner.get(normalise_name(name))
        return self._registered.get(owner) if owner is not None else None

    def name_of(self, dept_id: int) -> str:
        """The full name of a department, as stored."""
        dept = self._registered.get(dept_id)
        return dept.name if dept is not None else self._depts[dept_id].name

    def aliases_of(self, dept_id: int) -> set[str]:
        """The names a department is known by besides its full name (aliases, short name)."""
        found = {alias for alias, owner in self._alias_owner.items() if owner == dept_id}
        dept = self._registered.get(dept_id)
        return found | ({dept.short_name} if dept is not None else set())

    # -- single names --

    def _lookup(self, key: str, index: dict[str, set[int]]) -> set[int]:
        if key in index:
            return set(index[key])
        found: set[int] = set()
        for variant in name_variants(key):
            found |= index.get(variant, set())
        return found

    def lookup(self, name: str) -> int | None:
        """The one active department a single name means, or None."""
        ids = self._lookup(normalise_name(name), self._index)
        return next(iter(ids)) if len(ids) == 1 else None

    def _classify(self, text: str) -> list[_Entry]:
        """What one name (no separators, no markers) refers to."""
        key = normalise_name(text)
        kinds = group_kinds(key)
        if kinds is not None:
            ids = [d.id for d in self._depts.values() if d.kind in kinds]
            return [_Entry(text, "group" if ids else "empty_group", ids)]
        if is_vague(key):
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
        core, role, from_suffix, etc = strip_markers(text)
        if not core:
            return [_Entry(text, "marker", role=role)] if role else [_Entry(text, "unknown")]
        entries = self._classify(core)
        for e in entries:
            e.role, e.suffix_role, e.etc = role, from_suffix, etc
        return entries

    def _segment(self, text: str) -> list[_Entry]:
        """Names run together with 和/及/与 or spaces, cut where the cut finds names."""
        return segment(text, self._read_segment, lambda e: e.known, lambda piece: _Entry(piece, "unknown"))

    # -- lists --

    def resolve_list(self, text: str, *, first_is_lead: bool = False) -> DepartmentResolution:
        """Resolve a cell or a sentence naming departments.

        ``first_is_lead``: with no name marked 牵头, the first one named leads
        (a ledger's 牵头单位 column). Unknown names are reported, never created.
        """
        out = DepartmentResolution()
        entries: list[_Entry] = []
        for clause in split_outside_brackets(nfkc(text), MAJOR_SEPARATORS):
            entries.extend(self._read_clause(clause))
        self._assign(entries, out, first_is_lead)
        return out

    def _read_clause(self, clause: str) -> list[_Entry]:
        """A marker at the end of a clause covers the whole clause ("区教育局、区民政局配合");
        one on a single name covers that name ("区财政局牵头、区教育局")."""
        clause_role = None
        label = PREFIX_LABEL.match(normalise_name(clause))
        if label:
            clause_role = ROLE_OF.get(label["w"])
            clause = clause[clause.find(":") + 1 :]
        segments = [e for piece in split_outside_brackets(clause, MINOR_SEPARATORS) for e in self._segment(piece)]
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


class LeaderResolver:
    """Resolves leader names, with or without titles, against leaders read once."""

    def __init__(self, leaders: list[_Lead]):
        self._leaders = leaders
        self._by_name: dict[str, list[_Lead]] = {}
        for ld in leaders:
            self._by_name.setdefault(ld.name, []).append(ld)
        self._titles = {title_key(ld.title) for ld in leaders if ld.title}
        # Longest first, so that 李明华 is not read as 李明 plus "华".
        self._names = sorted(self._by_name, key=len, reverse=True)

    @classmethod
    def load(cls, session: Session) -> LeaderResolver:
        return cls.build(session.exec(select(Leader).order_by(Leader.sort_order, Leader.id)).all())

    @classmethod
    def build(cls, rows: list[Leader]) -> LeaderResolver:
        return cls([_Lead(ld.id, normalise_name(ld.name), ld.title or "", ld.active) for ld in rows])

    def active_names(self) -> list[str]:
        """The names of the serving leaders."""
        return [ld.name for ld in self._leaders if ld.active]

    def name_of(self, leader_id: int) -> str:
        return next((ld.name for ld in self._leaders if ld.id == leader_id), "")

    def active_named(self, name: str) -> list[int]:
        """Ids of the serving leaders with exactly this name (several when namesakes serve)."""
        return [ld.id for ld in self._by_name.get(normalise_name(name), []) if ld.active]

    def _is_title(self, text: str) -> bool:
        key = title_key(text)
        return bool(key) and (key in self._titles or is_leader_title(key))

    def _split_name(self, text: str) -> tuple[str, str] | None:
        """(name, title) for "常务副区长吴海涛", "吴海涛(副区长)", "吴海涛副区长"."""
        m = re.fullmatch(r"(?P<outer>[^()]+)\((?P<inner>[^()]*)\)", text)
        outer, bracket = (m["outer"], m["inner"]) if m else (text, "")
        outer = HONORIFIC.sub("", outer)
        if outer in self._by_name:
            return outer, bracket
        for name in self._names:
            for title in (
                outer[: -len(name)] if outer.endswith(name) else None,
                outer[len(name) :] if outer.startswith(name) else None,
            ):
                if title and self._is_title(title):
                    return name, bracket or title
        return None

    def resolve_list(self, text: str) -> LeaderResolution:
        """Resolve "吴海涛（副区长）、区长 孙志强"; a title alone resolves when one
        active leader holds it."""
        out = LeaderResolution()
        for chunk in split_list(text):
            for token in self._pair_titles(split_outside_brackets(chunk, SPACES)):
                self._resolve_token(token, out)
        out.ids = list(dict.fromkeys(out.ids))
        out.unknown = list(dict.fromkeys(out.unknown))
        return out

    def _pair_titles(self, tokens: list[str]) -> list[str]:
        """ "区长 孙志强" and "孙志强 区长" are one person, not a title and a name."""
        keys = [normalise_name(t) for t in tokens] + ["", ""]
        merged, i = [], 0
        while keys[i]:
            here, after, then = keys[i], keys[i + 1], keys[i + 2]
            title_then_name = self._is_title(here) and after in self._by_name
            # "孙志强 区长 吴海涛" pairs 区长 with 吴海涛, not with 孙志强
            name_then_title = here in self._by_name and self._is_title(after) and then not in self._by_name
            step = 2 if title_then_name or name_then_title else 1
            merged.append("".join(keys[i : i + step]))
            i += step
        return merged

    def _resolve_token(self, token: str, out: LeaderResolution) -> None:
        found = self._one(token, out)
        if found is None:
            parts = [p for p in CONJUNCTION.split(token) if p]
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
                narrowed = [ld for ld in candidates if title_key(ld.title) == title_key(title)]
                candidates = narrowed or candidates
            if len(candidates) > 1:
                out.warnings.append(f"“{token}”有{len(candidates)}位同名领导，请选择")
                return None
            leader = candidates[0]
            if title and not same_office(title, leader.title):
                out.warnings.append(f"“{token}”的职务与登记的“{leader.title or '（未登记）'}”不一致，请核对")
        elif self._is_title(token):
            holders = [ld for ld in self._leaders if ld.active and title_key(ld.title) == title_key(token)]
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


# --- names in running text (minutes, instructions) -----------------------------------

# Titles a leader is written with, before or after the name (常务副区长吴海涛, 吴海涛副区长).
_TITLE_WORDS = (
    r"(?:常务副[区县]长|副[区县]长|[区县]长助理|[区县]长|党组成员|办公室主任|副秘书长|秘书长|副主任|主任"
    r"|副书记|书记)"
)
_TITLE_BEFORE = re.compile(r"(?:[区县]政府|[区县]委)?" + _TITLE_WORDS + r"[ \u3000]?$")
_TITLE_AFTER = re.compile(r"^[ \u3000]?(?:" + _TITLE_WORDS + r"(?:同志)?|同志)")
# A unit of a higher level (市发改委, 国家统计局) is not the district's, whatever its short name.
_HIGHER = "市省州国"


@dataclass(frozen=True)
class NameHit:
    """One name of the district found in a text, with where it stands."""

    kind: str  # department | group | vague | ambiguous | leader
    start: int
    end: int
    text: str  # as written
    name: str  # what a cell says: the spelling, a group word, the leader's registered name
    ids: tuple[int, ...] = ()


def _same_length_nfkc(text: str) -> str:
    """NFKC character by character, keeping offsets (a character that would change the
    length stays as it is)."""
    out = []
    for ch in text:
        n = nfkc(ch)
        out.append(n if len(n) == 1 else ch)
    return "".join(out)


class NameScanner:
    """Finds every department, group word and leader of the district in a text.

    The organisation is a closed vocabulary: full names, short names, aliases (with and
    without the district's 区/县 prefix), group words (各街道办事处, 区直各部门), vague words
    (相关单位) and leaders with or without their titles (吴海涛副区长, 常务副区长吴海涛,
    海涛同志, 区长 when one leader holds it). The longest spelling wins at each place: 区住建局
    inside 区住建局局长 is still 区住建局.
    """

    def __init__(self, departments: DepartmentResolver, leaders: LeaderResolver):
        self.departments = departments
        self.leaders = leaders
        names = [d.name for d in departments._depts.values()]
        prefix = max(("区", "县"), key=lambda p: sum(n.startswith(p) for n in names))
        spellings: dict[str, set[int]] = {}
        for key, ids in departments._index.items():
            spellings.setdefault(key, set()).update(ids)
        for key, ids in list(departments._index.items()):
            variants = [key[1:]] if key.startswith(prefix) and len(key) >= 4 else []
            if key[:1] not in PREFIXES:
                variants.append(prefix + key)
            for v in variants:
                if v not in departments._index:
                    spellings.setdefault(v, set()).update(ids)
        self._departments = spellings
        people: dict[str, int] = {}
        by_name: dict[str, list[_Lead]] = {}
        for ld in leaders._leaders:
            if ld.active:
                by_name.setdefault(ld.name, []).append(ld)
        givens: dict[str, int] = {}
        for name, holders in by_name.items():
            if len(holders) == 1:
                people[name] = holders[0].id
                given = name[1:] if len(name) == 3 else name[2:] if len(name) == 4 else ""
                if given:  # 海涛同志, 国平区长: the given name with 同志 or the leader's own title
                    givens[given] = holders[0].id
                    titles = [title_key(t) for t in re.split(r"[、,，]", holders[0].title or "") if t]
                    for word in ["同志", *titles]:
                        people.setdefault(given + word, holders[0].id)
        self._people = people
        self._givens = givens
        self._ambiguous_people = {n for n, h in by_name.items() if len(h) > 1}
        self._names = {ld.id: ld.name for ld in leaders._leaders}
        titles: dict[str, list[int]] = {}
        for ld in leaders._leaders:
            if ld.active:
                for part in re.split(r"[、,，]", ld.title or ""):
                    key = title_key(part)
                    if re.fullmatch(r"(?:常务副)?[区县]长", key):
                        titles.setdefault(key, []).append(ld.id)
        bare = {k: v[0] for k, v in titles.items() if len(v) == 1}
        self._titles = bare
        # every spelling by its first character, longest first: one look-up per character of a
        # text instead of trying hundreds of alternatives at each
        self._by_first: dict[str, list[str]] = {}
        for w in sorted(set(spellings) | set(people) | self._ambiguous_people, key=len, reverse=True):
            if w:
                self._by_first.setdefault(w[0], []).append(w)
        titles_alt = [
            rf"(?<![副务]){re.escape(t)}(?!助理|办公|会|室|[区县]长)" for t in sorted(bare, key=len, reverse=True)
        ]
        self._bare = re.compile("|".join(titles_alt)) if titles_alt else None

    @classmethod
    def load(cls, session: Session) -> NameScanner:
        return cls(DepartmentResolver.load(session), LeaderResolver.load(session))

    def department_name(self, dept_id: int) -> str:
        return self.departments._depts[dept_id].name

    def leader_name(self, leader_id: int) -> str:
        return self._names[leader_id]

    def scan(self, text: str) -> list[NameHit]:
        """Every name in ``text``, in order, none overlapping another."""
        flat = _same_length_nfkc(text)
        found: list[NameHit] = []
        for m in GROUP_IN_TEXT.finditer(flat):
            cell, kinds = group_cell(text[m.start() : m.end()])
            ids = tuple(d.id for d in self.departments._depts.values() if d.kind in kinds)
            found.append(NameHit("group", m.start(), m.end(), text[m.start() : m.end()], cell, ids))
        for m in VAGUE_IN_TEXT.finditer(flat):
            found.append(NameHit("vague", m.start(), m.end(), text[m.start() : m.end()], m.group()))
        pos = 0
        while pos < len(flat):
            word = next((w for w in self._by_first.get(flat[pos], ()) if flat.startswith(w, pos)), None)
            if word is None:
                pos += 1
                continue
            found.append(self._hit(text, flat, word, pos, pos + len(word)))
            pos += len(word)
        if self._bare is not None:
            for m in self._bare.finditer(flat):
                found.append(self._hit(text, flat, m.group(), m.start(), m.end()))
        kept: list[NameHit] = []
        for hit in sorted((h for h in found if h is not None), key=lambda h: (h.start, -(h.end - h.start))):
            if kept and hit.start < kept[-1].end:
                continue
            kept.append(hit)
        return self._join_titles(text, flat, self._given_lists(text, flat, kept))

    def _given_lists(self, text: str, flat: str, hits: list[NameHit]) -> list[NameHit]:
        """海涛、志远同志: given names listed before the one that carries 同志 are leaders too."""
        out: list[NameHit] = []
        for hit in hits:
            if hit.kind == "leader" and hit.text[-2:] == "同志":
                extra: list[NameHit] = []
                pos = hit.start
                while pos >= 3 and flat[pos - 1] in "、，,和":
                    given = next(
                        (
                            g
                            for g in sorted(self._givens, key=len, reverse=True)
                            if flat[pos - 1 - len(g) : pos - 1] == g
                        ),
                        "",
                    )
                    if not given or (out and out[-1].end > pos - 1 - len(given)):
                        break
                    start = pos - 1 - len(given)
                    leader = self._givens[given]
                    extra.insert(
                        0,
                        NameHit(
                            "leader", start, start + len(given), text[start : pos - 1], self._names[leader], (leader,)
                        ),
                    )
                    pos = start
                out += extra
            out.append(hit)
        return out

    def _hit(self, text: str, flat: str, word: str, start: int, end: int) -> NameHit | None:
        if word in self._departments:
            before = flat[start - 1] if start else ""
            if before and before in _HIGHER and not word.startswith(PREFIXES):
                return None
            ids = tuple(sorted(self._departments[word]))
            kind = "department" if len(ids) == 1 else "ambiguous"
            return NameHit(kind, start, end, text[start:end], word, ids)
        if word in self._people:
            leader = self._people[word]
            return NameHit("leader", start, end, text[start:end], self._names[leader], (leader,))
        if word in self._ambiguous_people:
            return NameHit("ambiguous_leader", start, end, word, word)
        leader = self._titles[title_key(word)]
        return NameHit("leader", start, end, text[start:end], self._names[leader], (leader,))

    def _join_titles(self, text: str, flat: str, hits: list[NameHit]) -> list[NameHit]:
        """A leader's span takes in the titles written around the name (区长 周国平, 吴海涛
        副区长, 海涛同志); a bare title right before a name is that name's title."""
        out: list[NameHit] = []
        for hit in hits:
            if hit.kind != "leader":
                out.append(hit)
                continue
            start, end = hit.start, hit.end
            prev = out[-1] if out else None
            if (
                prev is not None
                and prev.kind == "leader"
                and prev.ids == hit.ids
                and not flat[prev.end : hit.start].strip()
            ):
                out.pop()
                start = prev.start
            else:
                floor = prev.end if prev is not None else 0
                window = flat[max(floor, start - 12) : start]
                m = _TITLE_BEFORE.search(window)
                if m:
                    start -= len(window) - m.start()
            after = _TITLE_AFTER.match(flat[end : end + 12])
            if after:
                end += after.end()
            out.append(NameHit("leader", start, end, text[start:end], hit.name, hit.ids))
        return out


# --- one name, for a command line --------------------------------------------------


def one_department(session: Session, name: str) -> int | None:
    """The one active department ``name`` means (full name, short name, alias or a
    tolerated spelling such as 县交通局 for 交通局), or None."""
    return DepartmentResolver.load(session).lookup(name)


def one_leader(session: Session, name: str) -> int | None:
    """The one serving leader ``name`` means ("吴海涛", "常务副区长吴海涛"), or None."""
    res = LeaderResolver.load(session).resolve_list(name)
    return res.ids[0] if len(res.ids) == 1 else None
