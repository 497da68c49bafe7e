"""The handoff's live parts: console WebSockets, the Rasa client, queue-position updates.

One `HandoffRuntime` per web app (created by `handoff_ctx`, a `cleanup_ctx`):

- `ConsoleHub` keeps the open console WebSockets and pushes events to them:
  `{"type": "ticket", "event": "created"|"updated", "ticket": {...}}`,
  `{"type": "message", "ticket_id": n, "message": {...}}`, `{"type": "callback", ...}`.
- A single background worker sends waiting callers a queue update through Rasa
  when their place changes. Changes are coalesced: a burst of 20 handoffs wakes
  the worker once or twice, not 20 times, and updates go out in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import update
from sqlalchemy.orm import sessionmaker

from bot.config import Settings
from bot.db.models import HandoffTicket
from bot.handoff import service
from bot.handoff.clock import utcnow
from bot.handoff.rasa_client import RasaClient, RasaUnavailable, bot_message

log = logging.getLogger(__name__)


def describe_wait(seconds: int) -> str:
    """Words for an expected wait ("about 10 minutes")."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "less than a minute"
    if minutes == 1:
        return "about 1 minute"
    return f"about {minutes} minutes"


def queue_update_text(position: int, wait_seconds: int) -> str:
    """The message a waiting caller gets when their place changes."""
    if position == 1:
        return f"You're next in the queue. The expected wait is {describe_wait(wait_seconds)}."
    return (
        f"You're now number {position} in the queue. "
        f"The expected wait is {describe_wait(wait_seconds)}."
    )


class ConsoleHub:
    """The open console WebSockets; broadcasts JSON events to all of them."""

    def __init__(self) -> None:
        self._sockets: set[web.WebSocketResponse] = set()

    def add(self, ws: web.WebSocketResponse) -> None:
        """Register a connected socket."""
        self._sockets.add(ws)

    def discard(self, ws: web.WebSocketResponse) -> None:
        """Forget a socket (closed)."""
        self._sockets.discard(ws)

    async def broadcast(self, payload: dict[str, Any]) -> None:
        """Send an event to every console; a dead socket is dropped, never blocks the rest."""
        if not self._sockets:
            return
        data = json.dumps(payload)
        sockets = list(self._sockets)
        results = await asyncio.gather(
            *(ws.send_str(data) for ws in sockets), return_exceptions=True
        )
        for ws, result in zip(sockets, results, strict=True):
            if isinstance(result, BaseException):
                self._sockets.discard(ws)

    async def close_all(self) -> None:
        """Close every socket (shutdown)."""
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"shutdown")
        self._sockets.clear()


class HandoffRuntime:
    """Shared objects of the handoff for one application.

    Args:
        settings: Application settings.
        sessions: The app's session factory.
        rasa: The Rasa client.

    """

    def __init__(self, settings: Settings, sessions: sessionmaker, rasa: RasaClient) -> None:
        self.settings = settings
        self.sessions = sessions
        self.rasa = rasa
        self.hub = ConsoleHub()
        self._queue_dirty = asyncio.Event()
        # Creations are serialised so each caller is told a distinct, correct place
        # (concurrent transactions cannot see each other's new tickets).
        self.create_lock = asyncio.Lock()
        self._worker: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the queue-update worker."""
        self._worker = asyncio.create_task(self._queue_worker(), name="handoff-queue-updates")

    async def stop(self) -> None:
        """Stop the worker and close the consoles."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        await self.hub.close_all()

    def queue_changed(self) -> None:
        """Note that the queue changed; the worker recomputes places soon."""
        self._queue_dirty.set()

    async def send_to_caller(
        self, conversation_id: str, events: Sequence[dict[str, Any]]
    ) -> str | None:
        """Append events to the caller's tracker; returns an error text instead of raising."""
        try:
            await self.rasa.append_events(conversation_id, events)
        except RasaUnavailable as exc:
            log.warning("could not send events to %s: %s", conversation_id, exc)
            return str(exc)
        return None

    async def broadcast_ticket(self, view: service.TicketView, event: str) -> None:
        """Push a ticket's new state to every console."""
        await self.hub.broadcast(
            {"type": "ticket", "event": event, "ticket": view.to_json(utcnow())}
        )

    async def _queue_worker(self) -> None:
        while True:
            await self._queue_dirty.wait()
            self._queue_dirty.clear()
            try:
                await self.update_positions()
            except Exception:  # the worker must survive a bad moment (database restart)
                log.exception("queue position update failed")
                await asyncio.sleep(1)

    async def update_positions(self) -> list[tuple[str, int]]:
        """Tell each waiting caller their new place, if it changed since we last told them.

        Returns:
            (conversation_id, position) of the callers sent an update.

        """
        async with self.sessions() as session:
            waiting = await service.queue(session)
            per_caller = await service.handle_seconds(session, self.settings.default_handle_seconds)
            changed: list[tuple[str, int]] = []
            for position, view in enumerate(waiting, start=1):
                if view.ticket.last_position != position:
                    changed.append((str(view.ticket.conversation_id), position))
                    await session.execute(
                        update(HandoffTicket)
                        .where(HandoffTicket.id == view.ticket.id)
                        .values(last_position=position)
                    )
            await session.commit()
        await asyncio.gather(
            *(
                self.send_to_caller(
                    conversation_id,
                    [
                        bot_message(
                            queue_update_text(
                                position, service.expected_wait(position, per_caller)
                            ),
                            sender="system",
                            queue_position=position,
                        )
                    ],
                )
                for conversation_id, position in changed
            )
        )
        return changed


HANDOFF = web.AppKey("handoff", HandoffRuntime)


async def handoff_ctx(app: web.Application) -> AsyncIterator[None]:
    """`cleanup_ctx`: the ClientSession for Rasa, the runtime and its worker.

    Must come after the database context (it uses the app's session factory).

    Args:
        app: The application.

    Yields:
        While the application runs.

    """
    from bot.web.app import SESSIONMAKER, SETTINGS

    settings = app[SETTINGS]
    async with aiohttp.ClientSession() as http:
        runtime = HandoffRuntime(
            settings, app[SESSIONMAKER], RasaClient(http, settings.rasa_url, settings.rasa_token)
        )
        app[HANDOFF] = runtime
        runtime.start()
        yield
        await runtime.stop()
