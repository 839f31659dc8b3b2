"""Numbers from query strings and forms, one way everywhere.

Only ASCII digits count: ``"²".isdigit()`` is true but ``int("²")`` raises, which
once turned ``?page=²`` into a 500. Bounded, so a huge number is not an id.
"""

from __future__ import annotations


def to_int(value, *, max_digits: int = 9) -> int | None:
    text = str(value or "").strip()
    if text.isascii() and text.isdigit() and len(text) <= max_digits:
        return int(text)
    return None


def page_number(value) -> int:
    """A page number from the query string; anything unreadable or below 1 is the first page."""
    n = to_int(value, max_digits=6)
    return n if n and n > 0 else 1
