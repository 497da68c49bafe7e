"""Async queries over the awards register.

Callers pass what the user said (names, places, amounts...) in an
`AwardQuery`. Names are resolved to ids in Python against names loaded from
the database (`load_name_indexes`), with exact, partial and fuzzy matching;
SQL only ever sees those ids and numbers, as bound parameters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.sql import Select

from bot.awards.csv_io import AwardRow, SupplierRow
from bot.awards.matching import NameIndex
from bot.core.vocabulary import REGIONS
from bot.db.models import (
    Alias,
    Award,
    AwardSupplier,
    ProgrammeFigure,
    PublicBody,
    Recipient,
    Sector,
    Supplier,
)

ORDERS = ("name", "largest", "smallest", "latest", "earliest")


@dataclass(frozen=True)
class SupplierView:
    """A supplier on an award.

    Attributes:
        name: Supplier name.
        sme: "yes", "no" or "unknown".

    """

    name: str
    sme: str


@dataclass(frozen=True)
class AwardView:
    """An award as read from the register (detached from the session).

    Attributes:
        id: Database id.
        recipient: The mutual's name.
        public_body: The public body it comes from.
        place: The body's town or area.
        sector: Service area.
        amount_pence: Amount of support in pence.
        stage: exploring, developing or live.
        region: Region.
        announced_on: Announcement date (first day of the period if imprecise).
        announced_precision: "year", "month" or "day".
        support: Support provided ("" when not published).
        sme_supplier: Whether the bid includes an SME ("yes"/"no"/"unknown").
        source: Where the row comes from.
        suppliers: Suppliers in register order.

    """

    id: int
    recipient: str
    public_body: str
    place: str
    sector: str
    amount_pence: int
    stage: str
    region: str
    announced_on: dt.date
    announced_precision: str
    support: str
    sme_supplier: str
    source: str
    suppliers: tuple[SupplierView, ...]

    def to_row(self) -> AwardRow:
        """Return the award as a CSV row (for export)."""
        return AwardRow(
            line=0,
            recipient=self.recipient,
            public_body=self.public_body,
            sector=self.sector,
            amount_pence=self.amount_pence,
            suppliers=tuple(SupplierRow(s.name, s.sme) for s in self.suppliers),
            sme_supplier=self.sme_supplier,
            stage=self.stage,
            region=self.region,
            announced_on=self.announced_on,
            announced_precision=self.announced_precision,
            support=self.support,
            source=self.source,
        )


@dataclass(frozen=True)
class AwardQuery:
    """What to look for. Every field is optional; all given ones must hold.

    Attributes:
        recipient: Recipient name as the user wrote it.
        place: Public body or its town as written.
        region: Region as written.
        sector: Service area as written.
        supplier: Supplier name as written.
        min_pence: Smallest amount (inclusive).
        max_pence: Largest amount (inclusive).
        date_from: Earliest announcement date (inclusive).
        date_to: Latest announcement date (inclusive).
        award_ids: Restrict to these awards (follow-up questions).
        order: One of `ORDERS`.
        limit: Most awards to return (None: all).
        offset: Awards to skip (pagination).
        fuzzy: Allow misspelt names (the web filters use exact names).

    """

    recipient: str | None = None
    place: str | None = None
    region: str | None = None
    sector: str | None = None
    supplier: str | None = None
    min_pence: int | None = None
    max_pence: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    award_ids: tuple[int, ...] | None = None
    order: str = "name"
    limit: int | None = None
    offset: int = 0
    fuzzy: bool = True

    @property
    def names(self) -> dict[str, str]:
        """The name filters that are set: {kind: text}."""
        values = {
            "recipient": self.recipient,
            "place": self.place,
            "region": self.region,
            "sector": self.sector,
            "supplier": self.supplier,
        }
        return {kind: text for kind, text in values.items() if text}

    @property
    def is_empty(self) -> bool:
        """Whether no filter is set at all."""
        return not (
            self.names
            or self.min_pence is not None
            or self.max_pence is not None
            or self.date_from
            or self.date_to
            or self.award_ids is not None
        )


@dataclass
class SearchResult:
    """Awards found and how the query was understood.

    Attributes:
        awards: Matching awards (one page when a limit was given).
        total: How many awards match in all.
        total_pence: Sum of all matching awards.
        resolved: {kind: canonical names each name filter matched}.
        unmatched: {kind: text} for name filters that matched nothing (then
            `awards` is empty: an unknown name never widens the search).

    """

    awards: list[AwardView] = field(default_factory=list)
    total: int = 0
    total_pence: int = 0
    resolved: dict[str, list[str]] = field(default_factory=dict)
    unmatched: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RegisterTotals:
    """Counts and sums over the register (which is incomplete).

    Attributes:
        count: Awards in the register.
        total_pence: Their sum.
        sme_count: Awards whose bid includes an SME supplier.
        earliest: Earliest announcement date.
        latest: Latest announcement date.

    """

    count: int
    total_pence: int
    sme_count: int
    earliest: dt.date | None
    latest: dt.date | None


@dataclass(frozen=True)
class FigureView:
    """A sourced programme figure.

    Attributes:
        name: Stable key, e.g. "contracts_awarded".
        label: Words for it, e.g. "contracts awarded".
        value: A count, or pence when `unit` is "pence".
        unit: "count" or "pence".
        approximate: Whether the source says "about".
        as_of: Date the figure applies to.
        source: Where it comes from.

    """

    name: str
    label: str
    value: int
    unit: str
    approximate: bool
    as_of: dt.date | None
    source: str


@dataclass(frozen=True)
class Facets:
    """What the register holds, for filter menus and "what is there" offers.

    Attributes:
        recipients: Recipient names.
        places: Places of public bodies.
        public_bodies: Public body names.
        regions: Regions with awards.
        sectors: Sectors with awards.
        suppliers: Supplier names.

    """

    recipients: list[str]
    places: list[str]
    public_bodies: list[str]
    regions: list[str]
    sectors: list[str]
    suppliers: list[str]


async def load_name_indexes(session: AsyncSession) -> dict[str, NameIndex]:
    """Load every name and alias, by kind, for matching.

    Args:
        session: An open session.

    Returns:
        {kind: NameIndex} for recipient, place, sector, supplier and region.
        Place entries include public body names ("Oldham Council") as well as
        places ("Oldham"); both resolve through `_place_body_ids`.

    """
    aliases: dict[str, list[tuple[str, str]]] = {}
    for alias in (await session.execute(select(Alias.kind, Alias.alias, Alias.canonical))).all():
        aliases.setdefault(alias.kind, []).append((alias.alias, alias.canonical))

    async def names(column: object) -> list[str]:
        return list((await session.execute(select(column).distinct())).scalars())

    recipients = await names(Recipient.name)
    suppliers = await names(Supplier.name)
    sectors = await names(Sector.name)
    bodies = (await session.execute(select(PublicBody.name, PublicBody.place))).all()
    places = {body.place for body in bodies}

    def pairs(kind: str, canonical: Iterable[str]) -> list[tuple[str, str]]:
        return [(name, name) for name in canonical] + aliases.get(kind, [])

    place_pairs = pairs("place", places) + [(body.name, body.name) for body in bodies]
    return {
        "recipient": NameIndex.build("recipient", pairs("recipient", recipients)),
        "supplier": NameIndex.build("supplier", pairs("supplier", suppliers)),
        "place": NameIndex.build("place", place_pairs),
        "sector": NameIndex.build("sector", pairs("sector", sectors)),
        "region": NameIndex.build("region", pairs("region", REGIONS)),
    }


async def _ids_for(session: AsyncSession, kind: str, names: Sequence[str]) -> list[int]:
    """Return ids of recipients/suppliers/sectors/public bodies with these names."""
    if kind == "place":
        # A place name selects every body in that place; a body's full name selects it.
        stmt = select(PublicBody.id).where(
            (PublicBody.place.in_(names)) | (PublicBody.name.in_(names))
        )
    else:
        model: Any = {"recipient": Recipient, "supplier": Supplier, "sector": Sector}[kind]
        stmt = select(model.id).where(model.name.in_(names))
    return list((await session.execute(stmt)).scalars())


def _apply_filters(
    stmt: Select, ids: dict[str, list[int]], resolved: dict[str, list[str]], query: AwardQuery
) -> Select:
    if "recipient" in ids:
        stmt = stmt.where(Award.recipient_id.in_(ids["recipient"]))
    if "place" in ids:
        stmt = stmt.where(Award.public_body_id.in_(ids["place"]))
    if "sector" in ids:
        stmt = stmt.where(Award.sector_id.in_(ids["sector"]))
    if "supplier" in ids:
        with_supplier = select(AwardSupplier.award_id).where(
            AwardSupplier.supplier_id.in_(ids["supplier"])
        )
        stmt = stmt.where(Award.id.in_(with_supplier))
    if "region" in resolved:
        # Regions are a closed vocabulary stored as text; match the canonical names.
        stmt = stmt.where(Award.region.in_(resolved["region"]))
    if query.min_pence is not None:
        stmt = stmt.where(Award.amount_pence >= query.min_pence)
    if query.max_pence is not None:
        stmt = stmt.where(Award.amount_pence <= query.max_pence)
    if query.date_from is not None:
        stmt = stmt.where(Award.announced_on >= query.date_from)
    if query.date_to is not None:
        stmt = stmt.where(Award.announced_on <= query.date_to)
    if query.award_ids is not None:
        stmt = stmt.where(Award.id.in_(query.award_ids))
    precision = _needed_precision(query.date_from, query.date_to)
    if precision == "month":
        stmt = stmt.where(Award.announced_precision.in_(("month", "day")))
    elif precision == "day":
        stmt = stmt.where(Award.announced_precision == "day")
    return stmt


def _needed_precision(date_from: dt.date | None, date_to: dt.date | None) -> str:
    """How precise a stored date must be to fall in a range.

    A year-only date is stored as 1 January: it must not match "January
    2012" or "1 January 2012", only ranges made of whole years.
    """
    if date_from is None or date_to is None:
        return "year"
    whole_years = (date_from.month, date_from.day) == (1, 1) and (date_to.month, date_to.day) == (
        12,
        31,
    )
    if whole_years:
        return "year"
    next_day = date_to + dt.timedelta(days=1)
    whole_months = date_from.day == 1 and next_day.day == 1
    return "month" if whole_months else "day"


async def resolve_names(
    session: AsyncSession,
    query: AwardQuery,
    indexes: dict[str, NameIndex] | None = None,
) -> tuple[dict[str, list[int]], dict[str, list[str]], dict[str, str]]:
    """Resolve the query's name filters to ids.

    Args:
        session: An open session.
        query: The query.
        indexes: Pre-loaded name indexes (loaded when omitted).

    Returns:
        ({kind: ids}, {kind: canonical names}, {kind: text that matched nothing}).
        Regions have no ids (they are stored as text): see the canonical names.

    """
    if not query.names:
        return {}, {}, {}
    indexes = indexes if indexes is not None else await load_name_indexes(session)
    ids: dict[str, list[int]] = {}
    resolved: dict[str, list[str]] = {}
    unmatched: dict[str, str] = {}
    for kind, text in query.names.items():
        names = indexes[kind].match(text, fuzzy=query.fuzzy)
        if not names:
            unmatched[kind] = text
            continue
        resolved[kind] = names
        if kind != "region":
            ids[kind] = await _ids_for(session, kind, names)
    return ids, resolved, unmatched


def _ordering(order: str) -> list[object]:
    if order == "largest":
        return [Award.amount_pence.desc(), Award.id]
    if order == "smallest":
        return [Award.amount_pence.asc(), Award.id]
    if order == "latest":
        return [Award.announced_on.desc(), Award.amount_pence.desc(), Award.id]
    if order == "earliest":
        return [Award.announced_on.asc(), Award.amount_pence.desc(), Award.id]
    return [Recipient.name, Award.id]


def _view(award: Award) -> AwardView:
    return AwardView(
        id=award.id,
        recipient=award.recipient.name,
        public_body=award.public_body.name,
        place=award.public_body.place,
        sector=award.sector.name,
        amount_pence=int(award.amount_pence),
        stage=award.stage,
        region=award.region,
        announced_on=award.announced_on,
        announced_precision=award.announced_precision,
        support=award.support or "",
        sme_supplier=award.sme_supplier,
        source=award.source,
        suppliers=tuple(SupplierView(link.supplier.name, link.sme) for link in award.suppliers),
    )


def _with_relations(stmt: Select) -> Select:
    return stmt.options(
        selectinload(Award.recipient),
        selectinload(Award.public_body),
        selectinload(Award.sector),
        selectinload(Award.suppliers).selectinload(AwardSupplier.supplier),
    )


async def search_awards(
    session: AsyncSession,
    query: AwardQuery,
    indexes: dict[str, NameIndex] | None = None,
) -> SearchResult:
    """Find awards matching a query.

    Args:
        session: An open session.
        query: What to look for.
        indexes: Pre-loaded name indexes (loaded when omitted).

    Returns:
        The awards, the total count and sum, and how names were resolved.

    Raises:
        ValueError: If `query.order` is unknown.

    """
    if query.order not in ORDERS:
        raise ValueError(f"unknown order {query.order!r}")
    ids, resolved, unmatched = await resolve_names(session, query, indexes)
    result = SearchResult(resolved=resolved, unmatched=unmatched)
    if unmatched:
        return result

    totals = _apply_filters(
        select(func.count(Award.id), func.coalesce(func.sum(Award.amount_pence), 0)),
        ids,
        resolved,
        query,
    )
    count, total = (await session.execute(totals)).one()
    result.total, result.total_pence = int(count), int(total)
    if not count:
        return result

    stmt = _apply_filters(select(Award).join(Award.recipient), ids, resolved, query)
    stmt = _with_relations(stmt.order_by(*_ordering(query.order)))
    if query.offset:
        stmt = stmt.offset(query.offset)
    if query.limit is not None:
        stmt = stmt.limit(query.limit)
    result.awards = [_view(award) for award in (await session.execute(stmt)).scalars()]
    return result


async def awards_by_ids(session: AsyncSession, ids: Iterable[int]) -> list[AwardView]:
    """Return awards by id, in the order given (unknown ids are skipped).

    Args:
        session: An open session.
        ids: Award ids.

    Returns:
        The awards.

    """
    wanted = [int(i) for i in ids]
    if not wanted:
        return []
    stmt = _with_relations(select(Award).where(Award.id.in_(wanted)))
    found = {award.id: _view(award) for award in (await session.execute(stmt)).scalars()}
    return [found[i] for i in wanted if i in found]


async def all_awards(session: AsyncSession) -> list[AwardView]:
    """Return every award, in import order (for export).

    Args:
        session: An open session.

    Returns:
        All awards.

    """
    stmt = _with_relations(select(Award).order_by(Award.id))
    return [_view(award) for award in (await session.execute(stmt)).scalars()]


async def register_totals(session: AsyncSession) -> RegisterTotals:
    """Count and sum the register.

    Args:
        session: An open session.

    Returns:
        Totals over every award in the register.

    """
    stmt = select(
        func.count(Award.id),
        func.coalesce(func.sum(Award.amount_pence), 0),
        func.min(Award.announced_on),
        func.max(Award.announced_on),
    )
    count, total, earliest, latest = (await session.execute(stmt)).one()
    sme = await session.execute(select(func.count(Award.id)).where(Award.sme_supplier == "yes"))
    return RegisterTotals(int(count), int(total), int(sme.scalar_one()), earliest, latest)


async def programme_figures(session: AsyncSession) -> dict[str, FigureView]:
    """Return the sourced programme figures by name.

    Args:
        session: An open session.

    Returns:
        {name: figure}.

    """
    rows = (await session.execute(select(ProgrammeFigure).order_by(ProgrammeFigure.id))).scalars()
    return {
        row.name: FigureView(
            name=row.name,
            label=row.label,
            value=int(row.value),
            unit=row.unit,
            approximate=bool(row.approximate),
            as_of=row.as_of,
            source=row.source,
        )
        for row in rows
    }


async def facets(session: AsyncSession) -> Facets:
    """List what the register holds (names with at least one award).

    Args:
        session: An open session.

    Returns:
        Sorted lists of recipients, places, bodies, regions, sectors, suppliers.

    """

    async def column(stmt: Select) -> list[str]:
        return sorted(set((await session.execute(stmt)).scalars()))

    return Facets(
        recipients=await column(
            select(Recipient.name).join(Award, Award.recipient_id == Recipient.id)
        ),
        places=await column(
            select(PublicBody.place).join(Award, Award.public_body_id == PublicBody.id)
        ),
        public_bodies=await column(
            select(PublicBody.name).join(Award, Award.public_body_id == PublicBody.id)
        ),
        regions=await column(select(Award.region)),
        sectors=await column(select(Sector.name).join(Award, Award.sector_id == Sector.id)),
        suppliers=await column(
            select(Supplier.name).join(AwardSupplier, AwardSupplier.supplier_id == Supplier.id)
        ),
    )
