"""The one error middleware: domain and input errors become one JSON error shape.

Handlers raise; they do not write error answers:

- `HandoffError` (the handoff domain) -> the status of its `kind`
  (`STATUS_BY_KIND`, the one table of them), `{"error": message}`, and for a
  `HandoffRefused` also `"reason"` (the action server tells the caller why:
  closed, queue_full, too_many, already_booked).
- `InputError` (a JSON body or query parameter; `FilterError`, the awards
  filters, is one) -> 400 `{"error": message, "field"?: name}`.
- Anything else raised under `/api` or `/internal` -> 500
  `{"error": "internal error"}`, logged here with its traceback; the body says
  nothing of the cause. Elsewhere aiohttp's own 500 page stands.

HTTP exceptions (`web.HTTPException`: redirects, the router's 404, 403 for
agents) pass through untouched. The console's HTML forms catch `HandoffError`
themselves to show the message on the page, with `status_for`'s status.

The app factory installs it inside `bot.web.security.access_middleware`, so its
answers get the same staff headers the handlers' own answers get.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

from aiohttp import web

from bot.handoff.service import ErrorKind, HandoffError, HandoffRefused
from bot.web.validation import InputError

logger = logging.getLogger(__name__)

#: The HTTP status of each kind of domain error (the only place they meet).
STATUS_BY_KIND: Final[Mapping[ErrorKind, int]] = MappingProxyType(
    {
        "not_found": 404,
        "conflict": 409,
        "forbidden": 403,
        "refused": 409,
        "too_many": 429,
        "bad_gateway": 502,
    }
)
#: The body of every unexpected failure: no exception text, path or traceback.
INTERNAL_ERROR: Final = "internal error"
_JSON_PREFIXES = ("/api/", "/internal/")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def status_for(error: HandoffError) -> int:
    """The HTTP status for a domain error.

    Args:
        error: The error.

    Returns:
        Its kind's status from `STATUS_BY_KIND`.

    """
    return STATUS_BY_KIND[error.kind]


def error_response(error: HandoffError | InputError) -> web.Response:
    """The JSON answer for a domain or input error.

    Args:
        error: The error.

    Returns:
        `{"error", "reason"?}` with the kind's status, or 400 `{"error", "field"?}`.

    """
    body: dict[str, Any] = {"error": error.message}
    if isinstance(error, InputError):
        if error.field:
            body["field"] = error.field
        return web.json_response(body, status=400)
    if isinstance(error, HandoffRefused):
        body["reason"] = error.reason
    return web.json_response(body, status=status_for(error))


def _answers_json(path: str) -> bool:
    return path in ("/api", "/internal") or path.startswith(_JSON_PREFIXES)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer what a handler raised in the one error shape (see the module docstring).

    Args:
        request: The request.
        handler: The next handler.

    Returns:
        The handler's response, or the JSON error answer.

    Raises:
        web.HTTPException: Unchanged, whatever the path.
        Exception: What a handler outside `/api` and `/internal` raised.

    """
    try:
        return await handler(request)
    except (HandoffError, InputError) as error:
        return error_response(error)
    except web.HTTPException:
        raise
    except Exception:
        if not _answers_json(request.path):
            raise
        # The traceback goes to the log (masked by bot.core.logmask), never to the client.
        logger.exception("unexpected error answering %s %s", request.method, request.path)
        return web.json_response({"error": INTERNAL_ERROR}, status=500)
