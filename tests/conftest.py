"""Test fixtures: one database per run, emptied before each test.

TRACKER_TEST_DATABASE_URL picks the engine (default: a SQLite file in a temp
folder). The schema is built by the real Alembic migrations, so every run also
tests them. A PostgreSQL URL that cannot be reached stops the run with an
error: the PostgreSQL suite must never skip silently.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from tracker import clock, create_app, migrate
from tracker.config import Settings
from tracker.db import make_engine
from tracker.services.calendar import seed_holidays, seed_presets

pytest_plugins = ["tests.browser"]

# Tables that hold reference data set up once per run; tests that change them restore them.
KEPT_TABLES = {"holiday", "calendaryear", "calendarday", "timelimitpreset", "alembic_version"}

TODAY = date(2026, 11, 23)  # a Monday


def _database_url(tmp_dir: Path) -> str:
    url = os.environ.get("TRACKER_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_dir / 'test.db'}"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and url.startswith("postgresql"):
        url = _worker_database(url, worker)
    return url


def _worker_database(url: str, worker: str) -> str:
    """Under pytest-xdist each worker gets a database of its own (test_gw0, test_gw1…),
    created on first use: the tests empty tables freely and must not meet each other."""
    base = sa.engine.make_url(url)
    name = f"{base.database}_{worker}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:  # never skip: fail loudly
        pytest.exit(f"cannot create the worker database {name}: {exc}", returncode=3)
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def pytest_report_header(config):
    url = os.environ.get("TRACKER_TEST_DATABASE_URL") or "sqlite (temporary file)"
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    return f"tracker test database: {backend}"


@pytest.fixture(scope="session")
def engine():
    tmp_dir = Path(tempfile.mkdtemp(prefix="tracker-test-"))
    url = _database_url(tmp_dir)
    eng = make_engine(url)
    try:
        with eng.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:  # never skip: fail loudly
        pytest.exit(f"cannot reach the test database {url}: {exc}", returncode=3)
    if eng.dialect.name == "postgresql":
        with eng.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    migrate.upgrade(eng)
    with Session(eng) as session:
        seed_holidays(session)
        seed_presets(session)
        session.commit()
    yield eng
    eng.dispose()


def _empty(engine: sa.Engine) -> None:
    tables = [t for t in SQLModel.metadata.sorted_tables if t.name not in KEPT_TABLES]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # DELETE beats TRUNCATE on small tables (no new relfilenodes); one round trip.
            conn.exec_driver_sql("; ".join(f'DELETE FROM "{t.name}"' for t in reversed(tables)))
        else:
            for table in reversed(tables):
                conn.execute(table.delete())


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing():
    from tracker.services.organisation import directory as organisation

    organisation.PASSWORD_METHOD = "pbkdf2:sha256:1000"


@pytest.fixture(autouse=True)
def _frozen_today():
    with clock.frozen(TODAY):
        yield


@pytest.fixture
def db(engine):
    """An empty database (reference tables kept) for this test."""
    _empty(engine)
    yield engine


@pytest.fixture
def session(db):
    with Session(db, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def app(db, tmp_path):
    settings = Settings(
        env="testing",
        database_url=str(db.url),
        instance_path=tmp_path / "instance",
        today=TODAY,
        secret_key="test-secret",
    )
    application = create_app(settings, engine=db)
    yield application
    clock.set_today(None)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def restore_calendar(engine):
    """For tests that edit the holiday table: put the package's calendar back afterwards."""
    yield
    from tracker.models import CalendarYear, Holiday

    with Session(engine) as s:
        s.exec(sa.delete(Holiday))
        s.exec(sa.delete(CalendarYear))
        s.commit()
        seed_holidays(s)
        s.commit()
