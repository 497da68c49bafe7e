"""Runs the whole stack in the foreground: Rasa, the action server and our web app.

``make run`` calls ``python -m bot.stack``. Ctrl-C (or SIGTERM) stops every
process. A process that dies once the stack is up is started again by the
supervisor ``bot.cluster`` uses too (``bot/supervisor.py``); the others keep
running, and conversations carry on once it is back (``tests/test_restarts.py``).
One that dies while the stack is starting stops it (a broken setting is
reported, not retried). The process ids are kept in ``var/stack-<WEB_PORT>.json``.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot import production
from bot.channels.credentials import write_effective_credentials
from bot.config import ConfigError, Settings
from bot.supervisor import Member, Supervisor

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


class StackError(ConfigError):
    """The stack cannot start as configured."""


@dataclass(frozen=True)
class Service:
    """One process of the stack and the URL that answers when it is ready."""

    name: str
    argv: list[str]
    health_url: str


@dataclass(frozen=True)
class StackConfig:
    """Ports, model and secrets for one run, from the application settings."""

    model: Path
    rasa_port: int
    actions_port: int
    web_port: int
    rasa_token: str
    cors_origins: tuple[str, ...]
    internal_token: str = ""
    # Shared state for several Rasa instances (README): trackers in PostgreSQL,
    # conversation locks in Redis. Empty: the SQLite file and in-memory locks.
    tracker_store_url: str = ""
    lock_store_url: str = ""
    tracker_db: Path = ROOT / "var" / "rasa_tracker.db"
    actions_token: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> StackConfig:
        """Checks what the stack needs beyond the settings themselves.

        Args:
            settings: The validated application settings.

        Returns:
            The run's configuration; tokens left unset are generated for this run.

        Raises:
            StackError: With a clear message if the stack cannot start as configured.

        """
        if not settings.rasa_model.exists():
            raise StackError(
                f"No trained model at {settings.rasa_model}: run `make train` (make run does it)."
            )
        ports = {
            "RASA_PORT": settings.rasa_port,
            "ACTIONS_PORT": settings.actions_port,
            "WEB_PORT": settings.web_port,
        }
        if len(set(ports.values())) != len(ports):
            raise StackError(f"RASA_PORT, ACTIONS_PORT and WEB_PORT must differ: {ports}")
        if settings.rasa_tracker_store_url:
            tracker_store_settings(settings.rasa_tracker_store_url)  # raises if unusable
        if settings.rasa_lock_store_url:
            lock_store_settings(settings.rasa_lock_store_url)
        return cls(
            settings.rasa_model,
            settings.rasa_port,
            settings.actions_port,
            settings.web_port,
            # Rasa's HTTP API is only ever on with a token; our app uses it to relay
            # staff messages. Callers never see it.
            settings.rasa_token or secrets.token_urlsafe(32),
            settings.cors_origins,
            # The action server and the web app share this secret (docs/handoff.md).
            settings.internal_token or secrets.token_urlsafe(32),
            settings.rasa_tracker_store_url,
            settings.rasa_lock_store_url,
            settings.rasa_tracker_db,
            # Rasa sends it to the action server, which refuses calls without it.
            settings.actions_token or secrets.token_urlsafe(32),
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StackConfig:
        """Reads the settings (`Settings.from_env`) and checks them for the stack.

        Args:
            env: The environment; `os.environ` when omitted.

        Returns:
            The run's configuration.

        Raises:
            StackError: If a setting is invalid or the stack cannot start with it.

        """
        try:
            settings = Settings.from_env(env, ROOT)
        except ConfigError as error:
            raise StackError(str(error)) from None
        return cls.from_settings(settings)


def tracker_store_settings(url: str) -> dict[str, object]:
    """Rasa's tracker store settings for a PostgreSQL URL (RASA_TRACKER_STORE_URL).

    Raises:
        StackError: If the URL is not a PostgreSQL URL with a host and a database.
    """
    try:
        parsed: URL = make_url(url)
    except ArgumentError as error:
        raise StackError(f"RASA_TRACKER_STORE_URL is not a database URL: {url!r}") from error
    if parsed.get_backend_name() != "postgresql" or not parsed.host or not parsed.database:
        raise StackError(
            "RASA_TRACKER_STORE_URL must be postgresql://user@host:port/database "
            f"(several Rasa instances share it), not {url!r}"
        )
    settings: dict[str, object] = {
        "type": "bot.tracker_store.HotlineSQLTrackerStore",
        "dialect": "postgresql",
        # Rasa hands a custom store's `url` to it as `host`.
        "url": parsed.host,
        "port": parsed.port or 5432,
        "db": parsed.database,
    }
    if parsed.username:
        settings["username"] = parsed.username
    if parsed.password:
        settings["password"] = parsed.password
    return settings


def lock_store_settings(url: str) -> dict[str, object]:
    """Rasa's Redis lock store settings for a redis:// URL (RASA_LOCK_STORE_URL).

    Raises:
        StackError: If the URL is not redis://[:password@]host[:port][/db].
    """
    parsed = urllib.parse.urlsplit(url)
    db = parsed.path.strip("/") or "0"
    try:
        port = parsed.port or 6379
    except ValueError as error:
        raise StackError(f"RASA_LOCK_STORE_URL has a bad port: {url!r}") from error
    if parsed.scheme != "redis" or not parsed.hostname or not db.isdigit():
        raise StackError(
            f"RASA_LOCK_STORE_URL must be redis://host:port/db (e.g. redis://localhost:6379/0), "
            f"not {url!r}"
        )
    settings: dict[str, object] = {
        # Rasa's RedisLockStore with atomic ticket updates (bot/lock_store.py).
        "type": "bot.lock_store.HotlineRedisLockStore",
        "url": parsed.hostname,
        "port": port,
        "db": int(db),
        "key_prefix": "mutualshotline",
    }
    if parsed.password:
        settings["password"] = parsed.password
    return settings


def endpoints_file(config: StackConfig) -> Path:
    """The endpoints Rasa runs with (one per port, like the credentials)."""
    return ROOT / "var" / f"endpoints-{config.rasa_port}.yml"


def write_endpoints(config: StackConfig) -> Path:
    """Writes endpoints.yml with the shared tracker and lock stores, if configured."""
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8")) or {}
    if config.tracker_store_url:
        endpoints["tracker_store"] = tracker_store_settings(config.tracker_store_url)
    if config.lock_store_url:
        endpoints["lock_store"] = lock_store_settings(config.lock_store_url)
    target = endpoints_file(config)
    target.parent.mkdir(exist_ok=True)
    header = "# GENERATED by bot.stack from endpoints.yml and the environment; do not edit.\n"
    target.write_text(header + yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    return target


def credentials_file(config: StackConfig) -> Path:
    """The generated Rasa credentials (one per port, so a test stack beside `make run` is safe)."""
    return ROOT / "var" / f"credentials-{config.rasa_port}.yml"


def services(config: StackConfig) -> list[Service]:
    """The three processes, in start order."""
    # Rasa's own `rasa run`, with the fixes of bot/rasa_runtime.py installed first.
    rasa = [
        sys.executable,
        "-m",
        "bot.rasa_runtime",
        "run",
        "--model",
        str(config.model),
        "--port",
        str(config.rasa_port),
        "--credentials",
        str(credentials_file(config)),
        "--endpoints",
        str(endpoints_file(config)),
        "--enable-api",
        # One argument: a generated token may start with "-", which argparse would
        # otherwise read as the next option and refuse to start Rasa.
        f"--auth-token={config.rasa_token}",
    ]
    if config.cors_origins:
        # One --cors with every origin: argparse keeps only the last of repeated --cors.
        rasa += ["--cors", *config.cors_origins]
    return [
        Service(
            "actions",
            # rasa-sdk's app behind our guards: loopback, Rasa's token, JSON only.
            [sys.executable, "-m", "actions.server", "--port", str(config.actions_port)],
            f"http://localhost:{config.actions_port}/health",
        ),
        Service("rasa", rasa, f"http://localhost:{config.rasa_port}/"),
        Service(
            "web",
            [sys.executable, "-m", "bot", "web", "--port", str(config.web_port)],
            f"http://localhost:{config.web_port}/health",
        ),
    ]


def state_file(config: StackConfig) -> Path:
    """Where the supervisor keeps the processes' ids (one per web port, like a cluster's)."""
    return ROOT / "var" / f"stack-{config.web_port}.json"


def run(config: StackConfig, ready_timeout: float = 300.0) -> int:
    """Starts the stack and supervises it until Ctrl-C, restarting a process that dies.

    Args:
        config: The run's configuration.
        ready_timeout: How long every process has to answer its health URL.

    Returns:
        The exit status: 0 when stopped on request, 1 if the stack did not start.

    """
    # The children inherit our environment (the channels' secrets, which Rasa
    # substitutes into the credentials) with the values this run settled on.
    env = dict(
        os.environ,
        RASA_TOKEN=config.rasa_token,
        RASA_URL=f"http://localhost:{config.rasa_port}",
        ACTIONS_PORT=str(config.actions_port),
        WEB_PORT=str(config.web_port),
        RASA_TRACKER_DB=str(config.tracker_db),
        HOTLINE_INTERNAL_TOKEN=config.internal_token,
        HOTLINE_ACTIONS_TOKEN=config.actions_token,
    )
    (ROOT / "var").mkdir(exist_ok=True)
    # Schema, seed data and the first supervisor before anything serves requests
    # (each step is idempotent; ensure-admin prints a generated password once).
    for step in (["seed"], ["staff", "ensure-admin"]):
        done = subprocess.run([sys.executable, "-m", "bot", *step], cwd=ROOT, env=env)  # noqa: S603
        if done.returncode != 0:
            print(f"`python -m bot {' '.join(step)}` failed; not starting.", file=sys.stderr)
            return 1
    # Only the configured channels (bot/channels/credentials.py); ${VAR}s stay unexpanded.
    for note in write_effective_credentials(env, target=credentials_file(config)):
        print(f"Warning: {note}", file=sys.stderr, flush=True)
    write_endpoints(config)
    group = [Member(s.name, s.argv, s.health_url, env) for s in services(config)]
    supervisor = Supervisor(group, state_file(config), ROOT)

    def on_signal(signum: int, frame: object) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    deadline = time.monotonic() + ready_timeout
    try:
        for member in group:
            print(f"Starting {member.name}: {' '.join(member.argv[:3])} ...", flush=True)
            supervisor.start(member)
        for member in group:
            if not supervisor.wait_healthy(member, deadline):
                if supervisor.stopping:
                    return 0
                process = supervisor.processes[member.name]
                if process.poll() is not None:
                    print(
                        f"{member.name} stopped while starting (exit {process.returncode}); "
                        "stopping the stack.",
                        file=sys.stderr,
                    )
                else:
                    print(f"Not ready after {ready_timeout:.0f} s: {member.name}", file=sys.stderr)
                return 1
        print(
            "\nThe hotline assistant is running:\n"
            f"  web chat demo  http://localhost:{config.web_port}/\n"
            f"  staff console  http://localhost:{config.web_port}/console\n"
            f"  Rasa (REST, socket.io, phone)  http://localhost:{config.rasa_port}/\n"
            f"  action server  http://localhost:{config.actions_port}/health\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        supervisor.supervise()
        print("Stopping...", flush=True)
        return 0
    finally:
        supervisor.stop()
        credentials_file(config).unlink(missing_ok=True)


def main() -> int:
    """Entry point for ``python -m bot.stack``."""
    from bot.core import logmask

    logmask.install()  # personal data masked in every log record (issue 13)
    try:
        config = StackConfig.from_env()
        would_refuse = production.check(Settings.from_env(), os.environ)
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    if would_refuse:
        print("Local mode. With HOTLINE_PRODUCTION=true this would be refused:", file=sys.stderr)
        for problem in would_refuse:
            print(f"  - {problem}", file=sys.stderr)
    return run(config)


if __name__ == "__main__":
    sys.exit(main())
