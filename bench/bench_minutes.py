"""Reading minutes and instructions: per-field precision and recall on the corpus, and time.

    .venv/bin/python bench/bench_minutes.py [--runs 50]

Reads every document of tests/corpus/minutes/ through the same proposal and resolution as
``minutes parse`` (decompose.propose + resolve_rows), against the demo district's names held
in memory (no database), and prints for each field its precision (of what was proposed, how
much is right) and recall (of what the answers hold, how much was found): lead, assisting
(department by department), leaders (leader by leader), due date; and the items missed or
made up.

Then times the reading of a 30-item 纪要 (the corpus's items, renumbered, with a title,
preamble and 出席/列席 block) beside the bare cost of one regex pass over the same text and of
finding the names alone. Target: under 200 ms for 30 items.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker import clock  # noqa: E402
from tracker.calendar import WorkCalendar  # noqa: E402
from tracker.demo.organisation import DEPARTMENTS, LEADERS  # noqa: E402
from tracker.models import Department, DepartmentAlias, Leader, Source, SourceKind  # noqa: E402
from tracker.services.intake import decompose as dc  # noqa: E402
from tracker.services.organisation.resolve import DepartmentResolver, LeaderResolver  # noqa: E402

CORPUS = ROOT / "tests" / "corpus" / "minutes"


def resolvers() -> dc.Resolvers:
    rows, aliases = [], []
    for i, (key, full, names, kind, _leader) in enumerate(DEPARTMENTS, start=1):
        rows.append(Department(id=i, name=full, short_name=key, kind=kind.value, active=True, sort_order=i))
        aliases += [
            DepartmentAlias(id=len(aliases) + 1, department_id=i, alias=a) for a in names if a not in (full, key)
        ]
    leaders = [Leader(id=i, name=n, title=t, active=True, sort_order=i) for i, (_k, n, t) in enumerate(LEADERS, 1)]
    return dc.Resolvers(
        DepartmentResolver.build(rows, aliases), LeaderResolver.build(leaders), WorkCalendar.from_package()
    )


def read(r: dc.Resolvers, text: str, kind: str, on: date) -> dc.Proposal:
    source = Source(
        kind=SourceKind.LEADER_INSTRUCTION if kind == "instruction" else SourceKind.EXECUTIVE_MEETING,
        title="",
        source_date=on,
    )
    proposal = dc.propose(text, kind=kind, scanner=r.scanner())
    dc.resolve_rows(None, source, proposal.rows, resolvers=r)
    return proposal


class Field:
    def __init__(self) -> None:
        self.proposed = self.expected = self.right = 0

    def add(self, proposed: set, expected: set) -> None:
        self.proposed += len(proposed)
        self.expected += len(expected)
        self.right += len(proposed & expected)

    def line(self, name: str) -> str:
        p = self.right / self.proposed if self.proposed else 1.0
        r = self.right / self.expected if self.expected else 1.0
        return f"  {name:<10} precision {p:6.1%} ({self.right}/{self.proposed})   recall {r:6.1%} ({self.right}/{self.expected})"


def score(r: dc.Resolvers) -> None:
    fields = {name: Field() for name in ("lead", "assisting", "leaders", "due_date", "unknown")}
    docs = items = missing = extra = 0
    name = r.departments.name_of
    for path in sorted(CORPUS.glob("[0-9][0-9][0-9]_*.txt")):
        doc = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        on = date.fromisoformat(doc["date"])
        with clock.frozen(date.fromisoformat(doc.get("registered") or doc["date"])):
            proposal = read(r, path.read_text(encoding="utf-8"), doc["kind"], on)
        rows = proposal.rows
        fields["unknown"].add(
            {(path.name, u.text) for u in proposal.unknown}, {(path.name, n) for n in doc.get("unknown", [])}
        )
        docs += 1
        items += len(doc["items"])
        missing += max(0, len(doc["items"]) - len(rows))
        extra += max(0, len(rows) - len(doc["items"]))
        for k, want in enumerate(doc["items"]):
            row = rows[k] if k < len(rows) else None
            got_lead = {name(row.lead_id)} if row is not None and row.lead_id is not None else set()
            fields["lead"].add(got_lead, {want["lead"]} if want.get("lead") else set())
            got = {name(i) for i in row.assisting_ids} if row is not None else set()
            fields["assisting"].add({(k, n) for n in got}, {(k, n) for n in want.get("assisting", [])})
            got = {r.leaders.name_of(i) for i in row.leader_ids} if row is not None else set()
            fields["leaders"].add({(k, n) for n in got}, {(k, n) for n in want.get("leaders", [])})
            due = (
                row.deadline.due_date.isoformat()
                if row is not None and row.deadline and row.deadline.due_date
                else None
            )
            fields["due_date"].add({due} - {None}, {want.get("due_date")} - {None})
    print(f"corpus: {docs} documents, {items} items; missed {missing}, made up {extra}")
    for key, f in fields.items():
        print(f.line(key))


def thirty_items() -> str:
    bodies = []
    for path in sorted(CORPUS.glob("[0-9][0-9][0-9]_*.txt")):
        doc = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        if doc["kind"] != "minutes":
            continue
        bodies += dc.split_items(path.read_text(encoding="utf-8"))
        if len(bodies) >= 30:
            break
    text = ["区政府第99次常务会议纪要", "", "2026年3月2日，区长周国平主持召开区政府第99次常务会议。现纪要如下：", ""]
    for k, item in enumerate(bodies[:30], start=1):
        text.append(f"{k}、{item.text}")
    text += [
        "",
        "出席：周国平  吴海涛  高志远  林晓东  马丽  何军",
        "列席：区发改委、区财政局负责同志",
        "青山区人民政府办公室                  2026年3月3日印发",
    ]
    return "\n".join(text)


def timed(fn, runs: int) -> float:
    fn()  # warm the caches of compiled patterns
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    r = resolvers()
    score(r)
    text = thirty_items()
    rows = read(r, text, "minutes", date(2026, 3, 2)).rows
    scanner = r.scanner()
    pattern = re.compile(r"[\u4e00-\u9fa5]+")
    print(f"\n30-item 纪要 ({len(text)} characters, {len(rows)} items read), median of {args.runs} runs:")
    print(
        f"  read and resolve (propose + resolve_rows)  {timed(lambda: read(r, text, 'minutes', date(2026, 3, 2)), args.runs):7.1f} ms"
    )
    print(
        f"  propose only                               {timed(lambda: dc.propose(text, kind='minutes', scanner=scanner), args.runs):7.1f} ms"
    )
    print(f"  names alone (NameScanner.scan)             {timed(lambda: scanner.scan(text), args.runs):7.2f} ms")
    print(f"  one regex pass (runs of Chinese)           {timed(lambda: pattern.findall(text), args.runs):7.2f} ms")
    print("  target: under 200 ms")


if __name__ == "__main__":
    main()
