"""Department and leader names as people write them: normalising and splitting.

Ledgers, 建议/提案 lists, minutes, the department list and the CLI all write names
the same ways: "县交通局（牵头）、县财政局和城关镇配合", "区 发改委", full-width
brackets and letters, 区/县 prefixes, short names. These pure functions are the
one reading of that text; ``tracker.services.organisation.resolve`` turns the pieces into
department and leader ids against the organisation and is the one resolver every
import and command calls. Cutting at 和/及/与 needs to know which names exist
(区住房和城乡建设局 is one department), so ``segment`` takes that knowledge as a
function rather than a database.

Lead and assisting roles follow the seeds: "牵头部门要发挥主导作用，协办部门要积极配合"
(000 §31, 003 §35, 004 §29).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import TypeVar

from tracker.rules.text import strip_invisible

__all__ = [
    "ASSIST",
    "CONJUNCTION",
    "CUT",
    "HONORIFIC",
    "LEAD",
    "LIST_SEPARATORS",
    "MAJOR_SEPARATORS",
    "MAX_NAME",
    "MINOR_SEPARATORS",
    "PREFIXES",
    "PREFIX_LABEL",
    "ROLE_OF",
    "SPACES",
    "GROUP_IN_TEXT",
    "VAGUE_IN_TEXT",
    "group_cell",
    "group_kinds",
    "is_leader_title",
    "is_vague",
    "name_variants",
    "nfkc",
    "normalise_name",
    "outside_brackets",
    "same_office",
    "segment",
    "split_leader",
    "split_list",
    "split_outside_brackets",
    "strip_markers",
    "title_key",
]

# Administrative prefixes a name may be written with or without (发改委 / 区发改委).
PREFIXES = ("区", "县", "市")
# No department or leader name is longer: longer runs are prose, not names.
MAX_NAME = 60

# Clauses: a role word at the end of a clause covers the clause ("区教育局、区民政局配合").
MAJOR_SEPARATORS = frozenset("，,；;\n\r")
# Names within a clause.
MINOR_SEPARATORS = frozenset("、/／")
LIST_SEPARATORS = MAJOR_SEPARATORS | MINOR_SEPARATORS
SPACES = frozenset(" \t\u3000")
# Places a run of text may be cut between two names, if the names then resolve.
CUT = re.compile(r"以及|和|及|与|\s+")
CONJUNCTION = re.compile(r"以及|和|及|与")
_OPEN, _CLOSE = "(", ")"
_BRACKETS = str.maketrans("【】〔〕[]", "()()()")


def normalise_name(text: str) -> str:
    """NFKC (full-width to half-width), no inner spaces and nothing that draws nothing (a
    zero-width space or a bidi override would make two names that look the same differ): how
    names are stored and compared."""
    return "".join(unicodedata.normalize("NFKC", strip_invisible(text or "")).split())


def nfkc(text: str) -> str:
    """NFKC, with every kind of bracket as round ASCII brackets (【牵头】 = (牵头))."""
    return unicodedata.normalize("NFKC", text or "").translate(_BRACKETS)


def split_outside_brackets(text: str, separators: frozenset[str] | set[str]) -> list[str]:
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


def split_list(text: str, *, spaces: bool = False) -> list[str]:
    """A cell listing names ("区财政局、区教育局；城关镇") as its pieces, NFKC, in order.

    Only separators cut; 和/及/与 need the organisation (``segment``). ``spaces``: a
    space separates names too (a leaders' cell "吴海涛 孙志强").
    """
    separators = LIST_SEPARATORS | SPACES if spaces else LIST_SEPARATORS
    return split_outside_brackets(nfkc(text), separators)


def outside_brackets(text: str, start: int) -> bool:
    return text[:start].count(_OPEN) <= text[:start].count(_CLOSE)


def name_variants(key: str) -> list[str]:
    """Spellings tolerated when the exact one is unknown: 发改委 → 区发改委,
    县交通局 → 交通局, 城关街道 → 城关街道办事处, 城关镇人民政府 → 城关镇."""
    out = [p + key for p in PREFIXES if not key.startswith(p)]
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


# --- roles: 牵头 / 配合 -------------------------------------------------------------------

LEAD, ASSIST = "lead", "assist"
_LEAD_WORDS = ("牵头单位", "牵头部门", "主办单位", "主办部门", "牵头", "主办", "负责")
_ASSIST_WORDS = ("配合单位", "配合部门", "协办单位", "协办部门", "配合", "协办", "协助", "参与")
ROLE_OF = {w: LEAD for w in _LEAD_WORDS} | {w: ASSIST for w in _ASSIST_WORDS}
_MARKER_ALT = "|".join(sorted(ROLE_OF, key=len, reverse=True))
_BRACKET_MARKER = re.compile(rf"\((?P<w>{_MARKER_ALT})\)")
PREFIX_LABEL = re.compile(rf"^(?P<w>{_MARKER_ALT}|责任单位|承办单位|责任部门):")
_SUFFIX_MARKER = re.compile(rf"(?P<w>{_MARKER_ALT})$")
_ETC = re.compile(r"等(?:相关|有关)?(?:单位|部门)?$")


def strip_markers(piece: str) -> tuple[str, str | None, bool, bool]:
    """One name with its role words: "区财政局(牵头)", "由区财政局牵头", "配合单位:区教育局".

    Returns (name, role, the role came from a trailing word, the name ended with 等).
    """
    s = normalise_name(piece)
    role, from_suffix, etc = None, False, False
    s = s.removeprefix("由")
    label = PREFIX_LABEL.match(s)
    if label:
        role, s = ROLE_OF.get(label["w"]), s[label.end() :]
    m = _BRACKET_MARKER.search(s)
    while m:
        role = ROLE_OF[m["w"]]
        s = s[: m.start()] + s[m.end() :]
        m = _BRACKET_MARKER.search(s)
    while True:
        if _ETC.search(s):
            s, etc = _ETC.sub("", s), True
            continue
        m = _SUFFIX_MARKER.search(s)
        if m:
            role, from_suffix = ROLE_OF[m["w"]], True
            s = s[: m.start()]
            continue
        break
    return s, role, from_suffix, etc


# --- groups and vague words ---------------------------------------------------------------

_ALL = r"(?:全[区县市])?"
# (pattern, department kinds): "各镇（街道）" means every town and street office.
_GROUPS: list[tuple[re.Pattern, tuple[str, ...]]] = [
    (re.compile(_ALL + r"各(?:乡?镇\(街道?\)|乡?镇街道?|街镇|街道\(乡?镇\))"), ("street", "town")),
    (re.compile(_ALL + r"各街道(?:办事处|办)?"), ("street",)),
    (re.compile(_ALL + r"各(?:乡镇|镇)(?:人民政府|政府)?"), ("town",)),
    (re.compile(r"[区县市]直各?(?:部门|单位)|[区县市]政府各(?:部门|单位)?"), ("component", "institution")),
]
# Words that point at departments without naming them: the user must choose.
_VAGUE_START = re.compile(_ALL + r"(?:[区县市](?:直|政府|级)?)?各?(?:相关|有关|其他|其它|涉及|所在)")
_VAGUE_WHOLE = re.compile(_ALL + r"各(?:部门|单位|有关方面|级)")


# Group and vague words as they stand in running text, for finding them (``NameScanner``).
_BR_OPEN, _BR_CLOSE = "[(（]", "[)）]"
GROUP_IN_TEXT = re.compile(
    _ALL + rf"各(?:乡?镇{_BR_OPEN}街道{_BR_CLOSE}|街道{_BR_OPEN}乡?镇{_BR_CLOSE}|乡?镇、街道|街道、乡?镇|街镇|镇街"
    r"|乡?镇街道(?:办事处)?)"
    + r"|"
    + _ALL
    + r"各街道(?:办事处|办)?(?:(?:、|和|及)各?乡?镇(?:人民政府|政府)?)?"
    + r"|"
    + _ALL
    + r"各(?:乡镇|镇)(?:人民政府|政府)?"
    + r"|[区县市]直各(?:部门|单位)|[区县市]政府各(?:部门|单位)"
)
VAGUE_IN_TEXT = re.compile(
    _ALL + r"(?:[区县市](?:直|政府|级)?)?各?(?:相关|有关|其他|其它|涉及)(?:职能)?(?:部门|单位|方面)|各(?:部门|单位)"
)
# What a cell says for a group word as written (各街道、各镇 → 各镇（街道）), so that
# ``group_kinds`` reads it back.
_GROUP_CELL = {
    ("street",): "各街道",
    ("town",): "各镇",
    ("street", "town"): "各镇（街道）",
    ("component", "institution"): "区直各部门",
}


def group_cell(written: str) -> tuple[str, tuple[str, ...]] | None:
    """(the cell text, the kinds) of a group word found in text, or None if it is no group."""
    key = normalise_name(written)
    kinds = group_kinds(key)
    if kinds is None:
        towns = "镇" in key
        streets = "街" in key
        if not (towns or streets):
            return None
        kinds = ("street", "town") if towns and streets else ("town",) if towns else ("street",)
    return (written if group_kinds(key) else _GROUP_CELL[kinds]), kinds


def group_kinds(key: str) -> tuple[str, ...] | None:
    """The department kinds a group word covers (各街道 → street), or None."""
    for pattern, kinds in _GROUPS:
        if pattern.fullmatch(key):
            return kinds
    return None


def is_vague(key: str) -> bool:
    """ "相关部门", "各单位": departments meant but not named."""
    return bool(_VAGUE_START.match(key) or _VAGUE_WHOLE.fullmatch(key))


# --- cutting at 和 / 及 / 与 ----------------------------------------------------------------

T = TypeVar("T")


def segment(
    text: str, read: Callable[[str], Sequence[T]], known: Callable[[T], bool], unknown: Callable[[str], T]
) -> list[T]:
    """Cut at 和/及/与 or spaces only where that separates names: 区住房和城乡建设局
    and "区 发改委" stay whole, "区财政局和区教育局" is two.

    ``read`` turns a piece into what it names (one entry, or more for "甲(乙)"),
    ``known`` says whether an entry was recognised, ``unknown`` makes the entry of a
    piece that names nothing. Among all ways to cut, the one recognising the most
    names wins; ties go to fewer unknown pieces, then to fewer pieces. A piece longer
    than ``MAX_NAME`` is not read: no name is that long, and a pasted paragraph
    would otherwise be looked up run by run.
    """
    cuts = [m for m in CUT.finditer(text) if outside_brackets(text, m.start())]
    starts = [0] + [m.end() for m in cuts]
    ends = [m.start() for m in cuts] + [len(text)]
    best: list[tuple[tuple[int, int, int], list[T]] | None] = [None] * (len(cuts) + 2)
    best[0] = ((0, 0, 0), [])
    for j in range(len(cuts) + 1):
        for i in range(j + 1):
            if best[i] is None:
                continue
            piece = text[starts[i] : ends[j]].strip()
            if not piece:
                continue
            entries = list(read(piece)) if len(piece) <= MAX_NAME else [unknown(piece)]
            found = sum(1 for e in entries if known(e))
            gain = (found, -(len(entries) - found), -len(entries))
            score = tuple(a + b for a, b in zip(best[i][0], gain, strict=True))
            if best[j + 1] is None or score > best[j + 1][0]:
                best[j + 1] = (score, best[i][1] + entries)
    result = best[len(cuts) + 1]
    return result[1] if result else [unknown(text)]


# --- leaders -----------------------------------------------------------------------------

_TITLE_RE = re.compile(
    r"(?:[区县市](?:委|政府)?)?(?:党组)?(?:常务)?副?"
    r"(?:区长|县长|市长|书记|主任|秘书长|常委|党组成员|成员|调研员|巡视员|区长助理|县长助理|市长助理)"
    r"|(?:[区县市]政府)?办公室(?:副)?主任"
)
HONORIFIC = re.compile(r"(?:同志|领导)$")
_LEADER_CELL = re.compile(r"^(?P<name>[^()（）]+)[(（](?P<title>[^()（）]*)[)）]$")


def title_key(title: str) -> str:
    """区政府副区长 and 副区长 are the same office."""
    return re.sub(r"^[区县市]政府", "", normalise_name(title))


def same_office(written: str, registered: str) -> bool:
    """A 常务副区长 written as 副区长 is no contradiction; 区长 for a 副区长 is."""
    return title_key(written).replace("常务", "") == title_key(registered).replace("常务", "")


def is_leader_title(text: str) -> bool:
    """A title any district writes (副区长, 常务副县长, 办公室主任), registered or not."""
    return bool(_TITLE_RE.fullmatch(title_key(text)))


def split_leader(text: str) -> tuple[str, str]:
    """ "高志远（副县长）" → ("高志远", "副县长"); a name alone has no title."""
    m = _LEADER_CELL.match(text.strip())
    if m:
        return normalise_name(m["name"]), m["title"].strip()
    return normalise_name(text), ""
