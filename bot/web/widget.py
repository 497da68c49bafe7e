"""The embeddable web chat widget: its loader, its demo page and its settings.

    GET /                     demo page: the programme in GOV.UK style, with the widget
    GET /widget.js            the widget (one script tag embeds it on any page)
    GET /widget/config.json   where the widget's Rasa is, the hotline number
    POST /widget/history      the bot's and staff's recent messages in a conversation,
                              so a widget that was disconnected can catch up (the
                              body holds the session secret, never the URL)

Any site embeds the widget with

    <script src="http://localhost:8080/widget.js"
            data-rasa-url="http://localhost:5005" defer></script>

The widget loads its CSS and the socket.io client from this app's /static/ and
talks to Rasa's socket.io channel directly; Rasa must list the site's origin in
`CORS_ORIGINS` (bot/stack.py). docs/handoff.md, "Widget", has the message mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web

from bot.config import Settings
from bot.core.content import hotline_number
from bot.core.conversations import is_session_secret, resolve_key, web_conversation_id
from bot.handoff.ports import RasaUnavailable
from bot.web import headers
from bot.web.context import SETTINGS, STATIC_DIR
from bot.web.headers import widget_cors
from bot.web.live import HANDOFF

WIDGET_JS = STATIC_DIR / "widget" / "widget.js"


@dataclass(frozen=True)
class WidgetSettings:
    """Where the widget finds Rasa.

    Attributes:
        rasa_url: Base URL of Rasa as the browser reaches it (socket.io on /socket.io).

    """

    rasa_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> WidgetSettings:
        """The widget's part of the settings (`WIDGET_RASA_URL`, else `RASA_URL`).

        Args:
            settings: The application settings.

        Returns:
            The widget settings.

        """
        return cls(rasa_url=settings.widget_rasa_url)

    @property
    def socket_origins(self) -> str:
        """The CSP `connect-src` sources for Rasa's socket.io (polling and WebSocket)."""
        parts = urlsplit(self.rasa_url)
        ws = "wss" if parts.scheme == "https" else "ws"
        return f"{parts.scheme}://{parts.netloc} {ws}://{parts.netloc}"


WIDGET = web.AppKey("widget", WidgetSettings)


def content_security_policy(settings: WidgetSettings) -> str:
    """The demo page's policy: only our own files, and Rasa for the socket.

    Args:
        settings: The widget settings.

    Returns:
        The `Content-Security-Policy` header value.

    """
    return headers.content_security_policy(settings.socket_origins)


async def demo_page(request: web.Request) -> web.Response:
    """Render the demo page with the widget.

    Args:
        request: The request.

    Returns:
        The HTML page, with a strict CSP (no inline script).

    """
    settings = request.app[WIDGET]
    response = aiohttp_jinja2.render_template(
        "widget/demo.html", request, {"rasa_url": settings.rasa_url, "hotline": hotline_number()}
    )
    response.headers.update(headers.PAGE_HEADERS)
    response.headers["Content-Security-Policy"] = content_security_policy(settings)
    return response


async def widget_js(request: web.Request) -> web.FileResponse:
    """Serve the widget script at a stable URL (revalidated, so updates reach sites).

    Args:
        request: The request.

    Returns:
        The script.

    """
    return web.FileResponse(
        WIDGET_JS,
        headers={
            "Content-Type": "text/javascript; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def widget_config(request: web.Request) -> web.Response:
    """Tell a page where the widget's Rasa is (for sites that build the tag themselves).

    Args:
        request: The request.

    Returns:
        JSON `{"rasa_url", "socketio_path", "hotline_number"}`, readable from any origin.

    """
    settings = request.app[WIDGET]
    return web.json_response(
        {
            "rasa_url": settings.rasa_url,
            "socketio_path": "/socket.io",
            "hotline_number": hotline_number(),
        },
        headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"},
    )


# The server key that maps a session secret to its conversation (as Rasa does).
SESSION_KEY = web.AppKey("widget_session_key", str)
HISTORY_LIMIT = 50


def history_items(tracker: dict[str, Any], limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """The last ``limit`` bot and staff messages of a tracker, as the widget shows them.

    Args:
        tracker: Rasa's tracker JSON.
        limit: How many messages at most.

    Returns:
        Items with `text`, `sender` ("bot", "staff" or "system"), `staff_name` and
        `buttons`; typing indicators and messages without text are left out.
    """
    items = []
    for event in tracker.get("events") or []:
        if event.get("event") != "bot" or not isinstance(event.get("text"), str):
            continue
        metadata = event.get("metadata") or {}
        data = event.get("data") or {}
        items.append(
            {
                "text": event["text"],
                "sender": metadata.get("sender") or "bot",
                "staff_name": metadata.get("staff_name"),
                "buttons": data.get("buttons") or [],
            }
        )
    return items[-limit:]


async def widget_history(request: web.Request) -> web.Response:
    """Return the recent messages of one conversation, for a reconnecting widget.

    Rasa does not keep messages for a socket that is away, so after a dropped
    connection the widget asks here for what it missed. It sends its session
    *secret* in the body (never in the URL, which logs and proxies keep), and the
    conversation is found with the same keyed hash as Rasa's socket.io channel
    (`bot.core.conversations`): someone who knows only a conversation id, as
    staff, logs and URLs show it, gets another (empty) conversation, never that one.

    Args:
        request: The request, with JSON `{"session_id": <the session secret>}`.

    Returns:
        200 `{"items": [...]}`; 400 for a missing or malformed secret; 503 if
        Rasa cannot be read.
    """
    headers = widget_cors(request)
    try:
        body = await request.json()
    except ValueError:
        body = None
    secret = body.get("session_id") if isinstance(body, dict) else None
    if not is_session_secret(secret):
        return web.json_response(
            {"error": 'send {"session_id": "<your session id>"} as JSON'},
            status=400,
            headers=headers,
        )
    conversation = web_conversation_id(request.app[SESSION_KEY], str(secret))
    try:
        tracker = await request.app[HANDOFF].rasa.get_tracker(conversation)
    except RasaUnavailable:
        return web.json_response(
            {"error": "the conversation cannot be read now"}, status=503, headers=headers
        )
    return web.json_response({"items": history_items(tracker)}, headers=headers)


async def widget_history_preflight(request: web.Request) -> web.Response:
    """Let the sites in `CORS_ORIGINS` post their JSON to `/widget/history`.

    Args:
        request: The browser's preflight request.

    Returns:
        204, with CORS headers for an allowed origin only.

    """
    headers = widget_cors(request)
    if "Access-Control-Allow-Origin" in headers:
        headers["Access-Control-Allow-Methods"] = "POST"
        headers["Access-Control-Allow-Headers"] = "Content-Type"
        headers["Access-Control-Max-Age"] = "600"
    return web.Response(status=204, headers=headers)


def setup_widget(app: web.Application, settings: WidgetSettings | None = None) -> None:
    """Register the widget routes.

    Args:
        app: The application (jinja2 already set up).
        settings: Widget settings (from the app's settings when omitted).

    """
    app[WIDGET] = settings or WidgetSettings.from_settings(app[SETTINGS])
    app.router.add_get("/", demo_page, name="widget_demo")
    app.router.add_get("/widget.js", widget_js, name="widget_js")
    app.router.add_get("/widget/config.json", widget_config, name="widget_config")
    app[SESSION_KEY] = resolve_key(app[SETTINGS].session_key, app[SETTINGS].project_root)
    app.router.add_post("/widget/history", widget_history, name="widget_history")
    app.router.add_route("OPTIONS", "/widget/history", widget_history_preflight)
