"""Settings from the environment: database URLs and clear configuration errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT, ConfigError, Settings


def test_defaults_to_sqlite_in_var() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'hotline.db'}"
    assert settings.sync_database_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'hotline.db'}"
    assert (settings.web_host, settings.web_port) == ("127.0.0.1", 8080)
    assert settings.awards_csv == PROJECT_ROOT / "content" / "awards" / "awards.csv"
    assert settings.is_sqlite


@pytest.mark.parametrize(
    ("url", "async_url", "sync_url"),
    [
        (
            "postgresql://postgres@localhost:5432/test",
            "postgresql+asyncpg://postgres@localhost:5432/test",
            "postgresql+psycopg2://postgres@localhost:5432/test",
        ),
        (
            "postgres://u:p%40ss@db/x",
            "postgresql+asyncpg://u:p%40ss@db/x",
            "postgresql+psycopg2://u:p%40ss@db/x",
        ),
        ("sqlite:////tmp/x.db", "sqlite+aiosqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_urls_are_normalised(url: str, async_url: str, sync_url: str) -> None:
    settings = Settings.from_env({"DATABASE_URL": url})
    assert (settings.database_url, settings.sync_database_url) == (async_url, sync_url)


def test_relative_sqlite_paths_are_under_the_project() -> None:
    settings = Settings.from_env({"DATABASE_URL": "sqlite:///var/other.db"}, Path("/srv/app"))
    assert settings.database_url == "sqlite+aiosqlite:////srv/app/var/other.db"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "mysql://x/y"}, "scheme 'mysql' is not supported"),
        ({"DATABASE_URL": "hotline.db"}, "is not a URL"),
        ({"DATABASE_URL": "sqlite:///:memory:"}, "in-memory SQLite is not supported"),
        ({"DATABASE_URL": "postgresql:///nohost"}, "need a host"),
        ({"WEB_PORT": "eighty"}, "WEB_PORT must be a whole number"),
        ({"WEB_PORT": "70000"}, "WEB_PORT must be between 1 and 65535"),
        ({"PUBLIC_BASE_URL": "localhost:8080"}, "PUBLIC_BASE_URL must start with http"),
    ],
)
def test_bad_settings_fail_clearly(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(AttributeError):
        settings.web_port = 1  # type: ignore[misc]
