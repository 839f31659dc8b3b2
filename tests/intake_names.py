"""The demo district's names as an in-memory ``NameScanner``: unit tests of the minutes reader
need the organisation's vocabulary but no database."""

from __future__ import annotations

from functools import lru_cache

from tracker.demo.organisation import DEPARTMENTS, LEADERS
from tracker.models import Department, DepartmentAlias, Leader
from tracker.services.organisation.resolve import DepartmentResolver, LeaderResolver, NameScanner


@lru_cache(maxsize=1)
def demo_scanner() -> NameScanner:
    rows, aliases = [], []
    for i, (key, full, names, kind, _leader) in enumerate(DEPARTMENTS, start=1):
        rows.append(Department(id=i, name=full, short_name=key, kind=kind.value, active=True, sort_order=i))
        aliases += [
            DepartmentAlias(id=len(aliases) + 1, department_id=i, alias=a) for a in names if a not in (full, key)
        ]
    leaders = [
        Leader(id=i, name=name, title=title, active=True, sort_order=i)
        for i, (_key, name, title) in enumerate(LEADERS, start=1)
    ]
    return NameScanner(DepartmentResolver.build(rows, aliases), LeaderResolver.build(leaders))
