"""Engine factory and the unit of work.

A web request gets one session on ``g`` (``get_session()``), closed at teardown;
views commit once. CLI commands and jobs use ``session_scope()``. No module-level
sessions: the engine lives on the app.
"""

from __future__ import annotations

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
    kw.setdefault("pool_pre_ping", True)
    engine = _postgres_engine(url, **kw)
    _watch_writes(engine)
    return engine


def _watch_writes(engine: sa.Engine) -> None:
    """Mark a connection whose transaction has written (see ``close_session``)."""

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _mark(conn, _cursor, statement, _params, _context, _many):
        if not statement.lstrip()[:6].upper() == "SELECT":
            conn.info["tracker_wrote"] = True

    @sa.event.listens_for(engine, "commit")
    @sa.event.listens_for(engine, "rollback")
    def _clear(conn):
        conn.info.pop("tracker_wrote", None)


def _cache_long_statements() -> None:
    """Let psycopg keep its conversion (``%(name)s`` -> ``$n``) of statements up to 16 KB.

    It caches only those under 4 KB; the task row with its derived state is ~5 KB, and converting
    it again cost 0.28 ms of every task page (3 % of the workers' CPU under load, py-spy). A
    private constant: if a psycopg release drops it, nothing breaks, the cache is just smaller."""
    from psycopg import _queries

    if getattr(_queries, "MAX_CACHED_STATEMENT_LENGTH", 0) < 16384:
        _queries.MAX_CACHED_STATEMENT_LENGTH = 16384


def _postgres_engine(url: str, **kw) -> sa.Engine:
    _cache_long_statements()
    # JIT compiles the large, cheap list and count queries for longer than they run
    # (0.8 s of compiling for a 0.1 s board query at 100k tasks): off for the whole app.
    connect_args = kw.pop("connect_args", {})
    connect_args.setdefault("options", "-c jit=off")
    return sa.create_engine(url, connect_args=connect_args, **kw)


def is_postgres(engine_or_session) -> bool:
    bind = getattr(engine_or_session, "bind", None) or engine_or_session
    return bind.dialect.name == "postgresql"


def engine() -> sa.Engine:
    return current_app.extensions["tracker_engine"]


def get_session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = Session(engine(), expire_on_commit=False)
    return g.db_session


def close_session(exc=None) -> None:
    """End the request's transaction: COMMIT when it only read, else ROLLBACK what was not committed.

    psycopg drops a connection's prepared statements on every ROLLBACK, so PostgreSQL would plan
    each page's statements afresh on every request; a read-only transaction ends the same either
    way. Anything written (a statement other than SELECT since the last commit) or pending in the
    session is rolled back, as before."""
    session = g.pop("db_session", None)
    if session is not None:
        try:
            if exc is None and _read_only(session):
                session.commit()
            session.close()  # rolls back anything not committed
        except sa.exc.SQLAlchemyError:
            # The database went away mid-request (a restart): the rollback cannot reach it. Raising
            # here would escape Flask as the WSGI server's bare 500; the pool discards the connection.
            current_app.logger.warning("closing the session failed: database unavailable")


def _read_only(session: Session) -> bool:
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return False
    if not is_postgres(session.get_bind()):
        return False  # SQLite keeps no prepared statements across transactions: nothing to gain
    return not session.connection().info.get("tracker_wrote")


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
