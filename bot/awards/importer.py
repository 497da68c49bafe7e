"""Import validated rows into the register, idempotently.

Each row is matched to an existing award by its natural key (recipient,
public body, announcement date): a new key adds an award, a known key with
different values updates it, and an identical row changes nothing, so
importing the same file twice leaves the database as it was. Awards absent
from the file are kept (the register only grows; remove a row by hand).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.awards.aliases import AliasEntry, build_aliases, derive_place
from bot.awards.csv_io import AwardRow, RowError
from bot.core.vocabulary import REGIONS
from bot.db.models import Alias, Award, AwardSupplier, PublicBody, Recipient, Sector, Supplier


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do).

    Attributes:
        added: New awards.
        updated: Awards whose values changed.
        unchanged: Rows identical to the register.
        skipped: Invalid rows left out (with --skip-invalid).
        aliases_added: Alias rows added.
        aliases_removed: Alias rows removed.
        warnings: Notes (e.g. an alias pointing at an unknown name).
        dry_run: Whether the changes were rolled back.

    """

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    aliases_added: int = 0
    aliases_removed: int = 0
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        """Whether the register (or its aliases) changed."""
        return bool(self.added or self.updated or self.aliases_added or self.aliases_removed)

    def summary(self) -> str:
        """One line for the command line."""
        prefix = "dry run, nothing saved: would have " if self.dry_run else ""
        text = (
            f"{prefix}added {self.added}, updated {self.updated}, unchanged {self.unchanged}"
            f"{f', skipped {self.skipped} invalid' if self.skipped else ''}"
        )
        if self.aliases_added or self.aliases_removed:
            text += f"; aliases +{self.aliases_added} -{self.aliases_removed}"
        return text


async def _get_or_create(
    session: AsyncSession, model: type[Any], cache: dict[str, Any], name: str
) -> Any:
    # Names are matched without case so "Mutual ventures" does not make a second supplier.
    found = cache.get(name.casefold())
    if found is None:
        found = (
            model(name=name, place=derive_place(name)) if model is PublicBody else model(name=name)
        )
        session.add(found)
        await session.flush()
        cache[name.casefold()] = found
    return found


async def _load(session: AsyncSession, model: type[Any]) -> dict[str, Any]:
    rows = (await session.execute(select(model))).scalars()
    return {row.name.casefold(): row for row in rows}


def _award_values(row: AwardRow, sector_id: int) -> dict[str, object]:
    return {
        "sector_id": sector_id,
        "amount_pence": row.amount_pence,
        "stage": row.stage,
        "region": row.region,
        "announced_precision": row.announced_precision,
        "support": row.support,
        "sme_supplier": row.sme_supplier,
        "source": row.source,
    }


async def import_rows(
    session: AsyncSession,
    rows: Sequence[AwardRow],
    file_aliases: Mapping[str, Mapping[str, str]] | None = None,
) -> ImportReport:
    """Add or update awards from validated rows and refresh the aliases.

    The caller owns the transaction: commit to keep, roll back for a dry run.

    Args:
        session: An open session.
        rows: Validated rows (see `csv_io.parse_csv_text`).
        file_aliases: Parsed content/awards/aliases.yml.

    Returns:
        Counts of what changed.

    """
    report = ImportReport()
    recipients = await _load(session, Recipient)
    bodies = await _load(session, PublicBody)
    sectors = await _load(session, Sector)
    suppliers = await _load(session, Supplier)
    existing = {
        (award.recipient_id, award.public_body_id, award.announced_on): award
        for award in (
            await session.execute(select(Award).options(selectinload(Award.suppliers)))
        ).scalars()
    }

    for row in rows:
        recipient = await _get_or_create(session, Recipient, recipients, row.recipient)
        body = await _get_or_create(session, PublicBody, bodies, row.public_body)
        sector = await _get_or_create(session, Sector, sectors, row.sector)
        wanted_links = [
            ((await _get_or_create(session, Supplier, suppliers, s.name)).id, s.sme)
            for s in row.suppliers
        ]
        values = _award_values(row, sector.id)
        award = existing.get((recipient.id, body.id, row.announced_on))
        if award is None:
            award = Award(
                recipient_id=recipient.id,
                public_body_id=body.id,
                announced_on=row.announced_on,
                suppliers=[
                    AwardSupplier(supplier_id=sid, position=i, sme=sme)
                    for i, (sid, sme) in enumerate(wanted_links)
                ],
                **values,
            )
            session.add(award)
            existing[(recipient.id, body.id, row.announced_on)] = award
            report.added += 1
            continue

        current_links = [(link.supplier_id, link.sme) for link in award.suppliers]
        changed_values = {k: v for k, v in values.items() if getattr(award, k) != v}
        if not changed_values and current_links == wanted_links:
            report.unchanged += 1
            continue
        for key, value in changed_values.items():
            setattr(award, key, value)
        if current_links != wanted_links:
            # Edit links in place: replacing them would clash on the (award, supplier) key.
            by_supplier = {link.supplier_id: link for link in award.suppliers}
            keep = {sid for sid, _ in wanted_links}
            for link in list(award.suppliers):
                if link.supplier_id not in keep:
                    award.suppliers.remove(link)
            for position, (sid, sme) in enumerate(wanted_links):
                link = by_supplier.get(sid)
                if link is None:
                    award.suppliers.append(
                        AwardSupplier(supplier_id=sid, position=position, sme=sme)
                    )
                else:
                    link.position, link.sme = position, sme
        award.updated_at = func.now()
        report.updated += 1

    await session.flush()
    await sync_aliases(session, file_aliases or {}, report)
    return report


async def sync_aliases(
    session: AsyncSession,
    file_aliases: Mapping[str, Mapping[str, str]],
    report: ImportReport | None = None,
) -> list[AliasEntry]:
    """Make the aliases table match the register's names and the alias file.

    Args:
        session: An open session.
        file_aliases: Parsed alias file.
        report: Where to count changes and record warnings.

    Returns:
        The aliases now in the table.

    """
    report = report or ImportReport()

    async def names(column: object) -> list[str]:
        return list((await session.execute(select(column).distinct())).scalars())

    wanted, warnings = build_aliases(
        {
            "recipient": await names(Recipient.name),
            "supplier": await names(Supplier.name),
            "sector": await names(Sector.name),
            "place": await names(PublicBody.place),
            "region": list(REGIONS),
        },
        file_aliases,
    )
    report.warnings.extend(warnings)
    current = {
        AliasEntry(a.kind, a.alias, a.canonical, a.origin): a.id
        for a in (await session.execute(select(Alias))).scalars()
    }
    wanted_set = set(wanted)
    stale = [alias_id for entry, alias_id in current.items() if entry not in wanted_set]
    if stale:
        await session.execute(delete(Alias).where(Alias.id.in_(stale)))
        report.aliases_removed += len(stale)
    for entry in wanted:
        if entry not in current:
            session.add(
                Alias(
                    kind=entry.kind,
                    alias=entry.alias,
                    canonical=entry.canonical,
                    origin=entry.origin,
                )
            )
            report.aliases_added += 1
    await session.flush()
    return wanted


def skipped_count(errors: Sequence[RowError]) -> int:
    """Count the distinct data lines with errors (the header is not a row).

    Args:
        errors: Validation errors.

    Returns:
        How many rows are skipped.

    """
    return len({error.line for error in errors if error.line > 1})
