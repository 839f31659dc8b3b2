"""The minutes corpus (tests/corpus/minutes/): every document through ``minutes parse``.

Each ``NNN_slug.txt`` goes through the command line exactly as an independent check runs it
(``minutes parse FILE --date … --kind … --format json``) against the demo district; the answers
are the ``.json`` beside it. The test fails below 95 % on any of lead, assisting set, leaders
set and due date, or on any missing or extra item, and prints a per-document diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracker.demo.organisation import build_org

CORPUS = Path(__file__).resolve().parent / "corpus" / "minutes"
FIELDS = ("lead", "assisting", "leaders", "due_date", "unknown")
THRESHOLD = 0.95


def documents() -> list[Path]:
    return sorted(CORPUS.glob("[0-9][0-9][0-9]_*.txt"))


def expected(path: Path) -> dict:
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))


def parse(runner, path: Path, doc: dict) -> dict:
    # registered on the meeting day unless the answers say it was registered late
    args = [
        "minutes",
        "parse",
        str(path),
        "--date",
        doc["date"],
        "--kind",
        doc["kind"],
        "--format",
        "json",
        "--registered",
        doc.get("registered") or doc["date"],
    ]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, f"{path.name}: {result.output}"
    return json.loads(result.stdout)


def compare(want: dict, got: dict) -> dict[str, bool]:
    return {
        "lead": want.get("lead") == got["lead"],
        "assisting": set(want.get("assisting", [])) == set(got["assisting"]),
        "leaders": set(want.get("leaders", [])) == set(got["leaders"]),
        "due_date": want.get("due_date") == got["due_date"],
        "ongoing": bool(want.get("ongoing")) == got["ongoing"],
        "recurrence": want.get("recurrence") == got["recurrence"],
        "past": bool(want.get("past")) == any("时限已过" in w for w in got["warnings"]),
    }


def score(runner) -> tuple[dict[str, list[int]], list[str], int]:
    """(field → [right, total], readable diff lines, missing + extra items)."""
    tally = {
        name: [0, 0]
        for name in ("lead", "assisting", "leaders", "due_date", "ongoing", "recurrence", "past", "unknown")
    }
    diff: list[str] = []
    junk = 0
    for path in documents():
        doc = expected(path)
        out = parse(runner, path, doc)
        got, want = out["items"], doc["items"]
        found = {u["text"] for u in out["unknown"]}
        for name in doc.get("unknown", []):  # every unit no district name stands for is reported
            tally["unknown"][0] += name in found
            tally["unknown"][1] += 1
            if name not in found:
                diff.append(f"{path.name}: unknown {name} not reported (got {sorted(found)})")
        if len(got) != len(want):
            junk += abs(len(got) - len(want))
            diff.append(
                f"{path.name}: {len(got)} items, expected {len(want)}: "
                + " | ".join(g["requirement"][:16] for g in got)
            )
        for k, (w, g) in enumerate(zip(want, got), start=1):
            start = "".join((w.get("starts_with") or "").split())
            if start and not "".join(g["requirement"].split()).startswith(start):
                junk += 1
                diff.append(f"{path.name} item {k}: starts {g['requirement'][:16]!r}, expected {start!r}")
            for name, ok in compare(w, g).items():
                tally[name][0] += ok
                tally[name][1] += 1
                if not ok:
                    key = {"past": "warnings"}.get(name, name)
                    diff.append(f"{path.name} item {k} {name}: got {g[key]!r}, expected {w.get(name)!r}")
    return tally, diff, junk


@pytest.fixture
def district(app, session):
    build_org(session)
    session.commit()
    return app


def test_the_corpus_is_read_like_a_clerk(district):
    assert documents(), "no corpus"
    tally, diff, junk = score(district.test_cli_runner())
    rates = {name: right / total for name, (right, total) in tally.items()}
    report = "\n".join(
        [f"{name}: {right}/{total} = {right / total:.1%}" for name, (right, total) in tally.items()] + diff
    )
    assert junk == 0, report
    assert all(rates[name] >= THRESHOLD for name in FIELDS), report
