"""SQLAlchemy models of the awards register.

Declarative classes on SQLAlchemy 1.4, queried only with the 2.0-style
`select()` API (Rasa 3.6 pins SQLAlchemy < 2). Amounts are integer pence, never
floats. Closed vocabularies are `CHECK` constraints over plain strings rather
than native enums, so one migration works on SQLite and PostgreSQL and adding
a value later is a simple constraint change.

Relationships use `lazy="raise"`: with asyncio there is no implicit lazy
loading, so every query must say what it loads (`selectinload`).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeMeta, registry, relationship

from bot.core.vocabulary import DATE_PRECISIONS, NAME_KINDS, SME_FLAGS, STAGES

# Stable constraint names, so migrations can refer to them on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)
mapper_registry = registry(metadata=metadata)


class Base(metaclass=DeclarativeMeta):
    """Declarative base (the SQLAlchemy 1.4 form that type checkers understand)."""

    __abstract__ = True
    registry = mapper_registry
    metadata = mapper_registry.metadata
    __init__ = mapper_registry.constructor


NAME_LENGTH = 200


def _in_list(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class Recipient(Base):
    """A mutual (or staff group spinning out) that received an award."""

    __tablename__ = "recipients"

    id = Column(Integer, primary_key=True)
    name = Column(String(NAME_LENGTH), nullable=False, unique=True)

    awards = relationship("Award", back_populates="recipient", lazy="raise")


class PublicBody(Base):
    """The public body the service comes from (council, NHS trust...).

    `place` is the body's town or area ("Knowsley Council" -> "Knowsley"),
    derived at import, so "awards in Blackpool" finds both Blackpool bodies.
    """

    __tablename__ = "public_bodies"

    id = Column(Integer, primary_key=True)
    name = Column(String(NAME_LENGTH), nullable=False, unique=True)
    place = Column(String(NAME_LENGTH), nullable=False, index=True)


class Sector(Base):
    """A service area, e.g. "youth services"."""

    __tablename__ = "sectors"

    id = Column(Integer, primary_key=True)
    name = Column(String(NAME_LENGTH), nullable=False, unique=True)


class Supplier(Base):
    """A firm that delivered the bought-in support."""

    __tablename__ = "suppliers"

    id = Column(Integer, primary_key=True)
    name = Column(String(NAME_LENGTH), nullable=False, unique=True)


class Award(Base):
    """One published award of support.

    The natural key (recipient, public body, announcement date) makes imports
    idempotent: re-importing a row updates the same award.
    """

    __tablename__ = "awards"
    __table_args__ = (
        UniqueConstraint(
            "recipient_id", "public_body_id", "announced_on", name="uq_awards_natural"
        ),
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint(_in_list("stage", STAGES), name="stage"),
        CheckConstraint(_in_list("sme_supplier", SME_FLAGS), name="sme_supplier"),
        CheckConstraint(_in_list("announced_precision", DATE_PRECISIONS), name="precision"),
    )

    id = Column(Integer, primary_key=True)
    recipient_id = Column(ForeignKey("recipients.id"), nullable=False, index=True)
    public_body_id = Column(ForeignKey("public_bodies.id"), nullable=False, index=True)
    sector_id = Column(ForeignKey("sectors.id"), nullable=False, index=True)
    amount_pence = Column(BigInteger, nullable=False)
    stage = Column(String(20), nullable=False)
    region = Column(String(40), nullable=False, index=True)
    # A year-only announcement is stored as 1 January with precision "year".
    announced_on = Column(Date, nullable=False)
    announced_precision = Column(String(5), nullable=False)
    support = Column(Text, nullable=False, default="")
    # Award-level flag: does the bid include an SME supplier (the programme counts
    # contracts to SMEs this way)? Per-supplier flags live on AwardSupplier.
    sme_supplier = Column(String(7), nullable=False, default="unknown")
    source = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())

    recipient = relationship("Recipient", back_populates="awards", lazy="raise")
    public_body = relationship("PublicBody", lazy="raise")
    sector = relationship("Sector", lazy="raise")
    suppliers = relationship(
        "AwardSupplier",
        order_by="AwardSupplier.position",
        cascade="all, delete-orphan",
        lazy="raise",
    )


class AwardSupplier(Base):
    """A supplier on an award, in the order the register lists them."""

    __tablename__ = "award_suppliers"
    __table_args__ = (CheckConstraint(_in_list("sme", SME_FLAGS), name="sme"),)

    award_id = Column(ForeignKey("awards.id", ondelete="CASCADE"), primary_key=True)
    supplier_id = Column(ForeignKey("suppliers.id"), primary_key=True, index=True)
    position = Column(Integer, nullable=False)
    sme = Column(String(7), nullable=False, default="unknown")

    supplier = relationship("Supplier", lazy="raise")


class Alias(Base):
    """Another name for a recipient, supplier, place, sector or region.

    Derived at import ("3BM (Three Borough Mutual)" gives "3BM" and "Three
    Borough Mutual") or taken from content/awards/aliases.yml. Used for fuzzy
    look-ups and for the generated NLU synonyms.
    """

    __tablename__ = "aliases"
    __table_args__ = (
        UniqueConstraint("kind", "alias", "canonical", name="uq_aliases_kind_alias_canonical"),
        CheckConstraint(_in_list("kind", NAME_KINDS), name="kind"),
    )

    id = Column(Integer, primary_key=True)
    kind = Column(String(20), nullable=False)
    alias = Column(String(NAME_LENGTH), nullable=False)
    canonical = Column(String(NAME_LENGTH), nullable=False)
    origin = Column(String(20), nullable=False, default="derived")


class ProgrammeFigure(Base):
    """A sourced programme-wide figure (e.g. 21 contracts by 15 Feb 2013).

    Programme totals are stated facts, not counts of the (incomplete) register.
    `value` is a whole number: a count, or pence when `unit` is "pence".
    """

    __tablename__ = "programme_figures"
    __table_args__ = (CheckConstraint(_in_list("unit", ("count", "pence")), name="unit"),)

    id = Column(Integer, primary_key=True)
    name = Column(String(60), nullable=False, unique=True)
    label = Column(String(200), nullable=False)
    value = Column(BigInteger, nullable=False)
    unit = Column(String(10), nullable=False)
    approximate = Column(Boolean, nullable=False, default=False)
    as_of = Column(Date, nullable=True)
    source = Column(Text, nullable=False)


# --- Human handoff and the staff console (revision 0002) ---------------------------

STAFF_ROLES = ("agent", "supervisor")
TICKET_STATUSES = ("queued", "assigned", "released", "resolved", "cancelled")
OPEN_STATUSES = ("queued", "assigned")
PRIORITIES = ("urgent", "normal")
MESSAGE_SENDERS = ("caller", "bot", "staff", "system")
CALLBACK_STATUSES = ("open", "done")
_OPEN_TICKET = "status IN ('queued', 'assigned')"


class StaffUser(Base):
    """A hotline adviser (agent) or supervisor who signs in to the console."""

    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint(_in_list("role", STAFF_ROLES), name="role"),)

    id = Column(Integer, primary_key=True)
    username = Column(String(80), nullable=False, unique=True)
    display_name = Column(String(NAME_LENGTH), nullable=False)
    role = Column(String(20), nullable=False, default="agent")
    password_hash = Column(String(255), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    last_login_at = Column(DateTime(timezone=True), nullable=True)


class StaffSession(Base):
    """A signed-in session; only the SHA-256 of the token is stored."""

    __tablename__ = "staff_sessions"

    token_hash = Column(String(64), primary_key=True)
    user_id = Column(ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=False)


class LoginAttempt(Base):
    """One sign-in attempt, for lockout after repeated failures."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),)

    id = Column(Integer, primary_key=True)
    username = Column(String(80), nullable=False)
    remote = Column(String(64), nullable=True)
    at = Column(DateTime(timezone=True), nullable=False)
    success = Column(Boolean, nullable=False)


class HandoffTicket(Base):
    """A conversation handed to a person. `conversation_id` is Rasa's sender id.

    At most one open (queued or assigned) ticket per conversation: a partial
    unique index enforces it on both backends, so two concurrent requests cannot
    create two.
    """

    __tablename__ = "handoff_tickets"
    __table_args__ = (
        CheckConstraint(_in_list("status", TICKET_STATUSES), name="status"),
        CheckConstraint(_in_list("priority", PRIORITIES), name="priority"),
        Index("ix_handoff_tickets_status_created", "status", "created_at"),
        Index(
            "uq_handoff_tickets_open_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text(_OPEN_TICKET),
            postgresql_where=text(_OPEN_TICKET),
        ),
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(40), nullable=False)
    # A keyed digest of the caller's address (revision 0004), for per-address limits.
    client_key = Column(String(64), nullable=True, index=True)
    status = Column(String(20), nullable=False, default="queued")
    priority = Column(String(10), nullable=False, default="normal")
    reason = Column(Text, nullable=True)
    summary = Column(JSON, nullable=False, default=dict)
    assigned_to = Column(ForeignKey("staff_users.id"), nullable=True, index=True)
    created_at = Column(DateTime(timezone=True), nullable=False)
    claimed_at = Column(DateTime(timezone=True), nullable=True)
    closed_at = Column(DateTime(timezone=True), nullable=True)
    last_position = Column(Integer, nullable=True)
    # When the caller's web chat went away (revision 0005); cleared when it comes back.
    caller_left_at = Column(DateTime(timezone=True), nullable=True)

    assignee = relationship("StaffUser", lazy="raise")


class HandoffMessage(Base):
    """A message of a handed-over conversation: caller (relayed), staff, or system.

    `message_id` is Rasa's id of a caller message; unique per conversation, so a
    relayed message posted twice is stored once.
    """

    __tablename__ = "handoff_messages"
    __table_args__ = (
        CheckConstraint(_in_list("sender", MESSAGE_SENDERS), name="sender"),
        UniqueConstraint("conversation_id", "message_id", name="uq_handoff_messages_message"),
        Index("ix_handoff_messages_ticket_id_id", "ticket_id", "id"),
    )

    id = Column(Integer, primary_key=True)
    ticket_id = Column(ForeignKey("handoff_tickets.id", ondelete="CASCADE"), nullable=False)
    conversation_id = Column(String(255), nullable=False)
    sender = Column(String(10), nullable=False)
    text = Column(Text, nullable=False)
    message_id = Column(String(255), nullable=True)
    staff_id = Column(ForeignKey("staff_users.id"), nullable=True)
    staff_name = Column(String(NAME_LENGTH), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False)


class CallbackRequest(Base):
    """A caller's request to be phoned back (out of hours or queue full)."""

    __tablename__ = "callback_requests"
    __table_args__ = (
        CheckConstraint(_in_list("status", CALLBACK_STATUSES), name="status"),
        Index("ix_callback_requests_status_created", "status", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=True, index=True)
    client_key = Column(String(64), nullable=True, index=True)  # as on tickets
    name = Column(String(NAME_LENGTH), nullable=False)
    phone = Column(String(40), nullable=False, index=True)
    preferred_time = Column(String(200), nullable=True)
    reason = Column(Text, nullable=True)
    status = Column(String(10), nullable=False, default="open")
    notes = Column(Text, nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False)
    done_at = Column(DateTime(timezone=True), nullable=True)
    done_by = Column(ForeignKey("staff_users.id"), nullable=True)


class CannedResponse(Base):
    """A reply staff can insert with one click; supervisors edit them."""

    __tablename__ = "canned_responses"

    id = Column(Integer, primary_key=True)
    title = Column(String(120), nullable=False, unique=True)
    text = Column(Text, nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False)


class Feedback(Base):
    """A caller's 1-5 satisfaction rating at the end of a handled conversation."""

    __tablename__ = "feedback"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),)

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    ticket_id = Column(ForeignKey("handoff_tickets.id", ondelete="SET NULL"), nullable=True)
    rating = Column(Integer, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, index=True)


class AuditEntry(Base):
    """Who did what in the console and API (append-only)."""

    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime(timezone=True), nullable=False, index=True)
    actor_id = Column(ForeignKey("staff_users.id"), nullable=True)
    actor = Column(String(80), nullable=False)
    action = Column(String(60), nullable=False)
    target = Column(String(255), nullable=True)
    detail = Column(Text, nullable=True)


class JobLease(Base):
    """Which process runs a background job now, and when it last finished (revision 0003).

    A process takes the lease with one conditional UPDATE (free or expired, and
    the job due), so of several web processes one runs the job; the others see
    no row updated and skip it.
    """

    __tablename__ = "job_leases"

    name = Column(String(60), primary_key=True)
    holder = Column(String(120), nullable=True)
    lease_until = Column(DateTime(timezone=True), nullable=True)
    last_run_at = Column(DateTime(timezone=True), nullable=True)
