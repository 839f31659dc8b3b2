"""server-side sessions and an atomic login throttle

A login becomes a ``usersession`` row that logout, "sign out everywhere", an administrator
and a password change revoke at once. ``loginthrottle`` replaces ``loginfailure``: one row per
account, address or trusted browser whose count a conditional UPDATE claims, instead of one row
per failure counted afterwards (15 parallel tries were all checked). The failures on record are
not carried over: at worst an attacker's current window starts again.

Revision ID: 5e2a8c4f1d37
Revises: 5e3b7c9a1d26
Create Date: 2026-12-02 09:00:00.000000
"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

import tracker.models

revision: str = "5e2a8c4f1d37"
down_revision: Union[str, None] = "5e3b7c9a1d26"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "usersession",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", tracker.models.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", tracker.models.UTCDateTime(), nullable=False),
        sa.Column("ip", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_agent", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("revoked_at", tracker.models.UTCDateTime(), nullable=True),
        sa.Column("revoked_reason", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_usersession_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usersession")),
    )
    with op.batch_alter_table("usersession", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_usersession_user_id"), ["user_id"], unique=False)

    op.create_table(
        "loginthrottle",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", tracker.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "subject", name=op.f("pk_loginthrottle")),
    )

    with op.batch_alter_table("loginfailure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loginfailure_username"))
        batch_op.drop_index(batch_op.f("ix_loginfailure_at"))
    op.drop_table("loginfailure")


def downgrade() -> None:
    op.create_table(
        "loginfailure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("ip", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", tracker.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loginfailure")),
    )
    with op.batch_alter_table("loginfailure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loginfailure_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_loginfailure_username"), ["username"], unique=False)

    op.drop_table("loginthrottle")
    with op.batch_alter_table("usersession", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usersession_user_id"))
    op.drop_table("usersession")
