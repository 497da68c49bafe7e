"""Reading and checking JSON bodies: bad input is a 400 with a message naming the field.

Handlers raise `InputError`; `bot.web.errors.error_middleware` writes the 400.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

MAX_BODY_BYTES = 64 * 1024
MAX_TEXT = 4000


class InputError(ValueError):
    """A request body or parameter is invalid (answered 400 `{"error", "field"?}`).

    Attributes:
        field: The offending field (None for the body as a whole).
        message: What is wrong.

    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


async def read_json(request: web.Request, *, required: bool = True) -> dict[str, Any]:
    """The request's JSON object.

    Args:
        request: The request.
        required: When False, an empty body counts as `{}`.

    Returns:
        The object.

    Raises:
        InputError: If the body is not a JSON object (or too large).

    """
    raw = await request.read()
    if len(raw) > MAX_BODY_BYTES:
        raise InputError("the body is too large")
    if not raw.strip():
        if required:
            raise InputError("send a JSON object")
        return {}
    if request.content_type != "application/json":
        raise InputError("send JSON with Content-Type: application/json")
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InputError("the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise InputError("the body must be a JSON object")
    return value


def text_field(
    body: dict[str, Any],
    name: str,
    *,
    required: bool = True,
    max_length: int = MAX_TEXT,
    strip: bool = True,
) -> str | None:
    """A string field: present (if required), a string, not blank, not too long.

    Raises:
        InputError: Naming the field.

    """
    value = body.get(name)
    if value is None:
        if required:
            raise InputError(f"{name} is required", name)
        return None
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string", name)
    if "\x00" in value:
        raise InputError(f"{name} contains an invalid character", name)
    text = value.strip() if strip else value
    if not text:
        if required:
            raise InputError(f"{name} must not be empty", name)
        return None
    if len(text) > max_length:
        raise InputError(f"{name} must be at most {max_length} characters", name)
    return text
