"""Numbers and dates from query strings and forms, one way everywhere.

The rules (ASCII digits only, bounded; dates 1900-2100) are ``tracker.services.validation``'s;
this module reads them out of the request.
"""

from __future__ import annotations

from datetime import date

from flask import request

from tracker.services.validation import parse_date, to_int

__all__ = ["arg_date", "page_number", "parse_date", "to_int"]


def page_number(value) -> int:
    """A page number from the query string; anything unreadable or below 1 is the first page."""
    n = to_int(value, max_digits=6)
    return n if n and n > 0 else 1


def arg_date(name: str, label: str) -> date | None:
    """The date in the query string or form field ``name``; blank is None, anything unreadable or
    outside 1900-2100 a 400 naming ``label``."""
    return parse_date(request.values.get(name), label=label, field=name)
