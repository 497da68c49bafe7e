"""The register's operations as async functions (used by the command line and tests).

Each function opens its own engine and disposes of it, so it can be called
from `asyncio.run` in the command line or from a test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.awards.aliases import AliasFileError, parse_alias_file
from bot.awards.csv_io import ParseResult, RowError, read_csv, rows_to_csv
from bot.awards.entities import build_lookup_yaml
from bot.awards.importer import ImportReport, import_rows, skipped_count
from bot.awards.repository import all_awards
from bot.config import Settings
from bot.db.models import Award
from bot.db.session import create_engine, create_sessionmaker


@asynccontextmanager
async def open_session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """Open an engine and one session for a command, disposing both after.

    Args:
        settings: Application settings.

    Yields:
        A session (the caller commits).

    """
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


@dataclass
class ImportOutcome:
    """Result of `import_file`.

    Attributes:
        parsed: Validation result (errors have line numbers).
        report: What the import did; None when nothing was imported because of errors.
        entities_written: Whether the NLU lookup file was regenerated.
        messages: Extra notes for the user.

    """

    parsed: ParseResult
    report: ImportReport | None = None
    entities_written: bool = False
    messages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the file was valid (or its errors were skipped on request)."""
        return self.report is not None


async def load_alias_file(settings: Settings) -> dict[str, dict[str, str]]:
    """Read content/awards/aliases.yml (empty when the file does not exist).

    Args:
        settings: Application settings.

    Returns:
        Parsed aliases.

    Raises:
        AliasFileError: If the file is malformed.

    """
    path = settings.aliases_file
    if not path.exists():
        return {}
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    return parse_alias_file(text)


async def import_file(
    settings: Settings,
    path: Path,
    *,
    skip_invalid: bool = False,
    dry_run: bool = False,
    write_entities: bool = True,
) -> ImportOutcome:
    """Validate a CSV file and import it.

    A file with any invalid row imports nothing unless `skip_invalid`. The
    NLU lookup file is regenerated when the register changed.

    Args:
        settings: Application settings (the schema must be up to date).
        path: The CSV file.
        skip_invalid: Import the valid rows of a file with errors.
        dry_run: Validate and report what would change, saving nothing.
        write_entities: Regenerate the NLU lookup file after a change.

    Returns:
        The outcome (see `ImportOutcome.ok`).

    """
    parsed = await asyncio.to_thread(read_csv, path)
    outcome = ImportOutcome(parsed)
    header_broken = any(error.line == 1 for error in parsed.errors)
    if parsed.errors and (not skip_invalid or header_broken):
        return outcome
    try:
        file_aliases = await load_alias_file(settings)
    except AliasFileError as exc:
        parsed.errors.append(RowError(0, str(exc)))
        return outcome
    async with open_session(settings) as session:
        report = await import_rows(session, parsed.rows, file_aliases)
        report.skipped = skipped_count(parsed.errors)
        report.dry_run = dry_run
        if dry_run:
            await session.rollback()
        else:
            await session.commit()
    outcome.report = report
    if write_entities and not dry_run and (report.changed or not settings.lookup_file.exists()):
        await write_entities_file(settings)
        outcome.entities_written = True
    return outcome


async def export_csv(settings: Settings) -> str:
    """Export the register as CSV in the import format.

    Args:
        settings: Application settings.

    Returns:
        CSV text.

    """
    async with open_session(settings) as session:
        awards = await all_awards(session)
    return rows_to_csv(award.to_row() for award in awards)


async def lookup_yaml(settings: Settings) -> str:
    """Build the NLU lookup YAML from the register.

    Args:
        settings: Application settings.

    Returns:
        The YAML text.

    """
    async with open_session(settings) as session:
        return await build_lookup_yaml(session)


async def write_entities_file(settings: Settings, path: Path | None = None) -> Path:
    """Write the NLU lookup tables (data/nlu/awards_lookup.yml).

    Args:
        settings: Application settings.
        path: Where to write (default `settings.lookup_file`).

    Returns:
        The path written.

    """
    target = path or settings.lookup_file
    text = await lookup_yaml(settings)

    def write() -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)  # atomic: training never sees half a file

    await asyncio.to_thread(write)
    return target


async def award_count(settings: Settings) -> int:
    """Count the awards in the register.

    Args:
        settings: Application settings.

    Returns:
        The number of awards.

    """
    async with open_session(settings) as session:
        return int((await session.execute(select(func.count(Award.id)))).scalar_one())
