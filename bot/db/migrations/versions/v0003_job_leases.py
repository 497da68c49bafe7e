"""Job leases: a background job runs in one process at a time (issue 13).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

One row per job (the retention purge is ``privacy.purge``): who holds it, until
when, and when it last finished. Written out, not taken from models.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("holder", sa.String(120), nullable=True),
        sa.Column("lease_until", _TZ, nullable=True),
        sa.Column("last_run_at", _TZ, nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_job_leases"),
    )
    # Indexes the retention job filters on (conversation and age).
    op.create_index(
        "ix_callback_requests_conversation_id", "callback_requests", ["conversation_id"]
    )
    op.create_index("ix_callback_requests_phone", "callback_requests", ["phone"])


def downgrade() -> None:
    op.drop_index("ix_callback_requests_phone", table_name="callback_requests")
    op.drop_index("ix_callback_requests_conversation_id", table_name="callback_requests")
    op.drop_table("job_leases")
