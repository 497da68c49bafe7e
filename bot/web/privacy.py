"""Privacy in the web app: the notice, the caller's own erasure, supervisors' access and erasure.

    GET  /privacy                      the privacy notice (page)
    GET  /widget/privacy.json          the same notice for the widget
    POST /widget/erase                 {"session_id": <secret>}: erase the caller's
                                       web conversation on the server (the widget's
                                       "Delete this conversation")
    GET  /console/privacy?q=QUERY      supervisors: what is held for a conversation
                                       id or a phone number
    GET  /console/privacy/export?q=    supervisors: all of it as a JSON download (audited)
    POST /console/privacy/erase        supervisors: erase it (q, confirm; audited)

The domain work is ``bot.privacy`` (no aiohttp there). The retention job runs
here on a schedule (:func:`purge_ctx`): every ``HOTLINE_PURGE_INTERVAL_SECONDS``
each web process asks for the job's lease and the one that gets it purges.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import aiohttp_jinja2
from aiohttp import web

from bot.core.conversations import is_session_secret, web_conversation_id
from bot.privacy import retention, subject
from bot.privacy.notice import privacy_notice
from bot.privacy.tracker import TrackerEvents
from bot.web import headers
from bot.web.context import SESSIONMAKER, SETTINGS, request_session
from bot.web.headers import widget_cors
from bot.web.security import STAFF_HEADERS, current_auth, require_supervisor
from bot.web.widget import SESSION_KEY

logger = logging.getLogger(__name__)

TRACKER = web.AppKey("privacy_tracker", TrackerEvents)
#: The longest the scheduler sleeps between asking for the lease.
MAX_TICK_SECONDS = 300


async def privacy_page(request: web.Request) -> web.Response:
    """`GET /privacy`: the notice as a page."""
    notice = privacy_notice(request.app[SETTINGS])
    response = aiohttp_jinja2.render_template("privacy.html", request, {"notice": notice})
    response.headers.update(headers.PAGE_HEADERS)
    return response


async def widget_notice(request: web.Request) -> web.Response:
    """`GET /widget/privacy.json`: the notice for the widget (any site may read it)."""
    notice = privacy_notice(request.app[SETTINGS])
    return web.json_response(
        notice.to_json(),
        headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"},
    )


async def widget_erase(request: web.Request) -> web.Response:
    """`POST /widget/erase`: erase the conversation whose session secret the caller holds.

    The secret maps to the conversation id with the socket.io channel's keyed hash
    (`bot.core.conversations`), so a caller can erase only their own conversation;
    knowing a conversation id erases nothing but an empty one.

    Returns:
        200 `{"erased": {counts}}`; 400 without a well-formed secret.
    """
    cors = widget_cors(request)
    try:
        body = await request.json()
    except ValueError:
        body = None
    secret = body.get("session_id") if isinstance(body, dict) else None
    if not is_session_secret(secret):
        return web.json_response(
            {"error": 'send {"session_id": "<your session id>"} as JSON'}, status=400, headers=cors
        )
    conversation = web_conversation_id(request.app[SESSION_KEY], str(secret))
    query = subject.Query("conversation", conversation)
    async with request_session(request) as session:
        found = await subject.find(session, request.app[TRACKER], query)
        counts = await subject.erase(session, request.app[TRACKER], found, "caller")
    return web.json_response({"erased": counts}, headers=cors)


async def widget_erase_preflight(request: web.Request) -> web.Response:
    """Let the sites in `CORS_ORIGINS` post their JSON to `/widget/erase`."""
    cors = widget_cors(request)
    if "Access-Control-Allow-Origin" in cors:
        cors["Access-Control-Allow-Methods"] = "POST"
        cors["Access-Control-Allow-Headers"] = "Content-Type"
        cors["Access-Control-Max-Age"] = "600"
    return web.Response(status=204, headers=cors)


def _render(request: web.Request, context: dict[str, object], status: int = 200) -> web.Response:
    auth = current_auth(request)
    response = aiohttp_jinja2.render_template(
        "console/privacy.html",
        request,
        {"staff": auth.staff, "csrf_token": auth.csrf_token, "active": "privacy", **context},
        status=status,
    )
    response.headers.update(STAFF_HEADERS)
    return response


async def console_privacy(request: web.Request) -> web.Response:
    """`GET /console/privacy?q=`: the search form, and what is held for the query."""
    require_supervisor(request)
    raw = request.query.get("q", "").strip()
    context: dict[str, object] = {"q": raw, "found": None, "error": None, "done": None}
    if request.query.get("erased"):
        context["done"] = "Everything held for that query has been erased."
    if raw:
        try:
            query = subject.parse_query(raw[:255])
        except subject.SubjectError as error:
            context["error"] = str(error)
            return _render(request, context, status=400)
        async with request_session(request) as session:
            found = await subject.find(session, request.app[TRACKER], query)
        context["found"] = found
        context["counts"] = found.counts()
    return _render(request, context)


async def console_export(request: web.Request) -> web.Response:
    """`GET /console/privacy/export?q=`: everything held, as a JSON file (audited)."""
    staff = require_supervisor(request)
    try:
        query = subject.parse_query(request.query.get("q", "")[:255])
    except subject.SubjectError as error:
        raise web.HTTPBadRequest(text=str(error)) from None
    async with request_session(request) as session:
        found = await subject.find(session, request.app[TRACKER], query)
        await subject.record_export(session, staff, found)
    body = json.dumps(found.to_json(), indent=2, ensure_ascii=False)
    return web.Response(
        text=body,
        content_type="application/json",
        headers={
            **STAFF_HEADERS,
            "Content-Disposition": 'attachment; filename="hotline-data-export.json"',
        },
    )


async def console_erase(request: web.Request) -> web.Response:
    """`POST /console/privacy/erase` (q, confirm=yes): erase everything held (audited)."""
    staff = require_supervisor(request)
    form = await request.post()
    raw = str(form.get("q", "")).strip()[:255]
    try:
        query = subject.parse_query(raw)
    except subject.SubjectError as error:
        return _render(
            request, {"q": raw, "found": None, "error": str(error), "done": None}, status=400
        )
    async with request_session(request) as session:
        found = await subject.find(session, request.app[TRACKER], query)
        if form.get("confirm") != "yes":
            return _render(
                request,
                {
                    "q": raw,
                    "found": found,
                    "counts": found.counts(),
                    "error": "Tick the box to confirm the erasure",
                    "done": None,
                },
                status=400,
            )
        await subject.erase(session, request.app[TRACKER], found, staff)
    raise web.HTTPSeeOther("/console/privacy?erased=1")


async def _schedule(app: web.Application) -> None:
    settings = app[SETTINGS]
    policy = retention.RetentionPolicy.from_settings(settings)
    interval = settings.purge_interval_seconds
    while True:
        try:
            report = await retention.run_if_due(app[SESSIONMAKER], app[TRACKER], policy, interval)
        except Exception:  # noqa: BLE001 - a failed run must not stop the schedule
            logger.exception("the retention job failed; it runs again at the next tick")
        else:
            if report is not None:
                logger.info("retention job: %s", report.summary())
        await asyncio.sleep(min(interval, MAX_TICK_SECONDS))


async def purge_ctx(app: web.Application) -> AsyncIterator[None]:
    """`cleanup_ctx`: Rasa's tracker store for this app, and the retention schedule.

    Must come after the database context. With `HOTLINE_PURGE_INTERVAL_SECONDS=0`
    nothing is scheduled (the command still purges).

    Args:
        app: The application.

    Yields:
        While the application runs.
    """
    app[TRACKER] = TrackerEvents.from_settings(app[SETTINGS])
    task = None
    if app[SETTINGS].purge_interval_seconds:
        task = asyncio.create_task(_schedule(app))
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await app[TRACKER].close()


def setup_privacy(app: web.Application) -> None:
    """Register the privacy routes and the schedule (after the database and the widget).

    Args:
        app: The application.
    """
    app.cleanup_ctx.append(purge_ctx)
    add = app.router
    add.add_get("/privacy", privacy_page, name="privacy")
    add.add_get("/widget/privacy.json", widget_notice, name="widget_privacy")
    add.add_post("/widget/erase", widget_erase, name="widget_erase")
    add.add_route("OPTIONS", "/widget/erase", widget_erase_preflight)
    add.add_get("/console/privacy", console_privacy, name="console_privacy")
    add.add_get("/console/privacy/export", console_export, name="console_privacy_export")
    add.add_post("/console/privacy/erase", console_erase)
