"""Settings read from the environment once, validated at start-up.

Every part of the application (command line, web app, custom actions) builds its
settings with `Settings.from_env()`. Invalid values raise `ConfigError` with a
message that names the variable, so a bad deployment fails at start-up rather
than on the first request. Later issues add fields here (handoff, channels):
add a field with a default and parse it in `from_env`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Drivers we accept for each backend; the async one is what the app uses, the
# sync one is what Alembic uses (migrations run outside the event loop).
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg2"}
_SCHEME_ALIASES = {
    "sqlite": "sqlite",
    "sqlite+aiosqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "postgresql+asyncpg": "postgresql",
    "postgresql+psycopg2": "postgresql",
}


class ConfigError(ValueError):
    """A setting is missing or invalid; the message says which and why."""


def _default_database_url(project_root: Path) -> str:
    return f"sqlite+aiosqlite:///{project_root / 'var' / 'hotline.db'}"


def normalise_database_url(url: str, project_root: Path = PROJECT_ROOT) -> str:
    """Return the async SQLAlchemy URL for a user-supplied database URL.

    Accepts `sqlite:///path`, `postgres://...` and `postgresql://...` (with or
    without a driver) and returns the form with the async driver. A relative
    SQLite path is taken relative to the project root, not the working
    directory, so every command finds the same file.

    Args:
        url: The URL as configured, e.g. `postgresql://postgres@localhost/test`.
        project_root: Base for relative SQLite paths.

    Returns:
        The URL with the async driver, e.g. `postgresql+asyncpg://...`.

    Raises:
        ConfigError: If the URL is empty or names an unsupported database.

    """
    url = url.strip()
    if not url:
        raise ConfigError("DATABASE_URL is empty; unset it to use the SQLite default.")
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(
            f"DATABASE_URL {url!r} is not a URL; expected e.g. "
            "'sqlite:///var/hotline.db' or 'postgresql://user@host:5432/dbname'."
        )
    backend = _SCHEME_ALIASES.get(scheme.lower())
    if backend is None:
        raise ConfigError(
            f"DATABASE_URL scheme {scheme!r} is not supported; use sqlite:// or postgresql://."
        )
    if backend == "sqlite":
        # `sqlite:///relative.db` has rest "/relative.db"; `sqlite:////abs.db` has "//abs.db".
        if not rest.startswith("/"):
            raise ConfigError(f"DATABASE_URL {url!r}: SQLite URLs look like sqlite:///path/to.db.")
        path = rest[1:]
        if path in ("", ":memory:"):
            raise ConfigError(
                "DATABASE_URL: in-memory SQLite is not supported (each connection would "
                "see an empty database); give a file path."
            )
        if not path.startswith("/"):
            path = str(project_root / path)
        rest = "/" + path
    elif not rest or rest.startswith("/"):
        raise ConfigError(f"DATABASE_URL {url!r}: PostgreSQL URLs need a host, e.g. @localhost.")
    return f"{_ASYNC_DRIVERS[backend]}://{rest}"


def sync_database_url(async_url: str) -> str:
    """Return the synchronous-driver form of an async URL (for Alembic).

    Args:
        async_url: A URL returned by `normalise_database_url`.

    Returns:
        The same database with the sync driver (sqlite / psycopg2).

    """
    scheme, _, rest = async_url.partition("://")
    return f"{_SYNC_DRIVERS[_SCHEME_ALIASES[scheme]]}://{rest}"


def _parse_port(name: str, raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{name} must be between 1 and 65535, got {port}.")
    return port


@dataclass(frozen=True)
class Settings:
    """Application settings.

    Attributes:
        database_url: Async SQLAlchemy URL (aiosqlite or asyncpg driver).
        project_root: The project directory (data files are found from here).
        web_host: Interface the aiohttp app listens on.
        web_port: Port of the aiohttp app.
        public_base_url: Base URL users see, for links in replies.
        awards_csv: Seed CSV of the published awards.
        aliases_file: Extra names for recipients, suppliers, places and sectors.
        lookup_file: Generated NLU lookup tables (never edited by hand).

    """

    database_url: str
    project_root: Path = PROJECT_ROOT
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    public_base_url: str = "http://localhost:8080"
    awards_csv: Path = field(default=PROJECT_ROOT / "content" / "awards" / "awards.csv")
    aliases_file: Path = field(default=PROJECT_ROOT / "content" / "awards" / "aliases.yml")
    lookup_file: Path = field(default=PROJECT_ROOT / "data" / "nlu" / "awards_lookup.yml")

    @property
    def sync_database_url(self) -> str:
        """The database URL with a synchronous driver, for Alembic."""
        return sync_database_url(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is SQLite (some engine options differ)."""
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, project_root: Path = PROJECT_ROOT
    ) -> Settings:
        """Build settings from environment variables.

        Variables: `DATABASE_URL` (default SQLite in `var/hotline.db`),
        `WEB_HOST` (127.0.0.1), `WEB_PORT` (8080), `PUBLIC_BASE_URL`
        (http://localhost:<port>).

        Args:
            env: The environment; `os.environ` when omitted (tests pass a dict).
            project_root: The project directory.

        Returns:
            Validated settings.

        Raises:
            ConfigError: If a variable is invalid.

        """
        env = os.environ if env is None else env
        raw_url = env.get("DATABASE_URL") or _default_database_url(project_root)
        port = _parse_port("WEB_PORT", env.get("WEB_PORT", "8080"))
        host = env.get("WEB_HOST", "127.0.0.1").strip()
        if not host:
            raise ConfigError("WEB_HOST is empty.")
        base = env.get("PUBLIC_BASE_URL", f"http://localhost:{port}").rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ConfigError(f"PUBLIC_BASE_URL must start with http:// or https://, got {base!r}.")
        content = project_root / "content"
        return cls(
            database_url=normalise_database_url(raw_url, project_root),
            project_root=project_root,
            web_host=host,
            web_port=port,
            public_base_url=base,
            awards_csv=content / "awards" / "awards.csv",
            aliases_file=content / "awards" / "aliases.yml",
            lookup_file=project_root / "data" / "nlu" / "awards_lookup.yml",
        )

    def with_database(self, database_url: str) -> Settings:
        """Return a copy pointing at another database (tests, tools).

        Args:
            database_url: Any URL `normalise_database_url` accepts.

        Returns:
            New settings.

        """
        return replace(self, database_url=normalise_database_url(database_url, self.project_root))
