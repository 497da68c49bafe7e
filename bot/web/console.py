"""The staff triage console: GOV.UK-styled pages, a live WebSocket, and its wiring.

    GET  /console/login, POST /console/login, POST /console/logout
    GET  /console                      the queue (live over /console/ws)
    GET  /console/handoffs/{id}        a conversation: transcript, summary, actions
    POST /console/handoffs/{id}/claim|reply|release|resolve   (forms; scripts use the API)
    GET  /console/callbacks, POST /console/callbacks/{id}/done
    GET  /console/canned, POST /console/canned[/{id}[/delete]]   (editing: supervisors)
    GET  /console/figures, GET /console/audit                    (supervisors)
    GET  /console/ws                   WebSocket: ticket and message events

The forms catch `HandoffError` themselves and show its message on the page, with
the status `bot.web.errors.status_for` gives its kind.

Pages are server-rendered with Jinja autoescaping and work without JavaScript;
`static/console/console.js` adds the live queue, live messages, replies without
reload and the typing indicator, always writing caller text with `textContent`.

`setup_console(app)` registers all of the handoff (middleware, the staff API, the
internal API, these pages, the runtime's cleanup context, `/assets/` for
GOV.UK Frontend's fonts and images); the app factory calls it once.
"""

from __future__ import annotations

import secrets
from typing import Any

import aiohttp_jinja2
from aiohttp import WSMsgType, web
from sqlalchemy import select

from bot.core.clock import utcnow
from bot.db.models import AuditEntry
from bot.handoff import operations, service
from bot.handoff.service import HandoffError
from bot.handoff.transcript import conversation_detail
from bot.staff import accounts
from bot.web import api, internal
from bot.web.context import ROW_ID, SETTINGS, STATIC_DIR, request_session
from bot.web.errors import status_for
from bot.web.live import CONSOLE_HUB, HANDOFF, handoff_ctx
from bot.web.security import (
    LOGIN_CSRF_COOKIE,
    STAFF_HEADERS,
    access_middleware,
    clear_session_cookie,
    current_auth,
    require_supervisor,
    same_token,
    set_session_cookie,
    sign_in,
)

GOVUK_ASSETS = STATIC_DIR / "vendor" / "govuk" / "assets"
MAX_REPLY = api.MAX_REPLY


def _context(request: web.Request, active: str, **values: Any) -> dict[str, Any]:
    auth = current_auth(request)
    return {"staff": auth.staff, "csrf_token": auth.csrf_token, "active": active, **values}


def _render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    response = aiohttp_jinja2.render_template(
        f"console/{template}", request, context, status=status
    )
    response.headers.update(STAFF_HEADERS)
    return response


def _safe_next(raw: str | None) -> str:
    # Only our own console paths: no open redirect to another site.
    if raw and raw.startswith("/console") and "//" not in raw and "\\" not in raw:
        return raw
    return "/console"


async def login_page(request: web.Request) -> web.Response:
    """`GET /console/login`: the sign-in form (with a pre-session CSRF token)."""
    return _login_form(request, {}, status=200)


def _login_form(
    request: web.Request, errors: dict[str, str], status: int, username: str = ""
) -> web.Response:
    token = secrets.token_urlsafe(32)
    response = _render(
        request,
        "login.html",
        {
            "errors": errors,
            "csrf_token": token,
            "username": username,
            "next": _safe_next(request.query.get("next")),
        },
        status=status,
    )
    # Double-submit: the form's token must match this cookie, which another site can't read.
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/console/login",
        httponly=True,
        secure=request.app[SETTINGS].cookie_secure,
        samesite="Strict",
    )
    return response


async def login_submit(request: web.Request) -> web.Response:
    """`POST /console/login`: sign in and go to the console (or back with errors)."""
    form = await request.post()
    username = str(form.get("username", ""))[:80]
    password = str(form.get("password", ""))[:256]
    if not same_token(str(form.get("csrf_token", "")), request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        return _login_form(
            request, {"form": "Your session expired. Please try again."}, 403, username
        )
    errors: dict[str, str] = {}
    if not username.strip():
        errors["username"] = "Enter your user name"
    if not password:
        errors["password"] = "Enter your password"  # noqa: S105 - a message, not a secret
    if errors:
        return _login_form(request, errors, 400, username)
    settings = request.app[SETTINGS]
    result = await sign_in(request, username, password)
    if result.locked:
        message = (
            "Too many failed sign-ins. Try again in "
            f"{max(1, settings.login_window_seconds // 60)} minutes or ask a supervisor."
        )
        return _login_form(request, {"username": message}, 429, username)
    if result.token is None:
        return _login_form(
            request, {"username": "The user name or password is wrong"}, 401, username
        )
    response = web.HTTPSeeOther(_safe_next(str(form.get("next", ""))))
    set_session_cookie(response, request, result.token)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    raise response


async def logout_submit(request: web.Request) -> web.Response:
    """`POST /console/logout`: sign out."""
    async with request_session(request) as session:
        await accounts.logout(session, current_auth(request))
    response = web.HTTPSeeOther("/console/login")
    clear_session_cookie(response)
    raise response


async def queue_page(request: web.Request) -> web.Response:
    """`GET /console`: waiting conversations, and those with advisers."""
    async with request_session(request) as session:
        views = await service.list_tickets(session, ["queued", "assigned"])
    now = utcnow()
    waiting = [v.to_json(now) for v in views if v.ticket.status == "queued"]
    for position, item in enumerate(waiting, start=1):
        item["position"] = position
    assigned = [v.to_json(now) for v in views if v.ticket.status == "assigned"]
    return _render(
        request, "queue.html", _context(request, "queue", waiting=waiting, assigned=assigned)
    )


async def _conversation(
    request: web.Request, error: str | None = None, status: int = 200
) -> web.Response:
    ticket_id = int(request.match_info["id"])
    async with request_session(request) as session:
        try:
            detail = await conversation_detail(session, request.app[HANDOFF].rasa, ticket_id)
        except HandoffError as exc:
            return _render(
                request,
                "error.html",
                _context(request, "queue", title="Not found", message=exc.message),
                status=status_for(exc),
            )
        canned = await service.list_canned(session)
    staff = current_auth(request).staff
    mine = detail["status"] == "assigned" and (
        detail["assigned_to"] == staff.username or staff.is_supervisor
    )
    return _render(
        request,
        "conversation.html",
        _context(
            request,
            "queue",
            ticket=detail,
            canned=canned,
            can_write=mine,
            error=error,
            max_reply=MAX_REPLY,
        ),
        status=status,
    )


async def conversation_page(request: web.Request) -> web.Response:
    """`GET /console/handoffs/{id}`: the conversation view."""
    return await _conversation(request)


async def conversation_action(request: web.Request) -> web.Response:
    """`POST /console/handoffs/{id}/{action}`: claim, reply, release, resolve without script."""
    action = request.match_info["action"]
    ticket_id = int(request.match_info["id"])
    staff = current_auth(request).staff
    runtime = request.app[HANDOFF]
    async with request_session(request) as session:
        try:
            if action == "claim":
                await operations.claim(runtime, session, staff, ticket_id)
            elif action == "release":
                await operations.release(runtime, session, staff, ticket_id)
            elif action == "resolve":
                await operations.resolve(runtime, session, staff, ticket_id)
            else:
                form = await request.post()
                text = str(form.get("text", "")).strip()
                if not text:
                    return await _conversation(request, "Enter a reply", 400)
                if len(text) > MAX_REPLY:
                    return await _conversation(
                        request, f"Reply must be {MAX_REPLY} characters or fewer", 400
                    )
                await operations.reply(runtime, session, staff, ticket_id, text)
        except HandoffError as exc:
            return await _conversation(request, exc.message, status_for(exc))
    raise web.HTTPSeeOther(f"/console/handoffs/{ticket_id}")


async def callbacks_page(request: web.Request) -> web.Response:
    """`GET /console/callbacks`: callback requests, open first."""
    async with request_session(request) as session:
        callbacks = [service.callback_json(c) for c in await service.list_callbacks(session, None)]
    return _render(
        request, "callbacks.html", _context(request, "callbacks", callbacks=callbacks, error=None)
    )


async def close_waiting_submit(request: web.Request) -> web.Response:
    """`POST /console/handoffs/close`: the queue page's bulk close (supervisors)."""
    staff = require_supervisor(request)
    form = await request.post()
    raw = [str(v) for v in form.getall("ids", [])]
    ids = [int(v) for v in raw if v.isascii() and v.isdigit() and len(v) < 10]
    ids = [i for i in ids if 0 < i < 2**31][: operations.MAX_BULK_CLOSE]
    if ids:
        async with request_session(request) as session:
            await operations.close_waiting(request.app[HANDOFF], session, staff, ids)
    raise web.HTTPSeeOther("/console")


async def callback_done_submit(request: web.Request) -> web.Response:
    """`POST /console/callbacks/{id}/done`: mark done with notes."""
    form = await request.post()
    notes = str(form.get("notes", "")).strip()[:2000] or None
    try:
        await api.mark_callback_done(request, int(request.match_info["id"]), notes)
    except HandoffError as exc:
        async with request_session(request) as session:
            callbacks = [
                service.callback_json(c) for c in await service.list_callbacks(session, None)
            ]
        return _render(
            request,
            "callbacks.html",
            _context(request, "callbacks", callbacks=callbacks, error=exc.message),
            status=status_for(exc),
        )
    raise web.HTTPSeeOther("/console/callbacks")


async def canned_page(request: web.Request, error: str | None = None, status: int = 200) -> Any:
    """`GET /console/canned`: canned responses (supervisors edit them here)."""
    async with request_session(request) as session:
        canned = await service.list_canned(session)
    return _render(
        request,
        "canned.html",
        _context(request, "canned", canned=canned, error=error, max_reply=MAX_REPLY),
        status=status,
    )


async def canned_submit(request: web.Request) -> web.Response:
    """`POST /console/canned[/{id}[/delete]]` (supervisors): add, edit or delete."""
    require_supervisor(request)
    form = await request.post()
    raw_id = request.match_info.get("id")
    try:
        if request.path.endswith("/delete") and raw_id:
            await api.delete_canned_response(request, int(raw_id))
        else:
            title = str(form.get("title", "")).strip()
            text = str(form.get("text", "")).strip()
            if not title or not text:
                return await canned_page(request, "Enter a title and a text", 400)
            if len(title) > 120 or len(text) > MAX_REPLY:
                return await canned_page(request, "The title or text is too long", 400)
            await api.save_canned(request, int(raw_id) if raw_id else None, title, text)
    except HandoffError as exc:
        return await canned_page(request, exc.message, status_for(exc))
    raise web.HTTPSeeOther("/console/canned")


async def figures_page(request: web.Request) -> web.Response:
    """`GET /console/figures` (supervisors): queue and satisfaction figures."""
    require_supervisor(request)
    async with request_session(request) as session:
        figures = await service.figures(session)
    return _render(request, "figures.html", _context(request, "figures", figures=figures))


async def audit_page(request: web.Request) -> web.Response:
    """`GET /console/audit` (supervisors): the latest audit entries."""
    require_supervisor(request)
    async with request_session(request) as session:
        entries = list(
            (
                await session.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(200))
            ).scalars()
        )
    return _render(request, "audit.html", _context(request, "audit", entries=entries))


async def console_ws(request: web.Request) -> web.WebSocketResponse:
    """`GET /console/ws`: live events for the console (signed-in staff only).

    Sends `{"type": "snapshot", "tickets": [...]}` first, then ticket, message and
    callback events as they happen. Cross-site pages cannot open it: the Origin must
    be this host (browsers send cookies with WebSocket handshakes).
    """
    origin = request.headers.get("Origin")
    if origin is not None and origin.split("://", 1)[-1] != request.host:
        raise web.HTTPForbidden(text="cross-site WebSocket refused")
    ws = web.WebSocketResponse(heartbeat=25)
    await ws.prepare(request)
    hub = request.app[CONSOLE_HUB]
    async with request_session(request) as session:
        views = await service.list_tickets(session, ["queued", "assigned"])
    now = utcnow()
    await ws.send_json({"type": "snapshot", "tickets": [v.to_json(now) for v in views]})
    hub.add(ws)
    try:
        async for message in ws:
            if message.type == WSMsgType.TEXT and message.data == "ping":
                await ws.send_str('{"type": "pong"}')
    finally:
        hub.discard(ws)
    return ws


def setup_routes(app: web.Application) -> None:
    """Register the console pages and WebSocket."""
    add = app.router
    add.add_get("/console/login", login_page, name="console_login")
    add.add_post("/console/login", login_submit)
    add.add_post("/console/logout", logout_submit, name="console_logout")
    add.add_get("/console", queue_page, name="console")
    add.add_get("/console/ws", console_ws, name="console_ws")
    add.add_post("/console/handoffs/close", close_waiting_submit)
    add.add_get("/console/handoffs/" + ROW_ID, conversation_page, name="console_handoff")
    add.add_post(
        "/console/handoffs/" + ROW_ID + "/{action:claim|reply|release|resolve}", conversation_action
    )
    add.add_get("/console/callbacks", callbacks_page, name="console_callbacks")
    add.add_post("/console/callbacks/" + ROW_ID + "/done", callback_done_submit)
    add.add_get("/console/canned", canned_page, name="console_canned")
    add.add_post("/console/canned", canned_submit)
    add.add_post("/console/canned/" + ROW_ID, canned_submit)
    add.add_post("/console/canned/" + ROW_ID + "/delete", canned_submit)
    add.add_get("/console/figures", figures_page, name="console_figures")
    add.add_get("/console/audit", audit_page, name="console_audit")


def setup_console(app: web.Application) -> None:
    """Add the handoff to an application: call once in the app factory, after the database.

    Args:
        app: The application (its database `cleanup_ctx` must already be registered).

    """
    app.middlewares.append(access_middleware)
    app.cleanup_ctx.append(handoff_ctx)
    api.setup_routes(app)
    internal.setup_routes(app)
    setup_routes(app)
    # GOV.UK Frontend's CSS refers to /assets/fonts and /assets/images.
    if GOVUK_ASSETS.is_dir() and "govuk_assets" not in app.router.named_resources():
        app.router.add_static("/assets/", GOVUK_ASSETS, name="govuk_assets")
