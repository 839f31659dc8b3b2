"""Form pieces rendered in Python rather than in a template loop.

A department drop-down is ~45 options; the lead's task page has one or two of them and the office
list three (with ~200 sources). Rendered option by option in the template (two escapes, a
comparison, a Markup each) they were a large part of those pages' template time. A list stays the
same from page to page until a department, leader or source changes, so its HTML is kept per list.
"""

from __future__ import annotations

import functools

from flask import g
from markupsafe import Markup

from tracker.db import get_session
from tracker.services.calendar import load_calendar

_OPTION = Markup('<option value="{}">{}</option>')
_CHOSEN = Markup('<option value="{}" selected>{}</option>')


@functools.lru_cache(maxsize=64)
def _unselected(choices: tuple[tuple[str, str], ...]) -> tuple[Markup, frozenset[str]]:
    return Markup("").join(_OPTION.format(value, label) for value, label in choices), frozenset(v for v, _ in choices)


def select_options(choices, chosen=None) -> Markup:
    """``<option>`` elements for (value, label) pairs, the one whose value equals ``chosen`` selected.
    Every value and label is escaped (tests/test_widgets.py, tests/test_security_inputs.py)."""
    choices = tuple(choices)
    html, values = _unselected(choices)
    if chosen not in values:
        return html
    return Markup("").join((_CHOSEN if value == chosen else _OPTION).format(value, label) for value, label in choices)


_PROVISIONAL = Markup(
    '{}<span class="provisional text-warning-emphasis" title="{}年节假日安排尚未录入，按周一至周五推算，'
    '公布后可能调整">（暂定）</span>'
)


def due(day) -> Markup | str:
    """A due date as pages show it: 2026-12-31, marked （暂定） while its year's holidays are not
    entered (the working days it was counted in may still move: ``WorkCalendar.is_provisional``)."""
    if day is None:
        return ""
    calendar = g.get("due_calendar")
    if calendar is None:  # once per request: a list shows hundreds of dates, each would ask the database
        calendar = g.due_calendar = load_calendar(get_session())
    if calendar.is_provisional(day):
        return _PROVISIONAL.format(day.isoformat(), day.year)
    return day.isoformat()
