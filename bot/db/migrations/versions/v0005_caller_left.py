"""When a queued caller's web chat went away (issue 11, finding 6).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

`caller_left_at` is set when the last socket of a waiting caller's conversation
disconnects and cleared when one comes back; a queued ticket whose caller stayed
away longer than `HOTLINE_QUEUE_LEFT_SECONDS` is cancelled, so abandoned chats
(or scripted ones) do not hold places. Written out, not taken from models.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoff_tickets") as batch:
        batch.add_column(sa.Column("caller_left_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoff_tickets") as batch:
        batch.drop_column("caller_left_at")
