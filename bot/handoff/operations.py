"""What staff and the action server do to tickets: database, audit, Rasa, consoles.

The web layer (JSON API, console forms, internal API) calls these; each takes the
request's database session and commits once. Rasa is told after the commit, and
the consoles are pushed the new state last.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import utcnow
from bot.core.content import handoff_messages
from bot.db.models import HandoffTicket
from bot.handoff import limits, service
from bot.handoff.ports import TYPING_EVENT, RasaUnavailable, bot_message, slot_event
from bot.handoff.runtime import HandoffRuntime
from bot.handoff.service import HandoffError, HandoffRefused
from bot.staff.accounts import Staff, audit


def claim_text(staff: Staff) -> str:
    """What the caller is told when an adviser takes the conversation."""
    name = staff.public_name
    if name is None:
        return handoff_messages().render("adviser_joined_unnamed")
    return handoff_messages().render("adviser_joined", adviser=name)


def satisfaction_event() -> dict[str, Any]:
    """The satisfaction question with buttons 1-5 (`/rate_service{"rating": "N"}`)."""
    buttons = [
        {"title": str(n), "payload": f'/rate_service{{"rating": "{n}"}}'} for n in range(1, 6)
    ]
    return {
        "event": "bot",
        "text": handoff_messages().render("satisfaction_question"),
        "data": {"buttons": buttons},
        "metadata": {"sender": "system"},
    }


async def _finish(
    runtime: HandoffRuntime,
    view: service.TicketView,
    event: str,
    message: Any = None,
) -> None:
    await runtime.broadcast_ticket(view, event)
    if message is not None:
        await runtime.hub.broadcast(
            {
                "type": "message",
                "ticket_id": view.ticket.id,
                "message": service.message_json(message),
            }
        )


async def claim(
    runtime: HandoffRuntime, session: AsyncSession, staff: Staff, ticket_id: int
) -> dict[str, Any]:
    """Take a waiting conversation (queued → assigned).

    Returns:
        `{"ticket": ..., "delivered": bool, "warning"?: str}`.

    Raises:
        HandoffError: not_found, or conflict if it is not waiting.

    """
    view = await service.transition(
        session,
        ticket_id,
        "claim",
        ("queued",),
        {
            "status": "assigned",
            "assigned_to": staff.id,
            "claimed_at": utcnow(),
            "last_position": None,
        },
        staff=staff,
    )
    note = await service.add_message(
        session, view.ticket, "system", f"{staff.display_name} took the conversation."
    )
    await audit(session, staff, "handoff.claim", f"handoff:{ticket_id}")
    await session.commit()
    error = await runtime.send_to_caller(
        str(view.ticket.conversation_id),
        [
            slot_event("handoff_active", True),
            slot_event("handoff_state", "with_agent"),
            bot_message(claim_text(staff), sender="staff", staff_name=staff.public_name),
        ],
    )
    await _finish(runtime, view, "updated", note)
    runtime.queue_changed()
    return _outcome(view, error)


def _outcome(view: service.TicketView, error: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"ticket": view.to_json(utcnow()), "delivered": error is None}
    if error:
        body["warning"] = f"The caller could not be told: {error}"
    return body


async def reply(
    runtime: HandoffRuntime, session: AsyncSession, staff: Staff, ticket_id: int, text: str
) -> dict[str, Any]:
    """Send the caller a message (delivered through Rasa first, stored once delivered).

    Returns:
        `{"message": {...}}`.

    Raises:
        HandoffError: not_found; conflict not assigned to `staff`; bad_gateway Rasa did
            not take it.

    """
    view = await service.require_assigned_to(session, ticket_id, staff)
    try:
        await runtime.rasa.append_events(
            str(view.ticket.conversation_id),
            [bot_message(text, sender="staff", staff_name=staff.public_name)],
        )
    except RasaUnavailable as exc:
        raise HandoffError(
            "bad_gateway", f"The reply was not delivered to the caller: {exc}"
        ) from exc
    message = await service.add_message(session, view.ticket, "staff", text, staff=staff)
    await audit(session, staff, "handoff.reply", f"handoff:{ticket_id}", length=len(text))
    await session.commit()
    assert message is not None  # no message_id, so never a duplicate
    await runtime.hub.broadcast(
        {"type": "message", "ticket_id": ticket_id, "message": service.message_json(message)}
    )
    return {"message": service.message_json(message)}


async def typing(
    runtime: HandoffRuntime, session: AsyncSession, staff: Staff, ticket_id: int
) -> dict[str, Any]:
    """Show "Adviser is typing" to the caller (the console throttles to one per 3 s).

    Raises:
        HandoffError: not_found; conflict not assigned to `staff`.

    """
    view = await service.require_assigned_to(session, ticket_id, staff)
    error = await runtime.send_to_caller(str(view.ticket.conversation_id), [TYPING_EVENT])
    return {"delivered": error is None}


async def _back_to_bot(
    runtime: HandoffRuntime,
    session: AsyncSession,
    staff: Staff,
    ticket_id: int,
    *,
    verb: str,
    status: str,
    audit_action: str,
    note_text: str,
    after: list[dict[str, Any]],
) -> dict[str, Any]:
    """Close an assigned ticket and give the conversation back to the bot.

    The caller's slots are reset so the bot answers again, then ``after`` is sent
    (e.g. the satisfaction question).
    """
    view = await service.transition(
        session,
        ticket_id,
        verb,
        ("assigned",),
        {"status": status, "closed_at": utcnow()},
        staff=staff,
    )
    note = await service.add_message(session, view.ticket, "system", note_text)
    await audit(session, staff, audit_action, f"handoff:{ticket_id}")
    await session.commit()
    error = await runtime.send_to_caller(
        str(view.ticket.conversation_id),
        [
            slot_event("handoff_active", False),
            slot_event("handoff_state", None),
            bot_message(handoff_messages().render("back_to_bot"), sender="system"),
            *after,
        ],
    )
    await _finish(runtime, view, "updated", note)
    return _outcome(view, error)


async def release(
    runtime: HandoffRuntime, session: AsyncSession, staff: Staff, ticket_id: int
) -> dict[str, Any]:
    """Hand the conversation back to the bot (assigned → released).

    Raises:
        HandoffError: not_found; conflict not assigned (to `staff`, for agents).

    """
    return await _back_to_bot(
        runtime,
        session,
        staff,
        ticket_id,
        verb="hand back",
        status="released",
        audit_action="handoff.release",
        note_text=f"{staff.display_name} handed back to the assistant.",
        after=[],
    )


async def resolve(
    runtime: HandoffRuntime, session: AsyncSession, staff: Staff, ticket_id: int
) -> dict[str, Any]:
    """Close the conversation as handled, then ask the caller for a rating.

    Raises:
        HandoffError: not_found; conflict not assigned (to `staff`, for agents).

    """
    return await _back_to_bot(
        runtime,
        session,
        staff,
        ticket_id,
        verb="resolve",
        status="resolved",
        audit_action="handoff.resolve",
        note_text=f"{staff.display_name} resolved the conversation.",
        after=[satisfaction_event(), slot_event("feedback_pending", True)],
    )


async def create_from_bot(
    runtime: HandoffRuntime,
    session: AsyncSession,
    *,
    conversation_id: str,
    channel: str,
    reason: str | None,
    priority: str,
    summary: dict[str, Any],
    client_key: str | None = None,
) -> dict[str, Any]:
    """`POST /internal/handoffs`: queue a conversation (or return its open ticket).

    Returns:
        `{"id", "position", "expected_wait_seconds", "status", "created"}`.

    Raises:
        HandoffRefused: The line is not staffed, or the queue is full (urgent
            callers excepted), or the caller's address holds its share of the queue.

    """
    # The web app decides who may queue, not the action server: a forged or buggy
    # call must not open tickets out of hours or past the cap. An urgent caller
    # (distress, a complaint) is let into a full queue, never into a closed line.
    settings = runtime.settings
    # The queue's lock (in the database) covers the checks too, so two processes
    # cannot both let a caller into the last free place.
    await service.lock_queue(session)
    if await service.open_ticket_for(session, conversation_id) is None:
        if not settings.hotline_hours.is_open(utcnow()):
            raise HandoffRefused("closed", "The hotline is not staffed now.")
        full = await service.queue_length(session) >= settings.hotline_max_queue
        if full and priority != "urgent":
            raise HandoffRefused("queue_full", "The queue is full.")
        await limits.check_new_ticket(session, settings, client_key)
    ticket, created = await service.create_ticket(
        session,
        conversation_id=conversation_id,
        channel=channel,
        reason=reason,
        priority=priority,
        summary=summary,
        client_key=client_key,
    )
    # A new caller is told the place allocated with the ticket (under the lock);
    # a later change reaches them as a queue update.
    position = ticket.last_position if created else await service.position_of(session, ticket)
    per_caller = await service.handle_seconds(session, runtime.settings.default_handle_seconds)
    wait = service.expected_wait(position or 0, per_caller)
    note = None
    if created:
        note = await service.add_message(
            session,
            ticket,
            "system",
            f"Handed over by the assistant ({priority}); place {position} in the queue.",
        )
        await audit(
            session,
            "assistant",
            "handoff.create",
            f"handoff:{ticket.id}",
            conversation_id=conversation_id,
            priority=priority,
        )
        await session.commit()
        view = await service.get_ticket(session, int(ticket.id))
        await _finish(runtime, view, "created", note)
        runtime.queue_changed()
    elif priority == "urgent":
        await runtime.broadcast_ticket(await service.get_ticket(session, int(ticket.id)), "updated")
        runtime.queue_changed()
    return {
        "id": ticket.id,
        "position": position,
        "expected_wait_seconds": wait,
        "status": ticket.status,
        "created": created,
    }


async def relay_caller_message(
    runtime: HandoffRuntime,
    session: AsyncSession,
    conversation_id: str,
    text: str,
    message_id: str | None,
) -> dict[str, Any]:
    """`POST /internal/handoffs/{conversation_id}/messages`: store and push a caller message.

    Returns:
        `{"ticket_id", "stored": bool}` (False: this `message_id` was stored before).

    Raises:
        HandoffError: not_found when the conversation has no open ticket.

    """
    ticket = await service.open_ticket_for(session, conversation_id)
    if ticket is None:
        raise HandoffError("not_found", "this conversation has no open handoff")
    message = await service.add_message(session, ticket, "caller", text, message_id=message_id)
    await session.commit()
    if message is not None:
        await runtime.hub.broadcast(
            {"type": "message", "ticket_id": ticket.id, "message": service.message_json(message)}
        )
    return {"ticket_id": ticket.id, "stored": message is not None}


async def cancel_from_bot(
    runtime: HandoffRuntime, session: AsyncSession, conversation_id: str
) -> dict[str, Any]:
    """`POST /internal/handoffs/{conversation_id}/cancel`: the caller left the queue.

    Returns:
        `{"cancelled": bool, "id": n | None, "status": str | None}`; nothing open is
        not an error (the caller may say "never mind" twice).

    """
    ticket: HandoffTicket | None = await service.open_ticket_for(session, conversation_id)
    if ticket is None:
        return {"cancelled": False, "id": None, "status": None}
    view = await service.transition(
        session,
        int(ticket.id),
        "cancel",
        ("queued", "assigned"),
        {"status": "cancelled", "closed_at": utcnow(), "last_position": None},
    )
    note = await service.add_message(session, view.ticket, "system", "The caller left the queue.")
    await audit(session, "assistant", "handoff.cancel", f"handoff:{ticket.id}")
    await session.commit()
    await _finish(runtime, view, "updated", note)
    runtime.queue_changed()
    return {"cancelled": True, "id": ticket.id, "status": "cancelled"}


async def mark_presence(
    runtime: HandoffRuntime, session: AsyncSession, conversation_id: str, present: bool
) -> dict[str, Any]:
    """`POST /internal/handoffs/{conversation_id}/presence`: the caller's chat came or went.

    Only a waiting caller is tracked: once an adviser has the conversation, the
    adviser decides when it ends.

    Returns:
        `{"ticket_id": n | None}`: the waiting ticket marked, if any.

    """
    ticket: HandoffTicket | None = await service.open_ticket_for(session, conversation_id)
    if ticket is None or ticket.status != "queued":
        return {"ticket_id": None}
    if present:
        ticket.caller_left_at = None
    elif ticket.caller_left_at is None:
        ticket.caller_left_at = utcnow()
    await session.commit()
    return {"ticket_id": ticket.id}


#: The most tickets one bulk close may name (a form post, not a purge).
MAX_BULK_CLOSE = 200


async def close_waiting(
    runtime: HandoffRuntime, session: AsyncSession, staff: Staff, ticket_ids: list[int]
) -> dict[str, Any]:
    """Close waiting tickets in bulk (supervisors): after a flood, or a day's leftovers.

    Only tickets still waiting are closed; one an adviser has taken, or already
    closed, is skipped, never taken from the adviser. Each caller is told and the
    bot answers them again.

    Args:
        runtime: The handoff runtime.
        session: The database session.
        staff: The supervisor closing them.
        ticket_ids: The tickets to close.

    Returns:
        `{"closed": [ids], "skipped": [ids]}`.

    """
    # (id, conversation, the note as JSON), read at once: each transition expires
    # the session's objects, and an expired one cannot be read lazily here.
    closed: list[tuple[int, str, dict[str, Any] | None]] = []
    skipped: list[int] = []
    for ticket_id in dict.fromkeys(ticket_ids):  # each once, in the order given
        try:
            view = await service.transition(
                session,
                ticket_id,
                "close",
                ("queued",),
                {"status": "cancelled", "closed_at": utcnow(), "last_position": None},
            )
        except HandoffError:
            skipped.append(ticket_id)
            continue
        conversation = str(view.ticket.conversation_id)
        note = await service.add_message(
            session, view.ticket, "system", f"{staff.display_name or staff.username} closed it."
        )
        closed.append((ticket_id, conversation, service.message_json(note) if note else None))
    if closed:
        await audit(session, staff, "handoff.bulk_close", "handoffs", closed=[c[0] for c in closed])
    await session.commit()
    for ticket_id, conversation, note_json in closed:
        await runtime.send_to_caller(
            conversation,
            [
                slot_event("handoff_active", False),
                slot_event("handoff_state", None),
                bot_message(handoff_messages().render("closed_by_staff"), sender="system"),
            ],
        )
        await runtime.broadcast_ticket(await service.get_ticket(session, ticket_id), "updated")
        await runtime.hub.broadcast(
            {"type": "message", "ticket_id": ticket_id, "message": note_json}
        )
    if closed:
        runtime.queue_changed()
    return {"closed": [c[0] for c in closed], "skipped": skipped}
