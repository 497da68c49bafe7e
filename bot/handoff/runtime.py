"""The handoff's live parts: queue-position updates, delivery to callers and consoles.

One `HandoffRuntime` per web app (created by `bot.web.live.handoff_ctx`), given
the ports it talks through (`bot.handoff.ports`: Rasa's conversations and the
consoles' broadcaster):

- A single background worker sends waiting callers a queue update through Rasa
  when their place changes. Changes are coalesced: a burst of 20 handoffs wakes
  the worker once or twice, not 20 times, and updates go out in order.
- With several web processes each has a worker, woken by its own process's
  changes; a worker recomputes places only while holding the ``handoff.queue``
  job lease (`bot.db.leases`), so one process at a time tells callers their new
  place and nobody is told twice. A worker that finds the lease taken waits and
  tries again: the holder may have read the queue before this change.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from bot.config import Settings
from bot.core.clock import utcnow
from bot.core.content import handoff_messages
from bot.core.waits import wait_in_words
from bot.db import leases
from bot.db.models import HandoffTicket
from bot.handoff import service
from bot.handoff.ports import (
    Broadcaster,
    Conversations,
    RasaUnavailable,
    bot_message,
    slot_event,
)
from bot.staff.accounts import audit

log = logging.getLogger(__name__)

QUEUE_JOB = "handoff.queue"
#: A holder that dies mid-update blocks others at most this long.
QUEUE_LEASE_SECONDS = 30
#: How soon a worker that found the lease taken asks again.
QUEUE_LEASE_RETRY_SECONDS = 0.2
#: How often waiting callers whose chat went away are looked for (once across
#: processes, under this lease).
EXPIRY_JOB = "handoff.expiry"
EXPIRY_CHECK_SECONDS = 20


def queue_update_text(position: int, wait_seconds: int) -> str:
    """The message a waiting caller gets when their place changes."""
    wait = wait_in_words(wait_seconds)
    if position == 1:
        return handoff_messages().render("queue_next", wait=wait)
    return handoff_messages().render("queue_number", position=position, wait=wait)


class HandoffRuntime:
    """Shared objects of the handoff for one application.

    Args:
        settings: Application settings.
        sessions: The app's session factory.
        rasa: The Rasa client.

    """

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker,
        rasa: Conversations,
        hub: Broadcaster,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.rasa = rasa
        self.hub = hub
        self._queue_dirty = asyncio.Event()
        self._holder = leases.holder_name()
        self._worker: asyncio.Task[None] | None = None
        self._expiry: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the queue-update and departed-caller workers."""
        self._worker = asyncio.create_task(self._queue_worker(), name="handoff-queue-updates")
        self._expiry = asyncio.create_task(self._expiry_worker(), name="handoff-expiry")

    async def stop(self) -> None:
        """Stop the workers."""
        for task in (self._worker, self._expiry):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _expiry_worker(self) -> None:
        while True:
            await asyncio.sleep(EXPIRY_CHECK_SECONDS)
            try:
                async with self.sessions() as session:
                    if not await leases.take(
                        session,
                        EXPIRY_JOB,
                        self._holder,
                        QUEUE_LEASE_SECONDS,
                        interval_seconds=EXPIRY_CHECK_SECONDS / 2,
                    ):
                        continue  # another process swept just now
                try:
                    async with self.sessions() as session:
                        await self.expire_departed(session)
                finally:
                    async with self.sessions() as session:
                        await leases.release(session, EXPIRY_JOB, self._holder, finished=utcnow())
            except Exception:  # the worker must survive a bad moment (database restart)
                log.exception("withdrawing departed callers failed")

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

    async def expire_departed(self, session: Any, now: dt.datetime | None = None) -> list[int]:
        """Withdraws waiting tickets whose caller's chat has been gone too long.

        A closed tab, or a scripted chat that asked for a person and left, would
        otherwise hold a place and lengthen every genuine caller's wait.

        Args:
            session: A database session.
            now: The current time (tests).

        Returns:
            The ids of the tickets withdrawn.

        """
        now = now or utcnow()
        cutoff = now - dt.timedelta(seconds=self.settings.hotline_queue_left_seconds)
        gone = await session.execute(
            select(HandoffTicket.id)
            .where(HandoffTicket.status == "queued")
            .where(HandoffTicket.caller_left_at.is_not(None))
            .where(HandoffTicket.caller_left_at < cutoff)
        )
        # Read at once: each transition expires the session's objects (see close_waiting).
        withdrawn: list[tuple[int, str, dict[str, Any] | None]] = []
        for ticket_id in list(gone.scalars()):
            try:
                view = await service.transition(
                    session,
                    int(ticket_id),
                    "expire",
                    ("queued",),
                    {"status": "cancelled", "closed_at": now, "last_position": None},
                )
            except service.HandoffError:
                continue  # claimed or cancelled meanwhile
            conversation = str(view.ticket.conversation_id)
            note = await service.add_message(
                session, view.ticket, "system", "The caller's chat closed and did not come back."
            )
            await audit(session, "assistant", "handoff.expire", f"handoff:{ticket_id}")
            withdrawn.append(
                (int(ticket_id), conversation, service.message_json(note) if note else None)
            )
        await session.commit()
        for ticket_id, conversation, note_json in withdrawn:
            await self.send_to_caller(
                conversation,
                [
                    slot_event("handoff_active", False),
                    slot_event("handoff_state", None),
                    bot_message(handoff_messages().render("queue_left"), sender="system"),
                ],
            )
            await self.broadcast_ticket(await service.get_ticket(session, ticket_id), "updated")
            if note_json is not None:
                await self.hub.broadcast(
                    {"type": "message", "ticket_id": ticket_id, "message": note_json}
                )
        if withdrawn:
            self.queue_changed()
        return [ticket_id for ticket_id, _, _ in withdrawn]

    async def _queue_worker(self) -> None:
        while True:
            await self._queue_dirty.wait()
            self._queue_dirty.clear()
            try:
                # Polls the lease (a database row): another process holds it for a moment.
                while True:
                    if await self.update_positions_once() is not None:
                        break
                    await asyncio.sleep(QUEUE_LEASE_RETRY_SECONDS)
            except Exception:  # the worker must survive a bad moment (database restart)
                log.exception("queue position update failed")
                self._queue_dirty.set()  # the change is still untold: try again
                await asyncio.sleep(1)

    async def update_positions_once(self) -> list[tuple[str, int]] | None:
        """`update_positions` under the queue's job lease (one process at a time).

        Returns:
            The callers sent an update, or None when another process holds the lease.

        """
        async with self.sessions() as session:
            if not await leases.take(session, QUEUE_JOB, self._holder, QUEUE_LEASE_SECONDS):
                return None
        try:
            return await self.update_positions()
        finally:
            async with self.sessions() as session:
                await leases.release(session, QUEUE_JOB, self._holder)

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
