"""Expression helpers that keep a statement's SQL text fixed from one execution to the next.

SQLAlchemy turns ``column.in_(list)`` into an "expanding" parameter: the compiled statement is
cached, but its text is rewritten on every execution to fit the list (a regular expression over
the whole statement; the task row is 5 KB). Rewriting the status filters and id lists below on
every page would cost 3-5 % of the inbox's CPU.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


def one_of(column, values) -> sa.ColumnElement[bool]:
    """``column IN (fixed values)`` with one ordinary parameter per value: for lists fixed in the
    code (the statuses of a workflow stage), compiled once like any other comparison."""
    return column.in_([sa.literal(v, column.type) for v in values])


def none_of(column, values) -> sa.ColumnElement[bool]:
    """``column NOT IN (fixed values)``, as ``one_of``."""
    return column.not_in([sa.literal(v, column.type) for v in values])


def id_in(column, name: str, pg: bool, item_type=sa.Integer) -> sa.ColumnElement[bool]:
    """``column IN ids`` for a list that varies per execution (parameter ``name``): on PostgreSQL
    ``= ANY(array)``, one statement text for any number of ids (an expanding IN gives one text per
    count, and past 50 parameters psycopg converts the statement afresh every time)."""
    if pg:
        return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(item_type)))
    return column.in_(sa.bindparam(name, expanding=True))


def contains_pattern(text: str) -> str:
    """``%text%`` for ``ilike(pattern, escape="\\")``: the text's own ``%``, ``_`` and ``\\`` match
    themselves."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
