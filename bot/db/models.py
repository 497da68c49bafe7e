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
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeMeta, registry, relationship

from bot.awards.vocabulary import DATE_PRECISIONS, NAME_KINDS, SME_FLAGS, STAGES

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
