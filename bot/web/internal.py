"""The internal API the action server calls (docs/handoff.md, "Internal API").

Every call needs `Authorization: Bearer <HOTLINE_INTERNAL_TOKEN>` (checked by
`bot.web.security.access_middleware`, in constant time); it is never exposed to
browsers. JSON in and out; bad input is a 400 naming the field, a refusal a 409 or
429 `{"error", "reason"}` (`bot.web.errors` writes both from what the handlers raise).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from bot.core.clock import utcnow
from bot.core.phone import normalise_uk_phone
from bot.core.pii import SENSITIVE, mask
from bot.db.models import PRIORITIES, CallbackRequest
from bot.handoff import limits, operations, service
from bot.web.context import SETTINGS, request_session
from bot.web.live import HANDOFF
from bot.web.validation import InputError, read_json, text_field

MAX_SUMMARY_BYTES = 16 * 1024
CLIENT_KEY = re.compile(r"^addr:[0-9a-f]{32}$")


def uk_phone_field(raw: str) -> str:
    """The callback number in national form (the one rule: :mod:`bot.core.phone`).

    Raises:
        InputError: If it is not a UK number an adviser can call.

    """
    number = normalise_uk_phone(raw)
    if number is None:
        raise InputError("phone must be a UK phone number, like 020 7946 0000", "phone")
    return number


async def availability(request: web.Request) -> web.Response:
    """`GET /internal/availability`: is the line staffed, is the queue short enough.

    Returns:
        `{"staffed", "accepting", "queue_length", "expected_wait_seconds", "reason",
        "max_queue", "next_opening"}` (`reason`: "closed", "queue_full" or null).

    """
    settings = request.app[SETTINGS]
    now = utcnow()
    async with request_session(request) as session:
        length = await service.queue_length(session)
        per_caller = await service.handle_seconds(session, settings.default_handle_seconds)
    staffed = settings.hotline_hours.is_open(now)
    full = length >= settings.hotline_max_queue
    reason = "closed" if not staffed else "queue_full" if full else None
    opening = settings.hotline_hours.next_opening(now)
    return web.json_response(
        {
            "staffed": staffed,
            "accepting": reason is None,
            "queue_length": length,
            "expected_wait_seconds": service.expected_wait(length + 1, per_caller),
            "reason": reason,
            "max_queue": settings.hotline_max_queue,
            "next_opening": opening.isoformat() if opening and not staffed else None,
        }
    )


def _summary(body: dict[str, Any]) -> dict[str, Any]:
    value = body.get("summary")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError("summary must be a JSON object", "summary")
    if len(str(value)) > MAX_SUMMARY_BYTES:
        raise InputError("summary is too large", "summary")
    return value


def client_key_field(body: dict[str, Any]) -> str | None:
    """The caller's address key the channel set (`bot.core.conversations.client_key`).

    Raises:
        InputError: If it is not of that form.

    """
    value = body.get("client_key")
    if value is None:
        return None
    if not isinstance(value, str) or CLIENT_KEY.match(value) is None:
        raise InputError("client_key must be addr: and 32 hex digits", "client_key")
    return value


async def create_handoff(request: web.Request) -> web.Response:
    """`POST /internal/handoffs`: queue a conversation for a person.

    Returns:
        201 `{"id", "position", "expected_wait_seconds", "status", "created"}`; an open
        ticket of the same conversation is returned (`created: false`), not duplicated.

    """
    body = await read_json(request)
    conversation_id = text_field(body, "conversation_id", max_length=255)
    channel = text_field(body, "channel", required=False, max_length=40) or "unknown"
    reason = text_field(body, "reason", required=False, max_length=2000)
    reason = mask(reason, SENSITIVE) if reason else reason
    priority = body.get("priority") or "normal"
    if priority not in PRIORITIES:
        raise InputError("priority must be urgent or normal", "priority")
    summary = _summary(body)
    client = client_key_field(body)
    assert conversation_id is not None
    async with request_session(request) as session:
        # HandoffRefused: the middleware's 409/429 with the `reason` the bot explains.
        answer = await operations.create_from_bot(
            request.app[HANDOFF],
            session,
            conversation_id=conversation_id,
            channel=channel,
            reason=reason,
            priority=str(priority),
            summary=summary,
            client_key=client,
        )
    return web.json_response(answer, status=201)


async def relay_message(request: web.Request) -> web.Response:
    """`POST /internal/handoffs/{conversation_id}/messages {"text", "message_id"}`.

    Returns:
        202 `{"ticket_id", "stored"}` (idempotent on `message_id`); 404 when the
        conversation has no open handoff.

    """
    body = await read_json(request)
    text = text_field(body, "text", max_length=4000)
    message_id = text_field(body, "message_id", required=False, max_length=255)
    assert text is not None
    async with request_session(request) as session:
        answer = await operations.relay_caller_message(
            request.app[HANDOFF],
            session,
            request.match_info["conversation_id"],
            # Bank, card and NI numbers are masked before staff or the transcript
            # see them, as in Rasa's tracker (issue 13; the caller is told why).
            mask(text, SENSITIVE),
            message_id,
        )
    return web.json_response(answer, status=202)


async def caller_presence(request: web.Request) -> web.Response:
    """`POST /internal/handoffs/{conversation_id}/presence {"present": bool}` (200).

    Rasa's socket.io channel says when a conversation's last socket went away and
    when one came back; a waiting caller away too long gives up their place.

    Returns:
        `{"ticket_id": n | None}`.

    """
    body = await read_json(request)
    present = body.get("present")
    if not isinstance(present, bool):
        raise InputError("present must be true or false", "present")
    async with request_session(request) as session:
        answer = await operations.mark_presence(
            request.app[HANDOFF], session, request.match_info["conversation_id"], present
        )
    return web.json_response(answer)


async def cancel_handoff(request: web.Request) -> web.Response:
    """`POST /internal/handoffs/{conversation_id}/cancel`: the caller left the queue (200)."""
    async with request_session(request) as session:
        answer = await operations.cancel_from_bot(
            request.app[HANDOFF], session, request.match_info["conversation_id"]
        )
    return web.json_response(answer)


async def create_callback(request: web.Request) -> web.Response:
    """`POST /internal/callbacks {"conversation_id", "name", "phone", "preferred_time", "reason"}`.

    Returns:
        201 `{"id"}`.

    """
    body = await read_json(request)
    conversation_id = text_field(body, "conversation_id", required=False, max_length=255)
    name = text_field(body, "name", max_length=200)
    phone = uk_phone_field(text_field(body, "phone", max_length=40) or "")
    preferred = text_field(body, "preferred_time", required=False, max_length=200)
    reason = text_field(body, "reason", required=False, max_length=2000)
    reason = mask(reason, SENSITIVE) if reason else reason
    client = client_key_field(body)
    async with request_session(request) as session:
        # HandoffRefused (already_booked, too_many): the middleware's 409/429 with its reason.
        await limits.check_new_callback(
            session,
            request.app[SETTINGS],
            conversation_id=conversation_id,
            phone=phone,
            client_key=client,
        )
        callback = CallbackRequest(
            conversation_id=conversation_id,
            client_key=client,
            name=name,
            phone=phone,
            preferred_time=preferred,
            reason=reason,
            status="open",
            created_at=utcnow(),
        )
        session.add(callback)
        await session.commit()
        payload = service.callback_json(callback)
    await request.app[HANDOFF].hub.broadcast({"type": "callback", "callback": payload})
    return web.json_response({"id": callback.id}, status=201)


async def create_feedback(request: web.Request) -> web.Response:
    """`POST /internal/feedback {"conversation_id", "rating": 1-5}`: 201."""
    body = await read_json(request)
    conversation_id = text_field(body, "conversation_id", max_length=255)
    raw = body.get("rating")
    # One ASCII digit: str.isdigit() also passes "³", which int() refuses, and int()
    # refuses strings of over 4,300 digits; both were a 500 (found with the OpenAPI work).
    digits = str(raw).strip() if isinstance(raw, (int, str)) else ""
    rating = int(digits) if len(digits) == 1 and digits in "12345" else 0
    if isinstance(raw, bool) or not 1 <= rating <= 5:
        raise InputError("rating must be a whole number from 1 to 5", "rating")
    assert conversation_id is not None
    async with request_session(request) as session:
        feedback = await service.add_feedback(session, conversation_id, rating)
        await session.commit()
    return web.json_response({"id": feedback.id}, status=201)


def setup_routes(app: web.Application) -> None:
    """Register the internal API."""
    app.router.add_get("/internal/availability", availability)
    app.router.add_post("/internal/handoffs", create_handoff)
    app.router.add_post("/internal/handoffs/{conversation_id}/messages", relay_message)
    app.router.add_post("/internal/handoffs/{conversation_id}/cancel", cancel_handoff)
    app.router.add_post("/internal/handoffs/{conversation_id}/presence", caller_presence)
    app.router.add_post("/internal/callbacks", create_callback)
    app.router.add_post("/internal/feedback", create_feedback)
