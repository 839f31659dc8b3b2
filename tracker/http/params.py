"""Numbers and dates from query strings and forms, one way everywhere.

The rules (ASCII digits only, bounded; dates 1900-2100) are ``tracker.services.validation``'s,
which the fronts reach through here; a page number is the fronts' own.
"""

from __future__ import annotations

from tracker.services.validation import parse_date, to_int

__all__ = ["page_number", "parse_date", "to_int"]


def page_number(value) -> int:
    """A page number from the query string; anything unreadable or below 1 is the first page."""
    n = to_int(value, max_digits=6)
    return n if n and n > 0 else 1
