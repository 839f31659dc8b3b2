"""SQL statements built once per process and shared by its request threads.

Building a statement costs more Python time than running it, so the services keep each one
(``@shared``) and every gunicorn thread runs the same object. SQLAlchemy fills some of a
statement's internals lazily, on first use and without a lock: a column collection's proxy
index (SQLAlchemy 2.1.9, ``ColumnCollection.corresponding_column``) is filled in place, and a
thread that meets it half filled looks a column up, misses, and the ORM leaves an aliased
column on its base table. The task page's statement, built by two threads at once, selected
``closerequest.decided_at`` instead of ``last_return.decided_at``; cached, it failed every task
page of that worker for the rest of its life (bench/load: 1,789 errors in one run of ~25;
tests/test_shared_statements.py).

So a shared statement is built under one lock, and everything in it that has a column
collection is primed (its index built) before any other thread can see it; the tables are
primed once at start (``prime_tables``).
"""

from __future__ import annotations

import functools
import threading
from typing import Callable, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm.util import AliasedClass
from sqlalchemy.sql import visitors

T = TypeVar("T")

_lock = threading.RLock()  # re-entrant: a builder calls other builders
_PROBE = sa.column("shared_sql_probe")  # in no collection: looking it up builds the index


def _prime_columns(from_clause: sa.FromClause) -> None:
    from_clause.c.corresponding_column(_PROBE)


def prime(value: T) -> T:
    """Build the lazy column indexes of ``value`` (a statement, an expression, an aliased
    class, or a tuple of them) in this thread; returns ``value``."""
    if isinstance(value, (tuple, list)):
        for item in value:
            prime(item)
    elif isinstance(value, AliasedClass):
        _prime_columns(sa.inspect(value).selectable)
    elif isinstance(value, sa.ClauseElement):
        for element in visitors.iterate(value):
            if isinstance(element, sa.FromClause):
                _prime_columns(element)
    return value


def shared(maxsize: int | None = None) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """``functools.lru_cache`` for statement builders: a miss is built under the process's lock
    and primed before it is cached or returned (see the module's docstring)."""

    def decorate(build: Callable[..., T]) -> Callable[..., T]:
        def locked(*args, **kwargs):
            with _lock:
                return prime(build(*args, **kwargs))

        return functools.lru_cache(maxsize)(functools.wraps(build)(locked))

    return decorate


def prime_tables(metadata: sa.MetaData) -> None:
    """The tables are shared by every statement: prime them, and configure the mappers, before
    the first request (``create_app``)."""
    sa.orm.configure_mappers()
    with _lock:
        for table in metadata.tables.values():
            _prime_columns(table)
