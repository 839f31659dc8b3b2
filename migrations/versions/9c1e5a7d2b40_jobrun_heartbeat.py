"""jobrun heartbeat: a run whose process died shows as interrupted

Revision ID: 9c1e5a7d2b40
Revises: f3ffe90a4080
Create Date: 2026-11-26 14:50:00.000000
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import tracker.models

revision: str = "9c1e5a7d2b40"
down_revision: Union[str, None] = "f3ffe90a4080"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("jobrun", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", tracker.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobrun", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
