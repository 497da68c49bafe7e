"""Run Alembic migrations from Python (no alembic.ini needed).

Migrations run with the synchronous driver (sqlite3 / psycopg2): Alembic is
synchronous, and running it outside the event loop keeps env.py simple. Call
these from the command line or test fixtures, not from request handlers.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from bot.config import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(settings: Settings) -> Config:
    """Build an Alembic configuration for the settings' database.

    The URL is passed through `Config.attributes`, not the ini options, so a
    password containing `%` is not mangled by configparser interpolation.

    Args:
        settings: Application settings.

    Returns:
        The Alembic configuration.

    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["sync_url"] = settings.sync_database_url
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Upgrade the database schema (idempotent).

    Args:
        settings: Application settings.
        revision: Target revision.

    """
    if settings.is_sqlite:
        # Alembic's sync engine needs the folder too (the async engine makes it otherwise).
        Path(settings.database_url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str = "base") -> None:
    """Downgrade the database schema.

    Args:
        settings: Application settings.
        revision: Target revision ("base" drops everything).

    """
    command.downgrade(alembic_config(settings), revision)
