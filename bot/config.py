"""Settings read from the environment once, validated at start-up.

This is the only module that reads the environment for settings. Each process
builds its settings once at start-up with `Settings.from_env()` (the command
line, the web app's factory, the stack launcher, and each custom action when the
action server registers it) and hands them on; nothing else reads `os.environ`
for a setting. Invalid values raise `ConfigError` with a message that names the
variable, so a bad deployment fails at start-up rather than on the first
request. A new setting is a field with a default here, parsed in `from_env`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from bot.core.hours import HoursError, StaffedHours, parse_hours

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


def _parse_int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}.")
    return value


def _env_int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """The whole-number setting `name` (or its default), within [low, high]."""
    return _parse_int(name, env.get(name, str(default)), low, high)


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}.")


def _parse_interval(name: str, raw: str) -> int:
    # 0 switches the schedule off; otherwise at least a minute, at most a day.
    value = _parse_int(name, raw, 0, 86_400)
    if 0 < value < 60:
        raise ConfigError(f"{name} must be 0 (off) or at least 60 seconds, got {value}.")
    return value


def _parse_pubsub_url(raw: str, database_url: str) -> str:
    """`HOTLINE_PUBSUB_URL`: empty (one process) or redis://host[:port][/db] on PostgreSQL."""
    url = raw.strip()
    if not url:
        return ""
    parsed = urlsplit(url)
    db = parsed.path.strip("/") or "0"
    if parsed.scheme != "redis" or not parsed.hostname or not db.isdigit():
        raise ConfigError(
            f"HOTLINE_PUBSUB_URL must be redis://host:port/db (e.g. redis://localhost:6379/0), "
            f"not {url!r}."
        )
    # Several processes on one SQLite file would queue callers and lock each other out.
    if not database_url.strip().startswith(("postgres://", "postgresql")):
        raise ConfigError(
            "HOTLINE_PUBSUB_URL (several web processes) needs a PostgreSQL DATABASE_URL."
        )
    return url


DEFAULT_HOTLINE_HOURS = "mon-fri 09:00-17:00"


def _default_hours() -> StaffedHours:
    return parse_hours(DEFAULT_HOTLINE_HOURS)


def _parse_port(name: str, raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{name} must be between 1 and 65535, got {port}.")
    return port


def _parse_http_url(name: str, raw: str) -> str:
    url = raw.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {url!r}.")
    return url


def _parse_origins(name: str, raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip() for o in raw.split(",") if o.strip())
    if "*" in origins:
        # Any site could then drive the widget's socket and read its history.
        raise ConfigError(f"{name} must list the sites' own origins, not '*'.")
    return origins


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
        hotline_hours: Staffed hours (`HOTLINE_HOURS`, `HOTLINE_HOLIDAYS`), UK time.
        hotline_max_queue: Callers allowed to wait before new ones get a callback offer.
        hotline_queue_left_seconds: How long a waiting caller's web chat may stay
            closed before their place is given up (`HOTLINE_QUEUE_LEFT_SECONDS`, 120).
        hotline_max_tickets_per_client: Open tickets one address may hold
            (`HOTLINE_MAX_TICKETS_PER_CLIENT`, 2; `bot.handoff.limits`).
        hotline_max_callbacks_per_client: Callbacks one address may book a day
            (`HOTLINE_MAX_CALLBACKS_PER_CLIENT`, 3).
        default_handle_seconds: Assumed handle time per caller until there is history.
        internal_token: Shared secret of the internal API (empty: internal API refuses all).
        rasa_url: Base URL of Rasa's HTTP API.
        rasa_token: Token of Rasa's HTTP API (empty: nothing is sent to Rasa).
        cookie_secure: Set the Secure flag on console cookies (off only for http:// dev).
        session_key: Server key that turns a caller's session secret into its
            conversation id (`HOTLINE_SESSION_KEY`; empty: `var/session.key`, see
            `bot.core.conversations.resolve_key`).
        max_message_chars: The longest caller message any channel hands to Rasa
            (`HOTLINE_MAX_MESSAGE_CHARS`); a longer one gets a reply asking for less.
        login_max_failures: Failed logins for one user name before it is locked out.
        login_window_seconds: The window those failures are counted in (and the lockout).
        login_max_address_failures: Failed logins from one address, whatever the user
            names, before that address is refused (`HOTLINE_LOGIN_MAX_ADDRESS_FAILURES`).
        session_seconds: Lifetime of a staff session.
        rasa_port: Port Rasa listens on (the stack starts it there).
        actions_port: Port of the action server.
        actions_host: Interface the action server listens on (`ACTIONS_HOST`, loopback).
        production: Refuse unsafe configuration at start-up (`HOTLINE_PRODUCTION`,
            off: `make run`'s local mode; see `bot.production`).
        actions_token: Secret Rasa sends the action server and it checks
            (`HOTLINE_ACTIONS_TOKEN`; empty: the action server refuses every call).
        cors_origins: The sites that embed the widget (Rasa's CORS, the widget's history).
        widget_rasa_url: Rasa as the caller's browser reaches it (the widget's socket).
        hotline_app_url: The web app's base URL as the action server reaches it.
        admin_user: The first supervisor's user name.
        admin_password: The first supervisor's password (empty: one is generated).
        rasa_model: The trained model the stack runs.
        rasa_tracker_db: Rasa's SQLite tracker file (without a shared tracker store).
        rasa_tracker_store_url: Shared PostgreSQL tracker store (empty: the SQLite file).
        rasa_lock_store_url: Shared Redis lock store (empty: in-memory locks).
        retain_conversations_days: Days a conversation is kept after its last
            activity: Rasa's tracker, the ticket and its transcript
            (`HOTLINE_RETAIN_CONVERSATIONS_DAYS`, 90).
        retain_callbacks_days: Days a callback request is kept once done
            (`HOTLINE_RETAIN_CALLBACKS_DAYS`, 30; open ones are kept until done).
        retain_ratings_days: Days a satisfaction rating is kept
            (`HOTLINE_RETAIN_RATINGS_DAYS`, 365; unlinked from its conversation
            when the conversation goes).
        retain_audit_days: Days audit entries and sign-in attempts are kept
            (`HOTLINE_RETAIN_AUDIT_DAYS`, 730).
        purge_interval_seconds: How often the web app runs the retention job
            (`HOTLINE_PURGE_INTERVAL_SECONDS`, 3600; 0 turns the schedule off).
        pubsub_url: Shared mode (`HOTLINE_PUBSUB_URL`, redis://host:port/db): several
            web processes and Rasa instances fan out console events and socket.io
            deliveries through Redis pub/sub (empty: one process each, in memory).
            Needs a PostgreSQL `DATABASE_URL`.

    """

    database_url: str
    project_root: Path = PROJECT_ROOT
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    public_base_url: str = "http://localhost:8080"
    awards_csv: Path = field(default=PROJECT_ROOT / "content" / "awards" / "awards.csv")
    aliases_file: Path = field(default=PROJECT_ROOT / "content" / "awards" / "aliases.yml")
    lookup_file: Path = field(default=PROJECT_ROOT / "data" / "nlu" / "awards_lookup.yml")
    hotline_hours: StaffedHours = field(default_factory=_default_hours)
    hotline_max_queue: int = 10
    hotline_queue_left_seconds: int = 120
    hotline_max_tickets_per_client: int = 2
    hotline_max_callbacks_per_client: int = 3
    default_handle_seconds: int = 300
    internal_token: str = field(default="", repr=False)
    rasa_url: str = "http://localhost:5005"
    rasa_token: str = field(default="", repr=False)
    cookie_secure: bool = True
    session_key: str = field(default="", repr=False)
    max_message_chars: int = 2000
    login_max_failures: int = 5
    login_window_seconds: int = 900
    login_max_address_failures: int = 20
    session_seconds: int = 12 * 3600
    rasa_port: int = 5005
    actions_port: int = 5055
    actions_host: str = "127.0.0.1"
    production: bool = False
    actions_token: str = field(default="", repr=False)
    cors_origins: tuple[str, ...] = ("http://localhost:8080", "http://127.0.0.1:8080")
    widget_rasa_url: str = "http://localhost:5005"
    hotline_app_url: str = "http://localhost:8080"
    admin_user: str = "admin"
    admin_password: str = field(default="", repr=False)
    rasa_model: Path = field(default=PROJECT_ROOT / "models" / "current.tar.gz")
    rasa_tracker_db: Path = field(default=PROJECT_ROOT / "var" / "rasa_tracker.db")
    rasa_tracker_store_url: str = field(default="", repr=False)
    rasa_lock_store_url: str = field(default="", repr=False)
    retain_conversations_days: int = 90
    retain_callbacks_days: int = 30
    retain_ratings_days: int = 365
    retain_audit_days: int = 730
    purge_interval_seconds: int = 3600
    pubsub_url: str = field(default="", repr=False)

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
        (http://localhost:<port>). Handoff: `HOTLINE_HOURS` (`mon-fri 09:00-17:00`
        or `always`), `HOTLINE_HOLIDAYS`, `HOTLINE_MAX_QUEUE` (10),
        `HOTLINE_DEFAULT_HANDLE_SECONDS` (300), `HOTLINE_INTERNAL_TOKEN`, `RASA_URL`
        (http://localhost:<RASA_PORT>), `RASA_TOKEN`, `HOTLINE_COOKIE_SECURE` (true for an
        https PUBLIC_BASE_URL, else false), `HOTLINE_LOGIN_MAX_FAILURES` (5),
        `HOTLINE_LOGIN_WINDOW_SECONDS` (900). The stack and the widget: `RASA_PORT`
        (5005), `ACTIONS_PORT` (5055), `CORS_ORIGINS` (localhost and 127.0.0.1 on
        WEB_PORT; never `*`), `WIDGET_RASA_URL` (RASA_URL), `HOTLINE_APP_URL`
        (http://localhost:<WEB_PORT>), `HOTLINE_ADMIN_USER` (admin),
        `HOTLINE_ADMIN_PASSWORD`, `RASA_MODEL` (models/current.tar.gz),
        `RASA_TRACKER_DB` (var/rasa_tracker.db), `RASA_TRACKER_STORE_URL`,
        `RASA_LOCK_STORE_URL`. Retention: `HOTLINE_RETAIN_CONVERSATIONS_DAYS` (90),
        `HOTLINE_RETAIN_CALLBACKS_DAYS` (30), `HOTLINE_RETAIN_RATINGS_DAYS` (365),
        `HOTLINE_RETAIN_AUDIT_DAYS` (730), `HOTLINE_PURGE_INTERVAL_SECONDS` (3600).
        Several processes: `HOTLINE_PUBSUB_URL` (empty).

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
        try:
            hours = parse_hours(
                env.get("HOTLINE_HOURS", DEFAULT_HOTLINE_HOURS), env.get("HOTLINE_HOLIDAYS", "")
            )
        except HoursError as exc:
            raise ConfigError(f"HOTLINE_HOURS / HOTLINE_HOLIDAYS: {exc}") from None
        rasa_port = _parse_port("RASA_PORT", env.get("RASA_PORT", "5005"))
        rasa_url = env.get("RASA_URL", f"http://localhost:{rasa_port}").strip().rstrip("/")
        if not rasa_url.startswith(("http://", "https://")):
            raise ConfigError(f"RASA_URL must start with http:// or https://, got {rasa_url!r}.")
        widget_var = "WIDGET_RASA_URL" if env.get("WIDGET_RASA_URL") else "RASA_URL"
        widget_rasa_url = _parse_http_url(widget_var, env.get("WIDGET_RASA_URL") or rasa_url)
        local = f"http://localhost:{port},http://127.0.0.1:{port}"
        # Secure cookies by default; plain-http development (http://localhost) turns it off.
        secure_default = "true" if base.startswith("https://") else "false"
        return cls(
            database_url=normalise_database_url(raw_url, project_root),
            project_root=project_root,
            web_host=host,
            web_port=port,
            public_base_url=base,
            awards_csv=content / "awards" / "awards.csv",
            aliases_file=content / "awards" / "aliases.yml",
            lookup_file=project_root / "data" / "nlu" / "awards_lookup.yml",
            hotline_hours=hours,
            hotline_max_queue=_env_int(env, "HOTLINE_MAX_QUEUE", 10, 0, 10_000),
            hotline_queue_left_seconds=_env_int(env, "HOTLINE_QUEUE_LEFT_SECONDS", 120, 10, 86_400),
            hotline_max_tickets_per_client=_env_int(
                env, "HOTLINE_MAX_TICKETS_PER_CLIENT", 2, 1, 10_000
            ),
            hotline_max_callbacks_per_client=_env_int(
                env, "HOTLINE_MAX_CALLBACKS_PER_CLIENT", 3, 1, 10_000
            ),
            default_handle_seconds=_env_int(env, "HOTLINE_DEFAULT_HANDLE_SECONDS", 300, 1, 86_400),
            internal_token=env.get("HOTLINE_INTERNAL_TOKEN", "").strip(),
            rasa_url=rasa_url,
            rasa_token=env.get("RASA_TOKEN", "").strip(),
            session_key=env.get("HOTLINE_SESSION_KEY", "").strip(),
            max_message_chars=_env_int(env, "HOTLINE_MAX_MESSAGE_CHARS", 2000, 100, 20_000),
            cookie_secure=_parse_bool(
                "HOTLINE_COOKIE_SECURE", env.get("HOTLINE_COOKIE_SECURE", secure_default)
            ),
            login_max_failures=_env_int(env, "HOTLINE_LOGIN_MAX_FAILURES", 5, 1, 1000),
            login_window_seconds=_env_int(env, "HOTLINE_LOGIN_WINDOW_SECONDS", 900, 1, 86_400),
            login_max_address_failures=_env_int(
                env, "HOTLINE_LOGIN_MAX_ADDRESS_FAILURES", 20, 1, 100_000
            ),
            rasa_port=rasa_port,
            actions_port=_parse_port("ACTIONS_PORT", env.get("ACTIONS_PORT", "5055")),
            actions_host=env.get("ACTIONS_HOST", "127.0.0.1").strip() or "127.0.0.1",
            production=_parse_bool("HOTLINE_PRODUCTION", env.get("HOTLINE_PRODUCTION", "false")),
            actions_token=env.get("HOTLINE_ACTIONS_TOKEN", "").strip(),
            cors_origins=_parse_origins("CORS_ORIGINS", env.get("CORS_ORIGINS", local)),
            widget_rasa_url=widget_rasa_url,
            hotline_app_url=_parse_http_url(
                "HOTLINE_APP_URL", env.get("HOTLINE_APP_URL") or f"http://localhost:{port}"
            ),
            admin_user=env.get("HOTLINE_ADMIN_USER", "admin").strip() or "admin",
            admin_password=env.get("HOTLINE_ADMIN_PASSWORD", ""),
            rasa_model=project_root / env.get("RASA_MODEL", "models/current.tar.gz"),
            rasa_tracker_db=Path(
                env.get("RASA_TRACKER_DB") or project_root / "var" / "rasa_tracker.db"
            ),
            rasa_tracker_store_url=env.get("RASA_TRACKER_STORE_URL", "").strip(),
            rasa_lock_store_url=env.get("RASA_LOCK_STORE_URL", "").strip(),
            # Retention (issue 13, docs/design.md "Privacy"): at least a day, at most ten years.
            retain_conversations_days=_env_int(
                env, "HOTLINE_RETAIN_CONVERSATIONS_DAYS", 90, 1, 3650
            ),
            retain_callbacks_days=_env_int(env, "HOTLINE_RETAIN_CALLBACKS_DAYS", 30, 1, 3650),
            retain_ratings_days=_env_int(env, "HOTLINE_RETAIN_RATINGS_DAYS", 365, 1, 3650),
            retain_audit_days=_env_int(env, "HOTLINE_RETAIN_AUDIT_DAYS", 730, 1, 3650),
            purge_interval_seconds=_parse_interval(
                "HOTLINE_PURGE_INTERVAL_SECONDS", env.get("HOTLINE_PURGE_INTERVAL_SECONDS", "3600")
            ),
            pubsub_url=_parse_pubsub_url(env.get("HOTLINE_PUBSUB_URL", ""), raw_url),
        )

    def with_database(self, database_url: str) -> Settings:
        """Return a copy pointing at another database (tests, tools).

        Args:
            database_url: Any URL `normalise_database_url` accepts.

        Returns:
            New settings.

        """
        return replace(self, database_url=normalise_database_url(database_url, self.project_root))
