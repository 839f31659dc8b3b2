"""audit viewer: the log read newest first per person and per action

Revision ID: a7d3f19c4e21
Revises: 5e2a8c4f1d37
Create Date: 2026-12-08 09:00:00.000000
"""

from typing import Sequence, Union

from alembic import op

revision: str = "a7d3f19c4e21"
down_revision: Union[str, None] = "5e2a8c4f1d37"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.create_index("ix_auditevent_actor_id_id", ["actor_id", "id"], unique=False)
        batch_op.create_index("ix_auditevent_action_id", ["action", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.drop_index("ix_auditevent_action_id")
        batch_op.drop_index("ix_auditevent_actor_id_id")
