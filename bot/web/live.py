"""The web app's handoff runtime: one per app, with its Rasa client and console hub."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.core.conversations import resolve_key
from bot.core.pubsub import channel_name
from bot.handoff.runtime import HandoffRuntime
from bot.web.context import SESSIONMAKER, SETTINGS
from bot.web.fanout import RedisFanout
from bot.web.hub import ConsoleHub
from bot.web.rasa_client import RasaClient

HANDOFF = web.AppKey("handoff", HandoffRuntime)
#: The consoles' WebSockets (the runtime sees them only as its `Broadcaster`).
CONSOLE_HUB = web.AppKey("console_hub", ConsoleHub)


async def handoff_ctx(app: web.Application) -> AsyncIterator[None]:
    """`cleanup_ctx`: the ClientSession for Rasa, the runtime and its worker.

    Must come after the database context (it uses the app's session factory).

    Args:
        app: The application.

    Yields:
        While the application runs.

    """
    settings = app[SETTINGS]
    async with aiohttp.ClientSession() as http:
        hub = ConsoleHub()
        # Shared mode: events reach the consoles of every web process through Redis.
        fanout = None
        if settings.pubsub_url:
            key = resolve_key(settings.session_key, settings.project_root)
            fanout = RedisFanout(settings.pubsub_url, hub, channel_name("console", key))
        if fanout is not None:
            await fanout.start()
        runtime = HandoffRuntime(
            settings,
            app[SESSIONMAKER],
            RasaClient(http, settings.rasa_url, settings.rasa_token),
            fanout or hub,
        )
        app[HANDOFF] = runtime
        app[CONSOLE_HUB] = hub
        runtime.start()
        yield
        await runtime.stop()
        if fanout is not None:
            await fanout.stop()
        await hub.close_all()
