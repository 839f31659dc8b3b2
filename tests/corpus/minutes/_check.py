"""Validate the minutes corpus: every ``NNN_slug.txt`` has a ``NNN_slug.json`` of the
documented shape whose names exist in the demo district and whose dates are real.

    python tests/corpus/minutes/_check.py              # check, exit 1 on any problem
    python tests/corpus/minutes/_check.py --normalise  # authoring aid, then check:
        department names written as a demo key or alias become the stored full name,
        "@streets" / "@towns" / "@direct" in ``assisting`` become every department of
        that kind (the lead and duplicates left out), missing optional keys get their
        defaults, keys are put in the documented order, and _compute.py fills
        due_date / ongoing / past from each item's deadline_rule.

Checks, besides the shape: each department (lead, assisting) and each leader is in the
demo tables; each department is written in the text under one of its names or covered by
a group word of the text; each leader's name (or given name) is in the text; each
``unknown`` unit is in the text and is no demo name; each item's ``starts_with`` occurs in
the text (whitespace removed), the items in order; due dates agree with _compute.py.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path[:0] = [str(ROOT), str(HERE)]

import _compute  # noqa: E402

from tracker.demo.organisation import DEPARTMENTS, LEADERS  # noqa: E402
from tracker.models import DepartmentKind  # noqa: E402

FULL = {d[1]: d for d in DEPARTMENTS}
BY_ANY = {}
for _key, _full, _aliases, _kind, _leader in DEPARTMENTS:
    for _n in (_key, _full, *_aliases):
        BY_ANY.setdefault(_n, _full)
LEADER_NAMES = {name for _k, name, _t in LEADERS}
KINDS = {
    "@streets": (DepartmentKind.STREET,),
    "@towns": (DepartmentKind.TOWN,),
    "@direct": (DepartmentKind.COMPONENT, DepartmentKind.INSTITUTION),
}
# Group words of the text (after NFKC: full-width brackets are ASCII) and the kinds they cover
# (README, "Groups").
GROUP_WORDS = [
    (
        re.compile(r"各(?:镇\(街道\)|镇、街道|街道、镇|街镇|镇街|街道\(镇\))"),
        (DepartmentKind.STREET, DepartmentKind.TOWN),
    ),
    (re.compile(r"各街道"), (DepartmentKind.STREET,)),
    (re.compile(r"各镇"), (DepartmentKind.TOWN,)),
    (re.compile(r"区直各(?:部门|单位)|区政府各部门"), (DepartmentKind.COMPONENT, DepartmentKind.INSTITUTION)),
]
ITEM_KEYS = [
    "lead",
    "assisting",
    "leaders",
    "due_date",
    "ongoing",
    "recurrence",
    "starts_with",
    "past",
    "deadline_rule",
]
DOC_KEYS = ["kind", "date", "registered", "title", "items", "unknown", "notes"]
RECURRENCE = re.compile(
    r"^(weekly:[1-7]|monthly:([1-9]|[12][0-9]|3[01]|end)|quarterly:end|halfyearly:end|"
    r"yearly:\d\d-\d\d)$"
)


def flat(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def members(kinds) -> list[str]:
    return [d[1] for d in DEPARTMENTS if d[3] in kinds]


def normalise(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    for item in doc["items"]:
        if item.get("lead") is not None:
            item["lead"] = BY_ANY.get(item["lead"], item["lead"])
        out: list[str] = []
        for name in item.get("assisting", []):
            names = members(KINDS[name]) if name in KINDS else [BY_ANY.get(name, name)]
            out += [n for n in names if n != item.get("lead") and n not in out]
        item["assisting"] = out
        item.setdefault("leaders", [])
        item.setdefault("recurrence", None)
        item.setdefault("deadline_rule", "none")
        item.update(_compute.expected_fields(doc, item))
        doc["items"][doc["items"].index(item)] = {k: item.get(k) for k in ITEM_KEYS}
    doc.setdefault("unknown", [])
    ordered = {k: doc[k] for k in DOC_KEYS if k in doc}
    path.write_text(_compute.dump(ordered), encoding="utf-8")


def problems(path: Path) -> list[str]:
    out: list[str] = []
    txt = path.with_suffix(".txt")
    if not txt.exists():
        return [f"{txt.name} missing"]
    text = txt.read_text(encoding="utf-8")
    ftext = flat(text)
    doc = json.loads(path.read_text(encoding="utf-8"))

    def bad(msg: str) -> None:
        out.append(f"{path.name}: {msg}")

    if set(doc) - set(DOC_KEYS) or not {"kind", "date", "title", "items", "unknown"} <= set(doc):
        bad(f"top-level keys {sorted(doc)}")
    if doc.get("kind") not in ("minutes", "instruction"):
        bad(f"kind {doc.get('kind')!r}")
    for key in ("date", "registered"):
        if key in doc:
            try:
                date.fromisoformat(doc[key])
            except (TypeError, ValueError):
                bad(f"{key} {doc[key]!r} is no date")
    if not isinstance(doc.get("title"), str) or not doc["title"]:
        bad("title missing")
    n = len(doc.get("items", []))
    if doc.get("kind") == "minutes" and not 3 <= n <= 12:
        bad(f"{n} items (minutes have 3–12)")
    if doc.get("kind") == "instruction" and not 1 <= n <= 4:
        bad(f"{n} items (an instruction has 1–4)")
    for name in doc.get("unknown", []):
        if name in BY_ANY:
            bad(f"unknown {name} is a demo name")
        if flat(name) not in ftext:
            bad(f"unknown {name} not in the text")

    pos = 0
    for i, item in enumerate(doc.get("items", []), start=1):
        where = f"item {i}"
        if list(item) != ITEM_KEYS:
            bad(f"{where}: keys {list(item)}")
            continue
        depts = ([item["lead"]] if item["lead"] is not None else []) + item["assisting"]
        for name in depts:
            if name not in FULL:
                bad(f"{where}: {name} is not a stored department name")
                continue
            key, full, aliases, kind, _leader = FULL[name]
            written = any(flat(a) in ftext for a in (key, full, *aliases))
            grouped = any(kind in kinds and p.search(ftext) for p, kinds in GROUP_WORDS)
            if not (written or grouped):
                bad(f"{where}: {name} is neither written nor covered by a group word")
        if len(set(depts)) != len(depts):
            bad(f"{where}: a department is listed twice")
        for name in item["leaders"]:
            if name not in LEADER_NAMES:
                bad(f"{where}: leader {name} not in the demo")
            elif name not in text and name[1:] not in text:
                bad(f"{where}: leader {name} not in the text")
        if item["due_date"] is not None:
            try:
                date.fromisoformat(item["due_date"])
            except ValueError:
                bad(f"{where}: due_date {item['due_date']!r}")
        if not isinstance(item["ongoing"], bool) or not isinstance(item["past"], bool):
            bad(f"{where}: ongoing/past must be booleans")
        if item["ongoing"] and item["due_date"] is not None:
            bad(f"{where}: ongoing with a due date")
        if item["recurrence"] is not None and not RECURRENCE.match(item["recurrence"]):
            bad(f"{where}: recurrence {item['recurrence']!r}")
        try:
            want = _compute.expected_fields(doc, item)
        except Exception as exc:  # noqa: BLE001 — report any bad rule
            bad(f"{where}: deadline_rule {item['deadline_rule']!r}: {exc}")
        else:
            for key, value in want.items():
                if item[key] != value:
                    bad(f"{where}: {key} {item[key]!r} but {item['deadline_rule']!r} gives {value!r}")
        start = flat(item["starts_with"] or "")
        if len(start) < 4:
            bad(f"{where}: starts_with too short")
        found = ftext.find(start, pos)
        if found < 0:
            bad(f"{where}: starts_with {item['starts_with']!r} not found after the previous item")
        else:
            pos = found + len(start)
    return out


def main(argv: list[str]) -> int:
    paths = sorted(HERE.glob("[0-9][0-9][0-9]_*.json"))
    if "--normalise" in argv:
        for p in paths:
            normalise(p)
    texts = sorted(HERE.glob("[0-9][0-9][0-9]_*.txt"))
    found = [f"{t.name}: no .json" for t in texts if not t.with_suffix(".json").exists()]
    for p in paths:
        found += problems(p)
    for line in found:
        print(line)
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    kinds = {k: sum(d["kind"] == k for d in docs) for k in ("minutes", "instruction")}
    items = sum(len(d["items"]) for d in docs)
    print(f"{kinds['minutes']} minutes, {kinds['instruction']} instructions, {items} items, {len(found)} problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
