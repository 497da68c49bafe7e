"""Client keys on tickets and callbacks, for per-address limits (issue 11, finding 6).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

`client_key` is a keyed digest of the caller's address (never the address
itself: `bot.core.conversations.client_key`), so the web app can count one
address's open tickets and recent callbacks. Written out, not taken from models.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("handoff_tickets", "callback_requests")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("client_key", sa.String(64), nullable=True))
        op.create_index(f"ix_{table}_client_key", table, ["client_key"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_client_key", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("client_key")
