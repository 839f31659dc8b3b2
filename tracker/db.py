"""Engine factory and the unit of work.

A web request gets one session on ``g`` (``get_session()``), closed at teardown;
views commit once. CLI commands and jobs use ``session_scope()``. No module-level
sessions: the engine lives on the app.
"""

from __future__ import annotations

import functools
import re
import select
from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa
from flask import current_app, g
from sqlalchemy.pool import StaticPool
from sqlmodel import Session


def make_engine(url: str, **kw) -> sa.Engine:
    if url.startswith("sqlite"):
        connect_args = {"check_same_thread": False, "timeout": 30}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kw.setdefault("poolclass", StaticPool)
        engine = sa.create_engine(url, connect_args=connect_args, **kw)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # PITFALLS: WAL, busy_timeout, FKs
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return _postgres_engine(url, **kw)


# A SELECT that locks rows or takes a transaction-scoped advisory lock must run inside the
# transaction that will release it; every other statement than SELECT opens one too.
_LOCKING = re.compile(
    r"\bFOR\s+(?:NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b|\bpg_(?:try_)?advisory_xact_lock", re.IGNORECASE
)


@functools.lru_cache(maxsize=1024)
def _needs_transaction(statement: str) -> bool:
    return statement.lstrip()[:6].upper() != "SELECT" or bool(_LOCKING.search(statement))


def _postgres_engine(url: str, **kw) -> sa.Engine:
    """Plain reads run outside any transaction; the first statement that writes or locks opens one.

    A read-only page is then its own statements and nothing else: no BEGIN, no COMMIT, no ping
    (three of the six round trips of an inbox page). At READ COMMITTED, PostgreSQL's default, every
    statement sees a fresh snapshot anyway, so a transaction around reads bought no consistency; what
    needs one (writes, SELECT … FOR UPDATE, advisory xact locks, SAVEPOINT) still gets it, begun just
    before that statement and ended by the session's commit or rollback. On saturated cores each
    round trip waits for both processes (web worker and PostgreSQL) to be scheduled."""
    _cache_long_statements()
    # JIT compiles the large, cheap list and count queries for longer than they run
    # (0.8 s of compiling for a 0.1 s board query at 100k tasks): off for the whole app.
    connect_args = kw.pop("connect_args", {})
    connect_args.setdefault("options", "-c jit=off")
    connect_args.setdefault("cursor_factory", _described_cursor())
    kw.setdefault("isolation_level", "AUTOCOMMIT")  # psycopg: BEGIN only when we send it
    engine = sa.create_engine(url, connect_args=connect_args, **kw)
    _begin_on_demand(engine)
    _discard_dead_connections(engine)
    return engine


def _begin_on_demand(engine: sa.Engine) -> None:
    from psycopg.pq import TransactionStatus

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _begin(conn, cursor, statement, _params, _context, _many):
        raw = cursor.connection
        if raw.info.transaction_status != TransactionStatus.IDLE or not _needs_transaction(statement):
            return
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # asked for explicitly (VACUUM, CREATE DATABASE): no transaction at all
        cursor.execute("BEGIN", prepare=False)


def _discard_dead_connections(engine: sa.Engine) -> None:
    """Replace a pooled connection the server has closed (a restart), without a round trip.

    An idle connection has nothing to read; once PostgreSQL ends it (restart, terminated backend),
    its socket holds the FATAL message and end-of-file. ``pool_pre_ping`` found the same with a
    ``SELECT 1`` on every checkout. ``DisconnectionError`` makes the pool reconnect (SQLAlchemy,
    "Disconnect Handling - Pessimistic")."""

    @sa.event.listens_for(engine, "checkout")
    def _check(dbapi_conn, _record, _proxy):
        if dbapi_conn.closed or dbapi_conn.broken:
            raise sa.exc.DisconnectionError("connection closed")
        poller = select.poll()
        poller.register(dbapi_conn.pgconn.socket, select.POLLIN | select.POLLPRI)
        if poller.poll(0):
            raise sa.exc.DisconnectionError("server closed the connection")


def _cache_long_statements() -> None:
    """Let psycopg keep its conversion (``%(name)s`` -> ``$n``) of statements up to 16 KB.

    It caches only those under 4 KB; the task row with its derived state is ~5 KB, and converting
    it on every execution costs 0.28 ms of every task page (3 % of the workers' CPU under load). A
    private constant: if a psycopg release drops it, nothing breaks, the cache is just smaller."""
    from psycopg import _queries

    if getattr(_queries, "MAX_CACHED_STATEMENT_LENGTH", 0) < 16384:
        _queries.MAX_CACHED_STATEMENT_LENGTH = 16384


@functools.cache
def _described_cursor() -> type:
    """A psycopg cursor that builds each statement's ``description`` once, not on every execution.

    SQLAlchemy reads ``cursor.description`` after every statement, and psycopg builds a new
    ``Column`` per field each time (name decoded, type looked up): 25 µs for a 26-field row, 2 µs
    from here; a page runs 3-5 statements and the task row has 70 fields. What PostgreSQL describes
    is fixed by the statement's text and the result's field types (a parameter of another type
    changes the types of the fields it reaches), so those are the key; anything but one plain
    result set (a command, a COPY, a stream, a string of several statements) goes the usual way."""
    import psycopg
    from psycopg.pq import ExecStatus

    described: dict[tuple, list] = {}

    class DescribedCursor(psycopg.Cursor):
        __slots__ = ()

        @property
        def description(self):
            # The statement as the caller passed it: psycopg keeps its converted form (``_query``)
            # only for statements it has not prepared, i.e. the first five runs of each.
            res, query = self.pgresult, self._last_query
            if res is None or type(query) is not str or res.status != ExecStatus.TUPLES_OK or len(self._results) != 1:
                return super().description  # several results ("SELECT 1 AS a; SELECT 2 AS b"): as psycopg
            key = (query, tuple(map(res.ftype, range(res.nfields))))
            columns = described.get(key)
            if columns is None:
                if len(described) >= 2048:  # statements built per request would grow it without end
                    described.clear()
                columns = described[key] = super().description
            return list(columns)

    return DescribedCursor


def is_postgres(engine_or_session) -> bool:
    bind = getattr(engine_or_session, "bind", None) or engine_or_session
    return bind.dialect.name == "postgresql"


def engine() -> sa.Engine:
    return current_app.extensions["tracker_engine"]


def begin_write(session: Session) -> None:
    """From here to the end of the transaction, no other writer: what is read next stays true.

    PostgreSQL needs nothing here: ``SELECT … FOR UPDATE`` (``lock``) opens the transaction and
    locks the rows it reads. SQLite has no row locks and ignores ``FOR UPDATE``, and pysqlite reads
    outside any transaction until the first write: two requests could both read "still pending" and
    then both write. ``BEGIN IMMEDIATE`` takes the database's one write lock now (waiting up to
    ``busy_timeout`` for another writer to finish), so the reads that follow are the writer's. A
    transaction already open has written, and holds that lock already."""
    conn = session.connection()
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def lock(session: Session, stmt: sa.Select) -> sa.Result:
    """Run ``stmt`` with its rows locked until the end of the transaction, and read afresh.

    ``populate_existing``: an object already in the session (``session.get`` before the lock, a view
    that looked the row up first) is overwritten with what the row holds now, not kept as it was read
    (PITFALLS: the identity map's copy is stale). Lock rows of one task in one order, the task first,
    so that two units of work never wait on each other."""
    begin_write(session)
    return session.exec(stmt.with_for_update().execution_options(populate_existing=True))


def locked(session: Session, model: type, ident) -> object | None:
    """The row of ``model`` with primary key ``ident``, locked and read afresh (``lock``)."""
    begin_write(session)
    return session.get(model, ident, with_for_update=True, populate_existing=True)


def get_session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = Session(engine(), expire_on_commit=False)
    return g.db_session


def close_session(exc=None) -> None:
    """End the request: roll back whatever it wrote and did not commit.

    On PostgreSQL a request that only read never opened a transaction (``_begin_on_demand``), so
    this sends nothing, and psycopg keeps the connection's prepared statements (it drops them on
    every ROLLBACK)."""
    session = g.pop("db_session", None)
    if session is not None:
        try:
            session.close()
        except sa.exc.SQLAlchemyError:
            # The database went away mid-request (a restart): the rollback cannot reach it. Raising
            # here would escape Flask as the WSGI server's bare 500; the pool discards the connection.
            current_app.logger.warning("closing the session failed: database unavailable")


@contextmanager
def session_scope(bind: sa.Engine | None = None) -> Iterator[Session]:
    """One unit of work outside a request: commit on success, roll back on error."""
    session = Session(bind or engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
