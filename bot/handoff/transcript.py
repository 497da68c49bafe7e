"""The whole conversation for staff: what happened before the handoff and since.

Before the handoff: the caller's and the bot's messages from Rasa's tracker (the
single record of the conversation; staff messages of earlier handoffs are there
too, marked `metadata.sender == "staff"`). Since the handoff: our own message log
(relayed caller messages, staff replies, system notes), so the console never
depends on Rasa for the live part. If Rasa cannot be read, the transcript holds
our log only and says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import as_utc, utcnow
from bot.handoff import service
from bot.handoff.ports import Conversations, RasaUnavailable


def tracker_entries(tracker: Mapping[str, Any], before: dt.datetime) -> list[dict[str, Any]]:
    """Transcript entries from tracker events older than `before`.

    Typing indicators and other bot events without text are skipped.

    Args:
        tracker: Rasa's tracker JSON.
        before: The ticket's creation time.

    Returns:
        Entries `{"sender", "text", "staff_name", "at"}`.

    """
    cutoff = before.timestamp()
    entries: list[dict[str, Any]] = []
    for event in tracker.get("events") or []:
        if not isinstance(event, Mapping) or event.get("event") not in ("user", "bot"):
            continue
        timestamp = event.get("timestamp")
        if not isinstance(timestamp, (int, float)) or timestamp >= cutoff:
            continue
        text = event.get("text")
        if not isinstance(text, str) or not text.strip():
            continue
        metadata = event.get("metadata") or {}
        if event["event"] == "user":
            sender, staff_name = "caller", None
        elif isinstance(metadata, Mapping) and metadata.get("sender") == "staff":
            sender, staff_name = "staff", metadata.get("staff_name")
        else:
            sender, staff_name = "bot", None
        entries.append(
            {
                "sender": sender,
                "text": text,
                "staff_name": staff_name if isinstance(staff_name, str) else None,
                "at": dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).isoformat(),
            }
        )
    return entries


async def conversation_detail(
    session: AsyncSession, rasa: Conversations, ticket_id: int
) -> dict[str, Any]:
    """A ticket with its transcript and the bot's summary.

    Args:
        session: The database session.
        rasa: The Rasa client (tracker read).
        ticket_id: The ticket.

    Returns:
        The ticket JSON plus `transcript`, `bot_summary` (the summary the action
        server sent when it opened the ticket) and
        `history_note` (why the pre-handoff part is missing, or None).

    Raises:
        HandoffError: not_found if there is no such ticket.

    """
    view = await service.get_ticket(session, ticket_id)
    messages = await service.messages_of(session, ticket_id)
    position = await service.position_of(session, view.ticket)
    history: list[dict[str, Any]] = []
    note: str | None = None
    try:
        tracker = await rasa.get_tracker(str(view.ticket.conversation_id))
    except RasaUnavailable as exc:
        note = f"The conversation before the handoff could not be read from Rasa ({exc})."
    else:
        history = tracker_entries(tracker, as_utc(view.ticket.created_at))
    body = view.to_json(utcnow(), position)
    body.update(
        {
            "transcript": history + [service.message_json(m) for m in messages],
            # The one summary, built by the action server when it opened the ticket.
            "bot_summary": view.ticket.summary or {},
            "history_note": note,
        }
    )
    return body
