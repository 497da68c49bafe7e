"""The aiohttp application: factory, database lifecycle, health check.

In the style of aiohttp's "polls" demo: `create_app(settings)` builds the
application, a `cleanup_ctx` creates the database engine on start-up and
disposes of it on shutdown, and typed `web.AppKey`s (aiohttp >= 3.9) hold
shared objects. Each request that needs the database opens one session
(`request_session`). Feature routes live in their own modules and register
themselves here (`bot.web.awards.setup_routes`).
"""

from __future__ import annotations

import aiohttp_jinja2
import jinja2
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.core.money import format_gbp
from bot.web import awards, headers
from bot.web.console import setup_console
from bot.web.context import SETTINGS, STATIC_DIR, TEMPLATES_DIR, database_ctx, request_session
from bot.web.errors import error_middleware
from bot.web.openapi import setup_openapi
from bot.web.privacy import setup_privacy
from bot.web.widget import setup_widget


async def health(request: web.Request) -> web.Response:
    """Report liveness and whether the database answers.

    Args:
        request: The request.

    Returns:
        200 `{"status": "ok", "database": "ok"}`, or 503 when the database is down.

    """
    try:
        async with request_session(request) as session:
            await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        return web.json_response({"status": "error", "database": "unavailable"}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})


def create_app(settings: Settings | None = None) -> web.Application:
    """Build the web application.

    Args:
        settings: Application settings (read from the environment when omitted).

    Returns:
        The application, ready for `web.run_app` or `aiohttp_client`.

    """
    settings = settings or Settings.from_env()
    app = web.Application()
    app[SETTINGS] = settings
    # aiohttp 3.9 types this signal one level too deep; the hook has the documented shape.
    app.on_response_prepare.append(headers.on_prepare)  # type: ignore[arg-type]
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(("html", "xml"), default=True),
        filters={"gbp": format_gbp},
    )
    app.cleanup_ctx.append(database_ctx)
    app.router.add_get("/health", health, name="health")
    awards.setup_routes(app)
    setup_console(app)  # handoff: staff console, staff and internal APIs
    # After setup_console's access middleware, so inside it: error answers get the
    # staff headers the handlers' own answers get.
    app.middlewares.append(error_middleware)
    setup_widget(app)  # the web chat widget and its demo page
    setup_privacy(app)  # the notice, erasure and access, the retention schedule
    setup_openapi(app)  # GET /api/openapi.json, the JSON APIs' description
    if STATIC_DIR.is_dir():
        app.router.add_static("/static/", STATIC_DIR, name="static")
    return app
