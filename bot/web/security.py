"""Who may call what: staff sign-in for `/api/` and `/console`, the shared secret for `/internal/`.

One middleware guards all three prefixes, so a new staff route is protected by
default (fail closed). Public exceptions are listed here: the awards register
(`/api/awards`), the API's description (`/api/openapi.json`), and the sign-in
endpoints themselves.

- Staff authenticate with the session cookie (console pages, the console's own
  scripts) or `Authorization: Bearer <token>` (integrations). The token is the
  same; the cookie is HttpOnly, SameSite=Strict and Secure unless configured off.
- Cookie-authenticated writes need the session's CSRF token (form field
  `csrf_token` or header `X-CSRF-Token`); Bearer calls do not (a browser never
  adds that header by itself).
- `/internal/` needs `Authorization: Bearer <HOTLINE_INTERNAL_TOKEN>`, compared in
  constant time; without a configured token it refuses everything.
- Console and staff API responses carry a strict Content-Security-Policy (no
  inline script or style), so text a caller typed can never run as script.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.core.tokens import bearer_token, same_token
from bot.staff.accounts import AuthSession, LoginResult, Staff, login, session_for_token
from bot.web.context import SETTINGS, request_session
from bot.web.headers import PAGE_HEADERS

SESSION_COOKIE = "hotline_session"
LOGIN_CSRF_COOKIE = "hotline_login_csrf"
REQUEST_AUTH = "hotline_auth"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_API = frozenset({"/api/login", "/api/openapi.json"})  # sign-in; the API description
PUBLIC_API_PREFIXES = ("/api/awards",)  # the published register stays public
PUBLIC_CONSOLE = frozenset({"/console/login"})
STAFF_HEADERS = {
    **PAGE_HEADERS,
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, message: str, **extra: object) -> web.Response:
    """A JSON error body `{"error": message, ...}` with the given status."""
    return web.json_response({"error": message, **extra}, status=status)


def current_auth(request: web.Request) -> AuthSession:
    """The signed-in session the middleware attached (handlers behind login only)."""
    auth = request.get(REQUEST_AUTH)
    if not isinstance(auth, AuthSession):
        raise web.HTTPUnauthorized(text="sign in first")
    return auth


def current_staff(request: web.Request) -> Staff:
    """The signed-in staff member."""
    return current_auth(request).staff


def _bearer(request: web.Request) -> str | None:
    return bearer_token(request.headers.get("Authorization"))


async def _authenticate(
    request: web.Request, allow_bearer: bool
) -> tuple[AuthSession, bool] | None:
    token = _bearer(request) if allow_bearer else None
    via_cookie = token is None
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    async with request_session(request) as session:
        auth = await session_for_token(session, token)
    return (auth, via_cookie) if auth else None


async def _csrf_ok(request: web.Request, auth: AuthSession) -> bool:
    given = request.headers.get("X-CSRF-Token")
    if given is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await request.post()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    return same_token(given, auth.csrf_token)


def _is_public_api(path: str) -> bool:
    return path in PUBLIC_API or path.startswith(PUBLIC_API_PREFIXES)


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Guard `/internal/`, `/api/` and `/console` (see the module docstring).

    Args:
        request: The request.
        handler: The next handler.

    Returns:
        The handler's response with security headers, or 401/403/redirect.

    """
    path = request.path
    if path.startswith("/internal/"):
        expected = request.app[SETTINGS].internal_token
        if not same_token(_bearer(request), expected):
            return json_error(401, "missing or wrong internal token")
        return await handler(request)
    is_api = path == "/api" or path.startswith("/api/")
    is_console = path == "/console" or path.startswith("/console/")
    if not (is_api or is_console):
        return await handler(request)
    if (is_api and _is_public_api(path)) or path in PUBLIC_CONSOLE:
        response = await handler(request)
        if not path.startswith(PUBLIC_API_PREFIXES):
            response.headers.update(STAFF_HEADERS)
        return response
    found = await _authenticate(request, allow_bearer=is_api)
    if found is None:
        if is_api or path == "/console/ws":
            response = json_error(401, "sign in first")
            response.headers["WWW-Authenticate"] = 'Bearer realm="hotline"'
            return response
        raise web.HTTPSeeOther(f"/console/login?next={request.rel_url.path}")
    auth, via_cookie = found
    if via_cookie and request.method not in SAFE_METHODS and not await _csrf_ok(request, auth):
        return json_error(403, "missing or wrong CSRF token; reload the page and try again")
    request[REQUEST_AUTH] = auth
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(STAFF_HEADERS)
        raise
    if not response.prepared:
        response.headers.update(STAFF_HEADERS)
    return response


def require_supervisor(request: web.Request) -> Staff:
    """The signed-in member, who must be a supervisor.

    Raises:
        web.HTTPForbidden: For agents.

    """
    staff = current_staff(request)
    if not staff.is_supervisor:
        raise web.HTTPForbidden(
            text='{"error": "supervisors only"}', content_type="application/json"
        )
    return staff


def set_session_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    """Attach the session cookie (HttpOnly, SameSite=Strict, Secure unless configured off)."""
    settings = request.app[SETTINGS]
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_seconds,
        path="/",
        httponly=True,
        secure=settings.cookie_secure,
        samesite="Strict",
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    """Remove the session cookie."""
    response.del_cookie(SESSION_COOKIE, path="/")


def remote_address(request: web.Request) -> str | None:
    """The client's address (for the audit log)."""
    return (request.remote or "")[:64] or None


async def sign_in(request: web.Request, username: str, password: str) -> LoginResult:
    """Check credentials with the configured lockout and open a session.

    Shared by the console's form and the JSON API so both apply the same rules.

    Args:
        request: The request (for the settings and the caller's address).
        username: The user name as typed.
        password: The password as typed.

    Returns:
        The login result: a token and session, or locked, or neither.
    """
    settings = request.app[SETTINGS]
    async with request_session(request) as session:
        return await login(
            session,
            username,
            password,
            remote=remote_address(request),
            max_failures=settings.login_max_failures,
            max_address_failures=settings.login_max_address_failures,
            window_seconds=settings.login_window_seconds,
            session_seconds=settings.session_seconds,
        )
