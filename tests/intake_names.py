"""The demo district's names as an in-memory ``NameScanner``: unit tests of the minutes reader
need the organisation's vocabulary but no database."""

from __future__ import annotations

from functools import lru_cache

from tracker.demo.organisation import vocabulary
from tracker.services.organisation.resolve import NameScanner


@lru_cache(maxsize=1)
def demo_scanner() -> NameScanner:
    return NameScanner(*vocabulary())
