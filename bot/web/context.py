"""What every part of the web app shares: its folders, typed app keys, the database.

The app factory (``bot/web/app.py``) imports the feature modules; they import
this module, never the factory, so imports point one way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import sessionmaker

from bot.config import Settings
from bot.db.session import create_engine, create_sessionmaker

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

#: A row id in a route: 1 to 9 digits, so it always fits the tables' 32-bit
#: integer ids (a longer one is a 404 from the router, never an overflow in a query).
ROW_ID = "{id:[1-9][0-9]{0,8}}"

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONMAKER = web.AppKey("sessionmaker", sessionmaker)


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    """Create the engine at start-up and dispose of it at shutdown.

    Args:
        app: The application.

    Yields:
        While the application runs.

    """
    engine = create_engine(app[SETTINGS])
    app[ENGINE] = engine
    app[SESSIONMAKER] = create_sessionmaker(engine)
    yield
    await engine.dispose()


@asynccontextmanager
async def request_session(request: web.Request) -> AsyncIterator[AsyncSession]:
    """Open the request's database session (closed when the handler is done).

    Args:
        request: The current request.

    Yields:
        A session.

    """
    async with request.app[SESSIONMAKER]() as session:
        yield session
