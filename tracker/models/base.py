"""What every table module shares: the constraint naming convention and the column helpers.

Timestamps are stored as UTC through ``UTCDateTime`` (SQLite drops offsets);
deadlines are plain ``DATE`` columns. Enumerations are stored as short strings
so that the same schema works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timezone
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from tracker import clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


class UTCDateTime(sa.types.TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on every database."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


def _ts(**kw: Any):
    return Field(default_factory=clock.now, sa_type=UTCDateTime, **kw)


def _opt_ts():
    return Field(default=None, sa_type=UTCDateTime)


def _json():
    return Field(default=None, sa_type=sa.JSON)
