"""Human handoff: staff accounts, sessions, tickets, messages, callbacks, feedback, audit.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-01

Written out (not taken from models.py) so it stays what it was when later
revisions change the models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_OPEN = "status IN ('queued', 'assigned')"
_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer()),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("last_login_at", _TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_staff_users"),
        sa.UniqueConstraint("username", name="uq_staff_users_username"),
        sa.CheckConstraint("role IN ('agent', 'supervisor')", name="ck_staff_users_role"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("expires_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_staff_sessions"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_users.id"],
            name="fk_staff_sessions_user_id_staff_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_staff_sessions_user_id", "staff_sessions", ["user_id"])
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer()),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("remote", sa.String(64), nullable=True),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_attempts"),
    )
    op.create_index("ix_login_attempts_username_at", "login_attempts", ["username", "at"])
    op.create_table(
        "handoff_tickets",
        sa.Column("id", sa.Integer()),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("assigned_to", sa.Integer(), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("claimed_at", _TZ, nullable=True),
        sa.Column("closed_at", _TZ, nullable=True),
        sa.Column("last_position", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_tickets"),
        sa.ForeignKeyConstraint(
            ["assigned_to"], ["staff_users.id"], name="fk_handoff_tickets_assigned_to_staff_users"
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'assigned', 'released', 'resolved', 'cancelled')",
            name="ck_handoff_tickets_status",
        ),
        sa.CheckConstraint(
            "priority IN ('urgent', 'normal')", name="ck_handoff_tickets_priority"
        ),
    )
    op.create_index(
        "ix_handoff_tickets_conversation_id", "handoff_tickets", ["conversation_id"]
    )
    op.create_index("ix_handoff_tickets_assigned_to", "handoff_tickets", ["assigned_to"])
    op.create_index(
        "ix_handoff_tickets_status_created", "handoff_tickets", ["status", "created_at"]
    )
    op.create_index(
        "uq_handoff_tickets_open_conversation",
        "handoff_tickets",
        ["conversation_id"],
        unique=True,
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )
    op.create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer()),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("sender", sa.String(10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("staff_name", sa.String(200), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_messages"),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["handoff_tickets.id"],
            name="fk_handoff_messages_ticket_id_handoff_tickets",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_users.id"], name="fk_handoff_messages_staff_id_staff_users"
        ),
        sa.UniqueConstraint(
            "conversation_id", "message_id", name="uq_handoff_messages_message"
        ),
        sa.CheckConstraint(
            "sender IN ('caller', 'bot', 'staff', 'system')", name="ck_handoff_messages_sender"
        ),
    )
    op.create_index(
        "ix_handoff_messages_ticket_id_id", "handoff_messages", ["ticket_id", "id"]
    )
    op.create_table(
        "callback_requests",
        sa.Column("id", sa.Integer()),
        sa.Column("conversation_id", sa.String(255), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("preferred_time", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("done_at", _TZ, nullable=True),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_callback_requests"),
        sa.ForeignKeyConstraint(
            ["done_by"], ["staff_users.id"], name="fk_callback_requests_done_by_staff_users"
        ),
        sa.CheckConstraint("status IN ('open', 'done')", name="ck_callback_requests_status"),
    )
    op.create_index(
        "ix_callback_requests_status_created", "callback_requests", ["status", "created_at"]
    )
    op.create_table(
        "canned_responses",
        sa.Column("id", sa.Integer()),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_canned_responses"),
        sa.UniqueConstraint("title", name="uq_canned_responses_title"),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer()),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["handoff_tickets.id"],
            name="fk_feedback_ticket_id_handoff_tickets",
            ondelete="SET NULL",
        ),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="ck_feedback_rating"),
    )
    op.create_index("ix_feedback_conversation_id", "feedback", ["conversation_id"])
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer()),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("target", sa.String(255), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["staff_users.id"], name="fk_audit_log_actor_id_staff_users"
        ),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    for table in (
        "audit_log",
        "feedback",
        "canned_responses",
        "callback_requests",
        "handoff_messages",
        "handoff_tickets",
        "login_attempts",
        "staff_sessions",
        "staff_users",
    ):
        op.drop_table(table)
