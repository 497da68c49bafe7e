"""Async engine and session factory.

SQLAlchemy 1.4 has no `async_sessionmaker`; `sessionmaker(class_=AsyncSession)`
is its equivalent. Sessions do not expire objects on commit, so results can be
read after the transaction ends (there is no lazy loading under asyncio).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import sessionmaker

from bot.config import Settings


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores FOREIGN KEY clauses unless asked, per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(settings: Settings, **kwargs: Any) -> AsyncEngine:
    """Create the async engine for the configured database.

    For SQLite the database file's folder is created if missing, and foreign
    keys are switched on for every connection.

    Args:
        settings: Application settings.
        **kwargs: Extra `create_async_engine` options (tests pass `poolclass`).

    Returns:
        A new engine; the caller disposes it (`await engine.dispose()`).

    """
    if settings.is_sqlite:
        path = settings.database_url.split(":///", 1)[1]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30})
    else:
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_async_engine(settings.database_url, future=True, **kwargs)
    if settings.is_sqlite:
        event.listen(engine.sync_engine, "connect", _enable_sqlite_foreign_keys)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> sessionmaker:
    """Return a factory of `AsyncSession` bound to `engine`.

    Args:
        engine: The async engine.

    Returns:
        `sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)`.

    """
    return sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, future=True)
