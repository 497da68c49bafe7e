"""Awards register and sourced programme figures.

Revision ID: 0001
Revises:
Create Date: 2024-01-01

The schema is written out here (not taken from models.py) so this revision
stays what it was when later revisions change the models.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_STAGES = "stage IN ('exploring', 'developing', 'live')"
_SME = "IN ('yes', 'no', 'unknown')"
_RELEASE = (
    "Cabinet Office press release 'Aspiring mutuals get vital government boost', "
    "15 February 2013"
)
_AS_OF = dt.date(2013, 2, 15)

# The programme's own figures (content/programme/facts.md). They are facts with a
# source, not counts of the register, which is incomplete.
PROGRAMME_FIGURES = [
    {
        "name": "contracts_awarded",
        "label": "contracts awarded",
        "value": 21,
        "unit": "count",
        "approximate": False,
        "as_of": _AS_OF,
        "source": _RELEASE,
    },
    {
        "name": "contracts_to_smes",
        "label": "contracts awarded to small and medium-sized enterprises (SMEs)",
        "value": 14,
        "unit": "count",
        "approximate": False,
        "as_of": _AS_OF,
        "source": _RELEASE,
    },
    {
        "name": "support_procured",
        "label": "professional support procured",
        "value": 100_000_000,  # about £1m, in pence
        "unit": "pence",
        "approximate": True,
        "as_of": _AS_OF,
        "source": _RELEASE,
    },
    {
        "name": "mutuals_supported",
        "label": "live and developing mutuals supported",
        "value": 21,
        "unit": "count",
        "approximate": False,
        "as_of": _AS_OF,
        "source": _RELEASE,
    },
    {
        "name": "programme_budget",
        "label": "programme budget",
        "value": 1_000_000_000,  # £10m, in pence
        "unit": "pence",
        "approximate": False,
        "as_of": _AS_OF,
        "source": _RELEASE + ", note 1",
    },
]


def upgrade() -> None:
    """Create the register's tables and seed the programme figures."""
    op.create_table(
        "recipients",
        sa.Column("id", sa.Integer()),
        sa.Column("name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recipients"),
        sa.UniqueConstraint("name", name="uq_recipients_name"),
    )
    op.create_table(
        "public_bodies",
        sa.Column("id", sa.Integer()),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("place", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_public_bodies"),
        sa.UniqueConstraint("name", name="uq_public_bodies_name"),
    )
    op.create_index("ix_public_bodies_place", "public_bodies", ["place"])
    op.create_table(
        "sectors",
        sa.Column("id", sa.Integer()),
        sa.Column("name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sectors"),
        sa.UniqueConstraint("name", name="uq_sectors_name"),
    )
    op.create_table(
        "suppliers",
        sa.Column("id", sa.Integer()),
        sa.Column("name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_suppliers"),
        sa.UniqueConstraint("name", name="uq_suppliers_name"),
    )
    op.create_table(
        "awards",
        sa.Column("id", sa.Integer()),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("public_body_id", sa.Integer(), nullable=False),
        sa.Column("sector_id", sa.Integer(), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("region", sa.String(40), nullable=False),
        sa.Column("announced_on", sa.Date(), nullable=False),
        sa.Column("announced_precision", sa.String(5), nullable=False),
        sa.Column("support", sa.Text(), nullable=False),
        sa.Column("sme_supplier", sa.String(7), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("id", name="pk_awards"),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["recipients.id"], name="fk_awards_recipient_id_recipients"
        ),
        sa.ForeignKeyConstraint(
            ["public_body_id"], ["public_bodies.id"], name="fk_awards_public_body_id_public_bodies"
        ),
        sa.ForeignKeyConstraint(["sector_id"], ["sectors.id"], name="fk_awards_sector_id_sectors"),
        sa.UniqueConstraint(
            "recipient_id", "public_body_id", "announced_on", name="uq_awards_natural"
        ),
        sa.CheckConstraint("amount_pence > 0", name="ck_awards_amount_positive"),
        sa.CheckConstraint(_STAGES, name="ck_awards_stage"),
        sa.CheckConstraint(f"sme_supplier {_SME}", name="ck_awards_sme_supplier"),
        sa.CheckConstraint(
            "announced_precision IN ('year', 'month', 'day')", name="ck_awards_precision"
        ),
    )
    op.create_index("ix_awards_recipient_id", "awards", ["recipient_id"])
    op.create_index("ix_awards_public_body_id", "awards", ["public_body_id"])
    op.create_index("ix_awards_sector_id", "awards", ["sector_id"])
    op.create_index("ix_awards_region", "awards", ["region"])
    op.create_table(
        "award_suppliers",
        sa.Column("award_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sme", sa.String(7), nullable=False),
        sa.PrimaryKeyConstraint("award_id", "supplier_id", name="pk_award_suppliers"),
        sa.ForeignKeyConstraint(
            ["award_id"],
            ["awards.id"],
            name="fk_award_suppliers_award_id_awards",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name="fk_award_suppliers_supplier_id_suppliers"
        ),
        sa.CheckConstraint(f"sme {_SME}", name="ck_award_suppliers_sme"),
    )
    op.create_index("ix_award_suppliers_supplier_id", "award_suppliers", ["supplier_id"])
    op.create_table(
        "aliases",
        sa.Column("id", sa.Integer()),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("alias", sa.String(200), nullable=False),
        sa.Column("canonical", sa.String(200), nullable=False),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_aliases"),
        sa.UniqueConstraint("kind", "alias", "canonical", name="uq_aliases_kind_alias_canonical"),
        sa.CheckConstraint(
            "kind IN ('recipient', 'place', 'sector', 'supplier', 'region')",
            name="ck_aliases_kind",
        ),
    )
    figures = op.create_table(
        "programme_figures",
        sa.Column("id", sa.Integer()),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.String(10), nullable=False),
        sa.Column("approximate", sa.Boolean(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_programme_figures"),
        sa.UniqueConstraint("name", name="uq_programme_figures_name"),
        sa.CheckConstraint("unit IN ('count', 'pence')", name="ck_programme_figures_unit"),
    )
    op.bulk_insert(figures, PROGRAMME_FIGURES)


def downgrade() -> None:
    """Drop everything this revision created."""
    for table in (
        "programme_figures",
        "aliases",
        "award_suppliers",
        "awards",
        "suppliers",
        "sectors",
        "public_bodies",
        "recipients",
    ):
        op.drop_table(table)
