"""The action server: rasa-sdk's app, reachable only by Rasa.

`rasa run actions` listens on every interface, takes any caller's word and allows
any web page's origin, so anyone who could reach port 5055 (or any page a visitor
opened, with a `text/plain` form post) could run an action for any conversation:
open tickets, inject "caller" messages, book callbacks. This runs the same
rasa-sdk app with three guards:

- it listens on loopback unless `ACTIONS_HOST` says otherwise;
- `/webhook` and `/actions` need the shared secret `HOTLINE_ACTIONS_TOKEN` as
  `Authorization: Bearer <token>` (Rasa sends it: `endpoints.yml`), compared in
  constant time; without a configured secret every call is refused;
- `/webhook` takes JSON only (415 otherwise), and no CORS headers are sent: no
  browser has any business here.

`/health` stays open (it says nothing). Run it as `python -m actions.server`
(`bot.stack` does).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from bot import production
from bot.config import ConfigError, Settings
from bot.core.net import is_loopback
from bot.core.tokens import bearer_matches

logger = logging.getLogger(__name__)

#: Paths that run or list actions; everything else rasa-sdk serves is `/health`.
GUARDED_PATHS = ("/webhook", "/actions")
#: A long conversation's tracker is large, but nothing Rasa sends comes near this.
MAX_REQUEST_BYTES = 32 * 1024 * 1024


def authorised(header: str | None, token: str) -> bool:
    """Whether an `Authorization` header carries ``token`` (constant-time compare).

    Args:
        header: The request's `Authorization` header, if any.
        token: The configured secret; empty refuses everything.

    Returns:
        True only for `Bearer <token>` with a non-empty token.
    """
    return bearer_matches(header, token)


def refusal(path: str, content_type: str | None, header: str | None, token: str) -> int | None:
    """The HTTP status to refuse a request with, or None to let it through.

    Args:
        path: The request path.
        content_type: Its `Content-Type` header.
        header: Its `Authorization` header.
        token: The configured secret.

    Returns:
        401 without the secret, 415 for a webhook call that is not JSON, else None.
    """
    if not path.startswith(GUARDED_PATHS):
        return None
    if not authorised(header, token):
        return 401
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if path.startswith("/webhook") and media_type != "application/json":
        return 415
    return None


def create_app(settings: Settings, package: str = "actions") -> Any:
    """rasa-sdk's Sanic app for ``package`` with the guards of this module.

    Args:
        settings: The application settings (`actions_token`).
        package: The actions package to register.

    Returns:
        The Sanic app.
    """
    from rasa_sdk.endpoint import create_app as sdk_app
    from sanic import response

    app = sdk_app(package, cors_origins=None)
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES
    messages = {401: "missing or wrong action server token", 415: "JSON only"}

    async def guard(request: Any) -> Any:
        status = refusal(
            request.path,
            request.headers.get("content-type"),
            request.headers.get("authorization"),
            settings.actions_token,
        )
        if status is None:
            return None
        logger.warning("Refused %s %s with %d", request.method, request.path, status)
        return response.json({"error": messages[status]}, status=status)

    app.register_middleware(guard, "request")
    return app


def main(argv: list[str] | None = None) -> int:
    """Runs the action server until interrupted.

    Returns:
        The exit status (2 for unusable settings).
    """
    parser = argparse.ArgumentParser(description="The hotline's action server.")
    parser.add_argument("--port", type=int, help="default: ACTIONS_PORT (5055)")
    parser.add_argument("--host", help="default: ACTIONS_HOST (127.0.0.1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = Settings.from_env()
        production.check(settings, os.environ)
    except ConfigError as error:
        print(f"action server: {error}", file=sys.stderr)
        return 2
    host = args.host or settings.actions_host
    port = args.port or settings.actions_port
    if not settings.actions_token:
        print(
            "action server: HOTLINE_ACTIONS_TOKEN is not set, so every action call would be"
            " refused; `make run` (bot.stack) sets it for you.",
            file=sys.stderr,
        )
        return 2
    if not is_loopback(host):
        logger.warning("The action server listens on %s, not loopback: only Rasa needs it.", host)
    app = create_app(settings)
    logger.info("Action server on http://%s:%d", host, port)
    app.run(host=host, port=port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
