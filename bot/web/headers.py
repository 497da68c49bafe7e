"""The security headers every page and API of the web app sends, written once."""

from __future__ import annotations

from aiohttp import web

from bot.web.context import SETTINGS


def content_security_policy(connect: str = "") -> str:
    """Only our own files; no inline script or style, no framing, no plugins.

    Args:
        connect: Origins beyond our own that scripts may connect to (the widget's
            demo page talks to Rasa's socket.io), space-separated.

    Returns:
        The `Content-Security-Policy` header value.
    """
    connect_src = " ".join(filter(None, ["'self'", connect.strip()]))
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"font-src 'self'; connect-src {connect_src}; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


#: Headers for every page and API response (the staff side adds its own on top).
PAGE_HEADERS = {
    "Content-Security-Policy": content_security_policy(),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


#: Sent on every response, whatever the route: static files and errors included.
EVERY_RESPONSE = {"X-Content-Type-Options": "nosniff"}


async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare` hook: the headers every response gets, and no `Server`.

    aiohttp names itself and its Python version in `Server`; that helps only an
    attacker choosing exploits, so it goes.
    """
    for name, value in EVERY_RESPONSE.items():
        response.headers.setdefault(name, value)
    response.headers.popall("Server", None)


def widget_cors(request: web.Request) -> dict[str, str]:
    """Headers for the widget's own JSON (history, erase, privacy), read cross-origin.

    Only the sites that embed the widget (`CORS_ORIGINS`, the ones Rasa allows)
    get `Access-Control-Allow-Origin`; nothing is cached.

    Args:
        request: The request (its `Origin`; the app's settings).

    Returns:
        The headers to send.
    """
    headers = {"Cache-Control": "no-store", "Vary": "Origin"}
    origin = request.headers.get("Origin")
    if origin and origin in request.app[SETTINGS].cors_origins:
        headers["Access-Control-Allow-Origin"] = origin
    return headers
