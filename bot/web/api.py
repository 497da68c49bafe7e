"""The staff JSON API (the console's scripts and integrations use it).

    POST /api/login {"username", "password"}     200 {"token", ...} + session cookie; 401; 429
    POST /api/logout
    GET  /api/me
    GET  /api/handoffs?status=queued,assigned      tickets (default: open ones)
    GET  /api/handoffs/{id}                        the ticket with its transcript
    POST /api/handoffs/{id}/claim | reply {"text"} | typing | release | resolve
    GET  /api/callbacks?status=open|done
    POST /api/callbacks/{id}/done {"notes"?}
    GET  /api/canned; supervisors: POST /api/canned {"title","text"},
         PUT /api/canned/{id}, DELETE /api/canned/{id}
    GET  /api/figures, GET /api/audit              supervisors

Everything but login needs a session (cookie + CSRF header for writes, or Bearer).
Wrong state is a 409 with `{"error"}` saying why, bad input a 400 naming the field:
handlers raise `HandoffError` or `InputError` and `bot.web.errors` answers.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from bot.core.clock import iso, utcnow
from bot.db.models import TICKET_STATUSES, AuditEntry, CallbackRequest, CannedResponse
from bot.handoff import operations, service
from bot.handoff.service import HandoffError
from bot.handoff.transcript import conversation_detail
from bot.staff import accounts
from bot.web.context import ROW_ID, SETTINGS, request_session
from bot.web.live import HANDOFF
from bot.web.security import (
    clear_session_cookie,
    current_auth,
    current_staff,
    json_error,
    require_supervisor,
    set_session_cookie,
    sign_in,
)
from bot.web.validation import InputError, read_json, text_field

MAX_REPLY = 4000


def _ticket_id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def login(request: web.Request) -> web.Response:
    """`POST /api/login`: check credentials (with lockout) and open a session.

    Returns:
        200 `{"token", "csrf_token", "user"}` and the session cookie; 400 bad body;
        401 bad credentials; 429 locked out.

    """
    body = await read_json(request)
    username = text_field(body, "username", max_length=80)
    password = text_field(body, "password", max_length=256, strip=False)
    assert username is not None and password is not None
    settings = request.app[SETTINGS]
    result = await sign_in(request, username, password)
    if result.locked:
        minutes = max(1, settings.login_window_seconds // 60)
        return json_error(
            429, f"too many failed sign-ins; try again in {minutes} minutes or ask a supervisor"
        )
    if result.token is None or result.session is None:
        return json_error(401, "wrong user name or password")
    response = web.json_response(
        {
            "token": result.token,
            "token_type": "Bearer",
            "csrf_token": result.session.csrf_token,
            "user": _user_json(result.session.staff),
        }
    )
    set_session_cookie(response, request, result.token)
    return response


def _user_json(staff: accounts.Staff) -> dict[str, Any]:
    return {
        "username": staff.username,
        "display_name": staff.display_name,
        "role": staff.role,
    }


async def logout(request: web.Request) -> web.Response:
    """`POST /api/logout`: end the session."""
    auth = current_auth(request)
    async with request_session(request) as session:
        await accounts.logout(session, auth)
    response = web.json_response({"status": "signed out"})
    clear_session_cookie(response)
    return response


async def me(request: web.Request) -> web.Response:
    """`GET /api/me`: who is signed in, and the CSRF token for scripts."""
    auth = current_auth(request)
    return web.json_response({"user": _user_json(auth.staff), "csrf_token": auth.csrf_token})


def parse_statuses(raw: str | None) -> list[str]:
    """`?status=` as a list (comma-separated; "open" = queued and assigned; "all").

    Raises:
        InputError: For an unknown status.

    """
    if not raw or raw.strip() == "open":
        return ["queued", "assigned"]
    if raw.strip() == "all":
        return list(TICKET_STATUSES)
    statuses = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = [s for s in statuses if s not in TICKET_STATUSES]
    if unknown or not statuses:
        raise InputError(
            f"status must be open, all, or some of: {', '.join(TICKET_STATUSES)}", "status"
        )
    return statuses


async def list_handoffs(request: web.Request) -> web.Response:
    """`GET /api/handoffs?status=...`: tickets, urgent first then longest waiting."""
    statuses = parse_statuses(request.query.get("status"))
    async with request_session(request) as session:
        views = await service.list_tickets(session, statuses)
    now = utcnow()
    positions: dict[int, int] = {}
    for view in views:
        if view.ticket.status == "queued":
            positions[int(view.ticket.id)] = len(positions) + 1
    items = [v.to_json(now, positions.get(int(v.ticket.id))) for v in views]
    return web.json_response({"items": items, "total": len(items)})


async def get_handoff(request: web.Request) -> web.Response:
    """`GET /api/handoffs/{id}`: the ticket, its transcript and the bot's summary."""
    async with request_session(request) as session:
        body = await conversation_detail(session, request.app[HANDOFF].rasa, _ticket_id(request))
    return web.json_response(body)


async def _run(request: web.Request, action: str) -> web.Response:
    staff = current_staff(request)
    runtime = request.app[HANDOFF]
    ticket_id = _ticket_id(request)
    async with request_session(request) as session:
        if action == "claim":
            body = await operations.claim(runtime, session, staff, ticket_id)
        elif action == "release":
            body = await operations.release(runtime, session, staff, ticket_id)
        elif action == "resolve":
            body = await operations.resolve(runtime, session, staff, ticket_id)
        else:
            body = await operations.typing(runtime, session, staff, ticket_id)
    return web.json_response(body)


async def claim(request: web.Request) -> web.Response:
    """`POST /api/handoffs/{id}/claim`: take a waiting conversation (409 if not waiting)."""
    return await _run(request, "claim")


async def release(request: web.Request) -> web.Response:
    """`POST /api/handoffs/{id}/release`: hand the conversation back to the bot."""
    return await _run(request, "release")


async def resolve(request: web.Request) -> web.Response:
    """`POST /api/handoffs/{id}/resolve`: close it; the caller is asked for a rating."""
    return await _run(request, "resolve")


def ticket_ids_field(body: dict[str, Any]) -> list[int]:
    """The `ids` of a bulk request: 1 to `MAX_BULK_CLOSE` row ids.

    Raises:
        InputError: If they are missing, not whole numbers in range, or too many.

    """
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids:
        raise InputError("ids must be a non-empty list of ticket ids", "ids")
    if len(ids) > operations.MAX_BULK_CLOSE:
        raise InputError(f"at most {operations.MAX_BULK_CLOSE} ids at once", "ids")
    if not all(type(i) is int and 0 < i < 2**31 for i in ids):
        raise InputError("ids must be whole numbers from 1", "ids")
    return ids


async def close_waiting(request: web.Request) -> web.Response:
    """`POST /api/handoffs/close {"ids": [...]}`: close waiting tickets in bulk (supervisors).

    Returns:
        200 `{"closed": [ids], "skipped": [ids]}` (skipped: not waiting any more).

    """
    staff = require_supervisor(request)
    ids = ticket_ids_field(await read_json(request))
    async with request_session(request) as session:
        body = await operations.close_waiting(request.app[HANDOFF], session, staff, ids)
    return web.json_response(body)


async def typing(request: web.Request) -> web.Response:
    """`POST /api/handoffs/{id}/typing`: show the caller "Adviser is typing"."""
    return await _run(request, "typing")


async def reply(request: web.Request) -> web.Response:
    """`POST /api/handoffs/{id}/reply {"text"}`: message the caller (201)."""
    text = text_field(await read_json(request), "text", max_length=MAX_REPLY)
    assert text is not None
    async with request_session(request) as session:
        body = await operations.reply(
            request.app[HANDOFF], session, current_staff(request), _ticket_id(request), text
        )
    return web.json_response(body, status=201)


async def list_callbacks(request: web.Request) -> web.Response:
    """`GET /api/callbacks?status=open|done`: callback requests (open first)."""
    status = request.query.get("status") or None
    if status not in (None, "open", "done"):
        raise InputError("status must be open or done", "status")
    async with request_session(request) as session:
        callbacks = await service.list_callbacks(session, status)
    items = [service.callback_json(c) for c in callbacks]
    return web.json_response({"items": items, "total": len(items)})


async def mark_callback_done(
    request: web.Request, callback_id: int, notes: str | None
) -> dict[str, Any]:
    """Mark a callback request done (shared by the API and the console form).

    Raises:
        HandoffError: not_found no such request; conflict already done.

    """
    staff = current_staff(request)
    async with request_session(request) as session:
        result = await session.execute(
            update(CallbackRequest)
            .where(CallbackRequest.id == callback_id, CallbackRequest.status == "open")
            .values(status="done", notes=notes, done_at=utcnow(), done_by=staff.id)
            .execution_options(synchronize_session=False)
        )
        callback = await session.get(CallbackRequest, callback_id)
        if callback is None:
            raise HandoffError("not_found", f"there is no callback request {callback_id}")
        if result.rowcount == 0:
            raise HandoffError("conflict", "this callback request is already done")
        await accounts.audit(session, staff, "callback.done", f"callback:{callback_id}")
        await session.commit()
        await session.refresh(callback)
        body = service.callback_json(callback)
    await request.app[HANDOFF].hub.broadcast({"type": "callback", "callback": body})
    return body


async def callback_done(request: web.Request) -> web.Response:
    """`POST /api/callbacks/{id}/done {"notes"?}`: mark a callback request done."""
    body = await read_json(request, required=False)
    notes = text_field(body, "notes", required=False, max_length=2000)
    done = await mark_callback_done(request, _ticket_id(request), notes)
    return web.json_response(done)


def canned_json(canned: CannedResponse) -> dict[str, Any]:
    """A canned response as the API shows it."""
    return {
        "id": canned.id,
        "title": canned.title,
        "text": canned.text,
        "updated_at": iso(canned.updated_at),
    }


async def list_canned(request: web.Request) -> web.Response:
    """`GET /api/canned`: canned responses (every member may use them)."""
    async with request_session(request) as session:
        items = [canned_json(c) for c in await service.list_canned(session)]
    return web.json_response({"items": items})


async def save_canned(
    request: web.Request, canned_id: int | None, title: str, text: str
) -> dict[str, Any]:
    """Create or update a canned response (supervisors; shared with the console form).

    Raises:
        HandoffError: not_found no such response; conflict the title is taken.

    """
    staff = require_supervisor(request)
    async with request_session(request) as session:
        if canned_id is None:
            canned = CannedResponse(title=title, text=text, updated_at=utcnow())
            session.add(canned)
        else:
            found = await session.get(CannedResponse, canned_id)
            if found is None:
                raise HandoffError("not_found", f"there is no canned response {canned_id}")
            canned = found
            canned.title, canned.text, canned.updated_at = title, text, utcnow()
        try:
            await session.flush()
        except IntegrityError:
            await session.rollback()
            raise HandoffError("conflict", f"a canned response called {title!r} exists") from None
        await accounts.audit(session, staff, "canned.save", f"canned:{canned.id}", title=title)
        await session.commit()
        return canned_json(canned)


async def delete_canned_response(request: web.Request, canned_id: int) -> None:
    """Delete a canned response (supervisors).

    Raises:
        HandoffError: not_found no such response.

    """
    staff = require_supervisor(request)
    async with request_session(request) as session:
        result = await session.execute(delete(CannedResponse).where(CannedResponse.id == canned_id))
        if result.rowcount == 0:
            raise HandoffError("not_found", f"there is no canned response {canned_id}")
        await accounts.audit(session, staff, "canned.delete", f"canned:{canned_id}")
        await session.commit()


async def _canned_body(request: web.Request) -> tuple[str, str]:
    body = await read_json(request)
    title = text_field(body, "title", max_length=120)
    text = text_field(body, "text", max_length=MAX_REPLY)
    assert title is not None and text is not None
    return title, text


async def create_canned(request: web.Request) -> web.Response:
    """`POST /api/canned {"title", "text"}` (supervisors): 201."""
    require_supervisor(request)
    title, text = await _canned_body(request)
    body = await save_canned(request, None, title, text)
    return web.json_response(body, status=201)


async def update_canned(request: web.Request) -> web.Response:
    """`PUT /api/canned/{id} {"title", "text"}` (supervisors)."""
    require_supervisor(request)
    title, text = await _canned_body(request)
    body = await save_canned(request, _ticket_id(request), title, text)
    return web.json_response(body)


async def delete_canned(request: web.Request) -> web.Response:
    """`DELETE /api/canned/{id}` (supervisors): 204."""
    await delete_canned_response(request, _ticket_id(request))
    return web.Response(status=204)


async def get_figures(request: web.Request) -> web.Response:
    """`GET /api/figures` (supervisors): queue and satisfaction figures."""
    require_supervisor(request)
    async with request_session(request) as session:
        figures = await service.figures(session)
    body = dict(figures.__dict__)
    body["satisfaction_counts"] = {str(k): v for k, v in figures.satisfaction_counts.items()}
    return web.json_response(body)


async def get_audit(request: web.Request) -> web.Response:
    """`GET /api/audit` (supervisors): the latest 200 audit entries."""
    require_supervisor(request)
    async with request_session(request) as session:
        rows = (
            await session.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(200))
        ).scalars()
        items = [
            {
                "at": iso(e.at),
                "actor": e.actor,
                "action": e.action,
                "target": e.target,
                "detail": e.detail,
            }
            for e in rows
        ]
    return web.json_response({"items": items})


def setup_routes(app: web.Application) -> None:
    """Register the staff API routes."""
    add = app.router
    add.add_post("/api/login", login, name="api_login")
    add.add_post("/api/logout", logout, name="api_logout")
    add.add_get("/api/me", me, name="api_me")
    add.add_get("/api/handoffs", list_handoffs, name="api_handoffs")
    add.add_post("/api/handoffs/close", close_waiting)
    add.add_get("/api/handoffs/" + ROW_ID, get_handoff, name="api_handoff")
    add.add_post("/api/handoffs/" + ROW_ID + "/claim", claim)
    add.add_post("/api/handoffs/" + ROW_ID + "/reply", reply)
    add.add_post("/api/handoffs/" + ROW_ID + "/typing", typing)
    add.add_post("/api/handoffs/" + ROW_ID + "/release", release)
    add.add_post("/api/handoffs/" + ROW_ID + "/resolve", resolve)
    add.add_get("/api/callbacks", list_callbacks, name="api_callbacks")
    add.add_post("/api/callbacks/" + ROW_ID + "/done", callback_done)
    add.add_get("/api/canned", list_canned, name="api_canned")
    add.add_post("/api/canned", create_canned)
    add.add_put("/api/canned/" + ROW_ID, update_canned)
    add.add_delete("/api/canned/" + ROW_ID, delete_canned)
    add.add_get("/api/figures", get_figures, name="api_figures")
    add.add_get("/api/audit", get_audit, name="api_audit")
