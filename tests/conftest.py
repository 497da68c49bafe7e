"""Shared fixtures.

Databases: every test that takes `db_settings` runs twice, on a fresh SQLite
file and on PostgreSQL (a database created for this run on localhost:5432 and
dropped at the end; override the server with TEST_POSTGRES_URL). PostgreSQL
tests are skipped when the server is unreachable, except under CI, where they
fail instead. Tests never touch var/hotline.db or data/nlu/awards_lookup.yml:
settings point at temporary files.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.orm import sessionmaker

from bot.config import Settings
from bot.db.migrate import downgrade, upgrade

# tests.handoff_support: handoff, console and staff fixtures (fake Rasa, accounts).
pytest_plugins = ["tests.live_stack", "tests.handoff_support", "tests.privacy_support"]

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@localhost:5432/test")
SEED_CSV = Path(__file__).resolve().parent.parent / "content" / "awards" / "awards.csv"


def _pg_connect(url: str):  # type: ignore[no-untyped-def]
    import psycopg2

    return psycopg2.connect(url, connect_timeout=3)


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A PostgreSQL database for this test run (created, then dropped)."""
    import psycopg2
    from psycopg2 import sql

    try:
        admin = _pg_connect(PG_ADMIN_URL)
    except psycopg2.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL unreachable at {PG_ADMIN_URL} under CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_URL}: {exc}")
    admin.autocommit = True
    name = f"hotline_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        admin.close()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis server's URL (database 15, TEST_REDIS_URL overrides); skips if unreachable."""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://localhost:6379/15")
    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis unreachable at {url} under CI: {exc}")
        pytest.skip(f"Redis unreachable at {url}: {exc}")
    return url


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Settings for a fresh SQLite file (schema not created yet)."""
    settings = Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp_path / 'hotline.db'}"})
    return replace(settings, lookup_file=tmp_path / "awards_lookup.yml")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for an empty, migrated database: SQLite, then PostgreSQL."""
    settings = request.getfixturevalue("sqlite_settings")
    if request.param == "postgresql":
        settings = settings.with_database(request.getfixturevalue("pg_database_url"))
        downgrade(settings, "base")  # start clean whatever an earlier test left
    upgrade(settings)
    return settings


@pytest_asyncio.fixture
async def seeded_settings(db_settings: Settings) -> Settings:
    """A migrated database holding the seed awards (both backends)."""
    from bot.awards.commands import import_file

    outcome = await import_file(db_settings, SEED_CSV, write_entities=False)
    assert outcome.ok, outcome.parsed.errors
    return db_settings


@pytest_asyncio.fixture
async def seeded_sqlite(sqlite_settings: Settings) -> Settings:
    """A migrated SQLite database holding the seed awards."""
    from bot.awards.commands import import_file

    upgrade(sqlite_settings)
    outcome = await import_file(sqlite_settings, SEED_CSV, write_entities=False)
    assert outcome.ok, outcome.parsed.errors
    return sqlite_settings


@pytest_asyncio.fixture
async def sessions(seeded_settings: Settings) -> AsyncIterator[sessionmaker]:
    """A session factory on the seeded database (both backends)."""
    from bot.db.session import create_engine, create_sessionmaker

    engine = create_engine(seeded_settings)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def awards_actions(seeded_sqlite: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Award actions made in the test read the seeded SQLite database.

    They read `DATABASE_URL` from the environment, as the action server's do.
    """
    monkeypatch.setenv("DATABASE_URL", seeded_sqlite.database_url)
    return seeded_sqlite


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts the whole stack needs the trained model, whatever its marks say."""
    for item in items:
        if "live_stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.model)
