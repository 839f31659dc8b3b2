"""What the pages say to clerks: rule citations (004 §57) belong in code, tests and the
administrator's time-limit presets, whose 依据 field is such a citation, never in what a clerk reads."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "tracker" / "templates"
# the presets' 依据 column is a citation by definition (an administrator's page)
CITATIONS_ALLOWED = {"admin/preset_form.html", "admin/presets.html"}


def test_no_rule_citations_in_pages():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if name in CITATIONS_ALLOWED:
            continue
        text = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.S)  # comments are for us
        found += [f"{name}: {m.group()}" for m in re.finditer(r"\d{3}\s*§\s*\d+", text)]
    assert not found, found
