"""Alembic environment: the engine comes from the caller (tracker.migrate), or from
the app's settings when alembic is run by hand (``alembic -c migrations/alembic.ini``)."""

from alembic import context
from sqlmodel import SQLModel

import tracker.models  # noqa: F401  (registers the tables)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from tracker.config import load_settings
        from tracker.db import make_engine

        engine = make_engine(load_settings().resolved_database_url)
        with engine.begin() as conn:
            _run(conn)
        return
    _run(connection)


def _include_name(name, type_, parent_names) -> bool:
    """APScheduler's job store keeps its own table (tracker/jobs.py): autogenerate leaves it be."""
    return not (type_ == "table" and name == "apscheduler_jobs")


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
