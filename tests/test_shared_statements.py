"""Statements that a process builds once and its request threads share.

SQLAlchemy fills some of a statement's internals on first use without a lock (a column
collection's proxy index). Built by several threads at once, the task page's statement once left
the aliased ``last_return`` columns on the base ``closerequest`` table; cached, it failed every
task page of that gunicorn worker (bench/load, one run of ~25)."""

from __future__ import annotations

import re
import sys
import threading
from datetime import date

import pytest
from sqlalchemy.dialects import postgresql

from tracker.rules.overdue import Horizon
from tracker.services.tasks import page as taskpage

BASE_TABLE = re.compile(r"\b(closerequest|changerequest|extensionrequest)\.")


@pytest.fixture
def fast_switching():
    """Threads switch every microsecond: the interleavings that a loaded server hits by chance."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_the_task_page_statement_built_by_many_threads_at_once_keeps_its_aliases(fast_switching):
    h = Horizon(date(2026, 11, 23), date(2026, 11, 26), 100)
    bad = 0
    for _ in range(40):
        taskpage.task_select.cache_clear()
        taskpage._request_aliases.cache_clear()
        threads, out = 8, []
        barrier = threading.Barrier(threads)

        def build(barrier=barrier, out=out):
            barrier.wait()
            out.append(str(taskpage.task_select(h).compile(dialect=postgresql.dialect())))

        workers = [threading.Thread(target=build) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert len(out) == threads
        bad += sum(1 for sql in out if BASE_TABLE.search(sql))
    assert bad == 0, f"{bad} of {40 * 8} statements named a base table instead of its alias"
