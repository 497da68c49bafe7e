"""Flood limits on tickets and callbacks (issue 11, finding 6).

A dozen scripted web chats could fill the queue so that genuine callers were
told it was full, and anyone could book unlimited callbacks to any UK number.
The limits count what is in the database, so they hold across web processes:

- one address (its keyed digest, `client_key`) may have at most
  `hotline_max_tickets_per_client` tickets waiting or with an adviser;
- a phone number has at most one open callback, and so has a conversation;
- one address may book at most `hotline_max_callbacks_per_client` callbacks
  a day.

Callers without a known address (phone, SMS and the other channels, whose
conversations are their own) are limited by conversation only.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.core.clock import utcnow
from bot.db.models import CallbackRequest, HandoffTicket
from bot.handoff.service import HandoffRefused

#: Ticket states that hold a place (waiting, or with an adviser).
OPEN_TICKET_STATES = ("queued", "assigned")
CALLBACK_WINDOW = dt.timedelta(days=1)


async def check_new_ticket(
    session: AsyncSession, settings: Settings, client_key: str | None
) -> None:
    """Refuses a new ticket for an address that already holds its share.

    Args:
        session: The database session.
        settings: The limits.
        client_key: The caller's address key, if known.

    Raises:
        HandoffRefused: "too_many" when the address is at its limit.
    """
    if not client_key:
        return
    held = await session.scalar(
        select(func.count())
        .select_from(HandoffTicket)
        .where(HandoffTicket.client_key == client_key)
        .where(HandoffTicket.status.in_(OPEN_TICKET_STATES))
    )
    if int(held or 0) >= settings.hotline_max_tickets_per_client:
        raise HandoffRefused(
            "too_many",
            "Too many conversations from one place are waiting for an adviser.",
            kind="too_many",
        )


async def check_new_callback(
    session: AsyncSession,
    settings: Settings,
    *,
    conversation_id: str | None,
    phone: str,
    client_key: str | None,
) -> None:
    """Refuses a callback already booked, or one too many from an address.

    Args:
        session: The database session.
        settings: The limits.
        conversation_id: The conversation asking.
        phone: The number to call, in the one national form.
        client_key: The caller's address key, if known.

    Raises:
        HandoffRefused: "already_booked" (this number or conversation has an open
            callback) or "too_many" (the address's daily limit).
    """
    same = [CallbackRequest.phone == phone]
    if conversation_id:
        same.append(CallbackRequest.conversation_id == conversation_id)
    booked = await session.scalar(
        select(func.count())
        .select_from(CallbackRequest)
        .where(CallbackRequest.status == "open")
        .where(or_(*same))
    )
    if int(booked or 0):
        raise HandoffRefused("already_booked", "A callback is already booked for this caller.")
    if not client_key:
        return
    recent = await session.scalar(
        select(func.count())
        .select_from(CallbackRequest)
        .where(CallbackRequest.client_key == client_key)
        .where(CallbackRequest.created_at > utcnow() - CALLBACK_WINDOW)
    )
    if int(recent or 0) >= settings.hotline_max_callbacks_per_client:
        raise HandoffRefused(
            "too_many", "Too many callbacks were booked from one place today.", kind="too_many"
        )
